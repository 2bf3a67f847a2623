// Text files read again only when they changed (files.ts FileMemo): an unchanged file is answered from memory, an edit
// or a FIFO put in its place is seen, and a smaller limit still refuses a file kept under a larger one.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { readTextFile, textMemo } from '../../src/engine/files';
import { tempWorkspace, write } from './helpers';

/** Resolves once the file's last change is older than the memo's settling time (50 ms), whatever the clock does. */
async function settled(file: string): Promise<void> {
  const changed = () => Math.max(statSync(file).mtimeMs, statSync(file).ctimeMs);
  for (let turn = 0; turn < 10_000 && Date.now() - changed() <= 60; turn++)
    await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('files: text files read once while they are unchanged', () => {
  it('an unchanged model is reused; an edit of the same size is read', async () => {
    const dir = tempWorkspace();
    const file = write(dir, 'models/a.sql', 'select 1 as one\n');
    await settled(file);
    const before = { ...textMemo.counts };
    assert.equal(await readTextFile(file, 'The model'), 'select 1 as one\n');
    assert.equal(await readTextFile(file, 'The model'), 'select 1 as one\n');
    assert.deepEqual([textMemo.counts.read - before.read, textMemo.counts.reused - before.reused], [1, 1]);
    write(dir, 'models/a.sql', 'select 2 as one\n');
    assert.equal(await readTextFile(file, 'The model'), 'select 2 as one\n');
  });

  it('a FIFO put in place of a kept file is refused, and so is a kept file over a smaller limit', async () => {
    const dir = tempWorkspace();
    const file = write(dir, 'macros/m.sql', '{% macro m() %}1{% endmacro %}\n');
    await settled(file);
    await readTextFile(file, 'The macro file');
    assert.equal(await readTextFile(file, 'The macro file'), '{% macro m() %}1{% endmacro %}\n');
    await assert.rejects(readTextFile(file, { what: 'The macro file', limit: 4 }), /more than the 4 bytes/);
    rmSync(file);
    execFileSync('mkfifo', [file]);
    await assert.rejects(readTextFile(file, 'The macro file'), /is a FIFO/);
  });
});
