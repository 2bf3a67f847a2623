// Runs the model for the extension: one run at a time (a newer run supersedes the one in flight), progress that can
// be cancelled, diagnostics for errors, and the last run kept open for drill-downs and CTE previews. It keeps the
// run's own state; what the panel shows is made from it by the panel.
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { readConfig } from './config';

/** The bundled sample's files open read-only, as documents of this scheme (they belong to the extension). */
export const SAMPLE_SCHEME = 'segment-lens-sample';
import { Disposable } from './dispose';
import { toRange } from './vscodeTypes';
import type {
  ConnectionServer,
  EngineAssets,
  LensErrorValue,
  Lineage,
  LineageOfModel,
  ModelResult,
  RawSettings,
  RowPage,
  RunRequest,
} from './engine/index';
import { LensError } from './engine/errors';
import { resolveTimeout } from './engine/settings';
import { CancelledError, EngineClient, type Deadline } from './engine/worker/client';
import type { RunPayload, WhatIfPayload } from './engine/worker/protocol';
import type { LiteralOverride } from './engine/run/whatIf';
import type { CaseLiteral } from './shared/lineageModel';
import type { GridOutcome } from './shared/grid';
import { SAMPLE_LABEL } from './shared/labels';
import { describeModel } from './shared/describe';
import { LineageGraph, segmentation, spanOf, type DrillDownSource } from './shared/lineageGraph';
import type { FileLocation, LensWarning } from './shared/problem';
import { progressText, type RunProgress } from './shared/progress';

/** A run that finished: its result, its lineage (or why there is none) and the grid made of it. */
export interface CompletedRun {
  result: ModelResult;
  lineage?: Lineage;
  lineageError?: string;
  grid: GridOutcome;
  /** Where a cell's customers come from, when the cells trace back to one CTE. */
  drillDown?: DrillDownSource;
  /** The model's path relative to the workspace, or "bundled sample". */
  modelLabel: string;
  /** When it finished (epoch milliseconds): what a stale view is dated by. */
  finishedAt: number;
}

export type SettledRunState =
  | { status: 'empty' }
  | ({ status: 'done' } & CompletedRun)
  | { status: 'error'; modelName: string; error: LensErrorValue; lastGood?: CompletedRun };

/** While a run is in flight, `previous` is what was there before it. */
export type RunState = SettledRunState | { status: 'running'; modelName: string; previous: SettledRunState };

export class RunController extends Disposable {
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  /** Fires when a run starts, ends or fails. */
  readonly onDidChange = this.changed.event;
  private readonly progressed = this._register(new vscode.EventEmitter<string>());
  /** Where the run in flight is, as one line ("Building stg_orders (2/5)"). */
  readonly onDidProgress = this.progressed.event;
  private readonly diagnostics = this._register(vscode.languages.createDiagnosticCollection('segmentLens'));
  /** What the model's Jinja logs (log(), print()), made on the first line logged. */
  private output: vscode.OutputChannel | undefined;
  private generation = 0;
  private inFlight: vscode.CancellationTokenSource | undefined;
  state: RunState = { status: 'empty' };
  last: CompletedRun | undefined;
  private lastGraph: LineageGraph | undefined;
  /** The model file of the last run started, so a refresh runs the same one. */
  private lastModel: vscode.Uri | undefined;
  /** The model file last active in an editor: what Run runs when no SQL editor is active and no model is set. */
  recentModel: vscode.Uri | undefined;

  /** The engine's worker, started when a model is first active in an editor, or by the first run. */
  private readonly engine: EngineClient;
  /** The PostgreSQL passwords the user stored (Set PostgreSQL Password), sent with each request that reads data. */
  storedPasswords: () => Promise<Record<string, string>> = () => Promise.resolve({});

  constructor(
    readonly extensionUri: vscode.Uri,
    /** Where the engine saves loaded data between restarts: the extension's storage, never the user's folder. */
    readonly cacheDir?: string,
  ) {
    super();
    this.engine = new EngineClient(vscode.Uri.joinPath(extensionUri, 'dist', 'worker.js').fsPath, this.assets);
    this._register({ dispose: () => this.engine.dispose() });
    this._register({ dispose: () => this.inFlight?.cancel() });
  }

  /**
   * Starts the engine's worker, if it is not running, and warms it up off the extension host's thread (~100 MB):
   * called when a model is active in an editor, so that the Run that usually follows (after a restart, one reading
   * its data back from the cache) does not wait for the worker's start and first compile, render and parse.
   */
  warmEngine(): void {
    this.engine.warm();
  }

  get assets(): EngineAssets {
    return {
      wasmPath: vscode.Uri.joinPath(this.extensionUri, 'dist', 'sql-wasm.wasm').fsPath,
      sampleDir: vscode.Uri.joinPath(this.extensionUri, 'sample').fsPath,
      jinjaDir: vscode.Uri.joinPath(this.extensionUri, 'dist', 'minijinja').fsPath,
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

  /** Whether a file is one of the bundled sample's (shown read-only: it belongs to the extension). */
  isSample(file: string): boolean {
    return file.startsWith(this.assets.sampleDir + path.sep);
  }

  /** The document for a file: the user's own file, or a bundled sample file read-only. */
  documentUri(file: string): vscode.Uri {
    if (!this.isSample(file)) return vscode.Uri.file(file);
    const relative = path.relative(this.assets.sampleDir, file).split(path.sep).join('/');
    return vscode.Uri.from({ scheme: SAMPLE_SCHEME, path: `/${relative}` });
  }

  /** The file a document shows, as the engine names files: undefined for documents of other schemes. */
  fileOf(uri: vscode.Uri): string | undefined {
    if (uri.scheme === 'file') return uri.fsPath;
    if (uri.scheme !== SAMPLE_SCHEME) return undefined;
    const file = path.join(this.assets.sampleDir, ...uri.path.split('/').filter(Boolean));
    return this.isSample(file) ? file : undefined;
  }

  /** What titles call a model file: its path relative to the workspace, or "bundled sample". */
  modelLabel(file: string | undefined): string {
    if (file === undefined || this.isSample(file)) return SAMPLE_LABEL;
    return vscode.workspace.asRelativePath(file, false);
  }

  /**
   * The model Run runs when no segment model is active in an editor: the configured one (undefined: the engine
   * reads the setting), else the model file last active in an editor if it still exists, else the sample (undefined).
   */
  defaultModel(): vscode.Uri | undefined {
    if (this.configuredModel()) return undefined;
    return this.recentModel && existsSync(this.recentModel.fsPath) ? this.recentModel : undefined;
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
    const modelFile =
      model?.fsPath ??
      (typeof settings.model === 'string' && settings.model ? path.resolve(dir, settings.model) : undefined);
    const modelName = path.basename(modelFile ?? this.sampleModel.fsPath);
    this.setState({
      status: 'running',
      modelName: this.modelLabel(modelFile),
      previous: this.state.status === 'running' ? this.state.previous : this.state,
    });

    const work = async (token: vscode.CancellationToken, report?: (text: string) => void) => {
      const onCancel = token.onCancellationRequested(() => {
        if (generation === this.generation) this.engine.cancel();
      });
      const onProgress = (progress: RunProgress) => {
        if (token.isCancellationRequested || generation !== this.generation) return;
        const text = progressText(progress);
        report?.(text);
        this.progressed.fire(text);
      };
      try {
        const outcome = await this.engine.request<RunPayload>(
          {
            type: 'run',
            request: await this.engineRequest(dir, settings),
            assets: this.assets,
            cacheDir: this.cacheDir,
          },
          this.deadline(settings.timeoutSeconds, `The model ${modelName}`),
          onProgress,
        );
        if (token.isCancellationRequested || generation !== this.generation) return;
        if (!outcome.ok) throw new LensError(outcome.error);
        const { result, lineage, lineageError, grid, drillDown } = outcome.result;
        this.last = {
          result,
          lineage,
          lineageError,
          grid,
          drillDown,
          modelLabel: result.model.sample ? SAMPLE_LABEL : this.modelLabel(result.model.file),
          finishedAt: Date.now(),
        };
        this.lastGraph = lineage && new LineageGraph(lineage);
        this.showWarnings(result.warnings);
        this.log(result.model.file, result.logs);
        this.setState({ status: 'done', ...this.last });
      } catch (error) {
        if (error instanceof CancelledError || generation !== this.generation) return;
        const value: LensErrorValue =
          error instanceof LensError
            ? error.value
            : {
                code: 'sql',
                message: `Segment Lens failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`,
                hint: 'Run again; if it keeps failing, please report it.',
              };
        this.showDiagnostic(value);
        this.setState({ status: 'error', modelName: this.modelLabel(modelFile), error: value, lastGood: this.last });
      } finally {
        onCancel.dispose();
        if (this.inFlight === cancellation) this.inFlight = undefined;
        cancellation.dispose();
      }
    };
    if (options.progress === false) return work(cancellation.token);
    await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Segment Lens: running ${modelName}`,
        cancellable: true,
      },
      (progress, token) => {
        token.onCancellationRequested(() => cancellation.cancel());
        return work(cancellation.token, (message) => progress.report({ message }));
      },
    );
    if (
      generation === this.generation &&
      cancellation.token.isCancellationRequested &&
      this.state.status === 'running'
    ) {
      this.setState(this.state.previous);
    }
  }

  /**
   * The model's documentation as Markdown (shared/describe.ts): `model` when given, else the one Run would run. The
   * last run's lineage serves when it is of that model; else the engine reads the model's lineage now.
   */
  async describe(model: vscode.Uri | undefined): Promise<string> {
    const { dir, scope } = this.workspaceFor(model);
    const file = model?.fsPath ?? this.configuredModel()?.fsPath ?? this.sampleModel.fsPath;
    const name = path.basename(file, path.extname(file));
    const last = this.last;
    if (last?.lineage && last.result.model.file === file) return describeModel({ model: name, lineage: last.lineage });
    const settings = { ...readConfig(scope).engine };
    if (model) settings.model = model.fsPath;
    const outcome = await this.engine.request<LineageOfModel>(
      {
        type: 'lineage',
        request: await this.engineRequest(dir, settings),
        assets: this.assets,
      },
      this.deadline(settings.timeoutSeconds, `The lineage of ${path.basename(file)}`),
    );
    if (!outcome.ok) throw new LensError(outcome.error);
    const described = outcome.result.model.file;
    return describeModel({ model: path.basename(described, path.extname(described)), lineage: outcome.result.lineage });
  }

  /** What the engine is asked with: the workspace, its settings and environment, and the stored passwords. */
  private async engineRequest(dir: string, settings: RawSettings): Promise<RunRequest> {
    const trusted = vscode.workspace.isTrusted;
    // A workspace not trusted connects to no server: no password leaves the extension host for it.
    const passwords = trusted ? await this.storedPasswords() : {};
    return { workspaceDir: dir, settings, env: { ...process.env }, trusted, passwords };
  }

  /** The PostgreSQL server the connection in effect reads (for Set PostgreSQL Password), or undefined. */
  async postgresServer(): Promise<ConnectionServer | undefined> {
    const model = this.lastModel ?? this.defaultModel();
    const { dir, scope } = this.workspaceFor(model);
    const settings = { ...readConfig(scope).engine };
    if (model) settings.model = model.fsPath;
    const outcome = await this.engine.request<ConnectionServer | null>(
      { type: 'postgresServer', request: await this.engineRequest(dir, settings), assets: this.assets },
      this.deadline(settings.timeoutSeconds, 'Finding the PostgreSQL server'),
    );
    if (!outcome.ok) throw new LensError(outcome.error);
    return outcome.result ?? undefined;
  }

  /** Runs the last model again. */
  refresh(options: { progress?: boolean } = {}): Promise<void> {
    return this.run(this.lastModel, options);
  }

  /** segmentLens.timeoutSeconds as this run's deadline (a value that is not a number of seconds is the run's error). */
  private deadline(timeoutSeconds: unknown, subject: string): Deadline {
    return { seconds: resolveTimeout(timeoutSeconds), setting: 'segmentLens.timeoutSeconds', subject };
  }

  private log(model: string, lines: readonly string[]): void {
    if (lines.length === 0) return;
    this.output ??= this._register(vscode.window.createOutputChannel('Segment Lens'));
    this.output.appendLine(`[${new Date().toLocaleTimeString()}] ${path.basename(model)}`);
    for (const line of lines) this.output.appendLine(`  ${line}`);
  }

  private setState(state: RunState): void {
    this.state = state;
    void vscode.commands.executeCommand('setContext', 'segmentLens.hasResult', state.status === 'done' || !!this.last);
    this.changed.fire();
  }

  private showDiagnostic(error: LensErrorValue): void {
    this.diagnostics.clear();
    if (!error.location) return;
    const diagnostic = new vscode.Diagnostic(
      toRange(error.location),
      error.hint ? `${error.message} ${error.hint}` : error.message,
      vscode.DiagnosticSeverity.Error,
    );
    diagnostic.source = 'Segment Lens';
    diagnostic.code = error.code;
    this.diagnostics.set(vscode.Uri.file(error.location.file), [diagnostic]);
  }

  /** The run's warnings in Problems, each at its place (those without one are listed in the panel only). */
  private showWarnings(warnings: readonly LensWarning[]): void {
    this.diagnostics.clear();
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const warning of warnings) {
      if (!warning.location) continue;
      const diagnostic = new vscode.Diagnostic(
        toRange(warning.location),
        warning.message,
        warning.severity === 'information' ? vscode.DiagnosticSeverity.Information : vscode.DiagnosticSeverity.Warning,
      );
      diagnostic.source = 'Segment Lens';
      diagnostic.code = warning.code;
      const list = byFile.get(warning.location.file);
      if (list) list.push(diagnostic);
      else byFile.set(warning.location.file, [diagnostic]);
    }
    for (const [file, diagnostics] of byFile) this.diagnostics.set(vscode.Uri.file(file), diagnostics);
  }

  /** The customers behind a grid cell, a page at a time; undefined when the model's cells cannot be traced to one CTE. */
  async drillDown(
    region: string | null,
    segment: string | null,
    offset: number,
    limit: number,
  ): Promise<RowPage | undefined> {
    const source = this.last?.drillDown;
    if (!source) return undefined;
    return this.cteRows(
      source.cte,
      [
        { column: source.regionColumn, value: region },
        { column: source.segmentColumn, value: segment },
      ],
      offset,
      limit,
    );
  }

  /** The numbers of the last run's segmentation CASE, in order: the what-if thresholds. */
  thresholds(): CaseLiteral[] {
    const grid = this.last?.grid;
    const literals =
      this.lastGraph && segmentation(this.lastGraph, grid?.ok ? grid.grid.segmentColumn : undefined)?.literals;
    return literals ?? [];
  }

  /** The spans of the thresholds `values` changes (one value per threshold, in order). */
  private overrides(values: readonly number[]): LiteralOverride[] {
    const literals = this.thresholds();
    if (values.length !== literals.length)
      throw new Error('The model’s thresholds changed since the panel showed them: run the model again.');
    return literals
      .map((literal, index) => ({ offset: literal.offset, length: literal.length, value: values[index] }))
      .filter((override, index) => override.value !== literals[index].value);
  }

  /** The last run's model run again in memory with its thresholds set to `values`; the file is not read again. */
  async whatIf(values: readonly number[]): Promise<WhatIfPayload> {
    const outcome = await this.engine.request<WhatIfPayload>(
      { type: 'whatIf', overrides: this.overrides(values) },
      this.deadline(readConfig(this.workspaceFor(this.lastModel).scope).engine.timeoutSeconds, 'The what-if run'),
    );
    if (!outcome.ok) throw new LensError(outcome.error);
    return outcome.result;
  }

  /** The customers that moved into or out of a cell (all that moved, when region and segment are both undefined). */
  async whatIfMoved(
    values: readonly number[],
    cell: { region: string | null; segment: string | null } | undefined,
    offset: number,
    limit: number,
  ): Promise<RowPage | undefined> {
    const source = this.last?.drillDown;
    if (!source) return undefined;
    const filters = cell
      ? [
          { column: source.regionColumn, value: cell.region },
          { column: source.segmentColumn, value: cell.segment },
        ]
      : [];
    const outcome = await this.engine.request<RowPage>(
      { type: 'whatIfMoved', overrides: this.overrides(values), cte: source.cte, filters, offset, limit },
      this.deadline(readConfig(this.workspaceFor(this.lastModel).scope).engine.timeoutSeconds, 'The moved customers'),
    );
    if (!outcome.ok) throw new LensError(outcome.error);
    return outcome.result;
  }

  /** A page of one of the last run's CTEs, from the data the worker still holds. */
  async cteRows(
    cte: string,
    filters: { column: string; value: string | null }[],
    offset: number,
    limit: number,
  ): Promise<RowPage> {
    const outcome = await this.engine.request<RowPage>(
      { type: 'cteRows', cte, filters, offset, limit },
      this.deadline(readConfig(this.workspaceFor(this.lastModel).scope).engine.timeoutSeconds, `The preview of ${cte}`),
    );
    if (!outcome.ok) throw new LensError(outcome.error);
    return outcome.result;
  }

  /**
   * Where a lineage node, relation or output column is written: in the model file, or with `model`, in the file of
   * that upstream model (looked up only among the last run's, so a message cannot name any other file).
   */
  spanOf(id: string, model?: string): FileLocation | undefined {
    if (model === undefined) return this.lastGraph && spanOf(this.lastGraph, id);
    const upstream = this.last?.lineage?.upstreamModels?.find((candidate) => candidate.model === model);
    return upstream?.lineage && spanOf(new LineageGraph(upstream.lineage), id);
  }

  /** Where the last run's error is, if it failed at a place in a file. */
  errorLocation(): FileLocation | undefined {
    return this.state.status === 'error' ? this.state.error.location : undefined;
  }
}
