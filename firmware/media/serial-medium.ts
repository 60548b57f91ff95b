// A Heartbeat serial link: classic `>>>`..`<<<` frames over a tty.
//
// Each open builds a fresh pipeline (SerialPort -> LineGuard ->
// DelimiterParser -> ClassicAssembler). Nothing is reused across a reopen on
// purpose: a half-read line or frame from the previous connection is garbage,
// and a SerialPort that lost its device queues writes and reads on 'open'
// internally, which we never want to replay.
//
// Lifecycle: start() -> open; on 'close' (peer gone: `err.disconnected`, socat
// killed, USB unplugged) or a failed open -> onState('down') and reopen with
// Backoff until stop(). After every open the port is flushed first: bytes
// queued on a pty (or a UART) before we opened survive a close and would be
// read as a stale frame.

import { SerialPortStream } from '@serialport/stream';
import { DelimiterParser } from '@serialport/parser-delimiter';
import type { Clock, TimerHandle } from '../core/clock';
import { Backoff, type Medium, type MediumHandlers, type MediumState, type MediumStats, type SendOptions } from './medium';
import { TxPacer } from './tx-pacer';
import { HangupAwareBinding, type HangupAwareSerialPort } from './hangup-binding';
import { LineGuard, DEFAULT_MAX_LINE } from './line-guard';
import { ClassicAssembler, DEFAULT_MAX_FRAME } from './classic-assembler';

export interface SerialMediumOptions {
  /** Device path as configured (symlinks allowed); also the medium's name. */
  device: string;
  baudRate: number;
  clock: Clock;
  /** RTS/CTS hardware flow control, as Heartbeat's CRTSCTS (default true). */
  rtscts?: boolean;
  /** A frame is dropped instead of queued when it would take the bytes waiting to be written past this (default 16 KiB). */
  maxPendingWrite?: number;
  /** Line limit for the LineGuard (default 64 KiB). */
  maxLine?: number;
  /** Frame limit for the assembler (default 256 KiB, Heartbeat's MAXMSG). */
  maxFrame?: number;
  /** Reopen delays (default 100 ms doubling to 5 s). */
  backoff?: { firstMs: number; maxMs: number };
}

export const DEFAULT_MAX_PENDING_WRITE = 16 * 1024;

/** One open attempt and, if it succeeds, the connection built on it. */
interface Session {
  port: HangupAwareSerialPort;
  guard?: LineGuard;
  parser?: DelimiterParser;
  assembler?: ClassicAssembler;
  /** Frames may be written and read (opened and flushed). */
  ready: boolean;
  /** Resolves once the port is closed or failed to open. */
  closed: Promise<void>;
  markClosed(): void;
}

const noop = (): void => {};

function errText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export class SerialMedium implements Medium {
  readonly kind = 'serial' as const;
  readonly format = 'classic' as const;
  readonly name: string;

  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly maxPendingWrite: number;
  private handlers?: MediumHandlers;
  private session?: Session;
  private retry?: TimerHandle;
  private stopped = false;
  private state: MediumState = 'stopped';
  private counters = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, txDropped: 0, opens: 0 };
  private lastError?: string;
  private readonly pacer: TxPacer;

  constructor(private readonly opts: SerialMediumOptions) {
    this.name = opts.device;
    this.clock = opts.clock;
    this.pacer = new TxPacer(opts.clock, (frame) => this.write(frame), { baud: opts.baudRate });
    this.backoff = new Backoff(opts.backoff?.firstMs ?? 100, opts.backoff?.maxMs ?? 5000);
    this.maxPendingWrite = opts.maxPendingWrite ?? DEFAULT_MAX_PENDING_WRITE;
  }

  start(handlers: MediumHandlers): void {
    if (this.handlers || this.stopped) return; // started once per instance; start() never throws
    this.handlers = handlers;
    this.setState('starting', `opening ${this.name}`);
    this.open();
  }

  send(frame: Buffer, opts?: SendOptions): void {
    const s = this.session;
    if (!s || !s.ready || !s.port.isOpen) {
      this.counters.txDropped++;
      return;
    }
    // Paced to the line rate, own frames first (see tx-pacer.ts).
    this.pacer.push(frame, opts?.relay === true);
  }

  private write(frame: Buffer): void {
    const s = this.session;
    if (!s || !s.ready || !s.port.isOpen) {
      this.counters.txDropped++;
      return;
    }
    // A blocked line (CTS low, pty peer not reading) must not grow our memory:
    // heartbeats are periodic, so dropping is better than sending stale ones later.
    // An idle port always takes one frame, so a frame bigger than the bound
    // (up to MAXMSG) can still be sent; memory stays under bound + one frame.
    const pending = s.port.writableLength;
    if (pending > 0 && pending + frame.length > this.maxPendingWrite) {
      this.counters.txDropped++;
      this.lastError = `write backlog over ${this.maxPendingWrite} bytes (line blocked?)`;
      return;
    }
    try {
      s.port.write(frame, (err) => {
        if (err) {
          this.counters.txDropped++;
          this.lastError = `write: ${errText(err)}`;
        } else {
          this.counters.framesOut++;
          this.counters.bytesOut += frame.length;
        }
      });
    } catch (err) {
      this.counters.txDropped++;
      this.lastError = `write: ${errText(err)}`;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pacer.clear();
    this.retry?.cancel();
    this.retry = undefined;
    const s = this.session;
    if (s) {
      // close() calls back on success (after 'close') and on failure alike.
      if (s.port.isOpen) s.port.close(() => s.markClosed());
      // If an open is in flight, its callback sees `stopped` and closes.
      await s.closed;
    }
    if (this.state !== 'stopped') this.setState('stopped', 'stopped');
  }

  stats(): MediumStats {
    const p = this.pacer.stats();
    return {
      name: this.name,
      kind: this.kind,
      state: this.state,
      lastError: this.lastError,
      ...this.counters,
      txDropped: this.counters.txDropped + p.ownDropped,
      relayed: p.relayedSent,
      relayDropped: p.relayDropped,
      lineUtilisation: p.utilisation,
    };
  }

  private open(): void {
    if (this.stopped) return;
    let port: HangupAwareSerialPort;
    try {
      port = new SerialPortStream({
        binding: HangupAwareBinding,
        path: this.opts.device,
        baudRate: this.opts.baudRate,
        dataBits: 8,
        stopBits: 1,
        parity: 'none',
        rtscts: this.opts.rtscts ?? true,
        // flock() the device, so two daemons cannot share a line.
        lock: true,
        autoOpen: false,
      });
    } catch (err) {
      // Invalid options (e.g. unsupported baud) throw synchronously.
      this.failed(`open ${this.name}: ${errText(err)}`);
      return;
    }
    let markClosed = noop;
    const closed = new Promise<void>((r) => (markClosed = r));
    const s: Session = { port, ready: false, closed, markClosed };
    this.session = s;
    // Write errors after a hangup, and cancelled writes on close, are emitted
    // as 'error'; the 'close' handler does the state work.
    port.on('error', (err) => {
      if (this.session === s) this.lastError = errText(err);
    });
    port.on('close', (err: (Error & { disconnected?: boolean }) | null) => this.onClose(s, err));
    port.open((err) => {
      if (err) {
        s.markClosed();
        if (this.session === s) this.failed(`open ${this.name}: ${errText(err)}`);
        return;
      }
      if (this.stopped || this.session !== s) {
        port.close(noop);
        return;
      }
      port.flush((ferr) => {
        if (this.stopped || this.session !== s || !port.isOpen) return;
        if (ferr) this.lastError = `flush: ${errText(ferr)}`;
        this.connect(s);
      });
    });
  }

  /** The port is open and flushed: wire the read pipeline and go up. */
  private connect(s: Session): void {
    const h = this.handlers!;
    const maxLine = this.opts.maxLine ?? DEFAULT_MAX_LINE;
    s.guard = new LineGuard({ maxLine, onDrop: (r, d) => h.onDrop(r, d) });
    s.parser = new DelimiterParser({ delimiter: '\n', includeDelimiter: true });
    s.assembler = new ClassicAssembler({
      maxLine,
      maxFrame: this.opts.maxFrame ?? DEFAULT_MAX_FRAME,
      onFrame: (frame) => {
        this.counters.framesIn++;
        h.onFrame(frame, {});
      },
      onDrop: (r, d) => h.onDrop(r, d),
    });
    const assembler = s.assembler;
    s.port.on('data', (chunk: Buffer) => (this.counters.bytesIn += chunk.length));
    s.parser.on('data', (line: Buffer) => {
      if (this.session === s) assembler.push(line);
    });
    s.port.pipe(s.guard).pipe(s.parser);
    s.ready = true;
    this.counters.opens++;
    this.backoff.reset();
    this.setState('up', `${this.name} open at ${this.opts.baudRate} baud`);
  }

  private onClose(s: Session, err: (Error & { disconnected?: boolean }) | null): void {
    s.markClosed();
    s.ready = false;
    this.pacer.clear();
    if (s.guard) s.port.unpipe(s.guard);
    s.guard?.destroy();
    s.parser?.destroy();
    if (this.stopped) return;
    // A frame cut off by the close is reported ('truncated'); its tail, if the
    // line comes back, is skipped as garbage by the next session's assembler.
    s.assembler?.reset();
    if (this.session !== s) return;
    const why = err ? (err.disconnected ? `disconnected (${err.message})` : err.message) : 'closed';
    this.failed(`${this.name}: ${why}`);
  }

  private failed(reason: string): void {
    this.lastError = reason;
    if (this.stopped) return;
    this.setState('down', reason);
    if (this.retry) return;
    this.retry = this.clock.after(this.backoff.next(), () => {
      this.retry = undefined;
      this.open();
    });
  }

  private setState(state: MediumState, detail: string): void {
    if (state === this.state) return;
    this.state = state;
    this.handlers?.onState(state, detail);
  }
}
