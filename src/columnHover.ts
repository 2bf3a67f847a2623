// Hovering a column name in the model (or in a model it stands on) shows its lineage from the last run: its paths
// across models, the kinds of their steps, the CASE it comes out of, what it feeds, the rows it shapes. The run's
// spans are indexed once per run; a hover is a lookup in its file's spans. No run yet: no hover.
import path from 'node:path';
import * as vscode from 'vscode';
import { Disposable } from './dispose';
import type { CompletedRun, RunController } from './runController';
import { caseText, ColumnSpanIndex, describeColumn, type ColumnTarget } from './shared/columnLineage';
import { clockTime } from './shared/labels';

/** A name as SQL writes it: plain, or quoted with "", `` or []. */
export const IDENTIFIER = /"[^"\n]+"|`[^`\n]+`|\[[^\]\n]+\]|[A-Za-z_][A-Za-z0-9_$]*/;

/** The command a hover's link and the lenses run (columnLens.ts). */
export const SHOW_COLUMN_LINEAGE = 'segmentLens.showColumnLineage';

/** `text` as inline Markdown code, whatever backticks it holds. */
function code(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((run) => run[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** `text` as a fenced code block, whatever backticks it holds. */
function codeBlock(text: string, language: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((run) => run[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${text}\n${fence}`;
}

/** Plain text in Markdown: its syntax characters escaped. */
function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+!~<>|]/g, '\\$&');
}

export class ColumnHover extends Disposable implements vscode.HoverProvider {
  private indexed: { run: CompletedRun; index: ColumnSpanIndex } | undefined;

  constructor(private readonly controller: RunController) {
    super();
  }

  /** The last run with a lineage, and its spans indexed (once per run). */
  private current(): { run: CompletedRun & { lineage: object }; index: ColumnSpanIndex } | undefined {
    const run = this.controller.last;
    if (!run?.lineage) return undefined;
    if (this.indexed?.run !== run) this.indexed = { run, index: new ColumnSpanIndex(run.lineage) };
    return this.indexed as { run: CompletedRun & { lineage: object }; index: ColumnSpanIndex };
  }

  /** The explored model's name, as the lineage's paths label it. */
  private modelName(run: CompletedRun): string {
    return path.basename(run.result.model.file, path.extname(run.result.model.file));
  }

  /** Whether the last run's lineage has spans in this document's file. */
  covers(document: vscode.TextDocument): boolean {
    const file = this.controller.fileOf(document.uri);
    return !!file && !!this.current()?.index.covers(file);
  }

  /** The lineage column whose name is at `position`, and the name's range; undefined when none is there. */
  targetAt(
    document: vscode.TextDocument,
    position: vscode.Position,
  ): { target: ColumnTarget; range: vscode.Range } | undefined {
    const current = this.current();
    const file = this.controller.fileOf(document.uri);
    if (!file || !current?.index.covers(file)) return undefined;
    const range = document.getWordRangeAtPosition(position, IDENTIFIER);
    if (!range) return undefined;
    const target = current.index.columnAt(
      file,
      range.start.line + 1,
      range.start.character + 1,
      document.getText(range),
    );
    return target && { target, range };
  }

  /** Whether the last run's lineage has this column. */
  has(target: ColumnTarget): boolean {
    const run = this.current()?.run;
    return !!run?.lineage && !!describeColumn(run.lineage, this.modelName(run), target);
  }

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const found = this.targetAt(document, position);
    const run = this.current()?.run;
    if (!found || !run?.lineage) return undefined;
    const markdown = this.markdown(run, found.target);
    return markdown && new vscode.Hover(markdown, found.range);
  }

  /** The column's lineage as the hover shows it. */
  markdown(run: CompletedRun, target: ColumnTarget): vscode.MarkdownString | undefined {
    const description = run.lineage && describeColumn(run.lineage, this.modelName(run), target);
    if (!description) return undefined;
    const paragraphs = [`**${code(description.column)}** — ${escape(description.role)}`];
    if (description.paths.length) {
      paragraphs.push(
        'Comes from:',
        [
          ...description.paths.map(
            (found) => `- ${code(found.text)}${found.kinds.length ? ` (${found.kinds.join(' → ')})` : ''}`,
          ),
          ...(description.morePaths ? [`- and ${description.morePaths} more`] : []),
        ].join('\n'),
      );
    }
    for (const { column, detail } of description.cases)
      paragraphs.push(`The CASE that makes ${code(column)}:`, codeBlock(caseText(detail), 'sql'));
    if (description.feeds.length)
      paragraphs.push(`Feeds: ${description.feeds.map((column) => code(column)).join(', ')}`);
    if (description.shapes.length) paragraphs.push(`Shapes rows: ${escape(description.shapes.join(', '))}`);
    const args = encodeURIComponent(JSON.stringify([target]));
    const when = clockTime(run.finishedAt, vscode.env.language);
    const failed = this.controller.state.status === 'error';
    paragraphs.push(
      `[Show in the lineage](command:${SHOW_COLUMN_LINEAGE}?${args}) · Segment Lens, ${failed ? `last run failed, showing the run of ${when}` : `run of ${when}`}`,
    );
    const text = new vscode.MarkdownString(paragraphs.join('\n\n'));
    // Only our own command may run from the hover's link; names from the user's files are escaped, never markup.
    text.isTrusted = { enabledCommands: [SHOW_COLUMN_LINEAGE] };
    return text;
  }
}
