// Conversions between the engine's plain values and VS Code's types.
import * as vscode from 'vscode';
import type { FileLocation } from './shared/problem';

/** A 1-based file location as a VS Code range (never inverted). */
export function toRange(location: FileLocation): vscode.Range {
  const start = new vscode.Position(Math.max(0, location.line - 1), Math.max(0, location.column - 1));
  const end = location.endLine
    ? new vscode.Position(Math.max(0, location.endLine - 1), Math.max(0, (location.endColumn ?? location.column) - 1))
    : start;
  return new vscode.Range(start, end.isBefore(start) ? start : end);
}
