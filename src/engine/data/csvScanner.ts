// An RFC 4180 scanner over the bytes of a file, read in chunks: records and cells are found as byte offsets into
// the chunk (no string per cell), quoted cells are unescaped in place, and the bytes are checked to be UTF-8. A
// record ends at LF, CRLF or CR; an empty line is skipped; a quote may only open or close a cell.
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];
/** Bytes read at a time: big enough that the per-chunk work is small, small enough to stay in the CPU's caches. */
export const CHUNK_BYTES = 1024 ** 2;

/**
 * What is wrong with the file, and the (1-based) line where it is: its quoting, its encoding, or a record whose cells
 * are not as many as the header's (or a header wider than the scanner keeps).
 */
export class CsvSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly reason: 'quoting' | 'encoding' | 'cells' = 'quoting',
  ) {
    super(message);
  }
}

/** The first byte at or after `from` where `bytes` stops being UTF-8; `cut`: a character the end of `bytes` cuts. */
function firstInvalidUtf8(bytes: Uint8Array, from: number, to: number): { at: number; cut: boolean } {
  for (let at = from; at < to;) {
    const lead = bytes[at];
    if (lead < 0x80) {
      at++;
      continue;
    }
    const length =
      lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length === 0) return { at, cut: false };
    let code = lead & (0xff >> (length + 1));
    for (let next = 1; next < length; next++) {
      if (at + next >= to) return { at, cut: true };
      const byte = bytes[at + next];
      if ((byte & 0xc0) !== 0x80) return { at, cut: false };
      code = (code << 6) | (byte & 0x3f);
    }
    const shortest = [0, 0, 0x80, 0x800, 0x10000][length];
    if (code < shortest || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return { at, cut: false };
    at += length;
  }
  return { at: -1, cut: false };
}

/**
 * The records of one chunk: record `r` has cells `recordEnds[r - 1]` (0 for the first) to `recordEnds[r]`, each
 * `bytes[cellStarts[c], cellEnds[c])`, and starts on line `recordLines[r]`. Valid until the next chunk is read.
 */
export interface CsvChunk {
  bytes: Buffer;
  records: number;
  cellStarts: Int32Array;
  cellEnds: Int32Array;
  recordEnds: Int32Array;
  recordLines: Int32Array;
}

export class CsvScanner implements CsvChunk {
  bytes = Buffer.alloc(0);
  records = 0;
  cellStarts = new Int32Array(1024);
  cellEnds = new Int32Array(1024);
  recordEnds = new Int32Array(256);
  recordLines = new Int32Array(256);
  /** The header's cells (0 until it is read): every record must have as many. */
  private cellsPerRecord = 0;
  /** Where the first record not yet complete starts. */
  private consumed = 0;
  private line = 1;
  private readonly delimiter: Uint8Array;
  private escaped = new Uint8Array(1024);
  /** The bytes that end an unquoted cell's plain run: the delimiter's first, CR, LF, and a quote (an error there). */
  private readonly stops = new Uint8Array(256);

  constructor(
    private readonly file: string,
    delimiter: string,
    /** The most cells a header may have (the caller refuses a wider one): a bound on the cells kept for it. */
    private readonly maxHeaderCells: number,
    private readonly chunkBytes = CHUNK_BYTES,
  ) {
    this.delimiter = Buffer.from(delimiter, 'utf8');
    for (const byte of [this.delimiter[0], CR, LF, QUOTE]) this.stops[byte] = 1;
  }

  /**
   * Reads the file from its start, chunk by chunk; a record is never split across two chunks, and the first chunk
   * holds the header alone. Every record must have as many cells as the header. An error (quoting, encoding, cell
   * count) is thrown after the records before it have been yielded, so that the caller meets problems in file order.
   */
  async *chunks(): AsyncGenerator<CsvChunk> {
    this.line = 1;
    this.cellsPerRecord = 0;
    const handle = await open(this.file, 'r');
    try {
      let buffer = Buffer.allocUnsafe(Math.max(this.chunkBytes, 4));
      let length = 0;
      let atEnd = false;
      let start = true;
      /** The bytes before this are UTF-8 (checked before scanning: unescaping leaves stale bytes behind). */
      let checked = 0;
      for (;;) {
        if (!atEnd) {
          if (length === buffer.length) {
            // One record longer than the buffer: make room for it (the file's size is bounded by the caller).
            const bigger = Buffer.allocUnsafe(buffer.length * 2);
            buffer.copy(bigger, 0, 0, length);
            buffer = bigger;
          }
          const { bytesRead } = await handle.read(
            buffer,
            length,
            Math.min(buffer.length - length, this.chunkBytes),
            null,
          );
          length += bytesRead;
          atEnd = bytesRead === 0;
        }
        if (start && (length >= BOM.length || atEnd)) {
          start = false;
          if (BOM.every((byte, index) => buffer[index] === byte)) {
            buffer.copyWithin(0, BOM.length, length);
            length -= BOM.length;
          }
        }
        if (start) continue;
        let failure: CsvSyntaxError | undefined;
        let scanned = length;
        // Up to the last ASCII byte, which no character spans (the line break ending any complete record is one).
        let upTo = length;
        if (!atEnd) while (upTo > checked && buffer[upTo - 1] >= 0x80) upTo--;
        if (upTo > checked) {
          if (isUtf8(buffer.subarray(checked, upTo))) checked = upTo;
          else ({ failure, at: scanned } = this.notUtf8(buffer, checked, upTo, atEnd));
        }
        this.consumed = 0;
        try {
          this.scan(buffer, scanned, atEnd && !failure);
        } catch (error) {
          if (!(error instanceof CsvSyntaxError)) throw error;
          failure = error;
        }
        this.bytes = buffer;
        if (this.records > 0) yield this;
        if (failure) throw failure;
        buffer.copyWithin(0, this.consumed, length);
        length -= this.consumed;
        checked -= this.consumed;
        if (atEnd && length === 0) return;
      }
    } finally {
      await handle.close();
    }
  }

  /** The error for bytes[from, to) that are not UTF-8 (bytes[0] being on this.line), and where it is. */
  private notUtf8(
    bytes: Uint8Array,
    from: number,
    to: number,
    atEnd: boolean,
  ): { failure: CsvSyntaxError; at: number } {
    const found = firstInvalidUtf8(bytes, from, to);
    // isUtf8 said no: the byte-by-byte check finds where (from `from` should the two ever disagree).
    const at = found.at === -1 ? from : found.at;
    const cut = found.cut;
    let line = this.line;
    for (let index = 0; index < at; index++) if (bytes[index] === LF) line++;
    const failure = new CsvSyntaxError(
      cut && atEnd
        ? 'it ends in the middle of a UTF-8 character'
        : `line ${line} has bytes that are not UTF-8 (a file saved as Latin-1 or Windows-1252?)`,
      line,
      'encoding',
    );
    return { failure, at };
  }

  private grow(cells: number): void {
    const bigger = (array: Int32Array) => {
      const grown = new Int32Array(array.length * 2);
      grown.set(array);
      return grown;
    };
    if (cells >= this.cellStarts.length) {
      this.cellStarts = bigger(this.cellStarts);
      this.cellEnds = bigger(this.cellEnds);
      const escaped = new Uint8Array(this.escaped.length * 2);
      escaped.set(this.escaped);
      this.escaped = escaped;
    }
    if (this.records >= this.recordEnds.length) {
      this.recordEnds = bigger(this.recordEnds);
      this.recordLines = bigger(this.recordLines);
    }
  }

  /** Whether the delimiter starts at `at` (a delimiter of one character may be several bytes). */
  private delimiterAt(bytes: Uint8Array, at: number, length: number): boolean {
    const delimiter = this.delimiter;
    if (bytes[at] !== delimiter[0]) return false;
    if (at + delimiter.length > length) return false;
    for (let index = 1; index < delimiter.length; index++) if (bytes[at + index] !== delimiter[index]) return false;
    return true;
  }

  /**
   * Finds the complete records in `bytes[0, length)`, up to the header alone while it has not been read, moving
   * this.consumed past each (the file's last record needs no line break when `atEnd`).
   */
  private scan(bytes: Uint8Array, length: number, atEnd: boolean): void {
    const first = this.delimiter[0];
    const wide = this.delimiter.length;
    const maxCells = this.cellsPerRecord || this.maxHeaderCells;
    const stops = this.stops;
    let { cellStarts, cellEnds, escaped } = this;
    let cells = 0;
    let at = 0;
    this.records = 0;
    records: while (at < length) {
      const recordCells = cells;
      const recordLine = this.line;
      let byte = bytes[at];
      if (byte === LF || byte === CR) {
        // An empty line; a CR at the chunk's end may be the first half of a CRLF.
        if (byte === CR && at + 1 === length && !atEnd) break;
        at += byte === CR && at + 1 < length && bytes[at + 1] === LF ? 2 : 1;
        this.line++;
        this.consumed = at;
        continue;
      }
      for (;;) {
        if (cells - recordCells === maxCells) {
          throw new CsvSyntaxError(
            this.cellsPerRecord
              ? `the row has more than ${maxCells.toLocaleString('en')} cells, the header ${maxCells.toLocaleString('en')}`
              : `the header has more than ${maxCells.toLocaleString('en')} cells`,
            recordLine,
            'cells',
          );
        }
        if (cells >= cellStarts.length || this.records >= this.recordEnds.length) {
          this.grow(cells);
          ({ cellStarts, cellEnds, escaped } = this);
        }
        let end = at;
        if (bytes[at] === QUOTE) {
          // A quoted cell: up to the quote not followed by another; "" is one quote.
          let escapes = 0;
          end = at + 1;
          for (;;) {
            if (end >= length) {
              if (!atEnd) {
                this.line = recordLine;
                break records;
              }
              throw new CsvSyntaxError(`the quote opened on line ${recordLine} is never closed`, recordLine);
            }
            byte = bytes[end];
            if (byte === QUOTE) {
              if (end + 1 >= length && !atEnd) {
                this.line = recordLine;
                break records;
              }
              if (end + 1 === length || bytes[end + 1] !== QUOTE) break;
              escapes++;
              end += 2;
              continue;
            }
            if (byte === LF) this.line++;
            end++;
          }
          cellStarts[cells] = at + 1;
          cellEnds[cells] = end;
          escaped[cells] = escapes > 0 ? 1 : 0;
          cells++;
          end++;
          if (end < length) {
            byte = bytes[end];
            if (
              byte !== LF &&
              byte !== CR &&
              !(byte === first && (wide === 1 || this.delimiterAt(bytes, end, length)))
            ) {
              if (!atEnd && end + wide > length) {
                // Perhaps the first bytes of a delimiter of several bytes.
                this.line = recordLine;
                break records;
              }
              throw new CsvSyntaxError(
                `line ${this.line} has a character after the closing quote of a cell (a quote inside a quoted cell is written "")`,
                this.line,
              );
            }
          }
        } else {
          for (;;) {
            while (end < length && stops[bytes[end]] === 0) end++;
            if (end === length) break;
            byte = bytes[end];
            if (byte === QUOTE) {
              throw new CsvSyntaxError(
                `line ${this.line} has a quote inside a cell that does not start with one (quote the whole cell, and write a quote in it as "")`,
                this.line,
              );
            }
            if (byte !== first || wide === 1 || this.delimiterAt(bytes, end, length)) break;
            end++;
          }
          cellStarts[cells] = at;
          cellEnds[cells] = end;
          escaped[cells] = 0;
          cells++;
        }
        if (end >= length) {
          if (!atEnd) {
            this.line = recordLine;
            break records;
          }
          at = length;
          break;
        }
        byte = bytes[end];
        if (byte === LF || byte === CR) {
          if (byte === CR && end + 1 === length && !atEnd) {
            this.line = recordLine;
            break records;
          }
          at = end + (byte === CR && end + 1 < length && bytes[end + 1] === LF ? 2 : 1);
          this.line++;
          break;
        }
        // A delimiter: another cell follows (empty when the record ends here).
        at = end + wide;
        if (at === length && !atEnd) {
          this.line = recordLine;
          break records;
        }
        if (at === length) {
          cellStarts[cells] = at;
          cellEnds[cells] = at;
          escaped[cells] = 0;
          cells++;
          break;
        }
      }
      const header = this.cellsPerRecord === 0;
      if (header) this.cellsPerRecord = cells - recordCells;
      else if (cells - recordCells !== this.cellsPerRecord) {
        throw new CsvSyntaxError(
          `the row has ${(cells - recordCells).toLocaleString('en')} cell${cells - recordCells === 1 ? '' : 's'}, the header ${this.cellsPerRecord.toLocaleString('en')}`,
          recordLine,
          'cells',
        );
      }
      this.unescape(bytes, recordCells, cells);
      this.recordEnds[this.records] = cells;
      this.recordLines[this.records] = recordLine;
      this.records++;
      this.consumed = at;
      if (header) break;
    }
  }

  /** Turns each quoted cell's "" into " in place, moving its end. */
  private unescape(bytes: Uint8Array, from: number, to: number): void {
    for (let cell = from; cell < to; cell++) {
      if (this.escaped[cell] === 0) continue;
      let write = this.cellStarts[cell];
      const end = this.cellEnds[cell];
      for (let read = write; read < end; read++, write++) {
        bytes[write] = bytes[read];
        if (bytes[read] === QUOTE) read++;
      }
      this.cellEnds[cell] = write;
    }
  }
}
