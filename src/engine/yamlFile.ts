import { LineCounter, isMap, isSeq, parseDocument, type Node } from 'yaml';
import { LensError, type FileLocation } from './errors';
import { FileMemo, readTextFile } from './files';

/** A YAML file's value, and where each of its entries is written. */
export interface YamlSource {
  file: string;
  value: unknown;
  /** Where the entry at `path` (map keys, list indexes) starts: its key's position, or as near as the path goes. */
  locate(path: readonly (string | number)[]): FileLocation;
}

/**
 * Parsed YAML files kept (dbt_project.yml, properties files, profiles.yml), and their bytes at most: a parsed document
 * takes many times its text's bytes.
 */
const yamlMemo = new FileMemo<YamlSource>(256, 4 * 1024 ** 2);
/** Files parsed, and answered from memory: for the tests to see the memo work. */
export const yamlReads = yamlMemo.counts;

/**
 * Reads a YAML file with where its entries are; a syntax error names the file, line and column. The file is checked
 * as every text file is (files.ts); where it may be is the caller's question (Workspace.resolve). A file whose stamp
 * (size, mtime, ctime: files.ts) is the one it was parsed at is not parsed again (every run reads dbt_project.yml and
 * the properties files); each caller gets its own copy of the value.
 */
export async function readYamlSource(file: string, what = 'The YAML file'): Promise<YamlSource> {
  const source = await yamlMemo.get(file, () => parseYamlFile(file, what));
  return { ...source, value: structuredClone(source.value) };
}

async function parseYamlFile(file: string, what: string): Promise<YamlSource> {
  const text = await readTextFile(file, what);
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
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
  const at = (offset: number): FileLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  let value: unknown;
  try {
    // yaml refuses aliases that expand beyond a limit (a "billion laughs" file): that is the file's problem.
    value = document.toJS();
  } catch (error) {
    throw new LensError({
      code: 'yaml',
      message: `${file} cannot be read: ${error instanceof Error ? error.message : String(error)}.`,
      hint: 'The file expands its aliases (&name / *name) beyond what a configuration file needs; dbt refuses it too.',
    });
  }
  return {
    file,
    value,
    locate(path) {
      let node: unknown = document.contents;
      let found = (node as Node | null)?.range?.[0] ?? 0;
      for (const step of path) {
        if (isMap(node)) {
          const pair = node.items.find(
            (item) => String((item.key as Node & { value?: unknown })?.value) === String(step),
          );
          if (!pair) break;
          found = (pair.key as Node | null)?.range?.[0] ?? found;
          node = pair.value;
        } else if (isSeq(node) && typeof step === 'number' && node.items[step]) {
          node = node.items[step];
          found = (node as Node).range?.[0] ?? found;
        } else break;
      }
      return at(found);
    },
  };
}

/** Reads a YAML file; a syntax error names the file, line and column. */
export async function readYamlFile(file: string, what?: string): Promise<unknown> {
  return (await readYamlSource(file, what)).value;
}
