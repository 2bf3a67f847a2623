// Reading the user's files: only regular files (a FIFO would block forever, a device such as /dev/zero never ends)
// and of a bounded size, each refusal a LensError naming the file, what it is and what to do. Every file the engine
// reads goes through here; where a path may lead (inside an untrusted workspace or not) is workspace.ts's question.
import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { LensError } from './errors';

/** The most a text file (a model, a macro file, YAML, settings.json) may hold: far beyond any real one. */
export const MAX_TEXT_BYTES = 32 * 1024 ** 2;

/** How a refusal names the file and says what to do (a string: just `what`). */
export interface FileUse {
  /** Said before the path, e.g. "The model", "The macro file", "The CSV file". */
  what: string;
  /** The segmentLens.* setting that names the file, when one does. */
  setting?: string;
  /** What to do when the file is missing or not a file; a sensible default otherwise. */
  hint?: string;
  /** Bytes the file may hold; MAX_TEXT_BYTES when not given. */
  limit?: number;
}

/** What a path that is not a regular file is, in words. */
export function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

function size(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${bytes} bytes`;
}

function tooLarge(file: string, use: FileUse, bytes: number, limit: number): LensError {
  return new LensError({
    code: 'too-large',
    setting: use.setting,
    message: `${use.what} ${file} is ${size(bytes)}, more than the ${size(limit)} Segment Lens reads from such a file.`,
    hint: 'Make the file smaller (split it), or check that the path names the file you mean.',
  });
}

function refusal(file: string, use: FileUse, info: Stats): LensError | undefined {
  if (!info.isFile()) {
    return new LensError({
      code: 'not-a-file',
      setting: use.setting,
      message: `${use.what} ${file} is ${kindOf(info)}, not a regular file.`,
      hint: info.isDirectory()
        ? (use.hint ?? 'Point it at a file.')
        : 'Segment Lens reads regular files only (a pipe or a device could block or never end): put the file itself there.',
    });
  }
  const limit = use.limit ?? MAX_TEXT_BYTES;
  return info.size > limit ? tooLarge(file, use, info.size, limit) : undefined;
}

function unreadable(file: string, use: FileUse, error: unknown): LensError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new LensError({
      code: 'file-not-found',
      setting: use.setting,
      message: `${use.what} ${file}${use.setting ? ` (${use.setting})` : ''} does not exist.`,
      hint: use.hint ?? 'Check the path.',
    });
  }
  return new LensError({
    code: 'not-a-file',
    setting: use.setting,
    message: `${use.what} ${file} cannot be read: ${(error as Error).message}.`,
    hint: code === 'ELOOP' ? 'A symbolic link on the way loops: fix the link.' : 'Check that the file can be read.',
  });
}

/**
 * Checks, without opening it, that `file` is a regular file of at most `use.limit` bytes (MAX_TEXT_BYTES by default).
 * For files read as a stream (CSV): a FIFO or a device is refused before it is opened.
 */
export async function checkRegularFile(file: string, given: FileUse | string): Promise<Stats> {
  const use = typeof given === 'string' ? { what: given } : given;
  const info = await stat(file).catch((error: unknown) => {
    throw unreadable(file, use, error);
  });
  const problem = refusal(file, use, info);
  if (problem) throw problem;
  return info;
}

/**
 * The bytes of `file`: a regular file of at most `use.limit` bytes. Checked before it is opened (opening some devices
 * does something), and again on the opened file (it may have been swapped meanwhile); opened without blocking, so a
 * FIFO put there in between cannot hang the read; read only up to the limit, should the file grow.
 */
export async function readRegularFile(file: string, given: FileUse | string): Promise<Buffer> {
  const use = typeof given === 'string' ? { what: given } : given;
  await checkRegularFile(file, use);
  const handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)).catch((error: unknown) => {
    throw unreadable(file, use, error);
  });
  try {
    const info = await handle.stat();
    const problem = refusal(file, use, info);
    if (problem) throw problem;
    const limit = use.limit ?? MAX_TEXT_BYTES;
    // One read of the size the file has; more only if it grew meanwhile, never past the limit.
    const chunks: Buffer[] = [];
    let total = 0;
    let want = Math.min(info.size, limit) + 1;
    while (total <= limit) {
      const chunk = Buffer.allocUnsafe(want);
      let filled = 0;
      while (filled < chunk.length) {
        const { bytesRead } = await handle.read(chunk, filled, chunk.length - filled, total + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      chunks.push(chunk.subarray(0, filled));
      total += filled;
      if (filled < chunk.length) break;
      want = Math.min(1024 ** 2, limit + 1 - total);
    }
    if (total > limit) throw tooLarge(file, use, total, limit);
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}

const SETTLED_MS = 50;

/**
 * What was made of files (their text, their YAML), kept while each file's stamp is the one it was read at: every run
 * reads the project's files again, and most did not change. A file changed less than SETTLED_MS before it was stamped
 * is not kept (a second write within the same tick of the file system's clock could leave its stamp as it was).
 * Bounded in files and bytes (the files' sizes), least recently used first out; a larger file is read each time.
 */
export class FileMemo<T> {
  private readonly entries = new Map<string, { stamp: string; bytes: number; value: T }>();
  private bytes = 0;
  /** Files read, and answered from memory (for the tests to see the memo work). */
  readonly counts = { read: 0, reused: 0 };

  constructor(
    private readonly maxFiles: number,
    private readonly maxBytes: number,
  ) {}

  /** What `read` makes of `file`; from memory while its stamp is unchanged. `variant`: another reading of it. */
  async get(file: string, read: () => Promise<T>, variant = ''): Promise<T> {
    const key = `${variant}\0${file}`;
    const stampedAt = Date.now();
    const stamp = await fileStamp(file);
    const printed = stamp && JSON.stringify(stamp);
    const known = this.entries.get(key);
    if (known) {
      this.entries.delete(key);
      this.bytes -= known.bytes;
      if (known.stamp === printed) {
        this.counts.reused++;
        this.entries.set(key, known);
        this.bytes += known.bytes;
        return known.value;
      }
    }
    const value = await read();
    this.counts.read++;
    if (stamp && stampedAt - Math.max(stamp.mtimeMs, stamp.ctimeMs) > SETTLED_MS && stamp.size <= this.maxBytes) {
      this.entries.set(key, { stamp: printed!, bytes: stamp.size, value });
      this.bytes += stamp.size;
      for (const [oldest, entry] of this.entries) {
        if (this.entries.size <= this.maxFiles && this.bytes <= this.maxBytes) break;
        this.entries.delete(oldest);
        this.bytes -= entry.bytes;
      }
    }
    return value;
  }
}

/** Text files kept (models, macros, settings): a few hundred, 16 MiB at most. */
export const textMemo = new FileMemo<string>(512, 16 * 1024 ** 2);

/**
 * The text (UTF-8) of `file`: a regular file of at most `use.limit` bytes (MAX_TEXT_BYTES by default). A file whose
 * stamp is unchanged since it was read is not read again (a FIFO or a device put in its place has another stamp).
 */
export async function readTextFile(file: string, use: FileUse | string): Promise<string> {
  const limit = (typeof use === 'string' ? undefined : use.limit) ?? MAX_TEXT_BYTES;
  return textMemo.get(file, async () => (await readRegularFile(file, use)).toString('utf8'), String(limit));
}

/** What says a file is unchanged without reading it: its size, modification and change time (of a link's target). */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  /** The change time: the one a copy that keeps the mtime (rsync -a, cp -p) or a `touch -d` cannot set back. */
  ctimeMs: number;
}

/** The file's stamp; undefined when nothing is there. */
export async function fileStamp(file: string): Promise<FileStamp | undefined> {
  const info = await stat(file).catch(() => undefined);
  return info && { size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs };
}

/** Something is at `file` (a FIFO or a device too: reading it refuses it, rather than looking elsewhere). */
export async function pathExists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
