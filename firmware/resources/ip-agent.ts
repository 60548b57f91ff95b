// The built-in IPaddr / IPaddr2 agent: adds the service address in-process
// (a few `ip` calls, no shell chain) and announces it at once.
//
// Heartbeat's path (harc -> mach_down -> ResourceManager -> IPaddr2 wrapper ->
// OCF IPaddr2 -> send_arp) costs ~2 s per takeover; this one costs one
// `ip -j addr show`, one `ip addr add` and the first ARP, a few ms each.
//
//   start   ip -j addr show                  (findif, free label, already there?)
//           ip -4 addr add IP/BITS brd BCAST dev IF label IF:N
//           ip link set IF up                (in parallel with the announcement when IF is up)
//           IPv6: poll `ip -6 -o addr show dev IF` until DAD is done (dadfailed: remove, fail)
//           announce (first packet before start() returns), then optional refresh
//   stop    end announcements, ip addr del IP/<its prefix> dev IF, verify it is gone
//   status  the address is on the interface (and not dadfailed)

import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import { errorText, ResourceError, type ResourceAgent, type ResourceOp, type ResourceState } from './agent';
import { Announcer, DEFAULT_ANNOUNCE, type AnnounceSettings } from './announcer';
import type { AnnounceTool } from './announce-tool';
import { describeExit, ok, outputTail, type CommandResult, type CommandRunner } from './command-runner';
import { findAddress, findInterface, nextFreeLabel, parseIpAddrJson, type IfInfo, type IpTarget } from './findif';
import { normalizeIpv6, type IpSpec } from './ip-spec';

export interface IpAgentOptions {
  /** Announcement settings (defaults: DEFAULT_ANNOUNCE, i.e. IPaddr2's 5 x 200 ms). */
  announce?: Partial<AnnounceSettings>;
  /** IPv6: run duplicate address detection and wait for it (default true); false adds with `nodad`. */
  dad?: boolean;
  /** IPv6 DAD poll interval (default 20 ms) and limit (default 5000 ms). */
  dadPollMs?: number;
  dadTimeoutMs?: number;
  /** Time limit of each `ip` call (default 5000 ms). */
  commandTimeoutMs?: number;
  /** The ip binary (default 'ip', found in PATH). */
  ipCommand?: string;
}

export interface IpAgentDeps {
  runner: CommandRunner;
  clock: Clock;
  log: Logger;
  tool: AnnounceTool;
  monoNowMs?: () => number;
}

/** What the last operation did and when (clock ms), for benchmarks and logs. */
export interface IpAgentDetail {
  op: ResourceOp;
  beganMs: number;
  endedMs?: number;
  iface?: string;
  label?: string;
  /** `ip -j addr show` returned (findif, labels). */
  queryDoneMs?: number;
  /** `ip addr add` spawned / returned. */
  addStartMs?: number;
  addDoneMs?: number;
  dadDoneMs?: number;
  /** First ARP / NA on the wire (native tool); absent with the fallbacks. */
  firstAnnounceMs?: number;
  announceVia?: string;
  announceError?: string;
  alreadyPresent?: boolean;
}

export class IpAgent implements ResourceAgent {
  private readonly announcer: Announcer;
  private readonly settings: AnnounceSettings;
  private readonly ip: string;
  /** Where the address was put by the last start (stop/status look there first). */
  private current?: IpTarget;
  private last?: IpAgentDetail;

  constructor(
    readonly id: string,
    readonly spec: IpSpec,
    private readonly deps: IpAgentDeps,
    private readonly opts: IpAgentOptions = {},
  ) {
    this.settings = { ...DEFAULT_ANNOUNCE, ...opts.announce };
    this.ip = opts.ipCommand ?? 'ip';
    this.announcer = new Announcer({
      runner: deps.runner,
      clock: deps.clock,
      log: deps.log,
      tool: deps.tool,
      monoNowMs: deps.monoNowMs,
    });
  }

  detail(): Record<string, number | string> | undefined {
    if (!this.last) return undefined;
    const out: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(this.last)) if (v !== undefined) out[k] = typeof v === 'boolean' ? String(v) : v;
    return out;
  }

  /** The announcer (tests and the lab look at its counters). */
  get announcements(): Announcer {
    return this.announcer;
  }

  async start(): Promise<void> {
    const { clock, log } = this.deps;
    const d: IpAgentDetail = { op: 'start', beganMs: clock.now() };
    this.last = d;
    const ifs = await this.query('start');
    d.queryDoneMs = clock.now();
    const found = findInterface(this.spec, ifs);
    if (!found.ok) throw this.fail('start', found.error);
    const t = found.target;
    d.iface = t.iface;
    const link = ifs.find((i) => i.name === t.iface)!;
    const present = findAddress(ifs, t.iface, t.address);
    if (present) {
      // IPaddr2 does the same: already served here -> just announce again.
      d.alreadyPresent = true;
      if (present.addr.prefixLen !== t.prefixLen) {
        log.warn(`${this.id}: ${t.address} already on ${t.iface} with /${present.addr.prefixLen} (configured /${t.prefixLen}); keeping it`);
      }
    } else {
      const label = t.family === 4 ? this.labelFor(ifs, t.iface) : undefined;
      d.label = label;
      const argv = this.addArgv(t, label);
      d.addStartMs = clock.now();
      const r = await this.runIp(argv);
      d.addDoneMs = clock.now();
      if (!ok(r) && !/already assigned|File exists/i.test(r.stderr)) {
        throw this.fail('start', `${argv.join(' ')}: ${describeExit(r)}: ${outputTail(r)}`, outputTail(r));
      }
      log.info(`${this.id}: added ${t.address}/${t.prefixLen}${t.broadcast ? ` brd ${t.broadcast}` : ''} on ${t.iface}${label ? ` (${label})` : ''} (${found.how})`);
    }
    this.current = t;

    // `ip link set IF up` (IPaddr2 does it every time). A down link must be
    // up before anything can be announced; an up link makes it a no-op, run
    // after the announcer has been spawned (each spawn costs milliseconds).
    const linkUp = (): Promise<CommandResult> => this.runIp([this.ip, 'link', 'set', t.iface, 'up']);
    let pendingLinkUp: Promise<CommandResult> | undefined;
    if (!link.up) {
      const r = await linkUp();
      if (!ok(r)) throw this.fail('start', `ip link set ${t.iface} up: ${describeExit(r)}: ${outputTail(r)}`, outputTail(r));
    }

    if (t.family === 6 && this.opts.dad !== false && !present) {
      await this.waitDad(t);
      d.dadDoneMs = clock.now();
    }

    const target = { family: t.family, address: t.address, iface: t.iface, prefixLen: t.prefixLen };
    const first = this.announcer.announce(target, this.settings);
    if (link.up) pendingLinkUp = linkUp();
    try {
      const rep = await first;
      d.announceVia = rep.via;
      if (rep.firstSentMs !== undefined) d.firstAnnounceMs = rep.firstSentMs;
    } catch (e) {
      // Like IPaddr2: the address is up, clients will still find it by ARP; say it loudly.
      d.announceError = errorText(e);
      log.error(`${this.id}: could not announce ${t.address} on ${t.iface}: ${d.announceError}`);
    }
    this.announcer.startRefresh(target, this.settings);
    // The no-op link-up is not waited for: the next resource of the group should not pay for it.
    void pendingLinkUp?.then((r) => {
      if (!ok(r)) log.warn(`${this.id}: ip link set ${t.iface} up: ${describeExit(r)}: ${outputTail(r)}`);
    });
    d.endedMs = clock.now();
  }

  async stop(): Promise<void> {
    const { clock, log } = this.deps;
    const d: IpAgentDetail = { op: 'stop', beganMs: clock.now() };
    this.last = d;
    this.announcer.stop();
    const ifs = await this.query('stop');
    const held = this.locate(ifs);
    if (!held) {
      this.current = undefined;
      d.endedMs = clock.now();
      return; // already gone (or its NIC is): stop is idempotent
    }
    d.iface = held.ifname;
    const fam = this.spec.family === 4 ? '-4' : '-6';
    const argv = [this.ip, fam, 'addr', 'del', `${this.spec.address}/${held.prefixLen}`, 'dev', held.ifname];
    const r = await this.runIp(argv);
    if (!ok(r) && !/not found|Cannot find device|Cannot assign requested address/i.test(r.stderr)) {
      throw this.fail('stop', `${argv.join(' ')}: ${describeExit(r)}: ${outputTail(r)}`, outputTail(r));
    }
    const after = this.locate(await this.query('stop'));
    if (after) throw this.fail('stop', `${this.spec.address} is still on ${after.ifname} after ${argv.join(' ')}`);
    this.current = undefined;
    log.info(`${this.id}: removed ${this.spec.address}/${held.prefixLen} from ${held.ifname}`);
    d.endedMs = clock.now();
  }

  async status(): Promise<ResourceState> {
    const held = this.locate(await this.query('status'));
    return held && !held.dadfailed ? 'running' : 'stopped';
  }

  // -------------------------------------------------------------------------

  /** Where the address is: the interface it was put on, else the configured/found one, else anywhere. */
  private locate(ifs: readonly IfInfo[]): { ifname: string; prefixLen: number; dadfailed: boolean } | undefined {
    let iface = this.current?.iface ?? this.spec.iface;
    if (!iface) {
      const f = findInterface(this.spec, ifs);
      if (f.ok) iface = f.target.iface;
    }
    const hit = findAddress(ifs, iface, this.spec.address) ?? (this.spec.iface ? undefined : findAddress(ifs, undefined, this.spec.address));
    return hit ? { ifname: hit.ifname, prefixLen: hit.addr.prefixLen, dadfailed: hit.addr.dadfailed === true } : undefined;
  }

  private labelFor(ifs: readonly IfInfo[], iface: string): string | undefined {
    if (this.spec.label) return `${iface}:${this.spec.label}`;
    const label = nextFreeLabel(ifs, iface);
    if (!label) this.deps.log.warn(`${this.id}: no room for an ${iface}:N label (15 characters max); adding without label`);
    return label;
  }

  private addArgv(t: IpTarget, label: string | undefined): string[] {
    if (t.family === 4) {
      return [
        this.ip, '-4', 'addr', 'add', `${t.address}/${t.prefixLen}`,
        ...(t.broadcast ? ['brd', t.broadcast] : []),
        'dev', t.iface,
        ...(label ? ['label', label] : []),
      ];
    }
    return [this.ip, '-6', 'addr', 'add', `${t.address}/${t.prefixLen}`, 'dev', t.iface, ...(this.opts.dad === false ? ['nodad'] : [])];
  }

  private async query(op: ResourceOp): Promise<IfInfo[]> {
    const argv = [this.ip, '-j', 'addr', 'show'];
    const r = await this.runIp(argv);
    if (!ok(r)) throw this.fail(op, `${argv.join(' ')}: ${describeExit(r)}: ${outputTail(r)}`, outputTail(r));
    try {
      return parseIpAddrJson(r.stdout);
    } catch (e) {
      throw this.fail(op, `cannot parse the output of ${argv.join(' ')}: ${errorText(e)}`);
    }
  }

  /**
   * Waits until the kernel's duplicate address detection has finished. On
   * dadfailed (someone else has the address) or timeout the address is
   * removed again and start fails.
   */
  private async waitDad(t: IpTarget): Promise<void> {
    const { clock } = this.deps;
    const poll = this.opts.dadPollMs ?? 20;
    const limit = this.opts.dadTimeoutMs ?? 5_000;
    const t0 = clock.now();
    for (;;) {
      const argv = [this.ip, '-6', '-o', 'addr', 'show', 'dev', t.iface];
      const r = await this.runIp(argv);
      if (!ok(r)) throw this.fail('start', `${argv.join(' ')}: ${describeExit(r)}: ${outputTail(r)}`);
      const state = dadState(r.stdout, t.address);
      if (state === 'absent') throw this.fail('start', `${t.address} disappeared from ${t.iface} during duplicate address detection`);
      if (state === 'done') return;
      if (state === 'dadfailed' || clock.now() - t0 >= limit) {
        await this.runIp([this.ip, '-6', 'addr', 'del', `${t.address}/${t.prefixLen}`, 'dev', t.iface]);
        this.current = undefined;
        throw this.fail(
          'start',
          state === 'dadfailed'
            ? `duplicate address detection failed for ${t.address} on ${t.iface}: another host uses it (address removed)`
            : `duplicate address detection for ${t.address} on ${t.iface} did not finish within ${limit} ms (address removed)`,
        );
      }
      await new Promise<void>((resolve) => clock.after(poll, resolve));
    }
  }

  private runIp(argv: string[]): Promise<CommandResult> {
    return this.deps.runner.run(argv, { timeoutMs: this.opts.commandTimeoutMs ?? 5_000 });
  }

  private fail(op: ResourceOp, msg: string, output?: string): ResourceError {
    return new ResourceError(`${this.id}: ${op}: ${msg}`, this.id, op, output);
  }
}

/** DAD state of `address` in `ip -6 -o addr show dev IF` output. */
export function dadState(out: string, address: string): 'absent' | 'tentative' | 'dadfailed' | 'done' {
  for (const line of out.split('\n')) {
    const words = line.trim().split(/\s+/);
    const i = words.indexOf('inet6');
    if (i < 0) continue;
    const addr = normalizeIpv6((words[i + 1] ?? '').split('/')[0] ?? '');
    if (addr !== address) continue;
    if (words.includes('dadfailed')) return 'dadfailed';
    if (words.includes('tentative')) return 'tentative';
    return 'done';
  }
  return 'absent';
}
