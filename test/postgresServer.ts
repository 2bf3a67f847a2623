// The tests' throwaway PostgreSQL server (scripts/postgres-server.mjs), for the unit and the extension-host suites
// alike: installed from Debian's packages when missing, started on a free port, stopped by the suite.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface TestServer {
  host: string;
  port: number;
  socketDir: string;
  adminUser: string;
  adminPassword: string;
  bin: string;
  dataDir: string;
  stop(): void;
}

export interface ServerModule {
  ensurePostgres(log?: (line: string) => void): { bin?: string; reason?: string };
  startPostgres(options: { bin?: string }): Promise<TestServer>;
  psql(server: TestServer, database: string, sql: string): string;
}

/** Starts a server for the suite whose `before` this is, or skips the suite, saying why, where none can be had. */
export async function startTestServer(
  suite: Mocha.Context,
  repoRoot: string,
): Promise<{ server: ServerModule; running: TestServer }> {
  const modulePath = pathToFileURL(path.join(repoRoot, 'scripts', 'postgres-server.mjs')).href;
  const server = (await import(modulePath)) as ServerModule;
  const outcome = server.ensurePostgres();
  if (!outcome.bin) {
    console.log(`      skipped: ${outcome.reason}`);
    suite.skip();
  }
  return { server, running: await server.startPostgres({ bin: outcome.bin }) };
}
