// A wire observer for benchmarks and tests: hil-tests/rig/udp-probe.ts runs in
// a lab namespace of its own (a third host on the bridge, so it hears the
// nodes' broadcasts but is neither of them) and records every Heartbeat
// datagram with its arrival time on CLOCK_MONOTONIC, the clock of
// process.hrtime.bigint() here. Timestamps taken by the observer process,
// which does nothing else, are not disturbed by the nodes' own load.
//
//   const probe = await UdpProbe.start(scope, net, net.host('probe'), { dir });
//   const killNs = process.hrtime.bigint(); ...kill...
//   const r = await probe.waitFor((r) => r.t > killNs && r.f.t === 'stonith', 10_000);

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LabNet, NetHost } from './netns';
import { sleep, startProcess, waitForLog, type Proc, type Scope } from './procs';

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'hil-tests', 'rig', 'udp-probe.ts');

export interface ProbeRecord {
  /** Arrival time, ns on CLOCK_MONOTONIC (process.hrtime.bigint()). */
  t: bigint;
  from: string;
  len: number;
  fmt: 'netstring' | 'classic' | 'unknown';
  /** Selected fields: t, src, seq, hg, st, dt, node, result, dest, ttl, info. */
  f: Record<string, string>;
}

export interface UdpProbeOptions {
  /** Where the log (one JSON line per datagram) goes. */
  dir: string;
  /** UDP port (default 694). */
  port?: number;
  name?: string;
}

export class UdpProbe {
  /** Every datagram seen so far, in arrival order (filled by poll()). */
  readonly records: ProbeRecord[] = [];
  private offset = 0;
  private partial = '';

  private constructor(
    readonly proc: Proc,
    readonly logFile: string,
  ) {}

  /** Starts the observer in `where` and waits until it has bound the port; stopped with the scope. */
  static async start(scope: Scope, net: LabNet, where: NetHost, opts: UdpProbeOptions): Promise<UdpProbe> {
    const port = opts.port ?? 694;
    fs.mkdirSync(opts.dir, { recursive: true });
    const logFile = path.join(opts.dir, `${opts.name ?? 'udp-probe'}.jsonl`);
    const proc = await startProcess(scope, {
      name: `udp probe in ${where.ns}`,
      argv: ['ip', 'netns', 'exec', where.ns, process.execPath, '--import', 'tsx', SCRIPT, String(port)],
      logFile,
      cwd: ROOT, // --import tsx resolves from here
    });
    await waitForLog(logFile, /\{"ready":\d+\}/, { timeoutMs: 15_000, proc, intervalMs: 20 });
    return new UdpProbe(proc, logFile);
  }

  /** Reads datagrams logged since the last call; returns only the new ones. */
  poll(): ProbeRecord[] {
    let fd: number;
    try {
      fd = fs.openSync(this.logFile, 'r');
    } catch {
      return [];
    }
    const fresh: ProbeRecord[] = [];
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= this.offset) return fresh;
      const buf = Buffer.alloc(size - this.offset);
      const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const lines = (this.partial + buf.subarray(0, n).toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{"t":')) continue; // start header, ready line
        const raw = JSON.parse(line) as Omit<ProbeRecord, 't'> & { t: string };
        fresh.push({ ...raw, t: BigInt(raw.t) });
      }
    } finally {
      fs.closeSync(fd);
    }
    this.records.push(...fresh);
    return fresh;
  }

  /**
   * Waits for the first datagram (in arrival order, from index `fromIndex` of
   * `records`) that matches. Resolves undefined on timeout or abort.
   */
  async waitFor(
    match: (r: ProbeRecord) => boolean,
    timeoutMs: number,
    opts: { fromIndex?: number; signal?: AbortSignal; pollMs?: number } = {},
  ): Promise<ProbeRecord | undefined> {
    const t0 = Date.now();
    let i = opts.fromIndex ?? 0;
    for (;;) {
      this.poll();
      for (; i < this.records.length; i++) if (match(this.records[i]!)) return this.records[i];
      if (Date.now() - t0 > timeoutMs || opts.signal?.aborted) return undefined;
      if (!this.proc.running) throw new Error(`udp probe exited\n${this.proc.tail(10)}`);
      await sleep(opts.pollMs ?? 10);
    }
  }

  /** The last datagram (up to now) matching, at or before time `beforeNs` if given. */
  last(match: (r: ProbeRecord) => boolean, beforeNs?: bigint): ProbeRecord | undefined {
    this.poll();
    for (let i = this.records.length - 1; i >= 0; i--) {
      const r = this.records[i]!;
      if (beforeNs !== undefined && r.t > beforeNs) continue;
      if (match(r)) return r;
    }
    return undefined;
  }
}
