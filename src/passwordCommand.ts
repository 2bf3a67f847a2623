// "Segment Lens: Set PostgreSQL Password…": asks for the password of the PostgreSQL server the connection in effect
// reads (segmentLens.connection, or the model's dbt-postgres profile) and keeps it in VS Code's SecretStorage under
// user@host:port/database. Runs send the stored passwords to the engine's worker with each request; the engine uses
// one only when the connection gives none (passwordEnv or the profile's env_var() first, ~/.pgpass after). A password
// is never written to settings, logs, messages or the panel. An empty answer offers to forget the stored one.
import * as vscode from 'vscode';
import { describeError, LensError } from './engine/errors';
import type { ConnectionServer } from './engine/index';
import { CancelledError } from './engine/worker/client';

export const SET_PASSWORD = 'segmentLens.setPassword';

/** globalState: the keys (user@host:port/database) that have a stored password. Never a password itself. */
const KEYS = 'segmentLens.postgresPasswordKeys';
/** SecretStorage has no listing: each password is a secret of its own, under this prefix and its key. */
const SECRET_PREFIX = 'segmentLens.postgresPassword:';
/** At most this many servers are remembered (a bound on what each run sends the worker). */
const MAX_KEYS = 50;

/** The stored PostgreSQL passwords: the secrets in SecretStorage, their keys in globalState. */
export class PostgresPasswords {
  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly state: vscode.Memento,
  ) {}

  private keys(): string[] {
    const keys = this.state.get<unknown>(KEYS);
    return Array.isArray(keys) ? keys.filter((key): key is string => typeof key === 'string').slice(0, MAX_KEYS) : [];
  }

  get(key: string): Thenable<string | undefined> {
    return this.secrets.get(SECRET_PREFIX + key);
  }

  /** Every stored password by its key: what a run request carries to the engine. */
  async all(): Promise<Record<string, string>> {
    const found: Record<string, string> = {};
    for (const key of this.keys()) {
      const password = await this.get(key);
      if (password) found[key] = password;
    }
    return found;
  }

  async store(key: string, password: string): Promise<void> {
    await this.secrets.store(SECRET_PREFIX + key, password);
    const keys = this.keys().filter((known) => known !== key);
    await this.state.update(KEYS, [key, ...keys].slice(0, MAX_KEYS));
  }

  async forget(key: string): Promise<void> {
    await this.secrets.delete(SECRET_PREFIX + key);
    await this.state.update(
      KEYS,
      this.keys().filter((known) => known !== key),
    );
  }
}

/** Where the password in effect now comes from, as the prompt says it. */
function passwordNote(server: ConnectionServer, stored: boolean): string {
  if (server.password === 'connection')
    return ' The connection gives a password now (passwordEnv, or the profile), which comes before a stored one.';
  return stored ? ' One is stored: type a new one, or leave it empty to forget it.' : '';
}

/**
 * The command: what it did, for the caller (and the tests): 'stored', 'forgotten', or undefined when the user
 * dismissed it or there is no PostgreSQL connection.
 */
export async function setPostgresPassword(
  findServer: () => Promise<ConnectionServer | undefined>,
  passwords: PostgresPasswords,
  runAgain: () => unknown,
): Promise<'stored' | 'forgotten' | undefined> {
  let server: ConnectionServer | undefined;
  try {
    server = await findServer();
  } catch (error) {
    if (error instanceof CancelledError) return undefined;
    if (!(error instanceof LensError)) throw error;
    void vscode.window.showErrorMessage(`Segment Lens: ${describeError(error.value)}`);
    return undefined;
  }
  if (!server) {
    void vscode.window.showInformationMessage(
      'Segment Lens: the connection in effect is no PostgreSQL server. Set segmentLens.connection to { "type": "postgres", … }, or to { "type": "dbt" } with a dbt-postgres profile.',
    );
    return undefined;
  }
  const { key } = server;
  const stored = (await passwords.get(key)) !== undefined;
  const password = await vscode.window.showInputBox({
    title: `Segment Lens: PostgreSQL password of ${key}`,
    prompt: `The password of ${key} (${server.origin}), kept in VS Code's secret storage.${passwordNote(server, stored)}`,
    password: true,
    ignoreFocusOut: true,
  });
  if (password === undefined) return undefined;
  if (password === '') {
    if (!stored) return undefined;
    const forget = 'Forget password';
    const answer = await vscode.window.showQuickPick([forget, 'Keep it'], {
      title: `Segment Lens: forget the PostgreSQL password stored for ${key}?`,
      ignoreFocusOut: true,
    });
    if (answer !== forget) return undefined;
    await passwords.forget(key);
    void vscode.window.showInformationMessage(`Segment Lens: the password of ${key} is no longer stored.`);
    return 'forgotten';
  }
  await passwords.store(key, password);
  const again = 'Run Again';
  void vscode.window
    .showInformationMessage(`Segment Lens: stored the password of ${key} in VS Code's secret storage.`, again)
    .then((answer) => (answer === again ? runAgain() : undefined));
  return 'stored';
}
