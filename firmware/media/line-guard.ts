// Keeps a byte stream's lines bounded before they reach a line splitter.
//
// @serialport/parser-delimiter buffers everything it has seen since the last
// delimiter, so a peer (or line noise) sending 1 MB without a '\n' would grow
// that buffer without bound, and its concat-per-chunk makes it quadratic too.
// LineGuard sits in front of it and passes bytes through unchanged as long as
// the current line stays within `maxLine` bytes (counting its '\n').
//
// When a line grows past the limit, LineGuard passes one more content byte,
// then a '\n' of its own, and discards the rest of that line up to and
// including its real '\n'. Downstream therefore sees a "cut line" of exactly
// `maxLine + 1` bytes: longer than any line that passed intact, so a consumer
// (ClassicAssembler) can tell it apart without a side channel, and the
// splitter's buffer is released right away. The cut is reported once per
// overlong line through `onDrop('oversized', ...)`, as soon as it happens (a
// line that never ends is reported too).

import { Transform, type TransformCallback } from 'node:stream';
import type { DropReason } from '../wire/message';

/** Default line limit, in bytes including the '\n'. */
export const DEFAULT_MAX_LINE = 64 * 1024;

const NL = 0x0a;
const NL_BUF = Buffer.from('\n');

export interface LineGuardOptions {
  /** Longest line passed intact, in bytes including its '\n' (default 64 KiB). */
  maxLine?: number;
  /** Called once per overlong line, when it is cut. */
  onDrop?: (reason: DropReason, detail: string) => void;
}

/** True when `line` is a cut line produced by a LineGuard with this `maxLine`. */
export function isCutLine(line: Buffer, maxLine = DEFAULT_MAX_LINE): boolean {
  return line.length > maxLine;
}

export class LineGuard extends Transform {
  private readonly maxLine: number;
  private readonly onDrop: (reason: DropReason, detail: string) => void;
  /** Bytes of the current line passed downstream so far (no '\n' among them). */
  private lineLen = 0;
  /** True while throwing away the tail of an overlong line. */
  private discarding = false;
  /** Total bytes discarded (for diagnostics and tests). */
  discardedBytes = 0;
  /** Number of lines cut. */
  cutLines = 0;

  constructor(opts: LineGuardOptions = {}) {
    super();
    this.maxLine = opts.maxLine ?? DEFAULT_MAX_LINE;
    if (!Number.isInteger(this.maxLine) || this.maxLine < 2) throw new RangeError(`maxLine must be an integer >= 2`);
    this.onDrop = opts.onDrop ?? (() => {});
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(NL, pos);
      if (this.discarding) {
        if (nl < 0) {
          this.discardedBytes += chunk.length - pos;
          break;
        }
        // The overlong line's own '\n' is discarded too: the cut already ended it.
        this.discardedBytes += nl + 1 - pos;
        this.discarding = false;
        this.lineLen = 0;
        pos = nl + 1;
        continue;
      }
      const contentEnd = nl < 0 ? chunk.length : nl;
      const content = contentEnd - pos;
      // Content allowed in an intact line: maxLine - 1 (one byte is the '\n').
      if (this.lineLen + content <= this.maxLine - 1) {
        const end = nl < 0 ? chunk.length : nl + 1;
        out.push(chunk.subarray(pos, end));
        this.lineLen = nl < 0 ? this.lineLen + content : 0;
        pos = end;
        continue;
      }
      // Overlong: pass up to one byte beyond the intact limit, then end the line.
      const take = this.maxLine - this.lineLen;
      out.push(chunk.subarray(pos, pos + take), NL_BUF);
      pos += take;
      this.lineLen = 0;
      this.discarding = true;
      this.cutLines++;
      this.onDrop('oversized', `line longer than ${this.maxLine} bytes, rest discarded up to the next newline`);
    }
    if (out.length === 1) this.push(out[0]);
    else if (out.length > 1) this.push(Buffer.concat(out));
    cb();
  }
}
