// What every run starts from: the workspace folder (trusted or not), the request's settings and environment, and
// the extension's own assets. Paths from settings, dbt_project.yml and profiles.yml are resolved here, once, and the
// folders named there are listed here; in a workspace that is not trusted, every file and folder is first resolved
// to what it really is (links followed, realpath) and refused unless that is inside the workspace folder.
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { LensError, type FileLocation } from './errors';
import type { EngineLimits } from './limits';
import type { RawSettings } from './settings';

export interface EngineAssets {
  /** sql.js's wasm, shipped in the extension's own folder. */
  wasmPath: string;
  /** The bundled sample: `models/customer_segments.sql` and `seeds/`. */
  sampleDir: string;
  /** minijinja-js's Node build (its glue and its wasm), shipped in the extension's own folder. */
  jinjaDir: string;
}

export interface RunRequest {
  workspaceDir: string;
  settings: RawSettings;
  /** The environment templates see (env_var()); ignored when the workspace is not trusted. */
  env?: Record<string, string | undefined>;
  homeDir?: string;
  /**
   * PostgreSQL passwords the user stored (VS Code's SecretStorage, "Set PostgreSQL Password…"), by
   * postgresPasswordKey (user@host:port/database): used when the connection gives none. Never logged or shown.
   */
  passwords?: Record<string, string>;
  /**
   * False in a workspace VS Code does not trust: then no file outside the workspace folder is read (links are
   * followed to check), and templates get no environment.
   */
  trusted?: boolean;
  /** Other limits than DEFAULT_LIMITS (tests use small ones). */
  limits?: Partial<EngineLimits>;
}

/**
 * What names a path, for the message that refuses it: a `segmentLens.*` setting; a key of a dbt file
 * (dbt_project.yml's `model-paths`, profiles.yml's `schema_directory`), as written there; or a file the engine looks
 * for by its place (`what`: "The dbt project file").
 */
export type PathOrigin =
  string | { file: string; key: string; written: string; location?: FileLocation; setting?: string } | { what: string };

/** `target` is `root` or below it (both absolute, resolved the same way). */
function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative === '' || (relative.split(path.sep)[0] !== '..' && !path.isAbsolute(relative));
}

/**
 * `file` with every link resolved. A path that does not exist (yet) resolves as far as it exists: its nearest
 * existing folder, resolved, with the rest appended; nothing there can be read, so that is where it leads.
 */
async function realPathOf(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const parent = path.dirname(file);
    if ((code === 'ENOENT' || code === 'ENOTDIR') && parent !== file)
      return path.join(await realPathOf(parent), path.basename(file));
    throw error;
  }
}

function settingOf(origin: PathOrigin): string | undefined {
  return typeof origin === 'string' ? origin : 'key' in origin ? origin.setting : undefined;
}

/** How the origin is named in parentheses after a path. */
function labelOf(origin: PathOrigin): string {
  if (typeof origin === 'string') return origin;
  return 'key' in origin ? `${origin.key} in ${origin.file}` : origin.what;
}

export class Workspace {
  readonly dir: string;
  readonly trusted: boolean;
  /** The environment templates see: none when the workspace is not trusted. */
  readonly env: Record<string, string | undefined>;
  readonly homeDir: string;
  /** Stored PostgreSQL passwords (RunRequest.passwords): none when the workspace is not trusted. */
  readonly passwords: Readonly<Record<string, string>>;
  /** The workspace folder with its links resolved: what every path is checked against (untrusted only). */
  private realDir?: Promise<string>;

  constructor(request: RunRequest) {
    this.dir = request.workspaceDir;
    this.trusted = request.trusted !== false;
    this.env = this.trusted ? (request.env ?? process.env) : {};
    this.homeDir = request.homeDir ?? process.env.HOME ?? request.workspaceDir;
    this.passwords = this.trusted ? (request.passwords ?? {}) : {};
  }

  /**
   * `file` (absolute, or relative to `base`: the workspace folder by default), refused when it leads outside an
   * untrusted workspace: resolved with its links before it is checked, so nothing is read before the check.
   */
  async resolve(file: string, origin: PathOrigin, base = this.dir): Promise<string> {
    const resolved = path.resolve(base, file);
    if (!this.trusted) await this.check(resolved, origin);
    return resolved;
  }

  /**
   * Files in `folder` (named by `origin`) whose extension is one of `extensions` (lower case, with the dot), in its
   * folders down to `depth` levels; links to files and folders are followed (each folder once), and in an untrusted
   * workspace each link is refused unless it leads inside. A folder that does not exist has no files. Sorted.
   */
  async listFiles(folder: string, extensions: string[], origin: PathOrigin, depth = Infinity): Promise<string[]> {
    const found = await this.walk(folder, origin, depth, (name, isFolder) =>
      isFolder ? false : extensions.includes(path.extname(name).toLowerCase()),
    );
    return found.sort();
  }

  /** The folders in `folder` (named by `origin`), links to folders included (and checked as listFiles checks them). */
  async listFolders(folder: string, origin: PathOrigin): Promise<string[]> {
    return (await this.walk(folder, origin, 0, (_name, isFolder) => isFolder)).sort();
  }

  private async walk(
    folder: string,
    origin: PathOrigin,
    depth: number,
    take: (name: string, isFolder: boolean) => boolean,
  ): Promise<string[]> {
    const root = await this.resolve(folder, origin);
    const found: string[] = [];
    const visited = new Set<string>();
    const visit = async (dir: string, level: number): Promise<void> => {
      // A link back up the tree would loop: each real folder is listed once.
      const real = await realpath(dir).catch(() => undefined);
      if (!real || visited.has(real)) return;
      visited.add(real);
      const entries: Dirent[] = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        const file = path.join(dir, entry.name);
        let isFolder = entry.isDirectory();
        if (entry.isSymbolicLink()) {
          const info = await stat(file).catch(() => undefined);
          // A link to nothing (or a loop of links) has nothing to read.
          if (!info) continue;
          isFolder = info.isDirectory();
        }
        const taken = take(entry.name, isFolder);
        const descend = isFolder && level < depth;
        if (!taken && !descend) continue;
        // Below a folder that is inside, only a link can lead out.
        if (entry.isSymbolicLink() && !this.trusted) await this.check(file, origin, root);
        if (taken) found.push(file);
        if (descend) await visit(file, level + 1);
      }
    };
    await visit(root, 0);
    return found;
  }

  /** Refuses `resolved` unless, its links resolved, it is inside the workspace folder; `foundIn`: a listed folder. */
  private async check(resolved: string, origin: PathOrigin, foundIn?: string): Promise<void> {
    this.realDir ??= realPathOf(path.resolve(this.dir)).catch(() => path.resolve(this.dir));
    const [root, real] = await Promise.all([this.realDir, this.realPath(resolved, origin)]);
    if (isInside(root, real)) return;
    const lexical = isInside(path.resolve(this.dir), resolved);
    const where = lexical ? `leads to ${real}, outside the workspace folder` : 'is outside the workspace folder';
    const untrusted = 'and the workspace is not trusted';
    const setting = settingOf(origin);
    if (foundIn !== undefined) {
      throw new LensError({
        code: 'outside-workspace',
        setting,
        message: `${resolved}, in ${foundIn} (${labelOf(origin)}), ${where}, ${untrusted}.`,
        hint: 'Trust the workspace to follow links that leave it, or put the file or folder itself in place of the link.',
      });
    }
    if (typeof origin !== 'string' && 'key' in origin) {
      throw new LensError({
        code: 'outside-workspace',
        setting,
        message: `${origin.file}: ${origin.key}: ${origin.written} ${lexical ? `leads to ${real}, outside the workspace folder` : `is outside the workspace folder (${resolved})`}, ${untrusted}.`,
        hint: `Trust the workspace to read ${origin.key} outside it, or keep what ${origin.key} names inside the workspace folder.`,
        location: origin.location ?? { file: origin.file, line: 1, column: 1 },
      });
    }
    throw new LensError({
      code: 'outside-workspace',
      setting,
      message:
        typeof origin === 'string'
          ? `${resolved} (${origin}) ${where}, ${untrusted}.`
          : `${origin.what} ${resolved} ${where}, ${untrusted}.`,
      hint:
        typeof origin === 'string'
          ? 'Trust the workspace to read data outside it, or keep the data inside the workspace folder.'
          : 'Trust the workspace to read files outside it, or put the file itself in the workspace folder.',
    });
  }

  /** `resolved` with its links resolved; a loop of links or a folder that cannot be read is the user's to fix. */
  private async realPath(resolved: string, origin: PathOrigin): Promise<string> {
    try {
      return await realPathOf(resolved);
    } catch (error) {
      throw new LensError({
        code: 'not-a-file',
        setting: settingOf(origin),
        message: `${resolved} (${labelOf(origin)}) cannot be resolved: ${(error as Error).message}.`,
        hint: 'A link on the way loops or cannot be read: fix the link, or name the file itself.',
      });
    }
  }
}
