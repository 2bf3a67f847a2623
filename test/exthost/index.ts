// Entry VS Code calls inside the extension host: runs the suites with mocha.
import path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    color: false,
    timeout: 120_000,
    reporter: path.join(__dirname, '..', '..', '..', 'test', 'reporter.js'),
  });
  mocha.addFile(path.join(__dirname, 'extension.test.js'));
  mocha.addFile(path.join(__dirname, 'editorLineage.test.js'));
  mocha.addFile(path.join(__dirname, 'passwordCommand.test.js'));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} tests failed`)) : resolve()));
  });
}
