// "Tell the LAN": gratuitous ARP (IPv4) / unsolicited neighbour advertisements
// (IPv6) after an address moved here, repeated, plus an optional periodic
// refresh as Heartbeat's old Fake/IPaddr did.
//
// The burst runs in a child process (ringbeat-announce, or Debian's arping /
// send_ua as fallback). announce() resolves as soon as the FIRST packet has
// left (the tool reports each packet with its CLOCK_MONOTONIC time), so the
// rest of the group starts while the burst continues: clients switch on the
// first announcement, the repeats only cover lost frames.
//
// One Announcer per address; stop() ends its bursts and refreshes.

import type { Clock, TimerHandle } from '../core/clock';
import type { Logger } from '../core/log';
import type { AnnounceTool } from './announce-tool';
import { describeExit, outputTail, type CommandRunner, type RunningCommand } from './command-runner';

export type ArpMode = 'both' | 'request' | 'reply';

export interface AnnounceSettings {
  /** Announcements per burst (request+reply pairs in 'both' mode). */
  count: number;
  /** Interval between announcements (a pair's reply goes out interval/2 after its request). */
  intervalMs: number;
  /** IPv4 ARP form: both (default, like send_arp), request only (arping -U), reply only (arping -A). */
  mode: ArpMode;
  /** IPv6: set the Router flag in the advertisements (the address is a router's). */
  router: boolean;
  /** Re-announce every refreshMs while the address is held; 0 = off. */
  refreshMs: number;
  /** Announcements per refresh. */
  refreshCount: number;
}

/** IPaddr2's defaults: arp_count=5, arp_interval=200 ms; refresh off. */
export const DEFAULT_ANNOUNCE: Readonly<AnnounceSettings> = {
  count: 5,
  intervalMs: 200,
  mode: 'both',
  router: false,
  refreshMs: 0,
  refreshCount: 1,
};

export interface AnnounceTarget {
  family: 4 | 6;
  address: string;
  iface: string;
  prefixLen: number;
}

export interface BurstReport {
  via: 'native' | 'arping' | 'send_ua';
  /** Clock time (clock.now() scale) the first packet left; unknown with the fallbacks. */
  firstSentMs?: number;
}

export interface AnnouncerDeps {
  runner: CommandRunner;
  clock: Clock;
  log: Logger;
  tool: AnnounceTool;
  /**
   * CLOCK_MONOTONIC now in ms (the tool's time base), to map the tool's
   * timestamps onto `clock`. Default: process.hrtime.
   */
  monoNowMs?: () => number;
  /** How long the native tool may take to send its first packet (default 2000 ms). */
  firstPacketTimeoutMs?: number;
}

const SENT_LINE = /^sent seq=(\d+) kind=(\S+) .*\bmono_ns=(\d+)\s*$/;

/** Parses one `sent ...` line of ringbeat-announce. */
export function parseSentLine(line: string): { seq: number; kind: string; monoMs: number } | undefined {
  const m = SENT_LINE.exec(line);
  if (!m) return undefined;
  return { seq: Number(m[1]), kind: m[2]!, monoMs: Number(BigInt(m[3]!) / 1000n) / 1000 };
}

/** argv of the native tool for a burst. */
export function nativeArgv(tool: string, t: AnnounceTarget, s: Pick<AnnounceSettings, 'count' | 'intervalMs' | 'mode' | 'router'>): string[] {
  const argv = [tool, '-i', t.iface, t.family === 4 ? '-4' : '-6', t.address, '-c', String(s.count), '-w', String(Math.round(s.intervalMs))];
  if (t.family === 4) argv.push('-m', s.mode);
  else if (s.router) argv.push('-R');
  return argv;
}

/** One invocation of a fallback sender, `atMs` after the burst starts. */
export interface FallbackShot {
  atMs: number;
  argv: string[];
}

/**
 * The Debian fallback senders for a burst. iputils arping takes whole seconds
 * for -i (`-i 0.2` is refused), so each ARP is its own `arping -c 1` on our
 * schedule: request (-U) at i*interval, reply (-A) half an interval later.
 * send_ua takes milliseconds and repeats by itself.
 */
export function fallbackShots(tool: AnnounceTool, t: AnnounceTarget, s: Pick<AnnounceSettings, 'count' | 'intervalMs' | 'mode'>): FallbackShot[] {
  if (t.family === 6) {
    if (!tool.sendUa) return [];
    return [{ atMs: 0, argv: [tool.sendUa, '-i', String(Math.round(s.intervalMs)), '-c', String(s.count), t.address, String(t.prefixLen), t.iface] }];
  }
  if (!tool.arping) return [];
  const one = (flag: string): string[] => [tool.arping!, '-q', flag, '-c', '1', '-I', t.iface, t.address];
  const shots: FallbackShot[] = [];
  for (let i = 0; i < s.count; i++) {
    const at = i * s.intervalMs;
    if (s.mode !== 'reply') shots.push({ atMs: at, argv: one('-U') });
    if (s.mode === 'both') shots.push({ atMs: at + s.intervalMs / 2, argv: one('-A') });
    if (s.mode === 'reply') shots.push({ atMs: at, argv: one('-A') });
  }
  return shots;
}

export class Announcer {
  private readonly running = new Set<RunningCommand>();
  /** Scheduled fallback shots not yet fired. */
  private readonly pending = new Set<TimerHandle>();
  private refresh?: TimerHandle;
  private fallbackLogged = false;
  private packets = 0;
  private readonly monoNowMs: () => number;

  constructor(private readonly deps: AnnouncerDeps) {
    this.monoNowMs = deps.monoNowMs ?? (() => Number(process.hrtime.bigint() / 1000n) / 1000);
  }

  /** Packets the native tool reported sent (all bursts). */
  get sentPackets(): number {
    return this.packets;
  }

  /** Senders currently running. */
  get activeSenders(): number {
    return this.running.size;
  }

  get refreshing(): boolean {
    return this.refresh !== undefined;
  }

  /**
   * Starts one burst. Resolves when the first packet has been sent (native
   * tool) or the fallback sender started; rejects if the sender failed before
   * sending anything (the address itself is unaffected).
   */
  announce(target: AnnounceTarget, settings: AnnounceSettings): Promise<BurstReport> {
    const { tool } = this.deps;
    if (tool.native) return this.nativeBurst(tool.native, target, settings);
    return this.fallbackBurst(target, settings);
  }

  /** Re-announces every settings.refreshMs until stop(); no-op when refreshMs <= 0. */
  startRefresh(target: AnnounceTarget, settings: AnnounceSettings): void {
    this.refresh?.cancel();
    this.refresh = undefined;
    if (settings.refreshMs <= 0) return;
    const burst = { ...settings, count: Math.max(1, settings.refreshCount) };
    this.refresh = this.deps.clock.every(settings.refreshMs, () => {
      // A refresh still running (slow link, long burst) is not stacked on.
      if (this.running.size > 0 || this.pending.size > 0) return;
      this.announce(target, burst).catch((e: Error) =>
        this.deps.log.warn(`refresh announcement of ${target.address} on ${target.iface} failed: ${e.message}`),
      );
    });
  }

  /** Ends the periodic refresh and every running burst (the address is being released). */
  stop(): void {
    this.refresh?.cancel();
    this.refresh = undefined;
    for (const p of this.pending) p.cancel();
    this.pending.clear();
    for (const c of this.running) c.kill('SIGTERM');
    this.running.clear();
  }

  private track(cmd: RunningCommand): void {
    this.running.add(cmd);
    void cmd.exited.then(() => this.running.delete(cmd));
  }

  private nativeBurst(tool: string, target: AnnounceTarget, s: AnnounceSettings): Promise<BurstReport> {
    const { clock, log, runner } = this.deps;
    const argv = nativeArgv(tool, target, s);
    const budget = s.count * s.intervalMs + 5_000;
    const firstTimeout = this.deps.firstPacketTimeoutMs ?? 2_000;
    return new Promise<BurstReport>((resolve, reject) => {
      let first = true;
      let settled = false;
      let cmd: RunningCommand | undefined;
      const guard = clock.after(firstTimeout, () => {
        if (!first) return;
        cmd?.kill('SIGKILL');
        settle(() => reject(new Error(`${argv[0]} sent nothing within ${firstTimeout} ms`)));
      });
      const settle = (fn: () => void): void => {
        guard.cancel();
        if (settled) return;
        settled = true;
        fn();
      };
      cmd = runner.start(argv, {
        timeoutMs: budget,
        onLine: (line) => {
          const p = parseSentLine(line);
          if (!p) return;
          this.packets++;
          if (!first) return;
          first = false;
          // Map the tool's CLOCK_MONOTONIC stamp onto the injected clock.
          const firstSentMs = clock.now() - (this.monoNowMs() - p.monoMs);
          log.debug(1, `first ${p.kind} for ${target.address} on ${target.iface} sent`);
          settle(() => resolve({ via: 'native', firstSentMs }));
        },
      });
      this.track(cmd);
      void cmd.exited.then((r) => {
        if (r.code === 0 && !r.timedOut) {
          if (first) settle(() => reject(new Error(`${argv.join(' ')} exited without sending`)));
          return;
        }
        const why = `${describeExit(r)}${outputTail(r) ? `: ${outputTail(r)}` : ''}`;
        if (first) settle(() => reject(new Error(`${argv.join(' ')}: ${why}`)));
        else if (r.signal !== 'SIGTERM') log.error(`announcing ${target.address} on ${target.iface}: ${why}`);
      });
    });
  }

  private fallbackBurst(target: AnnounceTarget, s: AnnounceSettings): Promise<BurstReport> {
    const { clock, tool, log, runner } = this.deps;
    const shots = fallbackShots(tool, target, s);
    const via = target.family === 4 ? 'arping' : 'send_ua';
    if (shots.length === 0) {
      const pkg = target.family === 4 ? 'iputils-arping' : 'resource-agents';
      return Promise.reject(
        new Error(`no announcement sender: ringbeat-announce not found (searched ${tool.searched.join(', ')}) and no ${via} (apt-get install ${pkg})`),
      );
    }
    if (!this.fallbackLogged) {
      this.fallbackLogged = true;
      log.warn(
        `ringbeat-announce not found (searched ${tool.searched.join(', ')}); announcing with ${shots[0]!.argv[0]}` +
          (target.family === 6 && s.router ? ' (send_ua cannot set the Router flag)' : ''),
      );
    }
    const fire = (argv: string[]): void => {
      const cmd = runner.start(argv, { timeoutMs: s.count * s.intervalMs + 5_000 });
      this.track(cmd);
      void cmd.exited.then((r) => {
        if (r.code !== 0 && r.signal !== 'SIGTERM') {
          log.error(`announcing ${target.address} on ${target.iface} with ${argv[0]}: ${describeExit(r)} ${outputTail(r)}`);
        }
      });
    };
    for (const shot of shots) {
      if (shot.atMs <= 0) {
        fire(shot.argv); // the first one at once: takeover latency
        continue;
      }
      const h = clock.after(shot.atMs, () => {
        this.pending.delete(h);
        fire(shot.argv);
      });
      this.pending.add(h);
    }
    return Promise.resolve({ via });
  }
}
