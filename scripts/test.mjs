// `npm test`: build, type-check, lint, then every test suite; the last line is the total, "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const scratch = mkdtempSync(path.join(tmpdir(), 'segment-lens-results-'));
let passed = 0;
let failed = 0;

function step(name, command, args, env = {}) {
  console.log(`\n== ${name}`);
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status === 0;
}

function suite(name, command, args) {
  const results = path.join(scratch, `${name}.json`);
  const succeeded = step(name, command, args, { SEGMENT_LENS_RESULTS: results });
  let counts;
  try {
    counts = JSON.parse(readFileSync(results, 'utf8'));
  } catch {
    // A suite that could not start counts as one failure, so it can never pass silently.
    counts = { passed: 0, failed: 1 };
  }
  if (!succeeded && counts.failed === 0) counts.failed = 1;
  console.log(`${name}: ${counts.passed} passed, ${counts.failed} failed`);
  passed += counts.passed;
  failed += counts.failed;
}

if (!step('build', process.execPath, ['esbuild.mjs', '--tests'])) failed++;
if (!step('typecheck', process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'])) failed++;
if (!step('typecheck webview', process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'webview']))
  failed++;
// ESLint holds the architecture's import boundaries (eslint.config.mjs); Prettier holds the format.
if (!step('lint', 'npm', ['run', '--silent', 'lint'])) failed++;
// The PostgreSQL tests start a throwaway cluster (scripts/postgres-server.mjs); its binaries are installed first,
// from Debian's packages, when the machine lacks them.
step('postgres server', process.execPath, ['scripts/postgres-server.mjs', 'ensure']);
suite('unit', process.execPath, ['node_modules/mocha/bin/mocha.js']);
// The extension in a real VS Code (code-server), installed into a cache outside the clone on first use.
suite('extension host', process.execPath, ['test/e2e/run.mjs', 'exthost']);
suite('browser', process.execPath, ['test/e2e/run.mjs', 'ui']);
suite('vsix', process.execPath, ['test/e2e/run.mjs', 'vsix']);
suite('untrusted workspace', process.execPath, ['test/e2e/run.mjs', 'untrusted']);

rmSync(scratch, { recursive: true, force: true });
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
