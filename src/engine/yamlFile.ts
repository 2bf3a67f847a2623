import { LineCounter, isMap, isSeq, parseDocument, type Node } from 'yaml';
import { LensError, type FileLocation } from './errors';
import { fileStamp, readTextFile } from './files';

/** A YAML file's value, and where each of its entries is written. */
export interface YamlSource {
  file: string;
  value: unknown;
  /** Where the entry at `path` (map keys, list indexes) starts: its key's position, or as near as the path goes. */
  locate(path: readonly (string | number)[]): FileLocation;
}

/** Parsed files kept, and the bytes of their texts at most (a file larger than that is parsed each time). */
export const MAX_KEPT_YAML_FILES = 256;
const MAX_KEPT_YAML_BYTES = 16 * 1024 ** 2;
/**
 * A file changed less than this before it was stamped is not kept: a second write within the same tick of the file
 * system's clock could leave its stamp as it was.
 */
const SETTLED_MS = 50;

interface KeptYaml {
  stamp: string;
  bytes: number;
  source: YamlSource;
}

/** Parsed YAML files by path, least recently used first; each kept with the stamp it was read at. */
const kept = new Map<string, KeptYaml>();
let keptBytes = 0;
/** Files parsed, and answered from memory: for the tests to see the memo work. */
export const yamlReads = { parsed: 0, reused: 0 };

/**
 * Reads a YAML file with where its entries are; a syntax error names the file, line and column. The file is checked
 * as every text file is (files.ts); where it may be is the caller's question (Workspace.resolve). A file whose stamp
 * (size, mtime, ctime: files.ts) is the one it was parsed at is not read or parsed again (every run reads
 * dbt_project.yml and the properties files); each caller gets its own copy of the value.
 */
export async function readYamlSource(file: string, what = 'The YAML file'): Promise<YamlSource> {
  const stampedAt = Date.now();
  const stamp = await fileStamp(file);
  const key = stamp && JSON.stringify(stamp);
  const known = kept.get(file);
  if (known) {
    kept.delete(file);
    keptBytes -= known.bytes;
  }
  if (known && known.stamp === key) {
    yamlReads.reused++;
    kept.set(file, known);
    keptBytes += known.bytes;
    return { ...known.source, value: structuredClone(known.source.value) };
  }
  const source = await parseYamlFile(file, what);
  yamlReads.parsed++;
  if (stamp && stampedAt - Math.max(stamp.mtimeMs, stamp.ctimeMs) > SETTLED_MS && stamp.size <= MAX_KEPT_YAML_BYTES) {
    kept.set(file, { stamp: key!, bytes: stamp.size, source: { ...source, value: structuredClone(source.value) } });
    keptBytes += stamp.size;
    for (const [oldest, entry] of kept) {
      if (kept.size <= MAX_KEPT_YAML_FILES && keptBytes <= MAX_KEPT_YAML_BYTES) break;
      kept.delete(oldest);
      keptBytes -= entry.bytes;
    }
  }
  return source;
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
