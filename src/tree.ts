// The sidebar tree: the grid's rows (regions), then its columns (segments) with their customers and average LTV,
// named as the model names its GROUP BY keys.
import * as vscode from 'vscode';
import { Disposable } from './dispose';
import type { RunController } from './runController';
import { keyLabel, SEGMENT_COLOURS, type Grid, type GridCell } from './shared/grid';
import { clockTime, formatMetric, metricLabel } from './shared/labels';

type Item = { kind: 'region'; region: string | null; index: number } | { kind: 'segment'; cell: GridCell };

function customers(value: number | null | undefined, column: string, locale: string): string {
  return `${formatMetric(value, column, locale)} ${value === 1 ? 'customer' : 'customers'}`;
}

export class SegmentTree extends Disposable implements vscode.TreeDataProvider<Item> {
  private readonly changed = this._register(new vscode.EventEmitter<Item | undefined>());
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly controller: RunController) {
    super();
    this._register(controller.onDidChange(() => this.changed.fire(undefined)));
  }

  /** Keeps the view's message in step with the run: after a failed run, the figures shown are dated. */
  attach(view: vscode.TreeView<Item>): vscode.Disposable {
    const update = () => (view.message = this.message());
    update();
    return this.controller.onDidChange(update);
  }

  /** "The last run failed: showing the run of 12:03." while the figures are an earlier run's; else nothing. */
  message(): string | undefined {
    const state = this.controller.state.status === 'running' ? this.controller.state.previous : this.controller.state;
    if (state.status !== 'error' || !this.controller.last) return undefined;
    const last = this.controller.last;
    return `The last run of ${state.modelName} failed: showing the run of ${clockTime(last.finishedAt, vscode.env.language)}${last.modelLabel === state.modelName ? '' : ` (${last.modelLabel})`}.`;
  }

  private get grid(): Grid | undefined {
    const grid = this.controller.last?.grid;
    return grid?.ok ? grid.grid : undefined;
  }

  getChildren(element?: Item): Item[] {
    const grid = this.grid;
    if (!grid) return [];
    if (!element) return grid.regions.map((region, index) => ({ kind: 'region', region, index }));
    if (element.kind === 'region' && grid.segmentColumn !== undefined) {
      return grid.segments
        .map((segment) => grid.cells.find((cell) => cell.region === element.region && cell.segment === segment))
        .filter((cell): cell is GridCell => !!cell)
        .map((cell) => ({ kind: 'segment', cell }));
    }
    return [];
  }

  getTreeItem(element: Item): vscode.TreeItem {
    const grid = this.grid!;
    const locale = vscode.env.language;
    const count = grid.countColumn;
    const ltv = grid.metrics.find((metric) => /ltv|spent|value/i.test(metric.column))?.column;
    if (element.kind === 'region') {
      // One dimension: a row has no columns under it.
      const item = new vscode.TreeItem(
        keyLabel(element.region, grid.regionColumn),
        grid.segmentColumn === undefined
          ? vscode.TreeItemCollapsibleState.None
          : vscode.TreeItemCollapsibleState.Expanded,
      );
      const totals = grid.regionTotals[element.index];
      item.description = count ? customers(totals[count], count, locale) : undefined;
      item.tooltip = `${grid.regionColumn}: ${keyLabel(element.region, grid.regionColumn)}`;
      item.iconPath = new vscode.ThemeIcon('globe');
      item.id = `region:${JSON.stringify(element.region)}`;
      item.contextValue = 'region';
      return item;
    }
    const { cell } = element;
    const item = new vscode.TreeItem(keyLabel(cell.segment, grid.segmentColumn), vscode.TreeItemCollapsibleState.None);
    const parts = [
      count ? customers(cell.values[count], count, locale) : undefined,
      ltv ? `avg LTV ${formatMetric(cell.values[ltv], ltv, locale)}` : undefined,
    ];
    item.description = parts.filter(Boolean).join(' · ');
    // Plain text, not Markdown: names from the data are never rendered or linked.
    item.tooltip = [
      `${grid.regionColumn}: ${keyLabel(cell.region, grid.regionColumn)} · ${grid.segmentColumn}: ${keyLabel(cell.segment, grid.segmentColumn)}`,
      ...grid.metrics.map(
        (metric) => `${metricLabel(metric.column)}: ${formatMetric(cell.values[metric.column], metric.column, locale)}`,
      ),
    ].join('\n');
    const order = grid.segments.indexOf(cell.segment);
    item.iconPath = new vscode.ThemeIcon(
      'circle-filled',
      new vscode.ThemeColor(SEGMENT_COLOURS[order % SEGMENT_COLOURS.length]),
    );
    item.id = `cell:${JSON.stringify([cell.region, cell.segment])}`;
    item.contextValue = 'segment';
    item.command = {
      command: 'segmentLens.revealCell',
      title: 'Reveal in the grid',
      arguments: [cell.region, cell.segment],
    };
    return item;
  }
}
