// webview/main.css is well formed: every rule is closed. A rule left open swallows the rules after it (their
// selectors become nested ones that match nothing), which neither Prettier nor the browser reports.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './helpers';

describe('webview/main.css', () => {
  it('closes every rule it opens, each top-level rule at depth 0', () => {
    const css = readFileSync(path.join(repoRoot, 'webview', 'main.css'), 'utf8')
      // Comments and strings may hold braces.
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/'[^'\n]*'|"[^"\n]*"/g, "''");
    let depth = 0;
    css.split('\n').forEach((line, index) => {
      // A selector written at the start of a line is a top-level rule (nested ones are indented by Prettier).
      if (/^[.#a-z:@*[]/i.test(line)) assert.equal(depth, 0, `line ${index + 1} starts a rule inside another: ${line}`);
      for (const char of line) depth += char === '{' ? 1 : char === '}' ? -1 : 0;
      assert.ok(depth >= 0, `line ${index + 1} closes a rule never opened`);
    });
    assert.equal(depth, 0, 'a rule is left open at the end');
  });
});
