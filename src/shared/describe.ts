// The model's own documentation, in the shape analytics teams write model docs: Overview, Tables involved, Columns
// used, Logic explanation (a step per CTE and the final select), Grain. Derived from the column lineage alone, so
// the same model gives the same text; the CLI's `describe` and the extension's Describe Model both print it.
import { FINAL_SELECT, VALUE_KINDS } from './lineageModel';
import type { CaseDetail, Lineage, LineageEdge, LineageNode } from './lineageModel';
import { analyseCase, intervalsText, literalValue } from './segmentChecks';
import type { FileLocation } from './problem';

export interface DescribeInput {
  /** The model's name (its file's name without `.sql`). */
  model: string;
  lineage: Lineage;
}

/** Inline code that holds any text: a fence longer than the longest run of backticks in it. */
export function code(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((run) => run[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') || text === '' ? ' ' : '';
  return `${fence}${pad}${text.replace(/\s+/g, ' ')}${pad}${fence}`;
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
const lower = (text: string) => text.toLowerCase();

/** `a`, `a and b`, `a, b and c`. */
function list(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function unique<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

function byPosition(a: FileLocation | undefined, b: FileLocation | undefined): number {
  if (!a || !b) return 0;
  return a.line - b.line || a.column - b.column;
}

/** What an aggregate computes, in words: `ROUND(AVG(total_spent), 2)` → the average total_spent, rounded to 2 decimal places. */
export function aggregateWords(detail: string): string | undefined {
  const text = detail.replace(/\s+/g, ' ').trim();
  const round = /^ROUND\s*\((.*),\s*(\d+)\s*\)$/i.exec(text);
  if (round) {
    const inner = aggregateWords(round[1]);
    const places = Number(round[2]);
    return inner && `${inner}, rounded to ${plural(places, 'decimal place')}`;
  }
  const call = /^(\w+)\s*\(\s*(DISTINCT\s+)?(.*?)\s*\)$/i.exec(text);
  if (!call) return undefined;
  const [, name, distinct, argument] = call;
  const what = /^[\w."]+$/.test(argument) ? argument.replace(/"/g, '') : undefined;
  switch (name.toUpperCase()) {
    case 'COUNT':
      if (argument === '*') return 'the number of rows';
      return what && (distinct ? `the number of distinct ${what} values` : `the number of rows with a ${what}`);
    case 'AVG':
      return what && `the average ${what}`;
    case 'SUM':
    case 'TOTAL':
      return what && `the sum of ${what}`;
    case 'MIN':
      return what && `the smallest ${what}`;
    case 'MAX':
      return what && `the largest ${what}`;
    default:
      return undefined;
  }
}

/** A THEN or ELSE as the segment it names: `'Gold'` → `Gold`; anything else as written. */
function segmentName(text: string): string {
  const value = literalValue(text);
  return code(value === undefined ? text : String(value));
}

class ModelDescription {
  private readonly nodes = new Map<string, LineageNode>();
  private readonly outOf = new Map<string, LineageEdge[]>();
  private readonly into = new Map<string, LineageEdge[]>();
  /** Every CTE, in the order the model writes them. */
  private readonly ctes: string[];
  private readonly sources: string[];

  constructor(private readonly input: DescribeInput) {
    const { lineage } = input;
    for (const node of lineage.nodes) this.nodes.set(node.id, node);
    for (const edge of lineage.edges) {
      (this.outOf.get(edge.from) ?? this.outOf.set(edge.from, []).get(edge.from)!).push(edge);
      (this.into.get(edge.to) ?? this.into.set(edge.to, []).get(edge.to)!).push(edge);
    }
    this.ctes = lineage.relations
      .filter((relation) => relation.kind === 'cte')
      .sort((a, b) => byPosition(a.span, b.span))
      .map((relation) => relation.name);
    this.sources = unique([
      ...lineage.relations.filter((relation) => relation.kind === 'source').map((relation) => relation.name),
      ...lineage.nodes.filter((node) => node.kind === 'source').map((node) => node.relation),
    ]);
  }

  /** The relation a node or a row edge's target belongs to. */
  private relationOf(id: string): string | undefined {
    return this.nodes.get(id)?.relation ?? (this.isRelation(id) ? id : undefined);
  }

  private isRelation(name: string): boolean {
    return name === FINAL_SELECT || this.input.lineage.relations.some((relation) => relation.name === name);
  }

  /** Edges whose target is a column of `relation` (value edges) or `relation` itself (row edges). */
  private edgesOf(relation: string): LineageEdge[] {
    return this.input.lineage.edges.filter((edge) =>
      VALUE_KINDS.has(edge.kind) ? this.nodes.get(edge.to)?.relation === relation : edge.to === relation,
    );
  }

  private columnName(id: string): string {
    return this.nodes.get(id)?.column ?? id;
  }

  /** Where a column lives, as the document names it: `base.customer_id`, an output column by its name. */
  private columnLabel(id: string): string {
    const node = this.nodes.get(id);
    if (!node) return code(id);
    return code(node.kind === 'output' ? node.column : `${node.relation}.${node.column}`);
  }

  private relationLabel(relation: string): string {
    return relation === FINAL_SELECT ? 'the final select' : code(relation);
  }

  private outputs(): LineageNode[] {
    return this.input.lineage.nodes.filter((node) => node.kind === 'output');
  }

  private groupKeys(relation: string): string[] {
    return this.edgesOf(relation)
      .filter((edge) => edge.kind === 'group_key')
      .sort((a, b) => byPosition(a.span, b.span))
      .map((edge) => this.columnName(edge.from));
  }

  private cases(): (LineageEdge & { case: CaseDetail })[] {
    const seen = new Set<string>();
    return this.input.lineage.edges.filter((edge): edge is LineageEdge & { case: CaseDetail } => {
      if (edge.kind !== 'case' || !edge.case || seen.has(edge.to)) return false;
      seen.add(edge.to);
      return true;
    });
  }

  render(): string {
    return [
      `# ${this.input.model}`,
      '',
      '_Generated by Segment Lens from the model’s column lineage._',
      '',
      '## Overview',
      '',
      this.overview(),
      '',
      '## Tables involved',
      '',
      ...this.tables(),
      '',
      '## Columns used',
      '',
      ...this.columns(),
      '',
      '## Logic explanation',
      '',
      ...this.logic(),
      '',
      '## Grain of data',
      '',
      this.grain(),
      '',
    ].join('\n');
  }

  private overview(): string {
    const { lineage } = this.input;
    const sentences: string[] = [];
    const outputs = this.outputs().map((node) => code(node.column));
    const ctes = this.ctes.length ? ` through ${plural(this.ctes.length, 'CTE')} (${list(this.ctes.map(code))})` : '';
    sentences.push(
      `${code(this.input.model)} reads ${plural(this.sources.length, 'table')} (${list(this.sources.map(code))})${ctes} and returns ${plural(outputs.length, 'column')}: ${list(outputs)}.`,
    );
    for (const edge of this.cases()) {
      const analysis = analyseCase(edge.case);
      const names = unique([
        ...edge.case.whens.map((branch) => branch.then),
        ...(edge.case.else ? [edge.case.else] : []),
      ]).map(segmentName);
      const on = analysis.column ? ` by ${code(analysis.column.name)}` : '';
      sentences.push(`It classifies rows${on} into ${list(names)} (${this.columnLabel(edge.to)}).`);
    }
    const keys = this.groupKeys(FINAL_SELECT);
    const aggregates = this.edgesOf(FINAL_SELECT).filter((edge) => edge.kind === 'aggregate');
    if (keys.length > 0) {
      const measures = unique(aggregates.map((edge) => this.columnName(edge.to))).map(code);
      sentences.push(
        `It aggregates them by ${keys.map(code).join(' × ')}${measures.length ? `, computing ${list(measures)}` : ''}.`,
      );
    }
    if (lineage.unresolved.length > 0)
      sentences.push(
        `${plural(lineage.unresolved.length, 'reference')} could not be resolved against the data: ${list(lineage.unresolved.map((item) => code(item.name)))}.`,
      );
    return sentences.join(' ');
  }

  private tables(): string[] {
    if (this.sources.length === 0) return ['The model reads no table.'];
    return this.sources.map((relation) => {
      const columns = this.input.lineage.nodes
        .filter((node) => node.kind === 'source' && node.relation === relation)
        .map((node) => code(node.column));
      const built = this.input.lineage.upstreamModels?.find((model) => lower(model.relation) === lower(relation));
      const model = built ? ` Built by the model ${code(built.model)} (${code(built.file)}).` : '';
      return `- ${code(relation)} — ${columns.length ? `${plural(columns.length, 'column')} used: ${list(columns)}.` : 'no column used by name.'}${model}`;
    });
  }

  /** What each source column is used for: each step it takes, following it as long as it passes through unchanged. */
  private uses(sourceId: string): string[] {
    const uses: string[] = [];
    const seen = new Set<string>([sourceId]);
    const unused = new Set(this.input.lineage.unused.map((column) => column.column));
    let frontier = [sourceId];
    // Each node is visited once: the walk is bounded by the lineage's size.
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const id of frontier) {
        for (const edge of this.outOf.get(id) ?? []) {
          const target = this.columnLabel(edge.to);
          switch (edge.kind) {
            case 'passthrough':
              uses.push(
                this.nodes.get(edge.to)?.kind === 'output'
                  ? `returned as ${target}`
                  : `selected into ${target}${unused.has(edge.to) ? ' (which goes no further)' : ''}`,
              );
              break;
            case 'rename':
              uses.push(`selected as ${target}${unused.has(edge.to) ? ' (which goes no further)' : ''}`);
              break;
            case 'case':
              uses.push(`compared in the CASE that computes ${target}`);
              break;
            case 'aggregate': {
              const words = edge.detail && aggregateWords(edge.detail);
              uses.push(`aggregated into ${target} (${code(edge.detail ?? '')}${words ? `: ${words}` : ''})`);
              break;
            }
            case 'expression':
              uses.push(`used to compute ${target} (${code(edge.detail ?? '')})`);
              break;
            case 'join_key':
              uses.push(`join key of ${this.relationLabel(edge.to)}${edge.detail ? ` (${edge.detail})` : ''}`);
              break;
            case 'filter':
              uses.push(`filters the rows of ${this.relationLabel(edge.to)}`);
              break;
            case 'group_key':
              uses.push(`groups the rows of ${this.relationLabel(edge.to)}`);
              break;
            case 'order_key':
              uses.push(`orders the rows of ${this.relationLabel(edge.to)}`);
              break;
          }
          // The same value under another name: its uses are the source column's too.
          if ((edge.kind === 'passthrough' || edge.kind === 'rename') && !seen.has(edge.to)) {
            seen.add(edge.to);
            next.push(edge.to);
          }
        }
      }
      frontier = next;
    }
    return unique(uses);
  }

  private columns(): string[] {
    const sources = this.input.lineage.nodes.filter((node) => node.kind === 'source');
    if (sources.length === 0) return ['No source column is used by name.'];
    const order = new Map(this.sources.map((relation, index) => [relation, index]));
    return [...sources]
      .sort((a, b) => (order.get(a.relation) ?? 0) - (order.get(b.relation) ?? 0))
      .map((node) => {
        const uses = this.uses(node.id);
        return `- ${code(node.id)} — ${uses.length ? list(uses) : 'read, not used further'}.`;
      });
  }

  /** The bullets of one step: the relations it reads, joins, selected columns, CASEs, aggregates, filters, groups. */
  private stepDetails(relation: string): string[] {
    const edges = this.edgesOf(relation);
    const bullets: string[] = [];
    const read = unique(
      edges
        .filter((edge) => VALUE_KINDS.has(edge.kind) || edge.kind === 'join_key')
        .map((edge) => this.relationOf(edge.from))
        .filter((name): name is string => name !== undefined && name !== relation),
    );
    if (read.length) bullets.push(`Reads ${list(read.map((name) => this.relationLabel(name)))}.`);
    const joins = new Map<string, string[]>();
    for (const edge of edges.filter((candidate) => candidate.kind === 'join_key')) {
      const kind = edge.detail ?? 'JOIN';
      joins.set(kind, [...(joins.get(kind) ?? []), edge.from]);
    }
    for (const [kind, keys] of joins) {
      const names = unique(keys.map((key) => this.columnName(key))).map(code);
      const columns = keys.map(code);
      bullets.push(`${kind} on ${list(names)}: ${columns.length === 2 ? columns.join(' = ') : list(columns)}.`);
    }
    const carried = edges.filter((edge) => edge.kind === 'passthrough' || edge.kind === 'rename');
    if (carried.length) {
      bullets.push(
        `Selects ${list(
          carried.map((edge) =>
            edge.kind === 'rename'
              ? `${code(this.columnName(edge.from))} as ${code(this.columnName(edge.to))}`
              : code(this.columnName(edge.to)),
          ),
        )}.`,
      );
    }
    for (const edge of this.cases().filter((candidate) => this.nodes.get(candidate.to)?.relation === relation))
      bullets.push(...this.caseBullets(edge));
    const computed = edges.filter((edge) => edge.kind === 'aggregate' || edge.kind === 'expression');
    for (const to of unique(computed.map((edge) => edge.to))) {
      const edge = computed.find((candidate) => candidate.to === to)!;
      const words = edge.kind === 'aggregate' && edge.detail ? aggregateWords(edge.detail) : undefined;
      bullets.push(
        `${code(this.columnName(to))} = ${code(edge.detail ?? '')}${words ? `: ${words}` : ''}${edge.kind === 'aggregate' ? ' (aggregate)' : ''}.`,
      );
    }
    const filters = unique(edges.filter((edge) => edge.kind === 'filter').map((edge) => this.columnName(edge.from)));
    if (filters.length) bullets.push(`Keeps only the rows that pass a condition on ${list(filters.map(code))}.`);
    const keys = this.groupKeys(relation);
    if (keys.length) bullets.push(`Groups by ${list(keys.map(code))}.`);
    if (relation !== FINAL_SELECT) {
      const order = this.ordering(relation);
      if (order) bullets.push(`Orders by ${order}.`);
    }
    return bullets;
  }

  /** The CASE with its thresholds: each branch as written, and the values it really takes after the ones above. */
  private caseBullets(edge: LineageEdge & { case: CaseDetail }): string[] {
    const analysis = analyseCase(edge.case);
    const name = analysis.column?.name;
    const operand = edge.case.operand ? ` ${code(edge.case.operand)}` : '';
    const lines = [
      `Computes ${code(this.columnName(edge.to))} with a CASE${operand}${name ? ` on ${code(name)}` : ''}, the first branch that matches winning:`,
    ];
    edge.case.whens.forEach((branch, index) => {
      const reach = analysis.reaches && name ? ` — ${intervalsText(name, analysis.reaches.branches[index])}` : '';
      const condition = edge.case.operand ? `= ${branch.when}` : branch.when;
      lines.push(`     - ${segmentName(branch.then)} when ${code(condition)}${reach}`);
    });
    const rest = analysis.reaches && name ? ` — ${intervalsText(name, analysis.reaches.else)}, or NULL` : '';
    lines.push(
      edge.case.else !== undefined
        ? `     - ${segmentName(edge.case.else)} otherwise (ELSE)${rest}`
        : `     - NULL otherwise (no ELSE)${rest}`,
    );
    return [lines.join('\n')];
  }

  /** ORDER BY of a relation, in words: `region` ascending, then `avg_ltv` descending. */
  private ordering(relation: string): string | undefined {
    const keys = this.edgesOf(relation)
      .filter((edge) => edge.kind === 'order_key')
      .sort((a, b) => byPosition(a.span, b.span));
    if (keys.length === 0) return undefined;
    return keys
      .map((edge) => {
        const descending = /\bDESC\b(\s+NULLS\s+(FIRST|LAST))?\s*$/i.test(edge.detail ?? '');
        return `${code(this.columnName(edge.from))} ${descending ? 'descending' : 'ascending'}`;
      })
      .filter((item, index, all) => all.indexOf(item) === index)
      .join(', then ');
  }

  private logic(): string[] {
    const steps: string[] = [];
    const step = (title: string, bullets: string[]) =>
      steps.push(`${steps.length + 1}. ${title}${bullets.map((bullet) => `\n   - ${bullet}`).join('')}`);
    for (const cte of this.ctes) step(`**CTE ${code(cte)}**`, this.stepDetails(cte));
    step('**Final select**', this.stepDetails(FINAL_SELECT));
    const order = this.ordering(FINAL_SELECT);
    if (order) step('**Ordering**', [`The result is ordered by ${order}.`]);
    return steps;
  }

  private grain(): string {
    const keys = this.groupKeys(FINAL_SELECT);
    if (keys.length > 0) {
      return `The output is aggregated at the **${keys.map(code).join(' × ')}** level: one row per combination of ${list(keys.map(code))} (the final select’s GROUP BY).`;
    }
    if (this.edgesOf(FINAL_SELECT).some((edge) => edge.kind === 'aggregate'))
      return 'The final select aggregates without GROUP BY: the output is one row.';
    const read = unique(
      this.edgesOf(FINAL_SELECT)
        .map((edge) => this.relationOf(edge.from))
        .filter((name): name is string => name !== undefined && name !== FINAL_SELECT),
    );
    return `The final select has no GROUP BY: one output row per row it reads${read.length ? ` (${list(read.map(code))})` : ''}.`;
  }
}

/** The model's documentation as Markdown. */
export function describeModel(input: DescribeInput): string {
  return new ModelDescription(input).render();
}
