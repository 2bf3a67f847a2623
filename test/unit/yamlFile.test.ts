// YAML files read again only when they changed (yamlFile.ts): an unchanged file (same size, mtime, ctime) is answered
// from memory, an edit — even one that keeps the size — is read, and each caller gets its own copy of the value.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { readYamlSource, yamlReads } from '../../src/engine/yamlFile';
import { tempWorkspace, write } from './helpers';

/** Resolves once the file's last change is older than the memo's settling time (50 ms), whatever the clock does. */
async function settled(file: string): Promise<void> {
  const changed = () => Math.max(statSync(file).mtimeMs, statSync(file).ctimeMs);
  for (let turn = 0; turn < 10_000 && Date.now() - changed() <= 60; turn++)
    await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('yamlFile: a YAML file parsed once while it is unchanged', () => {
  it('an unchanged file is reused; an edit that keeps its size is read; callers never share a value', async () => {
    const dir = tempWorkspace();
    const file = write(dir, 'dbt_project.yml', 'name: shop\nvars:\n  factor: 1\n');
    await settled(file);
    const before = { ...yamlReads };
    const first = await readYamlSource(file);
    assert.deepEqual(first.value, { name: 'shop', vars: { factor: 1 } });
    (first.value as { vars: { factor: number } }).vars.factor = 99;
    const second = await readYamlSource(file);
    assert.deepEqual(second.value, { name: 'shop', vars: { factor: 1 } });
    assert.deepEqual(second.locate(['vars', 'factor']), { file, line: 3, column: 3 });
    assert.deepEqual([yamlReads.read - before.read, yamlReads.reused - before.reused], [1, 1]);

    write(dir, 'dbt_project.yml', 'name: shop\nvars:\n  factor: 2\n');
    assert.deepEqual((await readYamlSource(file)).value, { name: 'shop', vars: { factor: 2 } });
    assert.equal(yamlReads.read - before.read, 2);
  });

  it('a file changed just now is parsed each time until it settles (a second write in the same tick stays seen)', async () => {
    const dir = tempWorkspace();
    const file = write(dir, 'models/properties.yml', 'version: 2\n');
    const before = { ...yamlReads };
    await readYamlSource(file);
    await readYamlSource(file);
    assert.equal(yamlReads.reused - before.reused, 0);
    await settled(file);
    await readYamlSource(file);
    await readYamlSource(file);
    assert.ok(yamlReads.reused - before.reused >= 1);
  });

  it('a file that became invalid is an error naming its line, not the value read before', async () => {
    const dir = tempWorkspace();
    const file = write(dir, 'profiles.yml', 'shop:\n  target: dev\n');
    await settled(file);
    await readYamlSource(file);
    write(dir, 'profiles.yml', 'shop:\n  target: [dev\n');
    await assert.rejects(readYamlSource(file), /profiles\.yml is not valid YAML/);
  });
});
