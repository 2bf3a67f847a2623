// ESLint (flat config): typescript-eslint's recommended rules, and the architecture's boundaries as import rules.
//   src/engine, src/cli  never import vscode (the CLI and the worker run without it)
//   src/shared           imports nothing but src/shared: no vscode, no Node, no engine, no host (the webview uses it)
//   webview              imports nothing from src/ but src/shared/, and no vscode or Node
import js from '@eslint/js';
import globals from 'globals';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeModules = ['node:*', ...builtinModules];
/** Files that may not import the given modules (paths) or anything matching the patterns. */
function boundary(files, paths, patterns) {
  return { files, rules: { 'no-restricted-imports': ['error', { paths, patterns }] } };
}

const noVscode = {
  name: 'vscode',
  message: 'The engine and the CLI run without VS Code: keep vscode in the extension host (src/*.ts).',
};

export default tseslint.config(
  { ignores: ['dist/', 'out/', 'node_modules/', '.vscode-test/', 'test-results/', 'media/', 'sample/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['test/reporter.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  boundary(
    ['src/engine/*.ts'],
    [noVscode],
    [{ regex: '^\\.\\./(?!shared/)', message: 'The engine imports only itself and src/shared.' }],
  ),
  boundary(
    ['src/engine/*/*.ts'],
    [noVscode],
    [{ regex: '^\\.\\./\\.\\./(?!shared/)', message: 'The engine imports only itself and src/shared.' }],
  ),
  boundary(
    ['src/cli/*.ts'],
    [noVscode],
    [
      {
        regex: '^\\.\\./(?!engine/index$|shared/)',
        message: 'The CLI calls the engine through engine/index.ts, never the extension host.',
      },
    ],
  ),
  boundary(
    ['src/shared/*.ts'],
    [{ name: 'vscode', message: 'src/shared is what the webview may import: no vscode.' }],
    [
      { group: nodeModules, message: 'src/shared is what the webview may import: no Node modules.' },
      { regex: '^(?!\\./)', message: 'src/shared imports only src/shared (no engine, host or packages).' },
    ],
  ),
  boundary(
    ['webview/*.ts'],
    [{ name: 'vscode', message: 'The webview talks to the host through messages only.' }],
    [
      { group: nodeModules, message: 'The webview runs in a browser: no Node modules.' },
      { regex: '^\\.\\./src/(?!shared/)', message: 'The webview imports from src/ only src/shared/.' },
    ],
  ),
);
