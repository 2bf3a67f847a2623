// The messages between the extension host and the panel's webview, both ways, as discriminated unions on `type`.
// Imports neither `vscode` nor the DOM: both sides compile it. The host validates every message it receives.
import type { GridOutcome, GridView } from './grid';
import { isRecord } from './json';
import type { Lineage } from './lineageModel';
import type { LensErrorValue, LensWarning } from './problem';
import type { SqlValue } from './rows';

export interface RunSummary {
  modelFile: string;
  modelName: string;
  /** What the title says: the model's path relative to the workspace, or "bundled sample". */
  modelLabel: string;
  sample: boolean;
  /** When the run finished (epoch milliseconds). */
  finishedAt: number;
  source: string;
  cteRowCounts: Record<string, number>;
  timings: { loadMs: number; queryMs: number; totalMs: number };
  /** The models it stands on, each read from the data, built from SQL now, or kept from an earlier build. */
  upstream: { name: string; from: 'data' | 'built' | 'kept'; rows: number; ms: number }[];
  /** The model's full result, for CSV export and copy. */
  columns: string[];
  rows: SqlValue[][];
}

export interface DonePanelState {
  status: 'done';
  run: RunSummary;
  grid: GridOutcome;
  lineage?: Lineage;
  lineageError?: string;
  warnings: LensWarning[];
}

/** `modelName` is the model's label (as `RunSummary.modelLabel`); after an error, `lastGood` is the last good run. */
export type PanelState =
  | { status: 'empty' }
  | { status: 'running'; modelName: string; previous?: PanelState }
  | DonePanelState
  | { status: 'error'; modelName: string; error: LensErrorValue; lastGood?: DonePanelState };

export interface RowPageMessage {
  columns: string[];
  rows: SqlValue[][];
  total: number;
  offset: number;
}

export type HostMessage =
  | { type: 'state'; state: PanelState; locale: string }
  /** With `moved`: the customers that moved into or out of the cell under the what-if thresholds `moved` gives. */
  | {
      type: 'drillDown';
      region: string | null;
      segment: string | null;
      page: RowPageMessage;
      moved?: number[];
    }
  /** The model run with the thresholds `values` (each number of the segmentation's CASE, in order): its grid. */
  | { type: 'whatIf'; values: number[]; grid: GridOutcome; ms: number }
  | { type: 'cteRows'; cte: string; page: RowPageMessage }
  | { type: 'revealCell'; region: string | null; segment: string | null }
  | { type: 'scrollTo'; target: 'lineage' }
  /** Light a column's path in the lineage until the next hover or click, and scroll it into view. */
  | { type: 'focusColumn'; id: string; model?: string }
  | { type: 'notice'; text: string }
  /** Where the run in flight is ("Building stg_orders (2/5)"), for the status line while it runs. */
  | { type: 'progress'; text: string };

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'run' }
  | { type: 'exportCsv' }
  | { type: 'copy'; text: string }
  | { type: 'drillDown'; region: string | null; segment: string | null; offset: number }
  | { type: 'cteRows'; cte: string; offset: number }
  /** A lineage node to open at its line: of the explored model, or of the upstream `model` it names. */
  | { type: 'revealNode'; id: string; model?: string }
  | { type: 'revealError' }
  /** How the user has the grid now (for Export CSV of the grid as shown). */
  | { type: 'gridView'; view: GridView }
  /** The panel changed size: the host may remember its share of the editor area. */
  | { type: 'resized' }
  /** Run the model in memory with the segmentation's numbers set to `values` (one per number, in order). */
  | { type: 'whatIf'; values: number[] }
  /** The customers that moved into or out of a cell under those values (all that moved, without a cell). */
  | { type: 'whatIfMoved'; values: number[]; region: string | null; segment: string | null; offset: number }
  /** Write `values` into the model, in the editor (one undoable edit, unsaved). */
  | { type: 'applyWhatIf'; values: number[] };

/** Rows per page of a drill-down or CTE preview. */
export const PAGE_SIZE = 50;
/** Copying more than this is refused rather than handed to the clipboard. */
export const MAX_COPY_CHARS = 10_000_000;

const isKey = (value: unknown): value is string | null =>
  value === null || (typeof value === 'string' && value.length <= 10_000);
const isOffset = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 1e9;
const isName = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= 1000;

const isText = (value: unknown): value is string => typeof value === 'string' && value.length <= 10_000;

function isGridView(value: unknown): value is GridView {
  return (
    isRecord(value) &&
    (value.metric === undefined || isName(value.metric)) &&
    isText(value.filter) &&
    isText(value.sortBy) &&
    typeof value.descending === 'boolean'
  );
}

/** At most this many numbers in a what-if (as the engine's MAX_OVERRIDES). */
const MAX_WHAT_IF_VALUES = 1000;
const isValues = (value: unknown): value is number[] =>
  Array.isArray(value) &&
  value.length <= MAX_WHAT_IF_VALUES &&
  value.every((item) => typeof item === 'number' && Number.isFinite(item));

/** The message if it is one the protocol allows, else undefined: anything else from the webview is ignored. */
export function parseWebviewMessage(raw: unknown): WebviewMessage | undefined {
  if (!isRecord(raw)) return undefined;
  const message = raw;
  switch (message.type) {
    case 'ready':
    case 'run':
    case 'exportCsv':
    case 'revealError':
    case 'resized':
      return { type: message.type };
    case 'gridView':
      if (!isGridView(message.view)) return undefined;
      return {
        type: 'gridView',
        view: {
          ...(message.view.metric === undefined ? {} : { metric: message.view.metric }),
          filter: message.view.filter,
          sortBy: message.view.sortBy,
          descending: message.view.descending,
        },
      };
    case 'copy':
      return typeof message.text === 'string' && message.text.length <= MAX_COPY_CHARS
        ? { type: 'copy', text: message.text }
        : undefined;
    case 'drillDown':
      return isKey(message.region) && isKey(message.segment) && isOffset(message.offset)
        ? { type: 'drillDown', region: message.region, segment: message.segment, offset: message.offset }
        : undefined;
    case 'cteRows':
      return isName(message.cte) && isOffset(message.offset)
        ? { type: 'cteRows', cte: message.cte, offset: message.offset }
        : undefined;
    case 'whatIf':
    case 'applyWhatIf':
      return isValues(message.values) ? { type: message.type, values: [...message.values] } : undefined;
    case 'whatIfMoved':
      return isValues(message.values) && isKey(message.region) && isKey(message.segment) && isOffset(message.offset)
        ? {
            type: 'whatIfMoved',
            values: [...message.values],
            region: message.region,
            segment: message.segment,
            offset: message.offset,
          }
        : undefined;
    case 'revealNode':
      if (!isName(message.id)) return undefined;
      if (message.model === undefined) return { type: 'revealNode', id: message.id };
      return isName(message.model) ? { type: 'revealNode', id: message.id, model: message.model } : undefined;
    default:
      return undefined;
  }
}
