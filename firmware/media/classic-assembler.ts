// Reassembles classic Heartbeat frames from serial lines, the way
// Heartbeat's serial_read() does: skip lines until `>>>\n`, then collect lines
// through `<<<\n`. The whole frame (markers included) goes to the engine,
// which parses and authenticates it; this module only decides where frames
// start and end, and bounds what it holds.
//
// Input: lines as produced by DelimiterParser({ delimiter: '\n',
// includeDelimiter: true }) behind a LineGuard, i.e. each line ends with '\n'
// and a line longer than `maxLine` is a LineGuard "cut line" (already reported
// as 'oversized' by the guard, so it is not reported again here).
//
// Reporting, one drop per event:
// - a run of garbage lines between frames: 'malformed', at its first line;
// - a frame growing past `maxFrame`: 'oversized', then its remaining lines are
//   skipped silently up to its `<<<` (or the next `>>>`);
// - a `>>>` before the current frame's `<<<`: 'truncated' for the partial one;
// - `reset()` (line closed) in the middle of a frame: 'truncated'.
// A frame containing a cut line is dropped silently (the guard reported it).
// Empty lines between frames are ignored: they carry nothing, and a stray
// newline (e.g. the one a peer sends to resync) is not worth a report.

import type { DropReason } from '../wire/message';
import { DEFAULT_MAX_LINE } from './line-guard';

/** Heartbeat's MAXMSG: the largest wire message. */
export const DEFAULT_MAX_FRAME = 256 * 1024;

const START = Buffer.from('>>>\n');
const END = Buffer.from('<<<\n');

export interface ClassicAssemblerOptions {
  onFrame(frame: Buffer): void;
  onDrop(reason: DropReason, detail: string): void;
  /** Largest frame in bytes, markers included (default 256 KiB). */
  maxFrame?: number;
  /** The LineGuard's limit: longer lines are cut lines (default 64 KiB). */
  maxLine?: number;
}

type Mode =
  | 'hunting' // between frames, not in a garbage run
  | 'garbage' // between frames, inside an already reported garbage run
  | 'collecting' // inside a frame
  | 'skipping'; // inside a frame that is being dropped (already reported)

/** Printable preview of some bytes for a drop detail. */
function preview(b: Buffer, max = 32): string {
  const s = b.subarray(0, max).toString('latin1');
  const esc = JSON.stringify(s).slice(1, -1);
  return b.length > max ? `${esc}...` : esc;
}

export class ClassicAssembler {
  private mode: Mode = 'hunting';
  private parts: Buffer[] = [];
  private size = 0;
  private readonly maxFrame: number;
  private readonly maxLine: number;

  constructor(private readonly opts: ClassicAssemblerOptions) {
    this.maxFrame = opts.maxFrame ?? DEFAULT_MAX_FRAME;
    this.maxLine = opts.maxLine ?? DEFAULT_MAX_LINE;
  }

  /** True while a frame is partly collected (or being skipped). */
  get inFrame(): boolean {
    return this.mode === 'collecting' || this.mode === 'skipping';
  }

  /** Bytes held for the current partial frame (bounded by maxFrame). */
  get heldBytes(): number {
    return this.size;
  }

  push(line: Buffer): void {
    if (line.length > this.maxLine) {
      this.cutLine();
      return;
    }
    if (line.equals(START)) {
      if (this.mode === 'collecting') this.opts.onDrop('truncated', `new ">>>" after ${this.size} bytes without "<<<"`);
      this.begin();
      return;
    }
    switch (this.mode) {
      case 'hunting':
      case 'garbage':
        if (line.length === 1 && line[0] === 0x0a) return;
        if (this.mode === 'hunting') {
          this.mode = 'garbage';
          this.opts.onDrop('malformed', `garbage between frames: "${preview(line)}"`);
        }
        return;
      case 'skipping':
        if (line.equals(END)) this.mode = 'hunting';
        return;
      case 'collecting':
        if (this.size + line.length > this.maxFrame) {
          this.opts.onDrop('oversized', `frame longer than ${this.maxFrame} bytes`);
          this.skip();
          if (line.equals(END)) this.mode = 'hunting';
          return;
        }
        this.parts.push(line);
        this.size += line.length;
        if (line.equals(END)) this.finish();
        return;
    }
  }

  /** The line was closed or reopened: forget a partial frame (reported as 'truncated'). */
  reset(): void {
    if (this.mode === 'collecting') this.opts.onDrop('truncated', `line closed ${this.size} bytes into a frame`);
    this.parts = [];
    this.size = 0;
    this.mode = 'hunting';
  }

  private begin(): void {
    this.parts = [START];
    this.size = START.length;
    this.mode = 'collecting';
  }

  private finish(): void {
    // Copy: the parts are views into the splitter's chunk buffers.
    const frame = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    this.mode = 'hunting';
    this.opts.onFrame(frame);
  }

  private skip(): void {
    this.parts = [];
    this.size = 0;
    this.mode = 'skipping';
  }

  private cutLine(): void {
    // Already reported by the LineGuard. Inside a frame it spoils the frame;
    // between frames it neither starts nor ends a garbage run.
    if (this.mode === 'collecting') this.skip();
  }
}
