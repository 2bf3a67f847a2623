// Maps offsets of rendered SQL back to the model file the user sees, so every error and lineage span points at
// what they wrote, not at what Jinja made of it. Text injected from another file (an ephemeral model's SQL, as dbt
// injects it as a CTE) maps to that file.
import type { FileLocation } from '../errors';
import { lineStarts, positionAt } from '../textPosition';

/** A file's text, as the user wrote it. */
export interface SourceText {
  file: string;
  original: string;
}

export interface Segment {
  renderedStart: number;
  renderedEnd: number;
  originalStart: number;
  originalEnd: number;
  /** Literal text maps offset by offset; an expression's output maps to its whole `{{ … }}` tag. */
  literal: boolean;
  /** The file this piece comes from, when it is not the map's own. */
  source?: SourceText;
}

/** Maps offsets of the rendered SQL back to the model file (and the files of text injected into it). */
export class SourceMap {
  private readonly starts = new Map<string, number[]>();
  constructor(
    readonly file: string,
    readonly original: string,
    private readonly segments: readonly Segment[],
  ) {}

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

  private sourceOf(segment: Segment | undefined): SourceText {
    return segment?.source ?? this;
  }

  /** The original range behind rendered [start, end), in the file of the text at `start`. */
  private originalRange(renderedStart: number, renderedEnd = renderedStart): { start: number; end: number } {
    const first = this.segmentAt(renderedStart);
    if (!first) return { start: 0, end: 0 };
    const start = first.literal
      ? first.originalStart + Math.min(renderedStart - first.renderedStart, first.originalEnd - first.originalStart)
      : first.originalStart;
    if (renderedEnd <= renderedStart) return { start, end: first.literal ? start : first.originalEnd };
    let last = this.segmentAt(renderedEnd - 1) ?? first;
    // A range that runs into another file's text ends where the first file's piece ends.
    if (this.sourceOf(last).file !== this.sourceOf(first).file) last = first;
    const end = last.literal
      ? last.originalStart + Math.min(renderedEnd - last.renderedStart, last.originalEnd - last.originalStart)
      : last.originalEnd;
    return { start, end: Math.max(start, end) };
  }

  /** The file and offset in it behind a rendered offset. */
  origin(renderedOffset: number): { source: SourceText; offset: number } {
    const segment = this.segmentAt(renderedOffset);
    const { file, original } = this.sourceOf(segment);
    return { source: { file, original }, offset: this.originalRange(renderedOffset).start };
  }

  /** Whether rendered [start, end) is written in its file as it is (not printed by a Jinja tag). */
  verbatim(renderedStart: number, renderedEnd: number): boolean {
    const segment = this.segmentAt(renderedStart);
    return !!segment && segment.literal && renderedEnd <= segment.renderedEnd;
  }

  /** The file's text behind rendered [start, end): for text a Jinja tag printed, the whole tag. */
  originalText(renderedStart: number, renderedEnd: number): string {
    const range = this.originalRange(renderedStart, renderedEnd);
    return this.sourceOf(this.segmentAt(renderedStart)).original.slice(range.start, range.end);
  }

  location(renderedStart: number, renderedEnd?: number): FileLocation {
    const source = this.sourceOf(this.segmentAt(renderedStart));
    const range = this.originalRange(renderedStart, renderedEnd);
    let starts = this.starts.get(source.file);
    if (!starts) this.starts.set(source.file, (starts = lineStarts(source.original)));
    const start = positionAt(starts, range.start);
    const end = positionAt(starts, range.end);
    return {
      file: source.file,
      line: start.line + 1,
      column: start.column + 1,
      endLine: end.line + 1,
      endColumn: end.column + 1,
    };
  }

  /**
   * The segments behind rendered [from, to), cut at its ends, each naming its file, moved to start at `at`: the
   * pieces of a map spliced into another.
   */
  slice(from: number, to: number, at: number): Segment[] {
    const shift = at - from;
    const pieces: Segment[] = [];
    this.segments.forEach((segment, index) => {
      // A segment reaches to where the next one starts (what segmentAt reads), or to its own end if it is the last.
      const reach = Math.max(segment.renderedEnd, this.segments[index + 1]?.renderedStart ?? segment.renderedEnd);
      const start = Math.max(from, segment.renderedStart);
      const end = Math.min(to, reach);
      if (start >= end) return;
      const cut = start - segment.renderedStart;
      const span = segment.originalEnd - segment.originalStart;
      pieces.push({
        renderedStart: start + shift,
        renderedEnd: end + shift,
        originalStart: segment.literal ? segment.originalStart + Math.min(cut, span) : segment.originalStart,
        originalEnd: segment.literal
          ? segment.originalStart + Math.min(cut + (end - start), span)
          : segment.originalEnd,
        literal: segment.literal,
        source: segment.source ?? { file: this.file, original: this.original },
      });
    });
    return pieces;
  }
}
