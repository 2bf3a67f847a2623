// PostgreSQL syntax that sql.js (SQLite) cannot run, found in the model's PostgreSQL syntax tree: a model pulled
// from a PostgreSQL server runs in sql.js, so one that uses `::`, `ILIKE`, `date_trunc()`, … either runs on the
// server (pushdown) or gets a message at the construct.
import { isNode, type CstNode } from './syntax';

/**
 * The functions sql.js runs, as its `pragma_function_list` names them, and the ones the engine registers on every
 * database (data/sqlFunctions.ts); test/unit/postgresSyntax.test.ts holds the list to sql.js itself.
 */
export const SQLITE_FUNCTIONS = new Set(
  (
    'abs acos acosh asin asinh atan atan2 atanh atn2 avg ceil ceiling changes char charindex coalesce concat ' +
    'concat_ws cos cosh cot coth count cume_dist current_date current_time current_timestamp date datetime ' +
    'degrees dense_rank difference exp first_value floor format fts3_tokenizer glob group_concat hex if ifnull iif ' +
    'instr json json_array json_array_insert json_array_length json_error_position json_extract json_group_array ' +
    'json_group_object json_insert json_object json_patch json_pretty json_quote json_remove json_replace json_set ' +
    'json_type json_valid jsonb jsonb_array jsonb_array_insert jsonb_extract jsonb_group_array jsonb_group_object ' +
    'jsonb_insert jsonb_object jsonb_patch jsonb_remove jsonb_replace jsonb_set julianday lag last_insert_rowid ' +
    'last_value lead leftstr length like likelihood likely ln log log10 log2 lower lower_quartile ltrim match ' +
    'matchinfo max median min mod mode nth_value ntile nullif octet_length offsets optimize padc padl padr ' +
    'percent_rank pi pow power printf proper quote radians random randomblob rank replace replicate reverse ' +
    'rightstr round row_number rtrim sign sin sinh snippet sqlite_compileoption_get sqlite_compileoption_used ' +
    'sqlite_log sqlite_source_id sqlite_version sqrt square stdev strfilter strftime string_agg substr substring ' +
    'subtype sum tan tanh time timediff total total_changes trim trunc typeof unhex unicode unistr unistr_quote ' +
    'unixepoch unlikely upper upper_quartile variance zeroblob ' +
    // Registered by the engine (data/sqlFunctions.ts).
    'md5 segment_lens_split_part segment_lens_is_number date_part ' +
    // Table-valued functions SQLite has built in (pragma_* too, below).
    'json_each json_tree jsonb_each jsonb_tree'
  ).split(' '),
);

/** SQLite's binary operators written with symbols: any other symbol is PostgreSQL's. */
const SQLITE_OPERATORS = new Set([
  '||',
  '->',
  '->>',
  '*',
  '/',
  '%',
  '+',
  '-',
  '&',
  '|',
  '<<',
  '>>',
  '<',
  '<=',
  '>',
  '>=',
  '=',
  '==',
  '!=',
  '<>',
]);

/** A PostgreSQL construct SQLite cannot run, where the rendered SQL writes it. */
export interface PostgresOnlySyntax {
  /** How the user wrote it, short: `::numeric`, `ILIKE`, `date_trunc()`. */
  construct: string;
  /** One sentence naming it: "`::numeric` is PostgreSQL's cast syntax; SQLite cannot run it". */
  message: string;
  /** What the model could write instead in SQLite, when there is one word for it. */
  instead?: string;
  start: number;
  end: number;
}

/** At most this many characters of the construct are quoted in a message. */
const MAX_QUOTED = 40;

function keywordText(value: unknown): string {
  return (Array.isArray(value) ? value : [value])
    .filter(isNode)
    .map((keyword) => String(keyword.name).toUpperCase())
    .join(' ');
}

function rangeOf(value: unknown): [number, number] | undefined {
  const nodes = (Array.isArray(value) ? value : [value]).filter(isNode).filter((node) => node.range);
  return nodes.length ? [nodes[0].range![0], nodes[nodes.length - 1].range![1]] : undefined;
}

/** The message for most constructs: only what they are differs. */
const postgresOnly = (text: string) => `${text} is PostgreSQL's; SQLite cannot run it`;

/** What SQLite cannot run about `node` itself (not its children), if anything. */
function constructOf(node: CstNode, sql: string): PostgresOnlySyntax | undefined {
  const quoted = (start: number, end: number) => {
    const text = sql.slice(start, end).replace(/\s+/g, ' ');
    return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED - 1)}…` : text;
  };
  const found = (
    range: [number, number] | undefined,
    what: (text: string) => string,
    instead?: string,
    construct?: string,
  ): PostgresOnlySyntax | undefined => {
    if (!range) return undefined;
    const text = construct ?? quoted(range[0], range[1]);
    return { construct: text, message: what(`\`${text}\``), instead, start: range[0], end: range[1] };
  };
  switch (node.type) {
    case 'cast_operator_expr': {
      if (!isNode(node.left) || !isNode(node.right) || !node.left.range || !node.right.range) return undefined;
      const operator = sql.indexOf('::', node.left.range[1]);
      const start = operator === -1 || operator > node.right.range[0] ? node.right.range[0] : operator;
      const type = quoted(node.right.range[0], node.right.range[1]);
      return found(
        [start, node.right.range[1]],
        (text) => `${text} is PostgreSQL's cast syntax; SQLite cannot run it`,
        `CAST(… AS ${type})`,
      );
    }
    case 'binary_expr': {
      if (typeof node.operator === 'string') {
        if (SQLITE_OPERATORS.has(node.operator) || !isNode(node.left) || !node.left.range) return undefined;
        const start = sql.indexOf(node.operator, node.left.range[1]);
        if (start === -1) return undefined;
        const regex = /^!?~\*?$/.test(node.operator);
        return found(
          [start, start + node.operator.length],
          (text) =>
            regex
              ? `${text} is PostgreSQL's regular-expression match; SQLite cannot run it`
              : `${text} is a PostgreSQL operator; SQLite cannot run it`,
          regex ? undefined : node.operator === '^' ? 'power(a, b)' : undefined,
        );
      }
      const words = keywordText(node.operator);
      if (/\bILIKE\b/.test(words))
        return found(
          rangeOf(node.operator),
          (text) => `${text} is PostgreSQL's case-insensitive LIKE; SQLite cannot run it`,
          'LIKE (case-insensitive for ASCII in SQLite)',
          words,
        );
      if (/\bSIMILAR TO\b|\bAT TIME ZONE\b/.test(words))
        return found(rangeOf(node.operator), postgresOnly, undefined, words);
      return undefined;
    }
    case 'select_distinct_on':
      return found(rangeOf(node.distinctOnKw), postgresOnly, undefined, 'DISTINCT ON');
    case 'interval_literal':
      return found(node.range, (text) => `${text} is PostgreSQL's interval literal; SQLite cannot run it`);
    case 'date_literal':
    case 'time_literal':
    case 'timestamp_literal':
      return found(node.range, (text) => `${text} is PostgreSQL's typed literal; SQLite cannot run it`);
    case 'extract_expr':
      return found(
        node.range,
        (text) => `${text} is PostgreSQL's EXTRACT; SQLite cannot run it`,
        "strftime('%Y', …) and the other date functions",
      );
    case 'array_literal_expr':
    case 'array_subscript':
      return found(node.range, (text) => `${text} is a PostgreSQL array; SQLite has no arrays`);
    case 'quantifier_expr':
      return found(
        rangeOf(node.quantifierKw) ?? node.range,
        (text) => `${text} (…) is PostgreSQL's; SQLite cannot run it`,
        'IN (…)',
      );
    case 'lateral_derived_table':
      return found(rangeOf(node.lateralKw), postgresOnly, undefined, 'LATERAL');
    case 'fetch_clause':
      return found(node.range, postgresOnly, 'LIMIT');
    case 'group_by_rollup':
    case 'group_by_cube':
    case 'group_by_grouping_sets':
      return found(node.range, postgresOnly);
    case 'row_constructor':
      return found(rangeOf(node.rowKw), (text) => `${text}(…) is PostgreSQL's; SQLite cannot run it`, '(a, b)');
    case 'string_literal':
      return String(node.text ?? '').startsWith('$')
        ? found(node.range, () => "A dollar-quoted string is PostgreSQL's; SQLite cannot run it", "'…'", '$$')
        : undefined;
    case 'func_call': {
      if (!isNode(node.name) || !node.name.range) return undefined;
      if (node.name.type !== 'identifier') {
        return found(
          node.name.range,
          (text) => `${text} is a schema-qualified function: PostgreSQL's; SQLite cannot run it`,
          undefined,
          `${quoted(node.name.range[0], node.name.range[1])}()`,
        );
      }
      const name = String(node.name.name).toLowerCase();
      if (SQLITE_FUNCTIONS.has(name) || name.startsWith('pragma_')) return undefined;
      return found(
        node.name.range,
        (text) => `${text} is a PostgreSQL function; SQLite (sql.js) has no function of that name`,
        undefined,
        `${String(node.name.name)}()`,
      );
    }
    default:
      return undefined;
  }
}

/**
 * The first PostgreSQL construct in `program` (a PostgreSQL syntax tree of `sql`) that SQLite cannot run, or
 * undefined when sql.js can run the model as it is written.
 */
export function postgresOnlySyntax(program: CstNode, sql: string): PostgresOnlySyntax | undefined {
  let first: PostgresOnlySyntax | undefined;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!isNode(value)) return;
    // Nothing in a node past the first construct found can come before it.
    if (first && value.range && value.range[0] >= first.start) return;
    const here = constructOf(value, sql);
    if (here && (!first || here.start < first.start)) first = here;
    for (const [key, child] of Object.entries(value)) if (key !== 'range') visit(child);
  };
  visit(program);
  return first;
}
