import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { LensError } from './errors';

/** Reads a YAML file; a syntax error names the file, line and column. */
export async function readYamlFile(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  const document = parseDocument(text);
  const [first] = document.errors;
  if (first) {
    const position = first.linePos?.[0];
    throw new LensError({
      code: 'yaml',
      message: `${file} is not valid YAML: ${first.message.split('\n')[0]}`,
      hint: 'Fix the YAML (dbt cannot read it either).',
      location: position ? { file, line: position.line, column: position.col } : undefined,
    });
  }
  return document.toJS();
}
