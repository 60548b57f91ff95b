// A serial null-modem "cable" that runs at the line rate, for timing tests.
// Drop-in for SerialCable (same create/a/b/unplug/replug/pid/teardown), but
// the relay is hil-tests/rig/paced-cable.py instead of socat, because a pty
// ignores the baud rate: through socat a 150-byte frame "at 115200" arrives
// in 0.3 ms instead of 13 ms, and nothing ever overruns.
//
//   node A opens <dir>/ttyA  <->  paced-cable.py  <->  <dir>/ttyB  opened by node B
//
// Per direction the relay delivers each byte one character time after the
// previous one (1 start + data + parity + stop bits at the rate the sending
// application set, read from the pty's termios, or `baud` when forced), holds
// at most `rxBufferBytes` the receiver has not read and drops (counts) the
// rest, as a UART overruns. Delivery is batched (`tickUs`, default 1 ms) but
// the last byte of a burst arrives at its exact due time.
//
// Extras over SerialCable: stats() (bytes in/delivered/dropped per
// direction, summed over all plug-ins), and with `frameLog: true` a record of
// every `>>>`..`<<<` frame sent by and delivered to each end, with
// CLOCK_MONOTONIC timestamps (the clock of process.hrtime.bigint()).
//
// The relay keeps its own fd of each pty slave, so an application can close
// and reopen its end at any time without the cable noticing; bytes left unread
// at a close are read by the next opener (as on a UART and through socat:
// flush after open). unplug() stops the relay: both ptys vanish and an
// application holding a slave gets a hang-up (EIO), exactly like SerialCable.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { startProcess, sleep, waitUntil, type Proc, type Scope } from './procs';
import { findCommand, requireCommands } from './require';

export const PACED_CABLE_SCRIPT = path.resolve(__dirname, '..', 'rig', 'paced-cable.py');

export interface PacedCableOptions {
  /** Directory for the links, stats, logs (created if missing). */
  dir: string;
  /** Link names inside `dir` (default ttyA, ttyB). */
  names?: [string, string];
  /** Record raw bytes written by each end (a2b.raw, b2a.raw), appended across replugs. Default false. */
  tap?: boolean;
  /**
   * Force this line rate for both directions. Default: the rate each sending
   * application set on its end (termios), `fallbackBaud` while it set none.
   */
  baud?: number;
  /** Rate used while an application has not set one (default 19200, Heartbeat's default). */
  fallbackBaud?: number;
  /** Bytes a receiver may leave unread before further bytes are dropped (default 4096, a Linux tty's buffer). */
  rxBufferBytes?: number;
  /** Bytes the relay takes from a sender ahead of the wire (default 4096, a UART driver's tx buffer). */
  txBufferBytes?: number;
  /** Delivery batching interval in microseconds (default 1000). */
  tickUs?: number;
  /**
   * Niceness of the relay (default -10, applied when running as root): the
   * cable stands for hardware, so its timing should not suffer from the load
   * of the nodes it connects.
   */
  nice?: number;
  /**
   * SCHED_FIFO priority for the relay (1..99; default 0 = normal scheduling).
   * For benchmarks on a loaded machine: the wire's timing then stays within
   * ~0.1 ms even when the nodes saturate the CPUs. Needs root.
   */
  rtPriority?: number;
  /** Log every >>>..<<< frame sent/delivered to frames.jsonl (see frames()). Default false. */
  frameLog?: boolean;
  /** Name written into frame records and logs (default: the directory's base name). */
  name?: string;
  /** How long to wait for the relay to create both ptys (default 5000 ms). */
  readyTimeoutMs?: number;
}

/** Counters of one direction (a2b = written by A, delivered to B). */
export interface CableDirectionStats {
  /** Bytes the sending application wrote (taken by the relay). */
  bytesIn: number;
  /** Bytes handed to the receiving application's pty. */
  bytesDelivered: number;
  /** Bytes lost to receiver overrun. */
  bytesDropped: number;
  /** Bytes on the "wire" or waiting in the sender's queue right now. */
  bytesQueued: number;
  /** Bytes arrived at the receiving UART that the kernel buffer could not take yet. */
  bytesHeld: number;
  /** Bytes sent while the two ends had different rates set (a real receiver reads garbage). */
  mismatchBytes: number;
  /** Frames seen leaving the sender / reaching the receiver (only with frameLog). */
  framesSent: number;
  framesDelivered: number;
  /** Frames cut short (bytes lost, or a new frame started first) (only with frameLog). */
  badFrames: number;
  /** Most bytes the receiver had unread at once. */
  maxHeld: number;
  /** Rate and character size last used for this direction (0 before any byte). */
  baud: number;
  bitsPerChar: number;
  charTimeNs: number;
  /** Rate the receiving application had set (0 = none). */
  receiverBaud: number;
  writeErrors: number;
  /** Bursts delivered (a burst ends when the wire goes idle), and how late their last byte was, summed / worst (ns): the relay's own timing error. */
  bursts: number;
  burstLateSumNs: number;
  burstLateMaxNs: number;
  /**
   * Worst lateness (ns) of the relay's wake-ups for a due byte. Far beyond the
   * tick (100+ ms) the relay itself was held off the CPU: the machine paused,
   * and timings measured meanwhile say nothing about the cable.
   */
  wakeLateMaxNs: number;
}

export interface PacedCableStats {
  a2b: CableDirectionStats;
  b2a: CableDirectionStats;
  /** Number of relay runs these counters cover. */
  plugs: number;
}

/** One frame passing one end of a cable (monotonic ns, same clock as process.hrtime.bigint()). */
export interface CableFrameRecord {
  cable: string;
  dir: 'a2b' | 'b2a';
  /** tx: read from the sending end; rx: delivered to the receiving end. */
  ev: 'tx' | 'rx';
  /** The end where it happened ('a' | 'b'). */
  end: 'a' | 'b';
  /** When its first byte / its last byte passed (ns, CLOCK_MONOTONIC). */
  t0: number;
  t1: number;
  /** tx only: when its first byte went on the wire (later than t0 while the line was busy with earlier bytes). */
  w0?: number;
  /** tx only: when its last byte was off the wire (w0 + len character times unless the sender paused mid-frame). */
  w1?: number;
  len: number;
  /** False when the frame was cut short (lost bytes). */
  ok: boolean;
  type?: string;
  src?: string;
  seq?: string;
  ttl?: string;
  hg?: string;
  dest?: string;
}

const SAFE_PATH = /^[A-Za-z0-9._/+-]+$/;
const COUNTERS: readonly (keyof CableDirectionStats)[] = [
  'bytesIn', 'bytesDelivered', 'bytesDropped', 'mismatchBytes', 'framesSent', 'framesDelivered', 'badFrames', 'writeErrors',
  'bursts', 'burstLateSumNs',
];

/** Python 3 for the relay: Debian's own first (a pyenv shim in PATH may point elsewhere). */
export function pythonCommand(): string {
  requireCommands(['python3'], 'paced serial cables');
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : findCommand('python3')!;
}

function emptyDirection(): CableDirectionStats {
  return {
    bytesIn: 0, bytesDelivered: 0, bytesDropped: 0, bytesQueued: 0, bytesHeld: 0, mismatchBytes: 0,
    framesSent: 0, framesDelivered: 0, badFrames: 0, maxHeld: 0, baud: 0, bitsPerChar: 0, charTimeNs: 0,
    receiverBaud: 0, writeErrors: 0, bursts: 0, burstLateSumNs: 0, burstLateMaxNs: 0, wakeLateMaxNs: 0,
  };
}

/** Sum of counters of past plug-ins and the current one (gauges come from the current one). */
function addDirection(past: CableDirectionStats, now: CableDirectionStats): CableDirectionStats {
  const out: CableDirectionStats = { ...now };
  for (const k of COUNTERS) out[k] = past[k] + now[k];
  out.maxHeld = Math.max(past.maxHeld, now.maxHeld);
  out.burstLateMaxNs = Math.max(past.burstLateMaxNs, now.burstLateMaxNs);
  out.wakeLateMaxNs = Math.max(past.wakeLateMaxNs, now.wakeLateMaxNs);
  if (!now.baud) Object.assign(out, { baud: past.baud, bitsPerChar: past.bitsPerChar, charTimeNs: past.charTimeNs });
  return out;
}

interface RelayStatsFile {
  pid: number;
  /** When the relay took this snapshot (CLOCK_MONOTONIC ns). */
  timeNs: number;
  a2b: CableDirectionStats;
  b2a: CableDirectionStats;
}

/** Wire time of `bytes` characters: bitsPerChar / baud each (8N1 = 10 bits). */
export function wireTimeMs(bytes: number, baud: number, bitsPerChar = 10): number {
  return (bytes * bitsPerChar * 1000) / baud;
}

export class PacedCable {
  readonly a: string;
  readonly b: string;
  readonly a2b?: string;
  readonly b2a?: string;
  readonly logFile: string;
  readonly statsFile: string;
  /** frames.jsonl (only with frameLog: true). */
  readonly framesFile?: string;
  readonly dir: string;
  readonly name: string;
  private proc?: Proc;
  private plugs = 0;
  private past: PacedCableStats = { a2b: emptyDirection(), b2a: emptyDirection(), plugs: 0 };
  private closed = false;

  private constructor(
    private readonly scope: Scope,
    private readonly opts: PacedCableOptions,
  ) {
    this.dir = opts.dir;
    this.name = opts.name ?? path.basename(opts.dir);
    const [na, nb] = opts.names ?? ['ttyA', 'ttyB'];
    this.a = path.join(opts.dir, na);
    this.b = path.join(opts.dir, nb);
    if (opts.tap) {
      this.a2b = path.join(opts.dir, 'a2b.raw');
      this.b2a = path.join(opts.dir, 'b2a.raw');
    }
    if (opts.frameLog) this.framesFile = path.join(opts.dir, 'frames.jsonl');
    this.logFile = path.join(opts.dir, 'paced-cable.log');
    this.statsFile = path.join(opts.dir, 'stats.json');
    // Same path rule as SerialCable, so a test can swap one for the other (and
    // the paths go into ha.cf lines unquoted).
    for (const p of [this.a, this.b]) {
      if (!SAFE_PATH.test(p)) throw new Error(`serial cable path '${p}' has characters a config line cannot take`);
    }
    for (const [v, what] of [[opts.baud, 'baud'], [opts.fallbackBaud, 'fallbackBaud'], [opts.rxBufferBytes, 'rxBufferBytes'],
      [opts.txBufferBytes, 'txBufferBytes'], [opts.tickUs, 'tickUs']] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new Error(`paced cable: ${what} must be a positive integer, got ${v}`);
    }
    if (opts.rtPriority !== undefined && !(Number.isInteger(opts.rtPriority) && opts.rtPriority >= 0 && opts.rtPriority <= 99)) {
      throw new Error(`paced cable: rtPriority must be an integer 0..99, got ${opts.rtPriority}`);
    }
    if (opts.nice !== undefined && !(Number.isInteger(opts.nice) && opts.nice >= -20 && opts.nice <= 19)) {
      throw new Error(`paced cable: nice must be an integer -20..19, got ${opts.nice}`);
    }
  }

  /** Creates the cable (plugged in) and registers its teardown in `scope`. */
  static async create(scope: Scope, opts: PacedCableOptions): Promise<PacedCable> {
    fs.mkdirSync(opts.dir, { recursive: true, mode: 0o755 });
    const cable = new PacedCable(scope, opts);
    scope.defer(`remove paced cable ${cable.a} <-> ${cable.b}`, () => cable.teardown());
    await cable.replug();
    return cable;
  }

  get plugCount(): number {
    return this.plugs;
  }

  get plugged(): boolean {
    return this.proc?.running ?? false;
  }

  /** PID of the relay while plugged. */
  get pid(): number | undefined {
    return this.plugged ? this.proc!.pid : undefined;
  }

  /** The /dev/pts devices behind the links (while plugged). */
  ptys(): { a: string; b: string } {
    return { a: fs.readlinkSync(this.a), b: fs.readlinkSync(this.b) };
  }

  /** Starts the relay (again) and waits until both links point to its ptys. */
  async replug(): Promise<void> {
    if (this.closed) throw new Error('paced cable is torn down');
    if (this.plugged) return;
    const python = pythonCommand();
    this.removeLinks();
    fs.rmSync(this.statsFile, { force: true });
    this.plugs++;
    const o = this.opts;
    const argv = [python, PACED_CABLE_SCRIPT, '--a', this.a, '--b', this.b, '--name', this.name, '--stats', this.statsFile];
    if (o.baud !== undefined) argv.push('--baud', String(o.baud));
    if (o.fallbackBaud !== undefined) argv.push('--fallback-baud', String(o.fallbackBaud));
    if (o.rxBufferBytes !== undefined) argv.push('--rx-buffer', String(o.rxBufferBytes));
    if (o.txBufferBytes !== undefined) argv.push('--tx-buffer', String(o.txBufferBytes));
    if (o.tickUs !== undefined) argv.push('--tick-us', String(o.tickUs));
    if (o.nice !== undefined) argv.push('--nice', String(o.nice));
    if (o.rtPriority) argv.push('--rt-priority', String(o.rtPriority));
    if (this.framesFile) argv.push('--frames', this.framesFile);
    if (this.a2b && this.b2a) argv.push('--tap-a2b', this.a2b, '--tap-b2a', this.b2a);
    const offset = fs.existsSync(this.logFile) ? fs.statSync(this.logFile).size : 0;
    const proc = await startProcess(undefined, { name: `paced cable ${this.name}`, argv, logFile: this.logFile });
    this.proc = proc;
    try {
      await proc.waitForLog(/paced-cable \S+ ready/, { timeoutMs: o.readyTimeoutMs ?? 5000, fromOffset: offset, intervalMs: 10 });
      await waitUntil(`paced cable links ${this.a} and ${this.b}`, () => linkReady(this.a) && linkReady(this.b), {
        timeoutMs: 2000,
        intervalMs: 10,
        details: () => proc.tail(20),
      });
    } catch (e) {
      await proc.kill().catch(() => {});
      throw e;
    }
  }

  /** Pulls the cable: stops the relay (both ptys vanish, holders get a hang-up); counters are kept. */
  async unplug(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (p) {
      await p.stop(2000);
      // the relay writes its final counters on SIGTERM
      const last = this.readStatsFile();
      if (last) {
        this.past = {
          a2b: addDirection(this.past.a2b, last.a2b),
          b2a: addDirection(this.past.b2a, last.b2a),
          plugs: this.past.plugs + 1,
        };
        this.past.a2b.bytesQueued = this.past.b2a.bytesQueued = 0;
        this.past.a2b.bytesHeld = this.past.b2a.bytesHeld = 0;
      }
    }
    this.removeLinks();
  }

  async teardown(): Promise<void> {
    this.closed = true;
    await this.unplug();
  }

  /**
   * Counters summed over every plug-in. While plugged, the relay is asked for
   * fresh numbers first (SIGUSR1), so they include everything up to this call.
   */
  async stats(timeoutMs = 2000): Promise<PacedCableStats> {
    const p = this.proc;
    if (!p?.running) return structuredClone(this.past);
    // Any snapshot the relay takes after this moment covers everything up to
    // this call (its timeNs is CLOCK_MONOTONIC, like hrtime). Comparing times,
    // not signal counts, is right even when two calls' signals coalesce.
    const asked = Number(process.hrtime.bigint());
    p.signal('SIGUSR1');
    const t0 = Date.now();
    for (;;) {
      const s = this.readStatsFile();
      if (s && s.pid === p.pid && s.timeNs >= asked) {
        return { a2b: addDirection(this.past.a2b, s.a2b), b2a: addDirection(this.past.b2a, s.b2a), plugs: this.past.plugs + 1 };
      }
      if (!p.running) return structuredClone(this.past);
      if (Date.now() - t0 > timeoutMs) throw new Error(`${this.describe()}: no fresh stats within ${timeoutMs} ms\n${p.tail(10)}`);
      await sleep(5);
    }
  }

  /** Frame records so far (needs frameLog: true), in the order the relay wrote them. */
  frames(): CableFrameRecord[] {
    if (!this.framesFile) throw new Error('paced cable was created without frameLog: true');
    let text: string;
    try {
      text = fs.readFileSync(this.framesFile, 'utf8');
    } catch {
      return [];
    }
    const out: CableFrameRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as CableFrameRecord);
      } catch {
        /* a line being written right now */
      }
    }
    return out;
  }

  /** Bytes written so far by one end (all plug-ins; needs tap: true). */
  tapBytes(direction: 'a2b' | 'b2a'): Buffer {
    const f = direction === 'a2b' ? this.a2b : this.b2a;
    if (!f) throw new Error('paced cable was created without tap: true');
    try {
      return fs.readFileSync(f);
    } catch {
      return Buffer.alloc(0);
    }
  }

  describe(): string {
    const rate = this.opts.baud ? `${this.opts.baud} baud` : 'baud from termios';
    return `paced cable ${this.a} <-> ${this.b} (${rate}, ${this.plugged ? `pid ${this.pid}` : 'unplugged'}, scope ${this.scope.name})`;
  }

  private readStatsFile(): RelayStatsFile | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.statsFile, 'utf8')) as RelayStatsFile;
    } catch {
      return undefined;
    }
  }

  private removeLinks(): void {
    for (const l of [this.a, this.b]) {
      try {
        if (fs.lstatSync(l).isSymbolicLink()) fs.unlinkSync(l);
      } catch {
        /* not there */
      }
    }
  }
}

function linkReady(link: string): boolean {
  try {
    return fs.lstatSync(link).isSymbolicLink() && fs.statSync(link).isCharacterDevice();
  } catch {
    return false;
  }
}
