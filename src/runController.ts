// Runs the model for the extension: one run at a time (a newer run supersedes the one in flight), progress that can
// be cancelled, diagnostics for errors, and the last run kept open for drill-downs and CTE previews.
import path from 'node:path';
import * as vscode from 'vscode';
import { readConfig } from './config';
import type { FileLocation, LensErrorValue } from './engine/errors';
import { LensError } from './engine/errors';
import { buildGrid, segmentOrder, type GridOutcome } from './shared/grid';
import { FINAL_SELECT } from './shared/lineageModel';
import type { Lineage } from './engine/sql/lineage';
import type { EngineAssets, ModelResult, RowPage } from './engine/index';
import type { RunPayload } from './engine/worker/protocol';
import { CancelledError, EngineClient } from './engine/worker/client';
import type { PanelState } from './shared/protocol';

export interface LastRun {
  result: ModelResult;
  lineage?: Lineage;
  grid: GridOutcome;
}

/** The CTE the grid's region and segment come from, and the columns there: what a cell's drill-down lists. */
export interface DrillDownSource {
  cte: string;
  regionColumn: string;
  segmentColumn: string;
}

export function toRange(location: FileLocation): vscode.Range {
  const start = new vscode.Position(Math.max(0, location.line - 1), Math.max(0, location.column - 1));
  const end = location.endLine ? new vscode.Position(Math.max(0, location.endLine - 1), Math.max(0, (location.endColumn ?? location.column) - 1)) : start;
  return new vscode.Range(start, end.isBefore(start) ? start : end);
}

export class Controller implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when a run starts, ends or fails. */
  readonly onDidChange = this.changed.event;
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('segmentLens');
  private generation = 0;
  private inFlight: vscode.CancellationTokenSource | undefined;
  state: PanelState = { status: 'empty' };
  last: LastRun | undefined;
  /** The model file of the last run started, so a refresh runs the same one. */
  private lastModel: vscode.Uri | undefined;

  /** The engine's worker, started by the first run (activation loads nothing). */
  private readonly engine: EngineClient;

  constructor(readonly extensionUri: vscode.Uri) {
    this.engine = new EngineClient(vscode.Uri.joinPath(extensionUri, 'dist', 'worker.js').fsPath, this.assets);
  }

  get assets(): EngineAssets {
    return {
      wasmPath: vscode.Uri.joinPath(this.extensionUri, 'dist', 'sql-wasm.wasm').fsPath,
      sampleDir: vscode.Uri.joinPath(this.extensionUri, 'sample').fsPath,
    };
  }

  get sampleModel(): vscode.Uri {
    return vscode.Uri.joinPath(this.extensionUri, 'sample', 'models', 'customer_segments.sql');
  }

  /** The workspace folder a model belongs to (or the first one); settings and relative paths are read from it. */
  private workspaceFor(model: vscode.Uri | undefined): { dir: string; scope?: vscode.Uri } {
    const folder = (model && vscode.workspace.getWorkspaceFolder(model)) ?? vscode.workspace.workspaceFolders?.[0];
    if (folder) return { dir: folder.uri.fsPath, scope: folder.uri };
    return { dir: model ? path.dirname(model.fsPath) : this.assets.sampleDir };
  }

  /** The model file the settings name, if any. */
  configuredModel(): vscode.Uri | undefined {
    const { dir, scope } = this.workspaceFor(undefined);
    const model = readConfig(scope).engine.model;
    return typeof model === 'string' && model !== '' ? vscode.Uri.file(path.resolve(dir, model)) : undefined;
  }

  /** Runs the model: `model` when given (a SQL file the user has open), else the configured one, else the sample. */
  async run(model?: vscode.Uri, options: { progress?: boolean } = {}): Promise<void> {
    this.lastModel = model;
    const generation = ++this.generation;
    // A newer run supersedes the one in flight: stop it rather than wait for it.
    if (this.inFlight) {
      this.inFlight.cancel();
      this.engine.cancel();
    }
    const cancellation = new vscode.CancellationTokenSource();
    this.inFlight = cancellation;
    const { dir, scope } = this.workspaceFor(model);
    const settings = { ...readConfig(scope).engine };
    if (model) settings.model = model.fsPath;
    const modelName = path.basename(model?.fsPath ?? (typeof settings.model === 'string' && settings.model ? settings.model : this.sampleModel.fsPath));
    this.setState({ status: 'running', modelName, previous: this.state.status === 'running' ? this.state.previous : this.state });

    const work = async (token: vscode.CancellationToken) => {
      const onCancel = token.onCancellationRequested(() => {
        if (generation === this.generation) this.engine.cancel();
      });
      try {
        const outcome = await this.engine.request<RunPayload>({ type: 'run', request: { workspaceDir: dir, settings, env: { ...process.env }, trusted: vscode.workspace.isTrusted }, assets: this.assets });
        if (token.isCancellationRequested || generation !== this.generation) return;
        if (!outcome.ok) throw new LensError(outcome.error);
        const { result, lineage, lineageError } = outcome.result;
        // Segments in the order the model's CASE lists them (Platinum first).
        const grid = buildGrid(result.columns, result.rows, segmentOrder(lineage?.edges.find((edge) => edge.kind === 'case')?.case));
        this.last = { result, lineage, grid };
        this.diagnostics.clear();
        this.setState({
          status: 'done',
          run: {
            modelFile: result.model.file,
            modelName: path.basename(result.model.file),
            sample: result.model.sample,
            source: result.source.description,
            cteRowCounts: result.cteRowCounts,
            timings: { loadMs: result.timings.loadMs, queryMs: result.timings.queryMs, totalMs: result.timings.totalMs },
            columns: result.columns,
            rows: result.rows,
          },
          grid,
          lineage,
          lineageError,
          warnings: result.warnings,
        });
      } catch (error) {
        if (error instanceof CancelledError || generation !== this.generation) return;
        const value: LensErrorValue = error instanceof LensError ? error.value : { code: 'sql', message: `Segment Lens failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`, hint: 'Run again; if it keeps failing, please report it.' };
        this.showDiagnostic(value);
        this.setState({ status: 'error', modelName, error: value });
      } finally {
        onCancel.dispose();
        if (this.inFlight === cancellation) this.inFlight = undefined;
        cancellation.dispose();
      }
    };
    if (options.progress === false) return work(cancellation.token);
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Segment Lens: running ${modelName}`, cancellable: true },
      (_, token) => {
        token.onCancellationRequested(() => cancellation.cancel());
        return work(cancellation.token);
      },
    );
    if (generation === this.generation && cancellation.token.isCancellationRequested && this.state.status === 'running') {
      this.setState(this.state.previous ?? { status: 'empty' });
    }
  }

  /** Runs the last model again. */
  refresh(options: { progress?: boolean } = {}): Promise<void> {
    return this.run(this.lastModel, options);
  }

  private setState(state: PanelState): void {
    this.state = state;
    void vscode.commands.executeCommand('setContext', 'segmentLens.hasResult', state.status === 'done' || !!this.last);
    this.changed.fire();
  }

  private showDiagnostic(error: LensErrorValue): void {
    this.diagnostics.clear();
    if (!error.location) return;
    const diagnostic = new vscode.Diagnostic(toRange(error.location), error.hint ? `${error.message} ${error.hint}` : error.message, vscode.DiagnosticSeverity.Error);
    diagnostic.source = 'Segment Lens';
    diagnostic.code = error.code;
    this.diagnostics.set(vscode.Uri.file(error.location.file), [diagnostic]);
  }

  /** Where a cell's customers come from: the CTE both the region and the segment output columns pass through. */
  drillDownSource(): DrillDownSource | undefined {
    const last = this.last;
    if (!last?.lineage || !last.grid.ok) return undefined;
    const { lineage, grid } = last;
    const nodes = new Map(lineage.nodes.map((node) => [node.id, node]));
    const origin = (output: string) => lineage.edges.map((edge) => (edge.to === output && edge.kind === 'passthrough' ? nodes.get(edge.from) : undefined)).find((node) => node?.kind === 'cte');
    const region = origin(grid.grid.regionColumn);
    const segment = origin(grid.grid.segmentColumn);
    if (!region || !segment || region.relation !== segment.relation) return undefined;
    return { cte: region.relation, regionColumn: region.column, segmentColumn: segment.column };
  }

  async drillDown(region: string | null, segment: string | null, offset: number, limit: number): Promise<RowPage | undefined> {
    const source = this.drillDownSource();
    if (!source) return undefined;
    return this.cteRows(source.cte, [{ column: source.regionColumn, value: region }, { column: source.segmentColumn, value: segment }], offset, limit);
  }

  /** A page of one of the last run's CTEs, from the data the worker still holds. */
  async cteRows(cte: string, filters: { column: string; value: string | null }[], offset: number, limit: number): Promise<RowPage> {
    const outcome = await this.engine.request<RowPage>({ type: 'cteRows', cte, filters, offset, limit });
    if (!outcome.ok) throw new LensError(outcome.error);
    return outcome.result;
  }

  /** Where a lineage node, relation or output column is written in the model file. */
  spanOf(id: string): FileLocation | undefined {
    const lineage = this.last?.lineage;
    if (!lineage) return undefined;
    if (id === FINAL_SELECT) return undefined;
    return lineage.nodes.find((node) => node.id === id)?.span ?? lineage.relations.find((relation) => relation.name === id)?.span;
  }

  dispose(): void {
    this.inFlight?.cancel();
    this.engine.dispose();
    this.diagnostics.dispose();
    this.changed.dispose();
  }
}
