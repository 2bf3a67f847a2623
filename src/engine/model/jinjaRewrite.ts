// Rewrites the code inside a Jinja tag so MiniJinja gives dbt's semantics where it has none of its own:
// - a macro call `m(…)`, `pkg.m(…)` or `adapter.dispatch('m', 'pkg')(…)` calls the macro by its unique name in the
//   library and hands its `return()` value back (MiniJinja macros return only text): see macroPrologue;
// - `adapter.dispatch` is resolved here, with dbt's search order, against the macros the project has;
// - `x.get(k, default)` becomes `__lens_get(x, k, default)` (MiniJinja's `get` takes no default);
// - a call to one of our dbt functions gets `__lens_site=N`, so an error it reports points at the call in the file;
// - a string literal is written so MiniJinja reads the value Python's escapes give (`'\d'`, a backslash-newline).
import {
  lexCode,
  portableString,
  portableStrings,
  stringValue,
  TemplateSyntaxError,
  type CodeToken,
} from './jinjaLexer';

const MAX_NESTING = 200;

export interface RewriteScope {
  /** The unique name of the macro `path` (`['m']` or `['pkg', 'm']`) names here, if it names one. */
  macro(path: readonly string[]): string | undefined;
  /** The unique name of the macro `adapter.dispatch(name, namespace)` resolves to here, if any. */
  dispatch(name: string, namespace: string | undefined): string | undefined;
  /** Records where a call to one of our functions is written (offset in the file); returns its site number. */
  site(offset: number): number;
  /** Our dbt functions whose calls get a site: `ref`, `adapter.get_columns_in_relation`, … */
  reportsErrors(path: readonly string[]): boolean;
  /** A dotted call that is neither a macro nor one of ours (`pkg.m(` of a package not installed?), at `offset`. */
  unresolved?(path: readonly string[], offset: number): void;
  /** Variables a `do x.append(…)` changes: they live in a namespace, `__lens_mut.x` (see mutationRewrite). */
  mutable?: ReadonlySet<string>;
}

/** Objects of dbt's context and of Jinja whose methods are not macros. */
const KNOWN_OBJECTS = new Set([
  'adapter',
  'exceptions',
  'api',
  'modules',
  'loop',
  'target',
  'this',
  'caller',
  'self',
  'config',
]);

/** Jinja's words that are not names: a bracket after one of them is not a call or a subscript. */
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'if', 'else', 'elif', 'for', 'set', 'do', 'recursive']);

type Node =
  | { kind: 'token'; token: CodeToken; offset: number }
  | { kind: 'group'; open: CodeToken; close?: CodeToken; items: Node[]; offset: number };

/** Nests the tokens by their brackets. */
function nest(tokens: CodeToken[], codeOffset: number): Node[] {
  const root: Node[] = [];
  const stack: { items: Node[]; group?: Extract<Node, { kind: 'group' }> }[] = [{ items: root }];
  let offset = codeOffset;
  for (const token of tokens) {
    const top = stack[stack.length - 1];
    if (token.kind === 'operator' && (token.text === '(' || token.text === '[' || token.text === '{')) {
      // The rewrite walks brackets recursively: beyond this depth a template is refused (MiniJinja's own limit is lower).
      if (stack.length > MAX_NESTING) throw new TemplateSyntaxError('brackets nest too deeply', offset);
      const group: Extract<Node, { kind: 'group' }> = { kind: 'group', open: token, items: [], offset };
      top.items.push(group);
      stack.push({ items: group.items, group });
    } else if (
      token.kind === 'operator' &&
      (token.text === ')' || token.text === ']' || token.text === '}') &&
      stack.length > 1
    ) {
      top.group!.close = token;
      stack.pop();
    } else top.items.push({ kind: 'token', token, offset });
    offset += token.text.length;
  }
  return root;
}

/** A token as MiniJinja is handed it: string literals read as Jinja2 reads them (portableString). */
const written = (token: CodeToken) => (token.kind === 'string' ? portableString(token.text) : token.text);

const isSpace = (node: Node | undefined) => node?.kind === 'token' && node.token.kind === 'space';
const isOperator = (node: Node | undefined, text: string): boolean =>
  node?.kind === 'token' && node.token.kind === 'operator' && node.token.text === text;
const isName = (node: Node | undefined): node is Extract<Node, { kind: 'token' }> =>
  node?.kind === 'token' && node.token.kind === 'name';
const isGroup = (node: Node | undefined, open: string): node is Extract<Node, { kind: 'group' }> =>
  node?.kind === 'group' && node.open.text === open;

/** The string literals of a call's arguments, positional and by keyword, when they are only literals. */
function literalArguments(
  group: Extract<Node, { kind: 'group' }>,
): { positional: string[]; keywords: Record<string, string> } | undefined {
  const parts: Node[][] = [[]];
  for (const node of group.items) {
    if (isOperator(node, ',')) parts.push([]);
    else if (!isSpace(node)) parts[parts.length - 1].push(node);
  }
  const positional: string[] = [];
  const keywords: Record<string, string> = {};
  for (const part of parts.filter((item) => item.length > 0)) {
    const last = part[part.length - 1];
    const value = last.kind === 'token' ? stringValue(last.token) : undefined;
    if (value === undefined) return undefined;
    if (part.length === 1) positional.push(value);
    else if (part.length === 3 && isName(part[0]) && isOperator(part[1], '=')) keywords[part[0].token.text] = value;
    else return undefined;
  }
  return { positional, keywords };
}

class Rewriter {
  constructor(private readonly scope: RewriteScope) {}

  /** Rewrites a list of nodes (the code of a tag, or the inside of a bracket). */
  nodes(nodes: Node[]): string {
    let out = '';
    let index = 0;
    const previousSignificant = (at: number) => {
      for (let back = at - 1; back >= 0; back--) if (!isSpace(nodes[back])) return nodes[back];
      return undefined;
    };
    while (index < nodes.length) {
      const node = nodes[index];
      const before = previousSignificant(index);
      // A chain starts at a name, a literal or a bracket that is not itself the tail of another chain.
      const literal = node.kind === 'token' && node.token.kind === 'string';
      const startsChain = (isName(node) || node.kind === 'group' || literal) && !isOperator(before, '.');
      // After `|` a name is a filter, after `is` a test: never a macro or one of our functions.
      const filterOrTest = isOperator(before, '|') || (isName(before) && before.token.text === 'is');
      if (!startsChain || filterOrTest) {
        out += node.kind === 'group' ? this.group(node) : written(node.token);
        index++;
        continue;
      }
      // A variable the body changes lives in its namespace (a keyword argument's name stays as it is).
      if (
        isName(node) &&
        this.scope.mutable?.has(node.token.text) &&
        !isOperator(
          nodes.slice(index + 1).find((next) => !isSpace(next)),
          '=',
        )
      ) {
        nodes = [...nodes];
        nodes[index] = { ...node, token: { kind: 'name', text: `${MUTABLE}.${node.token.text}` } };
      }
      const [text, next] = this.chain(nodes, index);
      out += text;
      index = next;
    }
    return out;
  }

  group(group: Extract<Node, { kind: 'group' }>): string {
    return `${group.open.text}${this.nodes(group.items)}${group.close?.text ?? ''}`;
  }

  /** A primary followed by `.name`, `[…]` and `(…)`: rewritten as a whole; returns the text and the index after it. */
  private chain(nodes: Node[], start: number): [string, number] {
    const first = nodes[start];
    let text = first.kind === 'group' ? this.group(first) : written(first.token);
    const path: string[] = isName(first) ? [first.token.text] : [];
    let pathIsWhole = isName(first);
    let index = start + 1;
    // `adapter.dispatch('m', 'pkg') (args)`: Jinja allows spaces between the parts of a chain (not after a keyword).
    const spaced = !(isName(first) && KEYWORDS.has(first.token.text));
    for (;;) {
      let next = index;
      while (spaced && isSpace(nodes[next])) next++;
      if (next > index && (isGroup(nodes[next], '(') || isGroup(nodes[next], '[') || isOperator(nodes[next], '.')))
        index = next;
      const node = nodes[index];
      if (isOperator(node, '.') && isName(nodes[index + 1])) {
        const name = (nodes[index + 1] as Extract<Node, { kind: 'token' }>).token.text;
        const call = nodes[index + 2];
        if (name === 'get' && isGroup(call, '(')) {
          const args = this.nodes(call.items);
          text = `__lens_get(${text}${args.trim() ? `, ${args}` : ''})`;
          pathIsWhole = false;
          index += 3;
          continue;
        }
        if (pathIsWhole) path.push(name);
        text += `.${name}`;
        index += 2;
        continue;
      }
      if (isGroup(node, '[')) {
        text += this.group(node);
        pathIsWhole = false;
        index++;
        continue;
      }
      if (isGroup(node, '(')) {
        text = this.call(text, pathIsWhole ? path : undefined, node);
        pathIsWhole = false;
        index++;
        continue;
      }
      return [text, index];
    }
  }

  /** `callee(args)`, where `path` is the dotted name the callee was written as (if it was one). */
  private call(callee: string, path: readonly string[] | undefined, args: Extract<Node, { kind: 'group' }>): string {
    const inner = this.nodes(args.items);
    if (path && path.length === 2 && path[0] === 'adapter' && path[1] === 'dispatch') {
      const literal = literalArguments(args);
      const name = literal?.positional[0] ?? literal?.keywords.macro_name;
      const namespace = literal?.positional[1] ?? literal?.keywords.macro_namespace;
      const resolved = name === undefined ? undefined : this.scope.dispatch(name, namespace);
      // The dispatched macro is called next: `adapter.dispatch(…)(…)` continues as a call of `resolved`.
      if (resolved) return resolved;
      // Not literal names: looked up while rendering, in the table of every macro by its dispatch key.
      return `__lens_macros[__lens_dispatch(${inner}${inner.trim() ? ', ' : ''}__lens_site=${this.scope.site(args.offset)})]`;
    }
    const macro = path ? this.scope.macro(path) : /^(__m_|__lens_macros\[)/.test(callee) ? callee : undefined;
    // The macro leaves its result in the namespace (macroEpilogue); the tuple makes the call run before the lookup.
    if (macro) return `${RESULT}[(${macro}(${inner}), 'slot')[1]]`;
    if (path && path.length === 2 && !KNOWN_OBJECTS.has(path[0])) this.scope.unresolved?.(path, args.offset);
    if (path && this.scope.reportsErrors(path)) {
      return `${callee}(${inner}${inner.trim() ? ', ' : ''}__lens_site=${this.scope.site(args.offset)})`;
    }
    return `${callee}(${inner})`;
  }
}

/** The tag's code rewritten; `codeOffset` is where the code starts in its file. */
export function rewriteCode(code: string, codeOffset: number, scope: RewriteScope): string {
  return new Rewriter(scope).nodes(nest(lexCode(code), codeOffset));
}

/**
 * The code of a `{{ … }}` tag rewritten (rewriteCode), for our output functions: an undefined value reaches them as
 * `__lens_undefined` (None would be `undefined` too, see dbtContext's UNDEFINED_MARK). `{{ ',' if not loop.last }}`
 * prints nothing in dbt when the condition is false (the missing else is Jinja2's Undefined, which prints as ''),
 * but to our functions that is a misspelt name: the missing `else` is written out as `else ''`.
 */
export function rewriteOutput(code: string, codeOffset: number, scope: RewriteScope): string {
  const nodes = nest(lexCode(code), codeOffset);
  const count = (word: string) => nodes.filter((node) => isName(node) && node.token.text === word).length;
  const missingElses = " else ''".repeat(Math.max(0, count('if') - count('else')));
  return `(${new Rewriter(scope).nodes(nodes)}${missingElses}) | default(__lens_undefined)`;
}

const MUTABLE = '__lens_mut';
const METHODS = new Set(['append', 'extend', 'insert', 'update']);

/** One step from a variable to the value a mutation changes: `.name` or `[key]`. */
type Accessor = { kind: 'attribute'; name: string } | { kind: 'item'; key: Extract<Node, { kind: 'group' }> };

/** `x.append(v)`, `d[k].append(v)`, `ns.items.extend(v)`, `d.update({…})`: what a `do` tag changes, and how. */
interface Mutation {
  root: string;
  accessors: Accessor[];
  method: string;
  args: Extract<Node, { kind: 'group' }>;
}

/** The top-level parts of a bracket's content, split at its commas (spaces dropped). */
function splitArguments(group: Extract<Node, { kind: 'group' }>): Node[][] {
  const parts: Node[][] = [[]];
  for (const node of group.items) {
    if (isOperator(node, ',')) parts.push([]);
    else if (!isSpace(node)) parts[parts.length - 1].push(node);
  }
  return parts.filter((part) => part.length > 0);
}

/**
 * The mutation a block tag's code makes, if it is `do <mutation>` or `set <name> = <mutation>` (the value, None in
 * Python, thrown away): a variable, any accessors, then one of METHODS called.
 */
function parseMutation(code: string, offset: number): Mutation | undefined {
  const nodes = nest(lexCode(code), offset).filter((node) => !isSpace(node));
  const word = (node: Node | undefined) => (isName(node) ? node.token.text : undefined);
  const discarded = word(nodes[0]) === 'set' && isName(nodes[1]) && isOperator(nodes[2], '=');
  if (word(nodes[0]) !== 'do' && !discarded) return undefined;
  let at = discarded ? 3 : 1;
  const root = word(nodes[at]);
  if (!root) return undefined;
  const accessors: Accessor[] = [];
  for (at++; at < nodes.length;) {
    const node = nodes[at];
    if (isOperator(node, '.') && isName(nodes[at + 1])) {
      const name = (nodes[at + 1] as Extract<Node, { kind: 'token' }>).token.text;
      const call = nodes[at + 2];
      if (METHODS.has(name) && isGroup(call, '(') && at + 3 === nodes.length)
        return { root, accessors, method: name, args: call };
      accessors.push({ kind: 'attribute', name });
      at += 2;
    } else if (isGroup(node, '[')) {
      accessors.push({ kind: 'item', key: node });
      at++;
    } else return undefined;
  }
  return undefined;
}

/**
 * MiniJinja's lists and dicts cannot change, but dbt's Jinja changes them in place (`{% do cols.append(c) %}` in a
 * loop, `{% do by_relation[relation].append(c) %}`). A body (a macro, or a model) that does so keeps each such
 * variable in a namespace instead, which a loop can change, and each change assigns the variable a changed copy:
 * `{% set x = [] %}` → `{% set __lens_mut.x = [] %}`, `{% do x.append(v) %}` → `{% set __lens_mut.x = __lens_mut.x +
 * [v] %}`, `{% do d[k].append(v) %}` → `d` with `d[k] + [v]` at `k` (MiniJinja's `dict(d, **{k: …})`, which keeps
 * keys of any kind, relations too), and every other use of `x` reads `__lens_mut.x`. An attribute of a
 * `namespace()` is assigned as it is (`{% set ns.items = ns.items + [v] %}`). A variable the body only receives (a
 * macro's argument) starts as the value given, but the caller's own list does not change as in Python.
 */
export class MutationRewrite {
  readonly variables = new Set<string>();
  private readonly namespaces = new Set<string>();

  /** `codes`: the code of every block tag of the body, with its offset in the file. */
  constructor(codes: readonly string[]) {
    for (const code of codes) {
      const namespace = /^\s*set\s+([A-Za-z_]\w*)\s*=\s*namespace\s*\(/.exec(code);
      if (namespace) this.namespaces.add(namespace[1]);
    }
    for (const code of codes) {
      const mutation = parseMutation(code, 0);
      if (!mutation) continue;
      if (this.namespaces.has(mutation.root) && mutation.accessors[0]?.kind === 'attribute') continue;
      this.variables.add(mutation.root);
    }
    // A loop variable of the same name is another variable each time round: leave those alone.
    for (const code of codes) {
      const loop = /^\s*for\s+([\w\s,]+?)\s+in\b/.exec(code);
      for (const name of loop?.[1].split(',') ?? []) this.variables.delete(name.trim());
    }
  }

  /** The tag that opens the body's namespace, when the body needs one: each variable starts as what it names. */
  get opening(): string {
    if (!this.variables.size) return '';
    const start = [...this.variables].map((name) => `${name}=(${name} if ${name} is defined else none)`);
    return `{% set ${MUTABLE} = namespace(${start.join(', ')}) %}`;
  }

  /** A block tag's code rewritten, when it assigns or changes one of the variables (else undefined). */
  block(code: string, offset: number, scope: RewriteScope): string | undefined {
    const assignment = /^(\s*set\s+)([A-Za-z_]\w*)(\s*=)([\s\S]*)$/.exec(code);
    const mutation = parseMutation(code, offset);
    if (!mutation) {
      if (!assignment || !this.variables.has(assignment[2])) return undefined;
      const valueOffset = offset + assignment[1].length + assignment[2].length + assignment[3].length;
      return `${assignment[1]}${MUTABLE}.${assignment[2]}${assignment[3]}${rewriteCode(assignment[4], valueOffset, scope)}`;
    }
    const rewriter = new Rewriter(scope);
    const accessors = [...mutation.accessors];
    let target: string;
    if (this.variables.has(mutation.root)) target = `${MUTABLE}.${mutation.root}`;
    else if (this.namespaces.has(mutation.root) && accessors[0]?.kind === 'attribute')
      target = `${mutation.root}.${(accessors.shift() as { name: string }).name}`;
    else return undefined;
    const args = splitArguments(mutation.args).map((part) => rewriter.nodes(part));
    const keyword = (index: number) => {
      const part = splitArguments(mutation.args)[index];
      return part?.length > 2 && isName(part[0]) && isOperator(part[1], '=');
    };
    const change = (value: string): string => {
      switch (mutation.method) {
        case 'append':
          return `${value} + [${args[0]}]`;
        case 'extend':
          return `${value} + ((${args[0]})|list)`;
        case 'insert':
          return `${value}[:${args[0]}] + [${args[1]}] + ${value}[${args[0]}:]`;
        default:
          // dict.update(other, key=value): MiniJinja's dict() merges a mapping's entries and keyword arguments.
          return `dict(${value}${args.map((arg, index) => (keyword(index) ? `, ${arg}` : `, **(${arg})`)).join('')})`;
      }
    };
    /** `value` with the accessors' element replaced by its changed copy. */
    const rebuild = (value: string, rest: Accessor[]): string => {
      if (!rest.length) return change(value);
      const [first, ...others] = rest;
      if (first.kind === 'attribute')
        return `dict(${value}, **{${JSON.stringify(first.name)}: ${rebuild(`${value}.${first.name}`, others)}})`;
      const key = rewriter.nodes(first.key.items);
      const changed = rebuild(`${value}[${key}]`, others);
      return `(dict(${value}, **{(${key}): ${changed}}) if ${value} is mapping else ${value}[:${key}] + [${changed}] + ${value}[(${key}) + 1:])`;
    };
    const value = rebuild(target, accessors);
    // `{% set _ = x.append(v) %}`: `_` is None, as in Python.
    const discarded = assignment ? ` %}{% set ${assignment[2]} = none ` : ' ';
    return ` set ${target} = ${value}${discarded}`;
  }
}

/**
 * A block tag's code rewritten: a change of a mutable variable (MutationRewrite), else rewriteCode, where
 * `do x` becomes `set __lens_discard = x`: MiniJinja's `do` takes only a call, Jinja2's any expression (and a macro
 * call is rewritten into a lookup).
 */
export function rewriteBlock(code: string, offset: number, scope: RewriteScope, mutation: MutationRewrite): string {
  const changed = mutation.block(code, offset, scope);
  if (changed !== undefined) return changed;
  const doTag = /^(\s*)do\b/.exec(code);
  if (!doTag) return rewriteCode(code, offset, scope);
  const rest = code.slice(doTag[0].length);
  return `${doTag[1]}set __lens_discard =${rewriteCode(rest, offset + doTag[0].length, scope)}`;
}

/** The namespace through which a macro hands its result to its caller (made at the top of the macro library). */
export const RESULT = '__lens_rv';
const FRAME = '__lens_frame';
const BODY = '__lens_body';

/** A macro body that calls `return(…)` (the codes of its tags): only such a macro needs a frame. */
export function callsReturn(codes: readonly string[]): boolean {
  return codes.some((code) => /\breturn\s*\(/.test(code));
}

/**
 * What dbt's `return()` needs, around a macro's body. MiniJinja macros give back only the text they render, so each
 * macro captures its body's text and at its end leaves in `__lens_rv.slot` either the value its first `return()`
 * statement stored in its frame (a namespace; the value as it is: relations, columns and dicts keep their methods
 * and keys) or its text; a call reads the slot right after the macro ran (jinjaRewrite's `call`). The frame is also
 * kept on the JavaScript side (`__lens_enter`), where our functions see that the macro returned and do nothing more,
 * as dbt's return would have stopped it. A macro that never calls return() needs no frame (`returns` false).
 * `close` closes the last tag (`-%}` to trim).
 */
export function macroPrologue(opening: string, returns: boolean, close = '%}'): string {
  const frame = returns
    ? `{% set ${FRAME} = namespace(id=__lens_enter(), returned=false, value=none, pending=none, js=none) %}`
    : '';
  const tags = `${frame}{% set ${BODY} %}${opening}`;
  return tags.slice(0, -2) + close;
}

/** Closes what macroPrologue opened; `open` opens the first tag (`{%-` to trim). */
export function macroEpilogue(returns: boolean, open = '{%'): string {
  const result = returns
    ? `${FRAME}.value if ${FRAME}.returned else (${FRAME}.js[0] if ${FRAME}.js else ${BODY})`
    : BODY;
  return [
    `${open} endset %}`,
    returns ? `{% set ${FRAME}.js = __lens_leave(${FRAME}.id) %}` : '',
    // Assigned through a local name: a macro sees a name of its template only if it reads it (MiniJinja's closures).
    `{% set __lens_result = ${RESULT} %}`,
    `{% set __lens_result.slot = ${result} %}`,
    // A call the rewrite did not wrap (a `{% call %}` block) still gets the macro's text.
    `{{ ${BODY} }}`,
  ].join('');
}

/**
 * A tag that is only `return(x)` (`{{ return(x) }}`, `{% do return(x) %}`) inside a macro's own body, as statements
 * that keep `x` in the macro's frame: x is evaluated first (as dbt does before it stops the macro), and only the first
 * return counts. Undefined for any other tag. `delimiters`: the tag's own opening and closing, to keep its trimming.
 */
export function returnStatement(
  code: string,
  offset: number,
  scope: RewriteScope,
  delimiters: [string, string] = ['{%', '%}'],
): string | undefined {
  const nodes = nest(lexCode(code), offset).filter((node) => !isSpace(node));
  const start = isName(nodes[0]) && nodes[0].token.text === 'do' ? 1 : 0;
  const call = nodes[start + 1];
  if (!isName(nodes[start]) || nodes[start].token.text !== 'return' || !isGroup(call, '(')) return undefined;
  if (nodes.length !== start + 2) return undefined;
  const value = new Rewriter(scope).nodes(call.items).trim() || 'none';
  return [
    `${delimiters[0]} set ${FRAME}.pending = (${value}) %}`,
    `{% if __lens_returning() %}{% set ${FRAME}.value = ${FRAME}.pending %}{% set ${FRAME}.returned = true %}`,
    `{% endif ${delimiters[1]}`,
  ].join('');
}

const CALL_TAG = /^(\s*call\s*(?:\([^)]*\))?\s*)([A-Za-z_][\w.]*)(\s*\()/;

/** A `{% call m(…) %}` tag's code: the macro called by its unique name, its string literals portable. */
export function rewriteCallTag(code: string, scope: RewriteScope): string {
  return portableStrings(
    code.replace(CALL_TAG, (whole, head: string, callee: string, paren: string) => {
      const found = scope.macro(callee.split('.'));
      return found ? `${head}${found}${paren}` : whole;
    }),
  );
}

/** The first word of a block tag's code: `if`, `for`, `macro`, … */
export function blockKeyword(code: string): string {
  return /^\s*([A-Za-z_]+)/.exec(code)?.[1] ?? '';
}
