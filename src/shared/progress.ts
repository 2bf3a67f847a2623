// Where a run is, as the engine reports it while it works: the extension's notification, the panel's status line
// and the CLI (--verbose) each show it as one line of text.

export type RunProgress =
  | { stage: 'load' }
  /** Pulling a relation the model reads from a warehouse: `rows` fetched so far. */
  | { stage: 'pull'; relation: string; rows: number }
  /** Building the `index`th (1-based) of `total` upstream models the data does not hold. */
  | { stage: 'build'; model: string; index: number; total: number }
  | { stage: 'query' };

export function progressText(progress: RunProgress): string {
  switch (progress.stage) {
    case 'load':
      return 'Loading the data';
    case 'pull':
      return `Pulling ${progress.relation} (${progress.rows.toLocaleString('en')} rows)`;
    case 'build':
      return `Building ${progress.model} (${progress.index}/${progress.total})`;
    case 'query':
      return 'Running the query';
  }
}
