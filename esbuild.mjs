// One build for everything: the extension host and CLI (node, cjs, `vscode` external), the webview (browser),
// and, with --tests, the mocha suites. sql.js's wasm is copied next to the bundles and loaded from there.
import * as esbuild from 'esbuild';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

const args = new Set(process.argv.slice(2));
const watch = args.has('--watch');
const production = args.has('--production');
const withTests = args.has('--tests');

const common = {
  bundle: true,
  // jsonc-parser's `main` is a UMD build whose dynamic requires a bundle cannot follow; its `module` build is plain.
  mainFields: ['module', 'main'],
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

// Entry points are the *.test.ts files; what they import (test/e2e/support/, test/unit/helpers.ts) is bundled into each.
async function listTests(dir) {
  const found = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(path.join(entry.parentPath, entry.name));
  }
  return found;
}

const builds = [
  {
    ...common,
    // The CodeLens outline (parser, Jinja) is its own bundle, loaded on first use, to keep activation light.
    entryPoints: {
      extension: 'src/extension.ts',
      worker: 'src/engine/worker/worker.ts',
      outline: 'src/engine/model/outline.ts',
    },
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    external: ['vscode'],
  },
  {
    ...common,
    entryPoints: { main: 'webview/main.ts' },
    outdir: 'dist/webview',
    platform: 'browser',
    format: 'iife',
    target: 'chrome114',
    loader: { '.css': 'copy' },
  },
  {
    ...common,
    entryPoints: { cli: 'src/cli/main.ts' },
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
];

if (withTests) {
  // Compiled tests of renamed or deleted files would otherwise stay in out/ and run again.
  await rm('out', { recursive: true, force: true });
  builds.push({
    ...common,
    sourcemap: true,
    entryPoints: [
      ...(await listTests('test/exthost')),
      'test/exthost/index.ts',
      ...(await listTests('test/ui')),
      ...(await listTests('test/vsix')),
      ...(await listTests('test/untrusted')),
    ],
    outbase: '.',
    outdir: 'out',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'mocha', 'playwright-core'],
  });
  builds.push({
    ...common,
    sourcemap: true,
    entryPoints: [
      ...(await listTests('test/unit')),
      'scripts/bench-lineage.ts',
      'scripts/bench-jinja.ts',
      'scripts/bench-upstream.ts',
      'scripts/bench-postgres.ts',
      'scripts/bench-whatif.ts',
      'scripts/bench-cache.ts',
      'scripts/bench.ts',
      'scripts/save-storm.ts',
    ],
    outbase: '.',
    outdir: 'out',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Native test-only modules stay outside the bundle, and minijinja-js, which reads its wasm from beside its own file.
    external: ['better-sqlite3', 'mocha', '@duckdb/node-api', 'minijinja-js'],
  });
}

await mkdir('dist/webview', { recursive: true });
await copyFile('webview/main.css', 'dist/webview/main.css');
await copyFile('node_modules/sql.js/dist/sql-wasm.wasm', 'dist/sql-wasm.wasm');
// minijinja-js's Node build, loaded (and, after a trap, loaded afresh) by src/engine/model/jinjaRuntime.ts.
await mkdir('dist/minijinja', { recursive: true });
for (const file of ['minijinja_js.js', 'minijinja_js_bg.wasm']) {
  await copyFile(`node_modules/minijinja-js/dist/node/${file}`, `dist/minijinja/${file}`);
}

if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
