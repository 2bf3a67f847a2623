import type { FileLocation } from './errors';

/** Offsets at which each line of `text` starts. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) starts.push(index + 1);
  return starts;
}

/** 0-based line and column of a UTF-16 offset. */
export function positionAt(starts: readonly number[], offset: number): { line: number; column: number } {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (starts[middle] <= offset) low = middle;
    else high = middle - 1;
  }
  return { line: low, column: offset - starts[low] };
}

export function locationAt(file: string, text: string, offset: number, endOffset?: number): FileLocation {
  const starts = lineStarts(text);
  const start = positionAt(starts, offset);
  const location: FileLocation = { file, line: start.line + 1, column: start.column + 1 };
  if (endOffset !== undefined) {
    const end = positionAt(starts, endOffset);
    location.endLine = end.line + 1;
    location.endColumn = end.column + 1;
  }
  return location;
}
