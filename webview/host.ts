// The webview's line to the extension host: messages out, and the view state VS Code keeps while the panel lives.
import type { WebviewMessage } from '../src/shared/protocol';

declare function acquireVsCodeApi(): {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
};

const vscode = acquireVsCodeApi();

export function post(message: WebviewMessage): void {
  vscode.postMessage(message);
}

export function savedState(): Record<string, unknown> {
  const state = vscode.getState();
  return typeof state === 'object' && state !== null ? (state as Record<string, unknown>) : {};
}

/** Keeps `patch` in the view state, over what is there (the grid's view, the model shown). */
export function saveState(patch: Record<string, unknown>): void {
  vscode.setState({ ...savedState(), ...patch });
}
