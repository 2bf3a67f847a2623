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
  /(\s+)|([A-Za-z_][A-Za-z0-9_]*)|(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|('(?:[^'\\]|\\[\s\S])*'?|"(?:[^"\\]|\\[\s\S])*"?)|(\*\*|\/\/|==|!=|<=|>=|[^\s])/gy;

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

/** The value of a string literal token, as Jinja2 reads it (pythonStringValue). */
export function stringValue(token: CodeToken): string | undefined {
  if (token.kind !== 'string' || token.text.length < 2) return undefined;
  return pythonStringValue(token.text.slice(1, -1));
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\n': '',
};

const HEX_DIGITS: Record<string, number> = { x: 2, u: 4, U: 8 };

/**
 * The text a string literal's body (between its quotes) stands for in Jinja2, which decodes it as Python does
 * (`unicode-escape`): `\n`, `\t`, `\x41`, `\101`, `\u0041`, `\U00000041`; a backslash before a line break joins
 * the lines; an escape Python does not know (`\d`, `\.` in a regular expression) keeps its backslash.
 */
export function pythonStringValue(body: string): string {
  body = body.replace(/\r\n?/g, '\n');
  let value = '';
  for (let index = 0; index < body.length; index++) {
    const char = body[index];
    if (char !== '\\' || index + 1 >= body.length) {
      value += char;
      continue;
    }
    const next = body[++index];
    if (Object.hasOwn(SIMPLE_ESCAPES, next)) {
      value += SIMPLE_ESCAPES[next];
      continue;
    }
    const octal = /^[0-7]{1,3}/.exec(body.slice(index, index + 3));
    const hex = HEX_DIGITS[next];
    const digits = hex ? body.slice(index + 1, index + 1 + hex) : '';
    if (octal) {
      value += String.fromCodePoint(parseInt(octal[0], 8));
      index += octal[0].length - 1;
    } else if (hex && new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(digits) && parseInt(digits, 16) <= 0x10ffff) {
      value += String.fromCodePoint(parseInt(digits, 16));
      index += hex;
    } else value += `\\${next}`;
  }
  return value;
}

/** A string literal MiniJinja reads as `value`: only `\\` and the quote escaped (MiniJinja knows fewer escapes). */
export function miniJinjaLiteral(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  return `${quote}${value.replaceAll('\\', '\\\\').replaceAll(quote, `\\${quote}`)}${quote}`;
}

/**
 * A string literal token as MiniJinja must read it to get Jinja2's value: unchanged when it has no backslash (both
 * read it alike), else written anew from Python's reading of it (`'\d+'` is `\d+` to Python, an error to MiniJinja).
 * An unclosed literal is left for MiniJinja to report.
 */
export function portableString(text: string): string {
  const closed = text.length >= 2 && text[text.length - 1] === text[0] && /(^|[^\\])(\\\\)*$/.test(text.slice(1, -1));
  if (!text.includes('\\') || !closed) return text;
  return miniJinjaLiteral(pythonStringValue(text.slice(1, -1)));
}

/** The code of a tag with each string literal made portable (portableString); nothing else changes. */
export function portableStrings(code: string): string {
  if (!code.includes('\\')) return code;
  return lexCode(code)
    .map((token) => (token.kind === 'string' ? portableString(token.text) : token.text))
    .join('');
}
