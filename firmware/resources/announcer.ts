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
//
// addAndAnnounce() is the IPv4 takeover in one spawn: the native tool adds
// the address over rtnetlink (`-a PREFIX [-b BRD] [-l LABEL]`), prints
// `added ...` (or `exists ...`) and goes straight on to the burst. Each
// process spawn from the daemon costs 10-40 ms, so this saves one `ip` call.

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

/** What the native tool is to add before announcing (IPv4; `-a PREFIX [-b BRD] [-l LABEL]`). */
export interface AddressToAdd {
  prefixLen: number;
  broadcast?: string;
  label?: string;
}

/** The tool's `added` / `exists` line, on the injected clock. */
export interface AddReport {
  outcome: 'added' | 'exists';
  /** Clock time (clock.now() scale) the kernel acknowledged the address (or found it present). */
  atMs: number;
  /** What the interface has: the configured values when added, the existing ones otherwise. */
  prefixLen: number;
  broadcast?: string;
  label?: string;
}

/**
 * The native tool ended before its `added`/`exists` line: nothing was changed.
 * `kind` from its exit code: 'add' = the kernel refused the address (3),
 * 'interface' = missing, down or not Ethernet (4), 'other' = anything else
 * (no CAP_NET_RAW, not startable, timed out...).
 */
export class AddFailed extends Error {
  override name = 'AddFailed';
  constructor(
    message: string,
    readonly kind: 'add' | 'interface' | 'other',
    readonly code: number | null,
  ) {
    super(message);
  }
}

/** ringbeat-announce's exit codes with -a (firmware/native/announce.c). */
export const TOOL_EXIT_ADD = 3;
export const TOOL_EXIT_IFACE = 4;

/** The two stages of addAndAnnounce(); both promises are pre-handled (awaiting either is optional). */
export interface AddAndAnnounce {
  /** Resolves at the `added`/`exists` line; rejects with AddFailed when the tool ended before it. */
  added: Promise<AddReport>;
  /** Resolves at the first packet; rejects when none was sent (also when the add failed). */
  first: Promise<BurstReport>;
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

const ADD_LINE = /^(added|exists) ip=(\S+) prefix=(\d+) brd=(\S+) label=(\S+) .*\bmono_ns=(\d+)\s*$/;

/** Parses the `added ...` / `exists ...` line of ringbeat-announce -a ('-' = none). */
export function parseAddLine(line: string): { outcome: 'added' | 'exists'; ip: string; prefixLen: number; broadcast?: string; label?: string; monoMs: number } | undefined {
  const m = ADD_LINE.exec(line);
  if (!m) return undefined;
  const opt = (v: string): string | undefined => (v === '-' ? undefined : v);
  return {
    outcome: m[1] as 'added' | 'exists',
    ip: m[2]!,
    prefixLen: Number(m[3]),
    broadcast: opt(m[4]!),
    label: opt(m[5]!),
    monoMs: Number(BigInt(m[6]!) / 1000n) / 1000,
  };
}

/** argv of the native tool for a burst (with `add`: add the IPv4 address first). */
export function nativeArgv(
  tool: string,
  t: AnnounceTarget,
  s: Pick<AnnounceSettings, 'count' | 'intervalMs' | 'mode' | 'router'>,
  add?: AddressToAdd,
): string[] {
  const argv = [tool, '-i', t.iface, t.family === 4 ? '-4' : '-6', t.address];
  if (add) {
    if (t.family !== 4) throw new Error('nativeArgv: the tool adds IPv4 addresses only');
    argv.push('-a', String(add.prefixLen));
    if (add.broadcast) argv.push('-b', add.broadcast);
    if (add.label) argv.push('-l', add.label);
  }
  argv.push('-c', String(s.count), '-w', String(Math.round(s.intervalMs)));
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
    if (tool.native) return this.nativeBurst(tool.native, target, settings).first;
    return this.fallbackBurst(target, settings);
  }

  /**
   * IPv4 with the native tool only: one process adds the address and starts
   * the burst. See AddAndAnnounce for the two stages.
   */
  addAndAnnounce(target: AnnounceTarget, settings: AnnounceSettings, add: AddressToAdd): AddAndAnnounce {
    const native = this.deps.tool.native;
    if (!native || target.family !== 4) throw new Error('addAndAnnounce needs the native tool and an IPv4 address');
    const r = this.nativeBurst(native, target, settings, add);
    return { added: r.added!, first: r.first };
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

  /**
   * Runs the native tool. `first` settles at the first `sent` line (or the
   * failure before it); with `add`, `added` settles at the `added`/`exists`
   * line first. Both promises get a no-op catch here, so a caller that only
   * awaits one of them never leaves an unhandled rejection behind.
   */
  private nativeBurst(tool: string, target: AnnounceTarget, s: AnnounceSettings, add?: AddressToAdd): { added?: Promise<AddReport>; first: Promise<BurstReport> } {
    const { clock, log, runner } = this.deps;
    const argv = nativeArgv(tool, target, s, add);
    const budget = s.count * s.intervalMs + 5_000;
    const firstTimeout = this.deps.firstPacketTimeoutMs ?? 2_000;
    const first = deferred<BurstReport>();
    const added = add ? deferred<AddReport>() : undefined;
    let firstPending = true;
    let addPending = added !== undefined;
    // Map the tool's CLOCK_MONOTONIC stamps onto the injected clock.
    const onClock = (monoMs: number): number => clock.now() - (this.monoNowMs() - monoMs);
    // Before the `added` line the caller must learn that nothing was changed (AddFailed).
    const failBefore = (msg: string, kind: AddFailed['kind'], code: number | null): void => {
      const e = addPending ? new AddFailed(msg, kind, code) : new Error(msg);
      if (addPending) {
        addPending = false;
        added!.reject(e);
      }
      if (firstPending) {
        firstPending = false;
        first.reject(e);
      }
    };
    let cmd: RunningCommand | undefined;
    const guard = clock.after(firstTimeout, () => {
      if (!firstPending) return;
      cmd?.kill('SIGKILL');
      failBefore(`${argv[0]} sent nothing within ${firstTimeout} ms`, 'other', null);
    });
    cmd = runner.start(argv, {
      timeoutMs: budget,
      onLine: (line) => {
        const a = addPending ? parseAddLine(line) : undefined;
        if (a) {
          addPending = false;
          added!.resolve({ outcome: a.outcome, atMs: onClock(a.monoMs), prefixLen: a.prefixLen, broadcast: a.broadcast, label: a.label });
          return;
        }
        const p = parseSentLine(line);
        if (!p) return;
        this.packets++;
        if (!firstPending) return;
        firstPending = false;
        guard.cancel();
        log.debug(1, `first ${p.kind} for ${target.address} on ${target.iface} sent`);
        first.resolve({ via: 'native', firstSentMs: onClock(p.monoMs) });
      },
    });
    this.track(cmd);
    void cmd.exited.then((r) => {
      guard.cancel();
      if (r.code === 0 && !r.timedOut) {
        failBefore(`${argv.join(' ')} exited without ${addPending ? 'adding' : 'sending'}`, 'other', 0);
        return;
      }
      const why = `${describeExit(r)}${outputTail(r) ? `: ${outputTail(r)}` : ''}`;
      if (addPending || firstPending) {
        const kind = r.code === TOOL_EXIT_ADD ? 'add' : r.code === TOOL_EXIT_IFACE ? 'interface' : 'other';
        failBefore(`${argv.join(' ')}: ${why}`, kind, r.code);
      } else if (r.signal !== 'SIGTERM') log.error(`announcing ${target.address} on ${target.iface}: ${why}`);
    });
    first.promise.catch(() => undefined);
    added?.promise.catch(() => undefined);
    return { added: added?.promise, first: first.promise };
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

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: Error): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
