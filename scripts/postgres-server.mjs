// A throwaway PostgreSQL cluster for the tests: finds the server's binaries (installing Debian's `postgresql`
// package when they are missing), initdb's a cluster in a temporary folder, starts it on a free port bound to
// 127.0.0.1 (and a unix socket in that folder) and, on stop(), stops it and deletes the folder. PostgreSQL refuses
// to run as root: as root, the cluster runs as `nobody`.
//   node scripts/postgres-server.mjs ensure   installs the binaries if missing (what `npm test` runs first)
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const POSTGRES_ROOT = '/usr/lib/postgresql';
/** The cluster's superuser: connects over the unix socket without a password (trust), loads the test data. */
export const ADMIN_USER = 'lens_admin';

/** The newest installed server's bin folder, or undefined. */
export function findPostgresBin() {
  if (!existsSync(POSTGRES_ROOT)) return undefined;
  const versions = readdirSync(POSTGRES_ROOT)
    .filter((name) => existsSync(path.join(POSTGRES_ROOT, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(POSTGRES_ROOT, versions[0], 'bin') : undefined;
}

/**
 * The server's bin folder, installing Debian's packages when none is there. Returns `{ bin }`, or `{ reason }` when
 * PostgreSQL cannot be installed on this machine (not Debian, not root, no network).
 */
export function ensurePostgres(log = (line) => console.log(line)) {
  const found = findPostgresBin();
  if (found) return { bin: found };
  if (!existsSync('/usr/bin/apt-get'))
    return { reason: 'PostgreSQL is not installed and this is no Debian (no apt-get)' };
  const asRoot = process.getuid?.() === 0;
  const sudo = !asRoot && spawnSync('sudo', ['-n', 'true']).status === 0;
  if (!asRoot && !sudo) return { reason: 'PostgreSQL is not installed and apt-get needs root (no passwordless sudo)' };
  const apt = (args) => {
    log(`postgres-server: apt-get ${args.join(' ')}`);
    const command = asRoot ? 'apt-get' : 'sudo';
    const result = spawnSync(command, asRoot ? args : ['-n', 'apt-get', ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 10 * 60_000,
    });
    return result.status === 0;
  };
  // The package lists may be stale or absent (a fresh container): update once if the first try fails.
  if (!apt(['install', '-y', '--no-install-recommends', 'postgresql']) && !apt(['update'])) {
    return { reason: 'apt-get update failed (no network?)' };
  }
  const bin =
    findPostgresBin() ?? (apt(['install', '-y', '--no-install-recommends', 'postgresql']) && findPostgresBin());
  return bin ? { bin } : { reason: 'apt-get install postgresql did not install a server under /usr/lib/postgresql' };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Who the cluster runs as: this user, or `nobody` when this is root (postgres refuses root). */
function runAs() {
  if (process.getuid?.() !== 0) return {};
  const id = (flag) => Number(spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

function run(bin, command, args, user) {
  const result = spawnSync(path.join(bin, command), args, { encoding: 'utf8', ...user, timeout: 120_000 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

/**
 * Starts a cluster; resolves to `{ host, port, socketDir, adminUser, dataDir, stop() }` once it accepts connections.
 * `password` is the admin's password over TCP (scram-sha-256); the unix socket trusts.
 */
export async function startPostgres({ bin, password = 'admin-secret' } = {}) {
  bin ??= findPostgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed (run ensurePostgres first)');
  const user = runAs();
  const root = mkdtempSync(path.join(tmpdir(), 'segment-lens-pg-'));
  const dataDir = path.join(root, 'data');
  const socketDir = root;
  const pwfile = path.join(root, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (user.uid !== undefined) {
    chownSync(root, user.uid, user.gid);
    chownSync(pwfile, user.uid, user.gid);
  }
  chmodSync(root, 0o700);
  const stop = () => {
    if (existsSync(path.join(dataDir, 'postmaster.pid')))
      spawnSync(path.join(bin, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate', '-w'], {
        ...user,
        timeout: 60_000,
      });
    rmSync(root, { recursive: true, force: true });
  };
  try {
    run(
      bin,
      'initdb',
      [
        '-D',
        dataDir,
        '-U',
        ADMIN_USER,
        `--pwfile=${pwfile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
      ],
      user,
    );
    const port = await freePort();
    const options = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-k ${socketDir}`,
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c synchronous_commit=off',
      // The tests' estimates stay as they set them.
      '-c autovacuum=off',
      // Every statement in the server's log: the tests read what a client sent.
      '-c log_statement=all',
      '-c max_connections=40',
    ].join(' ');
    run(
      bin,
      'pg_ctl',
      ['start', '-D', dataDir, '-w', '-t', '60', '-l', path.join(root, 'server.log'), '-o', options],
      user,
    );
    return { host: '127.0.0.1', port, socketDir, adminUser: ADMIN_USER, adminPassword: password, dataDir, bin, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

/**
 * Runs SQL as the admin over the unix socket with psql (ON_ERROR_STOP): for loading test data. `timeoutMs` bounds it
 * (the benchmark's 50M rows take longer than the tests' data).
 */
export function psql(server, database, sql, timeoutMs = 120_000) {
  const result = spawnSync(
    path.join(server.bin, 'psql'),
    [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      server.socketDir,
      '-p',
      String(server.port),
      '-U',
      server.adminUser,
      '-d',
      database,
    ],
    { input: sql, encoding: 'utf8', timeout: timeoutMs },
  );
  if (result.status !== 0)
    throw new Error(`psql failed: ${result.stderr || result.error?.message || `status ${result.status}`}`);
  return result.stdout;
}

// Started as a script, this runs the one command it knows.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [command] = process.argv.slice(2);
  if (command === 'ensure') {
    const outcome = ensurePostgres();
    console.log(
      outcome.bin ? `PostgreSQL server binaries: ${outcome.bin}` : `PostgreSQL unavailable: ${outcome.reason}`,
    );
  } else {
    console.error('usage: node scripts/postgres-server.mjs ensure');
    process.exitCode = 2;
  }
}
