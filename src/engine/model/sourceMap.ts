// Maps offsets of rendered SQL back to the model file the user sees, so every error and lineage span points at
// what they wrote, not at what Jinja made of it.
import type { FileLocation } from '../errors';
import { lineStarts, positionAt } from '../textPosition';

export interface Segment {
  renderedStart: number;
  renderedEnd: number;
  originalStart: number;
  originalEnd: number;
  /** Literal text maps offset by offset; an expression's output maps to its whole `{{ … }}` tag. */
  literal: boolean;
}

/** Maps offsets of the rendered SQL back to the model file. */
export class SourceMap {
  private readonly originalLineStarts: number[];
  constructor(
    readonly file: string,
    readonly original: string,
    private readonly segments: readonly Segment[],
  ) {
    this.originalLineStarts = lineStarts(original);
  }

  private segmentAt(renderedOffset: number): Segment | undefined {
    let low = 0;
    let high = this.segments.length - 1;
    let found: Segment | undefined;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (this.segments[middle].renderedStart <= renderedOffset) {
        found = this.segments[middle];
        low = middle + 1;
      } else high = middle - 1;
    }
    return found;
  }

  /** The original range behind rendered [start, end). */
  originalRange(renderedStart: number, renderedEnd = renderedStart): { start: number; end: number } {
    const first = this.segmentAt(renderedStart);
    if (!first) return { start: 0, end: 0 };
    const start = first.literal
      ? first.originalStart + Math.min(renderedStart - first.renderedStart, first.originalEnd - first.originalStart)
      : first.originalStart;
    if (renderedEnd <= renderedStart) return { start, end: first.literal ? start : first.originalEnd };
    const last = this.segmentAt(renderedEnd - 1) ?? first;
    const end = last.literal
      ? last.originalStart + Math.min(renderedEnd - last.renderedStart, last.originalEnd - last.originalStart)
      : last.originalEnd;
    return { start, end: Math.max(start, end) };
  }

  location(renderedStart: number, renderedEnd?: number): FileLocation {
    const range = this.originalRange(renderedStart, renderedEnd);
    const start = positionAt(this.originalLineStarts, range.start);
    const end = positionAt(this.originalLineStarts, range.end);
    return {
      file: this.file,
      line: start.line + 1,
      column: start.column + 1,
      endLine: end.line + 1,
      endColumn: end.column + 1,
    };
  }
}
