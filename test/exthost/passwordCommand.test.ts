// Set PostgreSQL Password in a real VS Code: the command asks (a real input box, typed into by the browser driver,
// test/e2e/exthost-driver.mjs) for the password of the connection in effect, keeps it in VS Code's SecretStorage,
// and a run against a real throwaway PostgreSQL server (scripts/postgres-server.mjs) connects with it; without it,
// or after "Forget password", the run fails naming the command.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { SegmentLensApi } from '../../src/extension';
import type { SqlValue } from '../../src/shared/rows';
import { startTestServer, type ServerModule, type TestServer } from '../postgresServer';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const workspace = vscode.workspace.workspaceFolders![0].uri;
const modelUri = vscode.Uri.joinPath(workspace, 'models', 'marts', 'customer_segments.sql');
const READER = 'lens_reader';
const PASSWORD = 'exthost-reader-pw';
const DATABASE = 'warehouse';

/** Asks the browser driver to do what only a user can (type into the input box, pick an item). */
function driver(request: { type: 'input'; text: string; expect: string } | { type: 'pick'; text: string }): void {
  console.log(`segment-lens-driver: ${JSON.stringify(request)}`);
}

describe('Set PostgreSQL Password (SecretStorage) against a real PostgreSQL server', function () {
  this.timeout(300_000);
  let api: SegmentLensApi;
  let server: ServerModule;
  let running: TestServer | undefined;
  let key: string;
  let expected: SqlValue[][];

  before(async function () {
    api = await vscode.extensions.getExtension<SegmentLensApi>('segment-lens.segment-lens')!.activate();
    ({ server, running } = await startTestServer(this, repoRoot));
    const seeds = path.join(workspace.fsPath, 'seeds');
    server.psql(running, 'postgres', `CREATE DATABASE ${DATABASE};`);
    server.psql(
      running,
      DATABASE,
      `CREATE SCHEMA staging; CREATE SCHEMA intermediate;
       CREATE TABLE staging.stg_customers (customer_id integer, first_name text, last_name text, email text, region text, signup_date text);
       CREATE TABLE intermediate.int_customer_metrics (customer_id integer, total_orders integer, total_spent numeric, avg_order_value numeric, first_order_date text, last_order_date text);
       \\copy staging.stg_customers FROM '${path.join(seeds, 'staging', 'stg_customers.csv')}' WITH (FORMAT csv, HEADER true)
       \\copy intermediate.int_customer_metrics FROM '${path.join(seeds, 'intermediate', 'int_customer_metrics.csv')}' WITH (FORMAT csv, HEADER true)
       CREATE ROLE ${READER} LOGIN PASSWORD '${PASSWORD}';
       GRANT USAGE ON SCHEMA staging, intermediate TO ${READER};
       GRANT SELECT ON ALL TABLES IN SCHEMA staging, intermediate TO ${READER};
       ANALYZE;`,
    );
    // The grid as PostgreSQL computes it from the same model: what the run must show.
    expected = server
      .psql(
        running,
        DATABASE,
        `\\pset format unaligned\n\\pset tuples_only on\n\\pset fieldsep ','\n${readFileSync(modelUri.fsPath, 'utf8')};`,
      )
      .trim()
      .split('\n')
      .map((line) => line.split(',').map((value, index) => (index < 2 ? value : Number(value))));
    key = `${READER}@127.0.0.1:${running.port}/${DATABASE}`;
    await vscode.workspace.getConfiguration('segmentLens').update(
      'connection',
      // No passwordEnv: the password is the stored one (the run's HOME has no ~/.pgpass).
      { type: 'postgres', host: running.host, port: running.port, database: DATABASE, user: READER, schema: 'public' },
      vscode.ConfigurationTarget.Workspace,
    );
  });

  after(async () => {
    await vscode.workspace
      .getConfiguration('segmentLens')
      .update('connection', { type: 'csv', directory: 'seeds' }, vscode.ConfigurationTarget.Workspace);
    if (key) await api?.passwords.forget(key);
    running?.stop();
  });

  /** The controller's state once no run is in flight (a run the settings change started may still be). */
  function settled(): Promise<typeof api.controller.state> {
    const { controller } = api;
    return new Promise((resolve, reject) => {
      if (controller.state.status !== 'running') return resolve(controller.state);
      const timer = setTimeout(() => {
        subscription.dispose();
        reject(new Error('timed out waiting for the run to end'));
      }, 120_000);
      const subscription = controller.onDidChange(() => {
        if (controller.state.status === 'running') return;
        clearTimeout(timer);
        subscription.dispose();
        resolve(controller.state);
      });
    });
  }

  /** Runs the model and returns what the run left: its result, or its error. */
  async function run() {
    await settled();
    await api.controller.run(modelUri, { progress: false });
    const state = await settled();
    assert.ok(state.status === 'done' || state.status === 'error', state.status);
    return state;
  }

  // In this order: a run that fails keeps no data, so each run here connects (a pulled copy would be reused).
  it('without a password the run fails naming the command; a wrong stored one is refused; an empty answer forgets it', async () => {
    const without = await run();
    assert.equal(without.status, 'error');
    if (without.status !== 'error') return;
    assert.match(without.error.message, /asks for the password of user "lens_reader", and none was given/);
    assert.match(without.error.hint ?? '', /Set PostgreSQL Password…/);

    await api.passwords.store(key, 'not-the-password');
    const refused = await run();
    assert.equal(refused.status, 'error');
    if (refused.status !== 'error') return;
    assert.match(refused.error.message, /refused the password of user "lens_reader"/);
    assert.match(
      refused.error.hint ?? '',
      /The password stored for lens_reader@127\.0\.0\.1:\d+\/warehouse was refused: run "Segment Lens: Set PostgreSQL Password…"/,
    );
    assert.ok(!JSON.stringify(refused.error).includes('not-the-password'));

    const command = vscode.commands.executeCommand<string | undefined>('segmentLens.setPassword');
    driver({ type: 'input', text: '', expect: key });
    driver({ type: 'pick', text: 'Forget password' });
    assert.equal(await command, 'forgotten');
    assert.equal(await api.passwords.get(key), undefined);
    const forgotten = await run();
    assert.equal(forgotten.status, 'error');
    if (forgotten.status === 'error') assert.match(forgotten.error.message, /none was given/);
  });

  it('stores the password the input box is given under user@host:port/db, and a run connects with it', async () => {
    const command = vscode.commands.executeCommand<string | undefined>('segmentLens.setPassword');
    driver({ type: 'input', text: PASSWORD, expect: key });
    assert.equal(await command, 'stored');
    assert.equal(await api.passwords.get(key), PASSWORD);
    // Never in the settings.
    const settings = readFileSync(path.join(workspace.fsPath, '.vscode', 'settings.json'), 'utf8');
    assert.ok(!settings.includes(PASSWORD));

    const pulled = await run();
    assert.equal(pulled.status, 'done', pulled.status === 'error' ? pulled.error.message : '');
    const result = api.controller.last!.result;
    assert.match(result.source.description, /^pulled .* from postgres:\/\/127\.0\.0\.1:\d+\/warehouse in /);
    // PostgreSQL sorts the NULL region last, SQLite first (psql prints it empty): compared by region and segment.
    const byCell = (rows: SqlValue[][]) =>
      rows
        .map((row) => [row[0] ?? '', row[1] ?? '', ...row.slice(2).map(Number)])
        .sort((a, b) => `${a[0]}|${a[1]}`.localeCompare(`${b[0]}|${b[1]}`));
    const actual = byCell(result.rows);
    const want = byCell(expected);
    assert.equal(actual.length, want.length);
    // Region, segment and count exactly; the averages within a cent (PostgreSQL's are exact numeric, SQLite's doubles).
    actual.forEach((row, rowIndex) =>
      row.forEach((value, index) => {
        const wanted = want[rowIndex][index];
        if (index < 3) assert.equal(value, wanted, `row ${rowIndex} column ${index}`);
        else
          assert.ok(Math.abs(Number(value) - Number(wanted)) <= 0.01 + 1e-9, `row ${rowIndex}: ${value} vs ${wanted}`);
      }),
    );
  });
});
