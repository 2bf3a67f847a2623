// Splits a Jinja template into literal text and tags, with their offsets in the file and their whitespace control,
// and the code inside a tag into tokens. The renderer rewrites tags from these (to map output back to the file and
// to give dbt's semantics where MiniJinja has none); MiniJinja itself still parses every template.

export type TagKind = 'data' | 'variable' | 'block' | 'comment';

export interface TemplateToken {
  kind: TagKind;
  /** The whole token in the file: [start, end). */
  start: number;
  end: number;
  /** For tags, the code between the delimiters and their whitespace-control marks. */
  codeStart: number;
  codeEnd: number;
  /** `{%-`, `{{-`, `{#-`: strip the whitespace before the tag. */
  trimBefore: boolean;
  /** `-%}`, `-}}`, `-#}`: strip the whitespace after it. */
  trimAfter: boolean;
}

export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const OPENERS: Record<string, { kind: TagKind; close: string }> = {
  '{{': { kind: 'variable', close: '}}' },
  '{%': { kind: 'block', close: '%}' },
  '{#': { kind: 'comment', close: '#}' },
};

/** Where the tag opened at `start` closes (past its closing delimiter); strings inside code are skipped. */
function tagEnd(source: string, start: number, kind: TagKind, close: string): number {
  if (kind === 'comment') {
    const end = source.indexOf(close, start + 2);
    if (end === -1) throw new TemplateSyntaxError('unclosed comment', start);
    return end + 2;
  }
  let index = start + 2;
  while (index < source.length) {
    const char = source[index];
    if (char === '"' || char === "'") {
      index = stringEnd(source, index);
      continue;
    }
    if (source.startsWith(close, index)) return index + 2;
    index++;
  }
  throw new TemplateSyntaxError(`unclosed ${kind === 'variable' ? '{{' : '{%'} tag`, start);
}

/** Past the string literal that opens at `start`. */
function stringEnd(source: string, start: number): number {
  const quote = source[start];
  let index = start + 1;
  while (index < source.length && source[index] !== quote) index += source[index] === '\\' ? 2 : 1;
  return Math.min(index + 1, source.length);
}

function tagToken(source: string, start: number, end: number, kind: TagKind): TemplateToken {
  let codeStart = start + 2;
  let codeEnd = end - 2;
  const trimBefore = source[codeStart] === '-';
  if (trimBefore || source[codeStart] === '+') codeStart++;
  const trimAfter = codeEnd > codeStart && source[codeEnd - 1] === '-';
  if (trimAfter || (codeEnd > codeStart && source[codeEnd - 1] === '+')) codeEnd--;
  return { kind, start, end, codeStart, codeEnd, trimBefore, trimAfter };
}

const RAW = /^\s*raw\s*$/;
const END_RAW = /\{%[-+]?\s*endraw\s*[-+]?%\}/g;

/** The template's tokens in order; `{% raw %}…{% endraw %}` becomes its literal text. */
export function lexTemplate(source: string): TemplateToken[] {
  const tokens: TemplateToken[] = [];
  let index = 0;
  let dataStart = 0;
  const flushData = (end: number) => {
    if (end > dataStart)
      tokens.push({
        kind: 'data',
        start: dataStart,
        end,
        codeStart: dataStart,
        codeEnd: end,
        trimBefore: false,
        trimAfter: false,
      });
  };
  while (index < source.length) {
    const open = source.indexOf('{', index);
    if (open === -1 || open + 1 >= source.length) break;
    const opener = OPENERS[source.slice(open, open + 2)];
    if (!opener) {
      index = open + 1;
      continue;
    }
    flushData(open);
    const end = tagEnd(source, open, opener.kind, opener.close);
    const token = tagToken(source, open, end, opener.kind);
    if (token.kind === 'block' && RAW.test(source.slice(token.codeStart, token.codeEnd))) {
      END_RAW.lastIndex = end;
      const close = END_RAW.exec(source);
      if (!close) throw new TemplateSyntaxError('unclosed raw block', open);
      // The raw and endraw tags render to nothing (keeping their whitespace control); what is between is text.
      tokens.push({ ...token, kind: 'comment' });
      tokens.push({
        kind: 'data',
        start: end,
        end: close.index,
        codeStart: end,
        codeEnd: close.index,
        trimBefore: false,
        trimAfter: false,
      });
      tokens.push({ ...tagToken(source, close.index, close.index + close[0].length, 'block'), kind: 'comment' });
      index = dataStart = close.index + close[0].length;
      continue;
    }
    tokens.push(token);
    index = dataStart = end;
  }
  flushData(source.length);
  return tokens;
}

// ---- the code inside a tag

export type CodeTokenKind = 'name' | 'string' | 'number' | 'operator' | 'space';

export interface CodeToken {
  kind: CodeTokenKind;
  text: string;
}

const CODE_TOKEN =
  /(\s+)|([A-Za-z_][A-Za-z0-9_]*)|(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?)|(\*\*|\/\/|==|!=|<=|>=|[^\s])/gy;

/** The tokens of the code in a tag; joined back, they are the code exactly. */
export function lexCode(code: string): CodeToken[] {
  const tokens: CodeToken[] = [];
  CODE_TOKEN.lastIndex = 0;
  let match: RegExpExecArray | null;
  while (CODE_TOKEN.lastIndex < code.length && (match = CODE_TOKEN.exec(code))) {
    const kind: CodeTokenKind = match[1]
      ? 'space'
      : match[2]
        ? 'name'
        : match[3]
          ? 'number'
          : match[4]
            ? 'string'
            : 'operator';
    tokens.push({ kind, text: match[0] });
  }
  return tokens;
}

/** The value of a string literal token (Python-style escapes for quotes and backslashes). */
export function stringValue(token: CodeToken): string | undefined {
  if (token.kind !== 'string' || token.text.length < 2) return undefined;
  return token.text.slice(1, -1).replace(/\\(.)/g, '$1');
}
