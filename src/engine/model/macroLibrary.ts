// Every macro a model can call, in one template MiniJinja loads once per project: dbt's own (namespace `dbt`), each
// installed package's and the project's. Each macro gets a unique name (`__m_<namespace>__<name>`), calls between
// macros are rewritten to those names with dbt's lookup rules (a package's own macros first, then the project's,
// then dbt's), and `adapter.dispatch` is resolved here with dbt's search order. Where each piece of the template
// came from is kept, so an error inside a macro names the macro's file and line.
import { createHash } from 'node:crypto';
import { LensError } from '../errors';
import { readTextFile } from '../files';
import { locationAt } from '../textPosition';
import type { FileLocation } from '../errors';
import { DBT_INTERNAL_MACROS } from './dbtInternalMacros';
import type { DbtProject } from './dbtProject';
import { lexTemplate, portableStrings, TemplateSyntaxError, type TemplateToken } from './jinjaLexer';
import {
  blockKeyword,
  callsReturn,
  macroEpilogue,
  macroPrologue,
  MutationRewrite,
  RESULT,
  returnStatement,
  rewriteBlock,
  rewriteCallTag,
  rewriteOutput,
  type RewriteScope,
} from './jinjaRewrite';

export const LIBRARY_TEMPLATE = '__lens_library';
const DBT = 'dbt';

/** The adapters a model renders for, as dbt's `target.type`: dispatch looks for `<adapter>__name` first. */
export type DbtAdapter = 'sqlite' | 'postgres';

export interface MacroSource {
  namespace: string;
  file: string;
  text: string;
}

interface LibraryMacro {
  namespace: string;
  name: string;
  unique: string;
}

/** A piece of generated template text and where it came from. */
interface Piece {
  at: number;
  file: string;
  text: string;
  offset: number;
  /** The piece is the file's text itself (else a rewritten tag: it maps to the tag's start). */
  verbatim: boolean;
}

/** Where calls to our dbt functions are written, by site number. */
export class SiteTable {
  private readonly sites: { file: string; text: string; offset: number }[] = [];
  constructor(private readonly first: number) {}

  add(file: string, text: string, offset: number): number {
    return this.first + this.sites.push({ file, text, offset }) - 1;
  }

  location(site: number): FileLocation | undefined {
    const found = this.sites[site - this.first];
    return found && locationAt(found.file, found.text, found.offset);
  }

  /** The file a site is in. */
  file(site: number): string | undefined {
    return this.sites[site - this.first]?.file;
  }
}

function uniqueName(namespace: string, name: string): string {
  return `__m_${namespace.replace(/\W/g, '_')}__${name}`;
}

/** `{%-`, `{{`, … with the tag's own whitespace control. */
export function delimiters(token: TemplateToken): [string, string] {
  const [open, close] = token.kind === 'variable' ? ['{{', '}}'] : ['{%', '%}'];
  return [`${open}${token.trimBefore ? '-' : ''}`, `${token.trimAfter ? '-' : ''}${close}`];
}

/** Literal text as template text: wrapped in a raw block when it holds what would read as a tag. */
export function literalText(text: string): string {
  return /\{[{%#]/.test(text) ? `{% raw %}${text}{% endraw %}` : text;
}

/** dbt's functions in the context (dbtContext.ts), whose calls carry their site. */
const OUR_FUNCTIONS = new Set([
  'ref',
  'source',
  'var',
  'env_var',
  'config',
  'run_query',
  'load_relation',
  'load_result',
  'log',
  'print',
  'zip',
  'fromjson',
  'tojson',
  'as_bool',
  'as_number',
  'as_text',
  'as_native',
  'set',
  'set_strict',
  'local_md5',
  '__lens_statement',
  'exceptions',
  'adapter',
  'api',
]);

export class MacroLibrary {
  readonly macros = new Map<string, LibraryMacro>();
  readonly namespaces = new Set<string>([DBT]);
  readonly sites = new SiteTable(0);
  /** The expression of each `{{ }}` in a macro, by its site: to name it when it is undefined. */
  readonly outputs = new Map<number, string>();
  /** Packages searched for a bare or qualified macro, for an error that says where it looked. */
  readonly searched: string[];
  template = '';
  private readonly pieces: Piece[] = [];
  private readonly blocks: { source: MacroSource; blocks: { name: string; tokens: TemplateToken[] }[] }[];
  /** Where each macro's definition is in the template, to compile it alone (isolateUnreadable). */
  private ranges: { unique: string; name: string; namespace: string; start: number; end: number }[] = [];
  /**
   * Macros MiniJinja cannot read (Jinja2 can: Python's Jinja has constructs MiniJinja lacks), by unique name: left out
   * of the template, so the rest of the project still renders; calling one is an error saying where it is and why.
   */
  private readonly texts = new Map<string, string>();
  readonly unreadable = new Map<string, { name: string; location?: FileLocation; detail: string }>();

  constructor(
    sources: MacroSource[],
    readonly rootNamespace: string,
    private readonly dispatchOrder: Map<string, string[]>,
    readonly adapter: DbtAdapter = 'sqlite',
  ) {
    this.namespaces.add(rootNamespace);
    for (const source of sources) this.texts.set(source.file, source.text);
    const blocks = sources.map((source) => ({ source, blocks: this.findMacros(source) }));
    for (const { source, blocks: found } of blocks) {
      this.namespaces.add(source.namespace);
      for (const block of found) {
        // A later definition of the same name replaces an earlier one, as in dbt.
        this.macros.set(`${source.namespace}.${block.name}`, {
          namespace: source.namespace,
          name: block.name,
          unique: uniqueName(source.namespace, block.name),
        });
      }
    }
    this.blocks = blocks;
    this.build();
    this.searched = [...this.namespaces];
  }

  /** The template: the result namespace, every macro but the unreadable ones, the tables. */
  private build(): void {
    this.template = '';
    this.pieces.length = 0;
    this.ranges = [];
    // Where each macro leaves its result for its caller (jinjaRewrite's macroPrologue).
    this.emit(`{% set ${RESULT} = namespace(slot=none) %}`, { file: '', offset: 0, verbatim: false });
    for (const { source, blocks: found } of this.blocks) {
      for (const block of found) {
        const unique = uniqueName(source.namespace, block.name);
        if (this.unreadable.has(unique)) continue;
        const start = this.template.length;
        try {
          this.emitMacro(source, block.tokens);
        } catch (error) {
          if (error instanceof TemplateSyntaxError) throw new MacroSyntaxError(source.file, error);
          throw error;
        }
        this.ranges.push({ unique, name: block.name, namespace: source.namespace, start, end: this.template.length });
      }
    }
    this.emitTables();
  }

  /**
   * Finds the macros MiniJinja cannot compile, each compiled alone by `compile` (which answers MiniJinja's message
   * and the line and column it gives in the text, or nothing when it compiles), and builds the template without
   * them. Called when the whole template does not compile.
   */
  isolateUnreadable(compile: (text: string) => { message: string; line: number; column: number } | undefined): void {
    for (const range of this.ranges) {
      const text = this.template.slice(range.start, range.end);
      const problem = compile(text);
      if (!problem) continue;
      const starts = text.split('\n');
      const offset =
        starts.slice(0, problem.line - 1).reduce((sum, line) => sum + line.length + 1, 0) + problem.column - 1;
      this.unreadable.set(range.unique, {
        name: `${range.namespace}.${range.name}`,
        location: this.origin(range.start + offset, (file) => this.texts.get(file)),
        detail: problem.message,
      });
    }
    this.build();
  }

  /** The top-level `{% macro %}…{% endmacro %}` blocks of a file; anything else in it (tests, docs) is not ours. */
  private findMacros(source: MacroSource): { name: string; tokens: TemplateToken[] }[] {
    try {
      return this.macroBlocks(source);
    } catch (error) {
      if (error instanceof TemplateSyntaxError) throw new MacroSyntaxError(source.file, error);
      throw error;
    }
  }

  private macroBlocks(source: MacroSource): { name: string; tokens: TemplateToken[] }[] {
    const tokens = lexTemplate(source.text);
    const found: { name: string; tokens: TemplateToken[] }[] = [];
    let depth = 0;
    let current: { name: string; tokens: TemplateToken[] } | undefined;
    for (const token of tokens) {
      const keyword = token.kind === 'block' ? blockKeyword(source.text.slice(token.codeStart, token.codeEnd)) : '';
      if (keyword === 'macro') {
        if (depth++ === 0) {
          const name = /^\s*macro\s+([A-Za-z_]\w*)/.exec(source.text.slice(token.codeStart, token.codeEnd))?.[1];
          if (!name) throw new TemplateSyntaxError('a macro needs a name', token.start);
          current = { name, tokens: [] };
        }
      }
      if (current) current.tokens.push(token);
      if (keyword === 'endmacro' && --depth === 0 && current) {
        found.push(current);
        current = undefined;
      }
    }
    if (current) throw new TemplateSyntaxError(`macro ${current.name} has no {% endmacro %}`, current.tokens[0].start);
    return found;
  }

  private emit(text: string, piece: Omit<Piece, 'at' | 'text'>): void {
    this.pieces.push({ at: this.template.length, text, ...piece });
    this.template += text;
  }

  /** The rules a macro of `namespace` (or the model, of the root project) looks names up by. */
  scope(namespace: string, file: string, text: string, sites: SiteTable, referenced?: Set<string>): RewriteScope {
    return {
      macro: (path) => {
        const found = this.resolve(namespace, path);
        if (found) referenced?.add(found);
        return found;
      },
      dispatch: (name, macroNamespace) => {
        const found = this.dispatch(name, macroNamespace);
        if (found) referenced?.add(found);
        return found;
      },
      site: (offset) => sites.add(file, text, offset),
      // Every call of one of our functions: its keyword arguments are told from a dict by the site (dbtContext.ts).
      reportsErrors: (path) =>
        OUR_FUNCTIONS.has(path[0]) && (path.length === 1 || ['exceptions', 'adapter', 'api'].includes(path[0])),
    };
  }

  private emitMacro(source: MacroSource, tokens: TemplateToken[]): void {
    const mutation = new MutationRewrite(
      tokens
        .filter((token) => token.kind === 'block')
        .map((token) => source.text.slice(token.codeStart, token.codeEnd)),
    );
    const scope = {
      ...this.scope(source.namespace, source.file, source.text, this.sites),
      mutable: mutation.variables,
    };
    // Nested `{% macro %}`s are plain Jinja macros: only the library macro's own body gets frames and returns.
    let depth = 0;
    const returns = callsReturn(
      tokens.filter((token) => token.kind !== 'data').map((token) => source.text.slice(token.codeStart, token.codeEnd)),
    );
    tokens.forEach((token, index) => {
      const code = source.text.slice(token.codeStart, token.codeEnd);
      const from = { file: source.file, offset: token.start };
      if (token.kind === 'data') {
        this.emit(literalText(code), { ...from, verbatim: true });
        return;
      }
      if (token.kind === 'comment') return;
      const [open, close] = delimiters(token);
      const keyword = token.kind === 'block' ? blockKeyword(code) : '';
      const returned =
        depth === 1 && (token.kind === 'variable' || keyword === 'do')
          ? returnStatement(code, token.codeStart, scope, [open.replace('{{', '{%'), close.replace('}}', '%}')])
          : undefined;
      if (returned) {
        this.emit(returned, { ...from, verbatim: false });
        return;
      }
      if (token.kind === 'variable') {
        const site = this.sites.add(source.file, source.text, token.start);
        this.outputs.set(site, code.trim());
        this.emit(`${open} __lens_out(${site}, (${rewriteOutput(code, token.codeStart, scope)})) ${close}`, {
          ...from,
          verbatim: false,
        });
        return;
      }
      let rewritten = code;
      if (keyword === 'macro' && index === 0) {
        depth++;
        const macro = this.macros.get(`${source.namespace}.${/^\s*macro\s+(\w+)/.exec(code)![1]}`)!;
        rewritten = portableStrings(code.replace(/^(\s*macro\s+)\w+/, `$1${macro.unique}`));
        // The tag's trimming of the text after it moves to the last tag the prologue adds.
        this.emit(`${open}${rewritten}%}${macroPrologue(mutation.opening, returns, close)}`, {
          ...from,
          verbatim: false,
        });
        return;
      }
      if (keyword === 'endmacro' && index === tokens.length - 1) {
        // The tag's trimming of the text before it moves to the first tag the epilogue adds.
        this.emit(`${macroEpilogue(returns, open)}{% endmacro ${close}`, { ...from, verbatim: false });
        return;
      }
      if (keyword === 'macro') {
        depth++;
        rewritten = portableStrings(code);
      } else if (keyword === 'endmacro') {
        depth--;
      } else if (keyword === 'call') {
        rewritten = rewriteCallTag(code, scope);
      } else if (!['endcall', 'import', 'from', 'raw', 'endraw'].includes(keyword)) {
        rewritten = rewriteBlock(code, token.codeStart, scope, mutation);
      }
      this.emit(`${open}${rewritten}${close}`, { ...from, verbatim: false });
    });
    this.emit('\n', { file: source.file, offset: tokens[tokens.length - 1]?.end ?? 0, verbatim: false });
  }

  /** Every macro by unique name (for dispatch decided while rendering), and each namespace as a dict. */
  private emitTables(): void {
    const entries = (macros: LibraryMacro[], key: (macro: LibraryMacro) => string) =>
      macros.map((macro) => `${JSON.stringify(key(macro))}: ${macro.unique}`).join(', ');
    const all = [...this.macros.values()];
    this.emit(`{% set __lens_macros = {${entries(all, (macro) => macro.unique)}} %}`, {
      file: '',
      offset: 0,
      verbatim: false,
    });
    // dbt requires project names to be identifiers; a name that is not one has no `name.macro` form to call.
    for (const namespace of [...this.namespaces].filter((name) => /^[A-Za-z_]\w*$/.test(name))) {
      const members = all.filter((macro) => macro.namespace === namespace);
      this.emit(`{% set ${namespace} = {${entries(members, (macro) => macro.name)}} %}`, {
        file: '',
        offset: 0,
        verbatim: false,
      });
    }
  }

  /** The unique name a macro reference (`m` or `ns.m`) resolves to from a macro of `namespace`. */
  resolve(namespace: string, path: readonly string[]): string | undefined {
    if (path.length === 1) {
      for (const candidate of [namespace, this.rootNamespace, DBT]) {
        const found = this.macros.get(`${candidate}.${path[0]}`);
        if (found) return found.unique;
      }
      return undefined;
    }
    if (path.length === 2 && this.namespaces.has(path[0])) return this.macros.get(`${path[0]}.${path[1]}`)?.unique;
    return undefined;
  }

  /** dbt's dispatch: each package of the search order, `<adapter>__name` then `default__name` in each. */
  dispatch(name: string, namespace: string | undefined): string | undefined {
    const order = (namespace && this.dispatchOrder.get(namespace)) ?? [
      this.rootNamespace,
      namespace ?? this.rootNamespace,
    ];
    for (const candidate of new Set(order)) {
      for (const prefix of [`${this.adapter}__`, 'default__']) {
        const found = this.macros.get(`${candidate}.${prefix}${name}`);
        if (found) return found.unique;
      }
    }
    return undefined;
  }

  /** Where an offset of the library template came from. */
  origin(offset: number, sourceText: (file: string) => string | undefined): FileLocation | undefined {
    let low = 0;
    let high = this.pieces.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.pieces[middle].at <= offset) low = middle;
      else high = middle - 1;
    }
    const piece = this.pieces[low];
    const text = piece && sourceText(piece.file);
    if (!piece || text === undefined) return undefined;
    return locationAt(piece.file, text, piece.verbatim ? piece.offset + (offset - piece.at) : piece.offset);
  }
}

const libraries = new Map<string, MacroLibrary>();

/**
 * The project's macro library for an adapter, built once for the same macro files and adapter (a change to any file
 * builds it anew). The adapter decides what `adapter.dispatch` finds, so the library differs by it.
 */
export async function loadMacroLibrary(
  project: DbtProject | undefined,
  adapter: DbtAdapter = 'sqlite',
): Promise<{ library: MacroLibrary; text: (file: string) => string | undefined }> {
  if (project?.missingPackages.length) {
    throw new LensError({
      code: 'jinja',
      message: `${project.dir}/packages.yml lists ${project.missingPackages.join(', ')}, which ${project.missingPackages.length === 1 ? 'is' : 'are'} not installed.`,
      hint: 'Run dbt deps in the project folder to install its packages.',
    });
  }
  const sources = await macroSources(project);
  const texts = new Map(sources.map((source) => [source.file, source.text]));
  const hash = createHash('sha256');
  for (const source of sources) hash.update(`${source.namespace}\0${source.file}\0${source.text}\0`);
  hash.update(JSON.stringify([project?.name, [...(project?.dispatchOrder ?? [])], adapter]));
  const key = hash.digest('hex');
  let library = libraries.get(key);
  if (!library) {
    try {
      library = new MacroLibrary(sources, project?.name ?? 'project', project?.dispatchOrder ?? new Map(), adapter);
    } catch (error) {
      if (!(error instanceof MacroSyntaxError)) throw error;
      throw new LensError({
        code: 'jinja',
        message: `Jinja syntax error in ${error.file}: ${error.message}.`,
        hint: 'dbt cannot read this macro file either: close the tag.',
        location: locationAt(error.file, texts.get(error.file) ?? '', error.offset),
      });
    }
    // A few projects' libraries are kept (the CLI and the worker see one or two).
    if (libraries.size >= 4) libraries.delete(libraries.keys().next().value!);
    libraries.set(key, library);
  }
  return { library, text: (file) => texts.get(file) };
}

/** A macro file that cannot be read as Jinja. */
class MacroSyntaxError extends TemplateSyntaxError {
  constructor(
    readonly file: string,
    error: TemplateSyntaxError,
  ) {
    super(error.message, error.offset);
  }
}

/**
 * The macro files of a project and its packages, read; dbt's own macros first. The files were listed (and, in an
 * untrusted workspace, checked) by loadDbtProject.
 */
export async function macroSources(project: DbtProject | undefined): Promise<MacroSource[]> {
  const sources: MacroSource[] = [{ namespace: DBT, file: '(dbt built-in macros)', text: DBT_INTERNAL_MACROS }];
  for (const file of project?.macroFiles ?? [])
    sources.push({ namespace: file.namespace, file: file.file, text: await readTextFile(file.file, 'The macro file') });
  return sources;
}
