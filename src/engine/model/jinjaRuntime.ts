// MiniJinja (the Rust Jinja2 engine dbt Fusion uses) as WebAssembly, through minijinja-js. Templates reach no
// JavaScript object but the functions we hand them, and the work a template can do is bounded three ways: fuel
// (instructions), MiniJinja's recursion limit, and a cap on the WebAssembly memory (a string-multiplication bomb
// fails fast instead of taking gigabytes). A trap inside the WebAssembly (a panic, or the memory cap) leaves the
// instance unusable, so the runtime then starts a fresh one; a broken instance is never used again.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TextDecoder, TextEncoder } from 'node:util';
import type { Environment } from 'minijinja-js';

/** Files minijinja-js ships, copied next to the bundles by esbuild.mjs. */
export const JINJA_GLUE = 'minijinja_js.js';
export const JINJA_WASM = 'minijinja_js_bg.wasm';

/** The WebAssembly memory a render may use: 64 KiB pages. */
const MAX_MEMORY_PAGES = 4096; // 256 MiB

/** Instructions a render may run: about a tenth of a second on this kind of machine per million. */
export const RENDER_FUEL = 3_000_000;

type JinjaModule = { Environment: new () => Environment };

function leb128(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value) byte |= 0x80;
    bytes.push(byte);
  } while (value);
  return bytes;
}

function readLeb128(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = bytes[offset++];
    value |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  return [value >>> 0, offset];
}

/** The module with a maximum on its one memory (the build declares none), so allocation beyond it traps. */
export function capMemory(wasm: Uint8Array, maxPages: number): Uint8Array {
  let offset = 8;
  while (offset < wasm.length) {
    const id = wasm[offset];
    const [size, start] = readLeb128(wasm, offset + 1);
    if (id === 5) {
      const [count, flagsAt] = readLeb128(wasm, start);
      if (count !== 1 || wasm[flagsAt] !== 0) throw new Error('minijinja-js: unexpected memory section');
      const [initial] = readLeb128(wasm, flagsAt + 1);
      const body = [...leb128(1), 1, ...leb128(initial), ...leb128(maxPages)];
      const section = [5, ...leb128(body.length), ...body];
      return Buffer.concat([wasm.subarray(0, offset), Uint8Array.from(section), wasm.subarray(start + size)]);
    }
    offset = start + size;
  }
  throw new Error('minijinja-js: no memory section');
}

export class JinjaRuntime {
  private readonly glue: string;
  private readonly wasm: Uint8Array;
  private module: JinjaModule | undefined;
  /** Counts the instances made: what was made from an earlier one (an environment) must not be used. */
  generation = 0;

  /** `dir` holds minijinja-js's Node build (its glue and its wasm). */
  constructor(dir: string) {
    this.glue = readFileSync(path.join(dir, JINJA_GLUE), 'utf8');
    this.wasm = capMemory(readFileSync(path.join(dir, JINJA_WASM)), MAX_MEMORY_PAGES);
  }

  /** A fresh instance of the package's own glue code, handed the capped module instead of reading the file. */
  private instantiate(): JinjaModule {
    const module = { exports: {} as JinjaModule };
    const wasm = this.wasm;
    const requireForGlue = (name: string): unknown => {
      if (name === 'util') return { TextDecoder, TextEncoder };
      if (name === 'path') return { join: () => JINJA_WASM };
      if (name === 'fs') return { readFileSync: () => wasm };
      throw new Error(`minijinja-js asked for ${name}`);
    };
    new Function('module', 'exports', 'require', '__dirname', this.glue)(module, module.exports, requireForGlue, '.');
    return module.exports;
  }

  /** A new environment: Jinja2 semantics (Python methods on values), strict about undefined values, bounded. */
  environment(): Environment {
    this.module ??= this.instantiate();
    const environment = new this.module.Environment();
    environment.enablePyCompat();
    environment.undefinedBehavior = 'strict';
    environment.fuel = RENDER_FUEL;
    return environment;
  }

  /** After a trap the instance's state is undefined: the next environment comes from a fresh instance. */
  discardInstance(): void {
    this.module = undefined;
    this.generation++;
  }
}

/** A trap in the WebAssembly (a panic, or memory beyond the cap): the instance must not be used again. */
export function isTrap(error: unknown): boolean {
  return (
    (error instanceof Error && error.constructor.name === 'RuntimeError') ||
    (error instanceof Error && /recursive use of an object|unreachable|memory access out of bounds/.test(error.message))
  );
}

const runtimes = new Map<string, JinjaRuntime>();

/** The runtime for minijinja-js's files in `dir`, loaded once per process. */
export function jinjaRuntime(dir: string): JinjaRuntime {
  let runtime = runtimes.get(dir);
  if (!runtime) {
    runtime = new JinjaRuntime(dir);
    runtimes.set(dir, runtime);
  }
  return runtime;
}
