// Things that make the model's numbers mislead without any error, each a warning at the place in the model it is
// about (Problems and the panel show them). In the data: join keys that repeat (the join fans out, so
// COUNT(DISTINCT …) and AVG(…) count different rows) and text in columns the model compares or averages as numbers
// (SQLite orders every text above every number), checked once per loaded data. In the segmentation: a WHEN that
// can never match, two that claim the same values, a segment no row reaches, rows whose compared column is NULL
// falling into ELSE — reasoned on intervals (shared/segmentChecks.ts) and counted in the CTE the CASE is in.
import type { LoadedData } from '../data/loadedData';
import { joinKeys, numericSources, upstream, type LineageGraph, type SourceColumn } from '../../shared/lineageGraph';
import type { CaseDetail, LineageEdge } from '../../shared/lineageModel';
import type { FileLocation, LensWarning } from '../../shared/problem';
import type { SqlValue } from '../../shared/rows';
import {
  analyseCase,
  intervalSql,
  intervalText,
  intervalsText,
  literalValue,
  type CaseAnalysis,
  type Interval,
  type SegmentFinding,
} from '../../shared/segmentChecks';
import { quoteIdentifier } from '../sql/names';
import { tableError } from './sqlErrors';

const plural = (count: number, noun: string) => `${count.toLocaleString('en')} ${noun}${count === 1 ? '' : 's'}`;
const lower = (text: string) => text.toLowerCase();

/** Where a source column is used in a way the check is about: the first such edge's reference, else the step. */
function firstUse(graph: LineageGraph, column: SourceColumn, uses: (edge: LineageEdge) => boolean) {
  const id = graph.lineage.nodes.find(
    (node) =>
      node.kind === 'source' &&
      lower(node.relation) === lower(column.table) &&
      lower(node.column) === lower(column.column),
  )?.id;
  if (id === undefined) return undefined;
  const edge = graph.lineage.edges.find(
    (candidate) => uses(candidate) && upstream(graph, candidate.from).reached.has(id),
  );
  return edge?.refSpan ?? edge?.span;
}

const isNumericUse = (edge: LineageEdge) =>
  // COUNT(x) and COUNT(DISTINCT x) do not care whether x is a number.
  edge.kind === 'case' || (edge.kind === 'aggregate' && !/^\s*count\s*\(/i.test(edge.detail ?? ''));

export function dataWarnings(data: LoadedData, graph: LineageGraph): LensWarning[] {
  const count = (sql: string) => Number(data.main.exec(sql)[0]?.values[0]?.[0] ?? 0);
  /** Runs a check once per loaded data and column; later runs (a model edit) reuse the answer. */
  const check = (
    name: string,
    located: { schema: string; table: string },
    column: string,
    compute: (table: string, column: string) => string | undefined,
  ) => {
    const key = `${name}:${located.schema}.${located.table}.${column}`.toLowerCase();
    if (!data.checks.has(key)) {
      let found: string | undefined;
      try {
        found = compute(
          `${quoteIdentifier(located.schema)}.${quoteIdentifier(located.table)}`,
          quoteIdentifier(column),
        );
      } catch (error) {
        // A corrupt page the model's own query never reached: an error naming the table, not a crash.
        throw tableError(error, data, located.schema, located.table);
      }
      data.checks.set(key, found);
    }
    return data.checks.get(key);
  };
  const warnings: LensWarning[] = [];
  const add = (code: LensWarning['code'], message: string | undefined, location: FileLocation | undefined) => {
    if (message !== undefined) warnings.push({ code, severity: 'warning', message, location });
  };
  for (const key of joinKeys(graph)) {
    const located = data.locate(key.table);
    if (!located || data.uniqueKeys.has(`${located.schema}.${located.table}.${key.column}`.toLowerCase())) continue;
    add(
      'join-fan-out',
      check('repeats', located, key.column, (table, column) => {
        const repeats = count(`SELECT count(${column}) - count(DISTINCT ${column}) FROM ${table}`);
        return repeats > 0
          ? `${key.column} repeats in ${key.table} (${plural(repeats, 'extra row')}): the join matches those rows more than once, so COUNT(DISTINCT …) and AVG(…) count different rows. Deduplicate ${key.table} if each ${key.column} should appear once.`
          : undefined;
      }),
      firstUse(graph, key, (edge) => edge.kind === 'join_key'),
    );
  }
  for (const use of numericSources(graph)) {
    const located = data.locate(use.table);
    if (!located) continue;
    add(
      'text-as-number',
      check('text', located, use.column, (table, column) => {
        const texts = count(`SELECT count(*) FROM ${table} WHERE typeof(${column}) = 'text'`);
        if (texts === 0) return undefined;
        const example = String(
          data.main.exec(`SELECT ${column} FROM ${table} WHERE typeof(${column}) = 'text' LIMIT 1`)[0].values[0][0],
        );
        return `${use.column} in ${use.table} holds text in ${plural(texts, 'row')} (e.g. ${JSON.stringify(example.slice(0, 40))}): SQLite compares text above every number, so those rows land in the wrong segment. Store the column as numbers (no thousands separators or currency signs).`;
      }),
      firstUse(graph, use, isNumericUse),
    );
  }
  return warnings;
}

/**
 * The checks on one CASE. Its rows are counted in the pass that counts its CTE's rows: `terms` are added after
 * `count(*)`, and `warnings` reads their values; without them (no CTE to count in), the logic's findings still stand.
 */
export interface SegmentCheck {
  /** The top-level CTE the CASE is written in, as the model names it. */
  cte?: string;
  terms: string[];
  params: SqlValue[];
  /** The warnings, given `count(*)` then each term's value from the CTE, when they were counted. */
  warnings: (counted?: readonly SqlValue[]) => LensWarning[];
}

/** One CASE of the model: its analysis, and where its rows can be counted. */
interface CaseSite {
  edge: LineageEdge & { case: CaseDetail };
  analysis: CaseAnalysis;
  /** The top-level CTE the CASE is written in, as the model names it. */
  cte?: string;
  /** The CASE's own column in that CTE (the segment). */
  segmentColumn?: string;
  /** The CTE's column carrying the compared column's value, when it selects it. */
  comparedColumn?: string;
}

function caseSites(graph: LineageGraph, ctes: readonly string[]): CaseSite[] {
  const sites = new Map<string, CaseSite>();
  for (const edge of graph.lineage.edges) {
    if (edge.kind !== 'case' || !edge.case || sites.has(edge.to)) continue;
    const analysis = analyseCase(edge.case);
    const target = graph.node(edge.to);
    const cte = target && ctes.find((name) => lower(name) === lower(target.relation));
    const site: CaseSite = { edge: edge as CaseSite['edge'], analysis };
    if (target && cte) {
      site.cte = cte;
      site.segmentColumn = target.column;
      // The compared column reaches the CASE by a `case` edge; the CTE carries it when it also selects it.
      const compared = analysis.column
        ? graph
            .edgesInto(edge.to)
            .filter((into) => into.kind === 'case')
            .map((into) => into.from)
            .find((id) => lower(graph.node(id)?.column ?? '') === lower(analysis.column!.name))
        : undefined;
      const carried =
        compared &&
        graph
          .edgesFrom(compared)
          .find(
            (out) =>
              (out.kind === 'passthrough' || out.kind === 'rename') && graph.node(out.to)?.relation === target.relation,
          );
      site.comparedColumn = carried ? graph.node(carried.to)?.column : undefined;
    }
    sites.set(edge.to, site);
  }
  return [...sites.values()];
}

/** The rows behind a CASE's findings, counted in one pass over its CTE; undefined where they cannot be. */
interface SiteCounts {
  rows?: number;
  /** Rows in each finding's values (a finding's own condition, or the overlap). */
  findings: (number | undefined)[];
  nulls?: number;
  /** Rows per literal THEN value. */
  labels: Map<string | number, number>;
}

/** The sums that count a site's rows (after `count(*)`, at index 0), and how to read them back. */
function countPlan(site: CaseSite): Pick<SegmentCheck, 'terms' | 'params'> & {
  read: (counted?: readonly SqlValue[]) => SiteCounts;
} {
  const terms: string[] = ['count(*)'];
  const params: SqlValue[] = [];
  const compared = site.comparedColumn !== undefined ? quoteIdentifier(site.comparedColumn) : undefined;
  const findingTerm = site.analysis.findings.map((finding) => {
    const interval = findingInterval(site.analysis, finding);
    if (!compared || !interval) return undefined;
    terms.push(`sum(${intervalSql(compared, interval)})`);
    return terms.length - 1;
  });
  let nullTerm: number | undefined;
  if (compared && site.analysis.allOnColumn) {
    terms.push(`sum(${compared} IS NULL)`);
    nullTerm = terms.length - 1;
  }
  const labelTerms = new Map<string | number, number>();
  for (const branch of site.analysis.branches) {
    const label = literalValue(branch.then);
    if (label === undefined || labelTerms.has(label) || site.segmentColumn === undefined) continue;
    terms.push(`sum(${quoteIdentifier(site.segmentColumn)} IS ?)`);
    params.push(label);
    labelTerms.set(label, terms.length - 1);
  }
  const read = (counted?: readonly SqlValue[]): SiteCounts => {
    const counts: SiteCounts = { findings: site.analysis.findings.map(() => undefined), labels: new Map() };
    if (!counted) return counts;
    // SUM over no rows is NULL: none.
    const at = (index: number) => Number(counted[index] ?? 0);
    counts.rows = at(0);
    counts.findings = findingTerm.map((index) => (index === undefined ? undefined : at(index)));
    if (nullTerm !== undefined) counts.nulls = at(nullTerm);
    for (const [label, index] of labelTerms) counts.labels.set(label, at(index));
    return counts;
  };
  return { terms: site.cte ? terms.slice(1) : [], params: site.cte ? params : [], read };
}

/** The values whose rows a finding is about: the unreachable branch's own, or the overlap. */
function findingInterval(analysis: CaseAnalysis, finding: SegmentFinding): Interval | undefined {
  if (finding.kind === 'overlap') return finding.overlap;
  return finding.contradictory ? undefined : analysis.branches[finding.branch].condition?.interval;
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

function branchText(detail: CaseDetail, index: number): string {
  const { when, then } = detail.whens[index];
  return `WHEN ${oneLine(when)} THEN ${oneLine(then)}`;
}

/** Where the CASE keyword is: the NULL warning is about the whole CASE, not one branch. */
function caseKeyword(span: FileLocation | undefined): FileLocation | undefined {
  return (
    span && { file: span.file, line: span.line, column: span.column, endLine: span.line, endColumn: span.column + 4 }
  );
}

function findingWarning(site: CaseSite, finding: SegmentFinding, rows: number | undefined): LensWarning {
  const { analysis, edge, cte } = site;
  const detail = edge.case;
  const name = analysis.column?.name ?? '';
  const branch = branchText(detail, finding.branch);
  const location = detail.whens[finding.branch].span ?? edge.span;
  const then = oneLine(detail.whens[finding.branch].then);
  if (finding.kind === 'overlap') {
    const above = oneLine(detail.whens[finding.above].then);
    const there =
      rows === undefined
        ? ''
        : `; ${plural(rows, 'row')} of ${cte} ${rows === 1 ? 'is' : 'are'} there and land in ${above}, not ${then}`;
    return {
      code: 'overlapping-branches',
      severity: 'warning',
      message: `${branch} overlaps ${branchText(detail, finding.above)} above it at ${intervalText(name, finding.overlap)}, and the first branch that matches wins${there}. Make the bounds meet without overlapping (one side exclusive) so each value has one segment.`,
      location,
    };
  }
  const interval = analysis.branches[finding.branch].condition!.interval;
  if (finding.contradictory) {
    const between = /\bbetween\b/i.test(detail.whens[finding.branch].when);
    const fix =
      between && interval.low && interval.high
        ? `BETWEEN takes the lower bound first: write BETWEEN ${interval.high.text} AND ${interval.low.text}.`
        : 'Fix its bounds.';
    return {
      code: 'unreachable-branch',
      severity: 'warning',
      message: `${branch} can never match: its bounds leave no value of ${name}. ${fix}`,
      location,
    };
  }
  const by =
    finding.by.length === 1
      ? `${branchText(detail, finding.by[0])} above it takes`
      : `the branches above it (${finding.by.map((index) => oneLine(detail.whens[index].then)).join(', ')}) take`;
  const landing = finding.by.length === 1 ? oneLine(detail.whens[finding.by[0]].then) : 'the branches above';
  const there =
    rows === undefined
      ? ''
      : `; ${plural(rows, 'row')} of ${cte} ${rows === 1 ? 'is' : 'are'} there and land in ${landing}`;
  const hint = !finding.outOfOrder
    ? 'Narrow the branches above or remove this one.'
    : interval.low
      ? 'The thresholds are out of order: put the higher threshold first.'
      : 'The thresholds are out of order: put the lower threshold first.';
  return {
    code: 'unreachable-branch',
    severity: 'warning',
    message: `${branch} can never match: ${by} every value it would (${intervalText(name, interval)})${there}. ${hint}`,
    location,
  };
}

function siteWarnings(site: CaseSite, counts: SiteCounts): LensWarning[] {
  const { analysis, edge, cte } = site;
  const detail = edge.case;
  const warnings = analysis.findings.map((finding, index) => findingWarning(site, finding, counts.findings[index]));
  const unreachable = new Set(
    analysis.findings.filter((finding) => finding.kind === 'unreachable').map((finding) => finding.branch),
  );
  // A segment the logic lets rows reach but the data does not (ELSE, a catch-all, may well stay empty).
  if (counts.rows) {
    const reported = new Set<string | number>();
    analysis.branches.forEach((branch, index) => {
      const label = literalValue(branch.then);
      if (label === undefined || reported.has(label) || unreachable.has(index)) return;
      reported.add(label);
      if (counts.labels.get(label) !== 0) return;
      const reach =
        analysis.reaches && analysis.column && intervalsText(analysis.column.name, analysis.reaches.branches[index]);
      warnings.push({
        code: 'empty-segment',
        severity: 'information',
        message: `${oneLine(branch.then)} is empty: none of the ${plural(counts.rows!, 'row')} of ${cte} reaches ${branchText(detail, index)}${reach ? ` (${reach})` : ''}. Check its threshold against the data.`,
        location: detail.whens[index].span ?? edge.span,
      });
    });
  }
  if (counts.nulls && analysis.column) {
    const name = analysis.column.name;
    const lands =
      detail.else !== undefined
        ? `land in ELSE ${oneLine(detail.else)} without a word`
        : `get a NULL ${site.segmentColumn ?? 'result'} without a word`;
    warnings.push({
      code: 'null-into-else',
      severity: 'warning',
      message: `${plural(counts.nulls, 'row')} of ${cte} ${counts.nulls === 1 ? 'has' : 'have'} ${name} NULL: ${counts.nulls === 1 ? 'it matches' : 'they match'} no WHEN and ${lands}. Say where they belong (WHEN ${oneLine(analysis.column.text)} IS NULL THEN …) or filter them out.`,
      location: caseKeyword(edge.span),
    });
  }
  return warnings;
}

/** The segmentation's checks, for every CASE of the model (`ctes`: the model's top-level CTEs). */
export function segmentChecks(graph: LineageGraph, ctes: readonly string[]): SegmentCheck[] {
  return caseSites(graph, ctes).map((site) => {
    const { terms, params, read } = countPlan(site);
    return { cte: site.cte, terms, params, warnings: (counted) => siteWarnings(site, read(counted)) };
  });
}
