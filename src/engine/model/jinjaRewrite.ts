// Rewrites the code inside a Jinja tag so MiniJinja gives dbt's semantics where it has none of its own:
// - a macro call `m(…)`, `pkg.m(…)` or `adapter.dispatch('m', 'pkg')(…)` calls the macro by its unique name in the
//   library and hands its `return()` value back (MiniJinja macros return only text): `__lens_call(__lens_enter(), …)`;
// - `adapter.dispatch` is resolved here, with dbt's search order, against the macros the project has;
// - `x.get(k, default)` becomes `__lens_get(x, k, default)` (MiniJinja's `get` takes no default);
// - a call to one of our dbt functions gets `__lens_site=N`, so an error it reports points at the call in the file.
import { lexCode, stringValue, TemplateSyntaxError, type CodeToken } from './jinjaLexer';

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
        out += node.kind === 'group' ? this.group(node) : node.token.text;
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
    let text = first.kind === 'group' ? this.group(first) : first.token.text;
    const path: string[] = isName(first) ? [first.token.text] : [];
    let pathIsWhole = isName(first);
    let index = start + 1;
    for (;;) {
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
    if (macro) return `__lens_call(__lens_enter(), ${macro}(${inner}))`;
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

const MUTABLE = '__lens_mut';
const MUTATION = /^\s*do\s+([A-Za-z_]\w*)\s*\.\s*(append|extend|update)\s*\(/;

/**
 * MiniJinja's lists and dicts cannot change, but dbt's Jinja changes them in place (`{% do cols.append(c) %}` in a
 * loop). A body (a macro, or a model) that does so keeps each such variable in a namespace instead, which a loop
 * can change: `{% set x = [] %}` → `{% set __lens_mut.x = [] %}`, `{% do x.append(v) %}` →
 * `{% set __lens_mut.x = __lens_mut.x + [v] %}`, and every other use of `x` reads `__lens_mut.x`.
 */
export class MutationRewrite {
  readonly variables: Set<string>;

  /** `codes`: the code of every block tag of the body. */
  constructor(codes: readonly string[]) {
    this.variables = new Set(codes.map((code) => MUTATION.exec(code)?.[1]).filter((name): name is string => !!name));
    // A loop variable of the same name is another variable each time round: leave those alone.
    for (const code of codes) {
      const loop = /^\s*for\s+([\w\s,]+?)\s+in\b/.exec(code);
      for (const name of loop?.[1].split(',') ?? []) this.variables.delete(name.trim());
    }
  }

  /** The tag that opens the body's namespace, when the body needs one. */
  get opening(): string {
    return this.variables.size ? `{% set ${MUTABLE} = namespace() %}` : '';
  }

  /** A block tag's code rewritten, when it assigns or changes one of the variables (else undefined). */
  block(code: string, offset: number, scope: RewriteScope): string | undefined {
    if (!this.variables.size) return undefined;
    const assignment = /^(\s*set\s+)([A-Za-z_]\w*)(\s*=)([\s\S]*)$/.exec(code);
    if (assignment && this.variables.has(assignment[2])) {
      const valueOffset = offset + assignment[1].length + assignment[2].length + assignment[3].length;
      return `${assignment[1]}${MUTABLE}.${assignment[2]}${assignment[3]}${rewriteCode(assignment[4], valueOffset, scope)}`;
    }
    const mutation = MUTATION.exec(code);
    if (!mutation || !this.variables.has(mutation[1])) return undefined;
    const open = code.indexOf('(', mutation[0].length - 1);
    const close = code.lastIndexOf(')');
    const argument = rewriteCode(code.slice(open + 1, close), offset + open + 1, scope);
    const target = `${MUTABLE}.${mutation[1]}`;
    const value =
      mutation[2] === 'append'
        ? `${target} + [${argument}]`
        : mutation[2] === 'extend'
          ? `${target} + ((${argument})|list)`
          : `__lens_merge(${target}, ${argument})`;
    return ` set ${target} = ${value} `;
  }
}

/** The first word of a block tag's code: `if`, `for`, `macro`, … */
export function blockKeyword(code: string): string {
  return /^\s*([A-Za-z_]+)/.exec(code)?.[1] ?? '';
}
