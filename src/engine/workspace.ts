// What every run starts from: the workspace folder (trusted or not), the request's settings and environment, and
// the extension's own assets. Paths from settings and profiles are resolved here, once, and checked to stay inside
// the workspace when it is not trusted.
import path from 'node:path';
import { LensError } from './errors';
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
  env?: Record<string, string | undefined>;
  homeDir?: string;
  /** False in a workspace VS Code does not trust: then no file outside the workspace folder is read. */
  trusted?: boolean;
  /** Other limits than DEFAULT_LIMITS (tests use small ones). */
  limits?: Partial<EngineLimits>;
}

export class Workspace {
  readonly dir: string;
  readonly trusted: boolean;
  readonly env: Record<string, string | undefined>;
  readonly homeDir: string;

  constructor(request: RunRequest) {
    this.dir = request.workspaceDir;
    this.trusted = request.trusted !== false;
    this.env = request.env ?? process.env;
    this.homeDir = request.homeDir ?? process.env.HOME ?? request.workspaceDir;
  }

  /** `file` (absolute, or relative to `base`: the workspace folder by default), refused when it leads outside an untrusted workspace. */
  resolve(file: string, setting: string, base = this.dir): string {
    const resolved = path.resolve(base, file);
    if (this.trusted) return resolved;
    const relative = path.relative(this.dir, resolved);
    if (relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative))) return resolved;
    throw new LensError({
      code: 'outside-workspace',
      setting,
      message: `${resolved} (${setting}) is outside the workspace folder, and the workspace is not trusted.`,
      hint: 'Trust the workspace to read data outside it, or keep the data inside the workspace folder.',
    });
  }
}
