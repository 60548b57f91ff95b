// A null-modem "cable" between two pseudo-terminals. socat holds both pty
// masters and copies bytes between them, so it *is* the wire:
//
//   node A opens <dir>/ttyA  <->  socat  <->  <dir>/ttyB  opened by node B
//
// With `tap: true` socat also dumps every byte of each direction
// (-r a2b.raw = written by A, -R b2a.raw = written by B). socat's stdout and
// stderr go to a log file, never to our stdout (a relay holding the test's
// stdout pipe keeps `... | tail` from ever terminating).
//
// unplug() kills socat: both pty pairs disappear, a process still holding the
// slave side gets EIO on read (hang-up), and socat removes the links. replug() starts a new
// socat with the same link names (new /dev/pts numbers): the nodes must reopen
// the path to talk again.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { startProcess, waitUntil, type Proc, type Scope } from './procs';

export interface SerialCableOptions {
  /** Directory for the links, taps and log (created if missing). */
  dir: string;
  /** Link names inside `dir` (default ttyA, ttyB). */
  names?: [string, string];
  /** Record raw bytes of both directions (a2b.raw, b2a.raw). Default false. */
  tap?: boolean;
  /** How long to wait for socat to create both ptys (default 5000 ms). */
  readyTimeoutMs?: number;
}

const SAFE_PATH = /^[A-Za-z0-9._/+-]+$/;

export class SerialCable {
  /** Path node A opens (symlink to a /dev/pts/N). */
  readonly a: string;
  /** Path node B opens. */
  readonly b: string;
  /** Tap files (when tap: true): bytes written by A, bytes written by B (appended across replugs). */
  readonly a2b?: string;
  readonly b2a?: string;
  readonly logFile: string;
  readonly dir: string;
  private proc?: Proc;
  private plugs = 0;
  private readonly readyTimeoutMs: number;
  private readonly scope: Scope;
  private closed = false;

  private constructor(scope: Scope, opts: SerialCableOptions) {
    this.scope = scope;
    this.dir = opts.dir;
    const [na, nb] = opts.names ?? ['ttyA', 'ttyB'];
    this.a = path.join(opts.dir, na);
    this.b = path.join(opts.dir, nb);
    if (opts.tap) {
      this.a2b = path.join(opts.dir, 'a2b.raw');
      this.b2a = path.join(opts.dir, 'b2a.raw');
    }
    this.logFile = path.join(opts.dir, 'socat.log');
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 5000;
    for (const p of [this.a, this.b, this.a2b, this.b2a].filter((x): x is string => !!x)) {
      // socat address syntax: ',' ':' '!' etc. would be parsed as options
      if (!SAFE_PATH.test(p)) throw new Error(`serial cable path '${p}' has characters socat cannot take`);
    }
  }

  /** Creates the cable (plugged in) and registers its teardown in `scope`. */
  static async create(scope: Scope, opts: SerialCableOptions): Promise<SerialCable> {
    fs.mkdirSync(opts.dir, { recursive: true, mode: 0o755 });
    const cable = new SerialCable(scope, opts);
    scope.defer(`remove serial cable ${cable.a} <-> ${cable.b}`, () => cable.teardown());
    await cable.replug();
    return cable;
  }

  /** How many times socat was started (1 after create()). */
  get plugCount(): number {
    return this.plugs;
  }

  get plugged(): boolean {
    return this.proc?.running ?? false;
  }

  /** PID of the socat relay while plugged. */
  get pid(): number | undefined {
    return this.plugged ? this.proc!.pid : undefined;
  }

  /** The /dev/pts devices behind the links (while plugged). */
  ptys(): { a: string; b: string } {
    return { a: fs.readlinkSync(this.a), b: fs.readlinkSync(this.b) };
  }

  /** Starts socat (again) and waits until both links point to existing ptys. */
  async replug(): Promise<void> {
    if (this.closed) throw new Error('serial cable is torn down');
    if (this.plugged) return;
    this.removeLinks();
    this.plugs++;
    const argv = ['socat', '-d', '-d'];
    // socat opens the dump files with O_APPEND: one continuous record across replugs
    if (this.a2b && this.b2a) argv.push('-r', this.a2b, '-R', this.b2a);
    argv.push(`pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`);
    const proc = await startProcess(undefined, { name: 'socat serial cable', argv, logFile: this.logFile });
    this.proc = proc;
    try {
      await waitUntil(
        `serial cable links ${this.a} and ${this.b}`,
        () => (proc.running && linkReady(this.a) && linkReady(this.b) ? true : undefined),
        {
          timeoutMs: this.readyTimeoutMs,
          intervalMs: 20,
          details: () => `socat ${proc.running ? 'running' : 'exited'}; ${this.logFile}:\n${proc.tail(20)}`,
        },
      );
      await proc.waitForLog(/starting data transfer loop/, { timeoutMs: this.readyTimeoutMs });
    } catch (e) {
      await proc.kill().catch(() => {});
      throw e;
    }
  }

  /** Pulls the cable: kills socat (both ptys vanish) and removes the dangling links. */
  async unplug(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (p) await p.stop(2000);
    this.removeLinks();
  }

  async teardown(): Promise<void> {
    this.closed = true;
    await this.unplug();
  }

  /** Bytes recorded so far in one direction (all plug-ins). */
  tapBytes(direction: 'a2b' | 'b2a'): Buffer {
    const f = direction === 'a2b' ? this.a2b : this.b2a;
    if (!f) throw new Error('serial cable was created without tap: true');
    try {
      return fs.readFileSync(f);
    } catch {
      return Buffer.alloc(0);
    }
  }

  /** For messages. */
  describe(): string {
    return `serial cable ${this.a} <-> ${this.b} (${this.plugged ? `socat pid ${this.pid}` : 'unplugged'}, scope ${this.scope.name})`;
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
