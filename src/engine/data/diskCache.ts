// The loaded data, laid out and with its upstream models built, saved to a folder of the extension's own (VS Code's
// storage for the workspace, or the CLI's --cache DIR) so that the first run after a restart reads one file back
// instead of loading and laying out the sources again. Never the user's folder; never data pulled from a warehouse.
//
// One file per data key, named by the key's SHA-256 (nothing a workspace writes reaches the path): a header (the
// key, a SHA-256 of the rest, what each schema is) and each schema's SQLite image. Written to a temporary file and
// renamed; the total is kept under a bound by deleting the least recently used files (a hit touches its file's
// mtime). A file that does not read back exactly — truncated, corrupt, another key, another format — is deleted and
// the data loaded from its sources as if there were none.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as zlib from 'node:zlib';
import type { Database, SqlJsStatic } from 'sql.js';
import { LAYOUT_VERSION } from '../run/layout';
import { quoteIdentifier, quoteString } from '../sql/names';
import { writeStep } from './cache';
import { LoadedData, memfsPath, type SourceInfo } from './loadedData';

/** Bumped when what a cache file holds, or how, changes. */
const FORMAT = 'segment-lens-data-cache/2';
const MAGIC = Buffer.from('SLCACHE1');
const EXTENSION = '.slcache';
/** Files a crashed write left behind are deleted once they are this old. */
const STALE_TEMPORARY_MS = 60 * 60 * 1000;
/** The most files one eviction looks at: the folder is ours, but every loop stays bounded. */
const MAX_ENTRIES_SCANNED = 10_000;
/** The most one file may be: a header past this is not ours. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** What the loaded data knows about itself beyond its tables: restored with them. */
interface DataState {
  source: SourceInfo;
  notes: string[];
  uniqueKeys: string[];
  checks: [string, string | null][];
  laidOut: boolean;
  built: [string, { schema: string; identifier: string; kind: 'view' | 'table'; hash: string }][];
  buildCount: number;
}

interface Header {
  format: string;
  key: string;
  /** SHA-256 of every image, in order. */
  checksum: string;
  /** Each schema: its image's size, or the schema it is another name for (LoadedData.aliasSchema). */
  schemas: ({ name: string; bytes: number } | { name: string; aliasOf: string })[];
  state: DataState;
}

/** The data as saved: the images are copies, so the data may change (or close) while they are written. */
export interface Snapshot {
  header: Omit<Header, 'checksum' | 'key' | 'format'>;
  images: Uint8Array[];
}

let engineVersion: string | undefined;

/**
 * The engine's code as built (a hash of the running bundle): data saved by another build of the engine — another
 * CSV loader, another layout — is never read back.
 */
function currentEngineVersion(): string {
  if (engineVersion === undefined) {
    try {
      engineVersion = createHash('sha256').update(readFileSync(__filename)).digest('hex').slice(0, 16);
    } catch {
      engineVersion = 'unknown';
    }
  }
  return engineVersion;
}

/** zlib's CRC-32: Node 20.15 on (an older Node, in an older VS Code's extension host, saves nothing). */
const crc32: ((data: Uint8Array, value?: number) => number) | undefined = (zlib as Partial<typeof zlib>).crc32;

/**
 * What tells a whole file from a truncated or damaged one: CRC-32 (~30 ms for 95 MB, against SHA-256's ~60 ms on every
 * first run after a restart). The folder is the extension's own storage, which no workspace writes: the checksum
 * guards against damage, not against an adversary. Undefined without zlib's CRC-32.
 */
function checksumOf(images: readonly Uint8Array[]): string | undefined {
  if (!crc32) return undefined;
  let crc = 0;
  for (const image of images) crc = crc32(image, crc);
  return crc.toString(16);
}

/** A schema's database as one SQLite image (sql.js's export is SQLite's backup API: the data stays open as it is). */
function imageOf(sql: SqlJsStatic, data: LoadedData, schema: string, file: string): Uint8Array {
  const own = data.databaseOf(file);
  if (own) return own.export();
  // A schema attached in memory (upstream.ts creates one for a model's schema the data lacks): VACUUM INTO an empty
  // database's file, then export that database.
  const copy = new sql.Database();
  try {
    writeStep(data, () => data.main.run(`VACUUM ${quoteIdentifier(schema)} INTO ${quoteString(memfsPath(copy))}`));
    return copy.export();
  } finally {
    copy.close();
  }
}

/** Copies of the data's databases and what it knows about them, ready to be written. */
export function snapshotOf(sql: SqlJsStatic, data: LoadedData): Snapshot {
  const schemas: Snapshot['header']['schemas'] = [];
  const images: Uint8Array[] = [];
  const byFile = new Map<string, string>();
  const rows = data.main.exec('PRAGMA database_list')[0]?.values ?? [];
  for (const [, name, file] of rows) {
    const schema = String(name);
    if (schema === 'temp') continue;
    const first = file ? byFile.get(String(file)) : undefined;
    if (first !== undefined) {
      schemas.push({ name: schema, aliasOf: first });
      continue;
    }
    if (file) byFile.set(String(file), schema);
    const image = imageOf(sql, data, schema, String(file ?? ''));
    images.push(image);
    schemas.push({ name: schema, bytes: image.length });
  }
  return {
    header: {
      schemas,
      state: {
        source: data.source,
        notes: [...data.notes],
        uniqueKeys: [...data.uniqueKeys],
        checks: [...data.checks].map(([key, value]) => [key, value ?? null]),
        laidOut: data.laidOut,
        built: [...data.built],
        buildCount: data.buildCount,
      },
    },
    images,
  };
}

/** The data back from its images: read-only, as loadData leaves fresh data. Throws on an image SQLite refuses. */
function restore(sql: SqlJsStatic, header: Header, images: Uint8Array[]): LoadedData {
  const { state } = header;
  let next = 0;
  const databases = new Map<string, Database>();
  let data: LoadedData | undefined;
  try {
    for (const schema of header.schemas) {
      if ('aliasOf' in schema) {
        const target = databases.get(schema.aliasOf);
        if (!target || !data) throw new Error(`schema ${schema.name} is an alias of an unknown schema`);
        data.main.run(`ATTACH ${quoteString(memfsPath(target))} AS ${quoteIdentifier(schema.name)}`);
        continue;
      }
      const db = new sql.Database(images[next++]);
      databases.set(schema.name, db);
      if (!data) data = new LoadedData(db, state.source);
      else data.attach(schema.name, db);
      // SQLite reads a database's schema first: an image that is no database fails here, not in the model's query.
      data.main.exec(`SELECT count(*) FROM ${quoteIdentifier(schema.name)}.sqlite_master`);
    }
    if (!data) throw new Error('no main schema');
    data.notes.push(...state.notes);
    for (const key of state.uniqueKeys) data.uniqueKeys.add(key);
    for (const [key, value] of state.checks) data.checks.set(key, value ?? undefined);
    data.laidOut = state.laidOut;
    for (const [key, value] of state.built) data.built.set(key, value);
    data.buildCount = state.buildCount;
    data.main.run('PRAGMA query_only = ON');
    return data;
  } catch (error) {
    if (data) data.close();
    else for (const db of databases.values()) db.close();
    throw error;
  }
}

/** The header and the images of a cache file's bytes, if they are one whole cache file for `key`. */
function parse(bytes: Buffer, key: string): { header: Header; images: Uint8Array[] } | undefined {
  if (bytes.length < MAGIC.length + 4 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const headerBytes = bytes.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  if (headerBytes > MAX_HEADER_BYTES || start + headerBytes > bytes.length) return undefined;
  const header = JSON.parse(bytes.subarray(start, start + headerBytes).toString('utf8')) as Header;
  if (header.format !== FORMAT || header.key !== key || !Array.isArray(header.schemas)) return undefined;
  const images: Uint8Array[] = [];
  let at = start + headerBytes;
  for (const schema of header.schemas) {
    if ('aliasOf' in schema) continue;
    if (!Number.isSafeInteger(schema.bytes) || schema.bytes < 0 || at + schema.bytes > bytes.length) return undefined;
    images.push(bytes.subarray(at, at + schema.bytes));
    at += schema.bytes;
  }
  const checksum = checksumOf(images);
  if (at !== bytes.length || checksum === undefined || checksum !== header.checksum) return undefined;
  return { header, images };
}

export interface DiskCacheOptions {
  /** The folder: the extension's storage, or the CLI's --cache DIR. */
  dir: string;
  /** The most its files may hold together (segmentLens.cache.maxSizeMB). */
  maxBytes: number;
}

export class DiskCache {
  constructor(readonly options: DiskCacheOptions) {}

  /** The file for a data key: its hash, so no part of the key (paths a workspace names) reaches the path. */
  private fileOf(key: string): string {
    return path.join(this.options.dir, `${createHash('sha256').update(this.fullKey(key)).digest('hex')}${EXTENSION}`);
  }

  /** The key with what else makes saved data current: the format, the layout's version, the engine's build. */
  private fullKey(key: string): string {
    return JSON.stringify([FORMAT, LAYOUT_VERSION, currentEngineVersion(), key]);
  }

  /** The bytes of the file saved for `key`, or undefined (none, or one past the bound, deleted). Never throws. */
  async readBytes(key: string): Promise<Buffer | undefined> {
    const file = this.fileOf(key);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    if (info.size > this.options.maxBytes) {
      await unlink(file).catch(() => undefined);
      return undefined;
    }
    return readFile(file).catch(() => undefined);
  }

  /**
   * The data saved for `key`, or undefined; a file that does not read back whole is deleted. `bytes`: the file as
   * readBytes read it ahead, if it did.
   */
  async read(sql: SqlJsStatic, key: string, bytes?: Promise<Buffer | undefined>): Promise<LoadedData | undefined> {
    const file = this.fileOf(key);
    const read = await (bytes ?? this.readBytes(key));
    if (!read) return undefined;
    let data: LoadedData | undefined;
    try {
      const parsed = parse(read, this.fullKey(key));
      if (parsed) data = restore(sql, parsed.header, parsed.images);
    } catch {
      data = undefined;
    }
    if (!data) {
      await unlink(file).catch(() => undefined);
      return undefined;
    }
    // Recently used: eviction goes by mtime.
    const now = new Date();
    await utimes(file, now, now).catch(() => undefined);
    return data;
  }

  /**
   * Saves a snapshot for `key` (temporary file, then rename), then evicts the least recently used files past the
   * bound. A snapshot larger than the bound is not saved. Failures (a full disk, a folder that cannot be made) are
   * swallowed: the cache only ever saves time.
   */
  async write(key: string, snapshot: Snapshot): Promise<boolean> {
    const { dir, maxBytes } = this.options;
    const checksum = checksumOf(snapshot.images);
    if (checksum === undefined) return false;
    const header: Header = {
      format: FORMAT,
      key: this.fullKey(key),
      checksum,
      ...snapshot.header,
    };
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(headerBytes.length);
    const total = MAGIC.length + 4 + headerBytes.length + snapshot.images.reduce((sum, image) => sum + image.length, 0);
    if (total > maxBytes || headerBytes.length > MAX_HEADER_BYTES) return false;
    const file = this.fileOf(key);
    const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(temporary, [MAGIC, length, headerBytes, ...snapshot.images]);
      await rename(temporary, file);
    } catch {
      await unlink(temporary).catch(() => undefined);
      return false;
    }
    await this.evict(file).catch(() => undefined);
    return true;
  }

  /** Deletes least recently used files until the total is within the bound (`keep`, just written, goes last). */
  private async evict(keep?: string): Promise<void> {
    const { dir, maxBytes } = this.options;
    const entries = (await readdir(dir, { withFileTypes: true })).slice(0, MAX_ENTRIES_SCANNED);
    const files: { file: string; size: number; used: number }[] = [];
    const now = Date.now();
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const file = path.join(dir, entry.name);
      const info = await stat(file).catch(() => undefined);
      if (!info) continue;
      if (entry.name.endsWith('.tmp')) {
        if (now - info.mtimeMs > STALE_TEMPORARY_MS) await unlink(file).catch(() => undefined);
        continue;
      }
      if (!entry.name.endsWith(EXTENSION)) continue;
      files.push({ file, size: info.size, used: file === keep ? Infinity : info.mtimeMs });
    }
    files.sort((a, b) => a.used - b.used);
    let total = files.reduce((sum, item) => sum + item.size, 0);
    for (const item of files) {
      if (total <= maxBytes) break;
      await unlink(item.file).catch(() => undefined);
      total -= item.size;
    }
  }

  /** What the folder holds now: the files and their total size (for tests and the bench). */
  async contents(): Promise<{ files: string[]; bytes: number }> {
    const entries = await readdir(this.options.dir).catch(() => [] as string[]);
    const files = entries.filter((name) => name.endsWith(EXTENSION)).map((name) => path.join(this.options.dir, name));
    let bytes = 0;
    for (const file of files) bytes += (await stat(file).catch(() => undefined))?.size ?? 0;
    return { files, bytes };
  }
}
