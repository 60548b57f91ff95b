// The built-in IPaddr / IPaddr2 agent: adds the service address in-process
// (no shell chain) and announces it at once.
//
// Heartbeat's path (harc -> mach_down -> ResourceManager -> IPaddr2 wrapper ->
// OCF IPaddr2 -> send_arp) costs ~2 s per takeover. Here every process spawn
// counts (10-40 ms each from the ~90 MB daemon), so IPv4 with the native tool
// takes ONE spawn:
//
//   start (IPv4, ringbeat-announce found)
//           interface/label/broadcast from the interface snapshot (no query)
//           ip link set IF up                (only if the snapshot says IF is down)
//           ringbeat-announce -i IF -4 IP -a BITS -b BCAST -l IF:N ...
//                                            (rtnetlink add, `added`/`exists`, first ARP at once)
//           the tool says the snapshot was wrong (IF gone/down: exit 4; add refused: exit 3
//           while a fresh query disagrees with the snapshot) -> fresh query, classic path
//   start (IPv6, no native tool, or nativeAdd: false) = the classic path
//           ip -j addr show                  (findif, free label, already there?)
//           ip -4|-6 addr add IP/BITS [brd BCAST dev IF label IF:N]
//           ip link set IF up                (in parallel with the announcement when IF is up)
//           IPv6: poll `ip -6 -o addr show dev IF` until DAD is done (dadfailed: remove, fail)
//           announce (first packet before start() returns), then optional refresh
//   stop    end announcements, ip addr del IP/<its prefix> dev IF, verify it is gone
//   status  the address is on the interface (and not dadfailed)
//
// The interface snapshot (IfSnapshot) is the last `ip -j addr show` seen,
// shared by all agents on one CommandRunner (so two addresses of a group get
// eth0:0 and eth0:1), taken when the first agent is built, adopted from every
// query stop/status run anyway, updated with our own adds and refreshed every
// snapshotRefreshMs (default 60 s) in the background. It is only a guess: the
// tool checks the interface and the address itself before changing anything.

import type { Clock, TimerHandle } from '../core/clock';
import type { Logger } from '../core/log';
import { errorText, ResourceError, type ResourceAgent, type ResourceOp, type ResourceState } from './agent';
import { AddFailed, Announcer, DEFAULT_ANNOUNCE, type AddReport, type AnnounceSettings, type AnnounceTarget } from './announcer';
import type { AnnounceTool } from './announce-tool';
import { describeExit, ok, outputTail, type CommandResult, type CommandRunner } from './command-runner';
import { findAddress, findInterface, nextFreeLabel, parseIpAddrJson, type IfAddr, type IfInfo, type IpTarget } from './findif';
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
  /** IPv4 with the native tool: let it add the address (one spawn; default true). false = `ip addr add` + tool. */
  nativeAdd?: boolean;
  /**
   * The interface snapshot the native IPv4 path plans with: the shared one
   * (default), a given one (tests), or false = query `ip -j addr show` at
   * every start.
   */
  snapshot?: IfSnapshot | false;
  /** Background refresh of the shared snapshot (default 60000 ms; 0 = only from our own queries). */
  snapshotRefreshMs?: number;
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
  /** The interfaces were known: from the snapshot (~beganMs) or when `ip -j addr show` returned. */
  queryDoneMs?: number;
  /** Where start took the interfaces from ('snapshot' | 'query') and how old the snapshot was. */
  ifSource?: 'snapshot' | 'query';
  snapshotAgeMs?: number;
  /** Who added the address: 'tool' (ringbeat-announce -a) or 'ip'. */
  addVia?: 'tool' | 'ip';
  /** `ip addr add` / the tool spawned; the address was added (tool: its `added` line, CLOCK_MONOTONIC mapped). */
  addStartMs?: number;
  addDoneMs?: number;
  dadDoneMs?: number;
  /** First ARP / NA on the wire (native tool); absent with the fallbacks. */
  firstAnnounceMs?: number;
  announceVia?: string;
  announceError?: string;
  alreadyPresent?: boolean;
  /** Why the native path gave way to the classic one (stale snapshot, tool failure). */
  fallback?: string;
}

/** `ip -j addr show`, parsed. Throws an Error saying what failed. */
export async function queryInterfaces(runner: CommandRunner, ip: string, timeoutMs: number): Promise<IfInfo[]> {
  const argv = [ip, '-j', 'addr', 'show'];
  const r = await runner.run(argv, { timeoutMs });
  if (!ok(r)) throw new QueryError(`${argv.join(' ')}: ${describeExit(r)}: ${outputTail(r)}`, outputTail(r));
  try {
    return parseIpAddrJson(r.stdout);
  } catch (e) {
    throw new QueryError(`cannot parse the output of ${argv.join(' ')}: ${errorText(e)}`);
  }
}

class QueryError extends Error {
  constructor(
    message: string,
    readonly output?: string,
  ) {
    super(message);
  }
}

/**
 * The host's interfaces as last seen, for planning a start without a query.
 * `changes` counts our own notes: a query that began before a note is not
 * adopted (it would forget the address we just added).
 */
export class IfSnapshot {
  private ifs?: IfInfo[];
  private takenMs = 0;
  private changes = 0;
  private inflight?: Promise<IfInfo[] | undefined>;
  private ticker?: TimerHandle;

  constructor(
    private readonly query: () => Promise<IfInfo[]>,
    private readonly clock: Clock,
  ) {}

  /** The snapshot now (no waiting) and its age; undefined when there is none. */
  peek(): { ifs: IfInfo[]; ageMs: number } | undefined {
    return this.ifs ? { ifs: this.ifs, ageMs: this.clock.now() - this.takenMs } : undefined;
  }

  /** The snapshot; when there is none but a query is running, waits for that one. */
  async get(): Promise<{ ifs: IfInfo[]; ageMs: number } | undefined> {
    if (!this.ifs && this.inflight) await this.inflight;
    return this.peek();
  }

  /** Queries now; callers during a running query share it. A failed query leaves no snapshot. */
  refresh(): Promise<IfInfo[] | undefined> {
    if (this.inflight) return this.inflight;
    const mark = this.changes;
    this.inflight = this.query().then(
      (ifs) => {
        this.offer(ifs, mark);
        return ifs;
      },
      () => {
        if (mark === this.changes) this.ifs = undefined;
        return undefined;
      },
    );
    void this.inflight.finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /** Refreshes every `everyMs` from now on (the first caller's period wins); 0 = never. */
  keepFresh(everyMs: number): void {
    if (this.ticker || everyMs <= 0) return;
    this.ticker = this.clock.every(everyMs, () => void this.refresh());
  }

  /** Stops the background refresh (tests, shutdown). */
  close(): void {
    this.ticker?.cancel();
    this.ticker = undefined;
  }

  /** The current change count, taken before a query whose result is then offer()ed. */
  mark(): number {
    return this.changes;
  }

  /** A query result someone took anyway (stop, status): adopted unless we changed something since `mark`. */
  offer(ifs: IfInfo[], mark: number): void {
    if (mark !== this.changes) return;
    this.ifs = ifs;
    this.takenMs = this.clock.now();
  }

  /** We put `addr` on `iface` (its label is taken now). A new array: views handed out stay as they were. */
  noteAdded(iface: string, addr: IfAddr): void {
    this.changes++;
    this.ifs = this.ifs?.map((i) => (i.name === iface && !i.addrs.some((a) => a.address === addr.address) ? { ...i, addrs: [...i.addrs, addr] } : i));
  }

  /** The snapshot proved wrong: forget it (the next start queries). */
  drop(): void {
    this.changes++;
    this.ifs = undefined;
  }
}

/** One snapshot per runner and ip binary: the agents of a daemon share it. */
const shared = new WeakMap<CommandRunner, Map<string, IfSnapshot>>();

function sharedSnapshot(runner: CommandRunner, ip: string, clock: Clock, timeoutMs: number): IfSnapshot {
  let byIp = shared.get(runner);
  if (!byIp) shared.set(runner, (byIp = new Map()));
  let s = byIp.get(ip);
  if (!s) byIp.set(ip, (s = new IfSnapshot(() => queryInterfaces(runner, ip, timeoutMs), clock)));
  return s;
}

/** What start does, worked out from one view of the interfaces. */
interface StartPlan {
  target: IpTarget;
  how: string;
  link: IfInfo;
  present?: { ifname: string; addr: IfAddr };
  label?: string;
}

export class IpAgent implements ResourceAgent {
  private readonly announcer: Announcer;
  private readonly settings: AnnounceSettings;
  private readonly ip: string;
  private readonly timeoutMs: number;
  /** IPv4 + native tool: the tool adds the address (one spawn). */
  private readonly nativeAdd: boolean;
  /** What the native path plans with; undefined = query at every start. */
  private readonly snapshot?: IfSnapshot;
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
    this.timeoutMs = opts.commandTimeoutMs ?? 5_000;
    this.announcer = new Announcer({
      runner: deps.runner,
      clock: deps.clock,
      log: deps.log,
      tool: deps.tool,
      monoNowMs: deps.monoNowMs,
    });
    this.nativeAdd = deps.tool.native !== undefined && spec.family === 4 && opts.nativeAdd !== false;
    if (this.nativeAdd && opts.snapshot !== false) {
      this.snapshot = opts.snapshot ?? sharedSnapshot(deps.runner, this.ip, deps.clock, this.timeoutMs);
      // The daemon builds its agents at start-up, long before any takeover:
      // the query is paid now instead of after the death decision.
      void this.prepare();
    }
  }

  /**
   * Takes the interface snapshot if there is none yet and keeps it fresh.
   * The constructor calls it; awaiting it is optional (start() waits for a
   * snapshot query still running rather than starting a second one).
   */
  async prepare(): Promise<void> {
    if (!this.snapshot) return;
    this.snapshot.keepFresh(this.opts.snapshotRefreshMs ?? 60_000);
    if (!this.snapshot.peek()) await this.snapshot.refresh();
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
    const d: IpAgentDetail = { op: 'start', beganMs: this.deps.clock.now() };
    this.last = d;
    let fresh: IfInfo[] | undefined;
    if (this.nativeAdd) {
      const r = await this.startNative(d);
      if (r === 'done') {
        d.endedMs = this.deps.clock.now();
        return;
      }
      fresh = r;
    }
    await this.startClassic(d, fresh);
    d.endedMs = this.deps.clock.now();
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
  // start, native IPv4 path: plan from the snapshot, one spawn adds + announces

  /** 'done', or a fresh view of the interfaces for the classic path (the snapshot was wrong, or the tool failed). */
  private async startNative(d: IpAgentDetail): Promise<'done' | IfInfo[]> {
    const { clock } = this.deps;
    const snap = await this.snapshot?.get();
    const ifs = snap?.ifs ?? (await this.query('start'));
    d.ifSource = snap ? 'snapshot' : 'query';
    if (snap) d.snapshotAgeMs = Math.round(snap.ageMs * 10) / 10;
    d.queryDoneMs = clock.now();
    const plan = this.plan(ifs);
    if (typeof plan === 'string') {
      if (!snap) throw this.fail('start', plan);
      // Maybe the interface appeared since: the classic path decides with a fresh view.
      this.deps.log.warn(`${this.id}: the interface snapshot (${d.snapshotAgeMs} ms old) does not fit: ${plan}; querying again`);
      return this.requery(d, `snapshot: ${plan}`);
    }
    const t = plan.target;
    d.iface = t.iface;
    // The tool refuses a down interface (nothing changed, exit 4): bring it up first, as IPaddr2 does.
    if (!plan.link.up) await this.linkUp(t.iface);
    d.addStartMs = clock.now();
    const run = this.announcer.addAndAnnounce(announceTarget(t), this.settings, { prefixLen: t.prefixLen, broadcast: t.broadcast, label: plan.label });
    let rep: AddReport;
    try {
      rep = await run.added;
    } catch (e) {
      if (!(e instanceof AddFailed)) throw e;
      return this.afterToolFailure(d, e, plan);
    }
    d.addVia = 'tool';
    d.addDoneMs = rep.atMs;
    this.current = t;
    this.recordToolAdd(d, plan, rep);
    await this.awaitFirst(d, run.first, t);
    this.announcer.startRefresh(announceTarget(t), this.settings);
    // No `ip link set IF up` afterwards: the tool found IF up (it refuses a
    // down one), and each spawn costs the rest of the group milliseconds.
    return 'done';
  }

  /**
   * The tool changed nothing. A refused add (exit 3) on an unchanged picture
   * is a real error (EPERM...): fail with the tool's words. Anything else
   * (interface gone or down, snapshot out of date, tool unusable) is retried
   * on the classic path with a fresh query, which reports real errors itself.
   */
  private async afterToolFailure(d: IpAgentDetail, e: AddFailed, used: StartPlan): Promise<IfInfo[]> {
    const fresh = await this.requery(d, e.message);
    const again = this.plan(fresh);
    const unchanged = typeof again !== 'string' && samePlan(again, used);
    if (e.kind === 'add' && unchanged) throw this.fail('start', e.message, e.message);
    const stale = d.ifSource === 'snapshot' && !unchanged ? 'the interface snapshot was out of date, ' : '';
    this.deps.log.warn(`${this.id}: ${e.message}; ${stale}retrying with ip addr add`);
    return fresh;
  }

  /** Forgets the snapshot (it misled us) and queries afresh; `why` goes into detail(). */
  private async requery(d: IpAgentDetail, why: string): Promise<IfInfo[]> {
    d.fallback = why;
    this.snapshot?.drop();
    return this.query('start');
  }

  private recordToolAdd(d: IpAgentDetail, plan: StartPlan, rep: AddReport): void {
    const t = plan.target;
    if (rep.outcome === 'exists') {
      // IPaddr2 does the same: already served here -> just announce again.
      d.alreadyPresent = true;
      this.warnPrefix(t, rep.prefixLen);
    } else {
      d.label = plan.label;
      this.logAdded(t, plan);
    }
    this.snapshot?.noteAdded(t.iface, { family: 4, address: t.address, prefixLen: rep.prefixLen, broadcast: rep.broadcast, label: rep.label });
  }

  // -------------------------------------------------------------------------
  // start, classic path: query, ip addr add, (DAD), announce

  private async startClassic(d: IpAgentDetail, given?: IfInfo[]): Promise<void> {
    const { clock, log } = this.deps;
    const ifs = given ?? (await this.query('start'));
    d.ifSource = 'query';
    d.queryDoneMs = clock.now();
    const plan = this.plan(ifs);
    if (typeof plan === 'string') throw this.fail('start', plan);
    const t = plan.target;
    d.iface = t.iface;
    const present = plan.present;
    if (present) {
      // IPaddr2 does the same: already served here -> just announce again.
      d.alreadyPresent = true;
      this.warnPrefix(t, present.addr.prefixLen);
    } else {
      d.label = plan.label;
      const argv = this.addArgv(t, plan.label);
      d.addVia = 'ip';
      d.addStartMs = clock.now();
      const r = await this.runIp(argv);
      d.addDoneMs = clock.now();
      if (!ok(r) && !/already assigned|File exists/i.test(r.stderr)) {
        throw this.fail('start', `${argv.join(' ')}: ${describeExit(r)}: ${outputTail(r)}`, outputTail(r));
      }
      this.logAdded(t, plan);
      this.snapshot?.noteAdded(t.iface, { family: t.family, address: t.address, prefixLen: t.prefixLen, broadcast: t.broadcast, label: plan.label });
    }
    this.current = t;

    // `ip link set IF up` (IPaddr2 does it every time). A down link must be
    // up before anything can be announced; an up link makes it a no-op, run
    // after the announcer has been spawned (each spawn costs milliseconds).
    if (!plan.link.up) await this.linkUp(t.iface);

    if (t.family === 6 && this.opts.dad !== false && !present) {
      await this.waitDad(t);
      d.dadDoneMs = clock.now();
    }

    const target = announceTarget(t);
    const first = this.announcer.announce(target, this.settings);
    const pendingLinkUp = plan.link.up ? this.runIp([this.ip, 'link', 'set', t.iface, 'up']) : undefined;
    await this.awaitFirst(d, first, t);
    this.announcer.startRefresh(target, this.settings);
    // The no-op link-up is not waited for: the next resource of the group should not pay for it.
    void pendingLinkUp?.then((r) => {
      if (!ok(r)) log.warn(`${this.id}: ip link set ${t.iface} up: ${describeExit(r)}: ${outputTail(r)}`);
    });
  }

  // -------------------------------------------------------------------------

  /** Where the address goes, with which label, and whether it is already there, from one view of the interfaces. */
  private plan(ifs: readonly IfInfo[]): StartPlan | string {
    const found = findInterface(this.spec, ifs);
    if (!found.ok) return found.error;
    const t = found.target;
    const present = findAddress(ifs, t.iface, t.address);
    // The native path labels even an address the view shows present: if the view is old
    // and the address gone, the tool adds it, and it should look as if ip had.
    const label = t.family === 4 && (!present || this.nativeAdd) ? this.labelFor(ifs, t.iface) : undefined;
    return { target: t, how: found.how, link: ifs.find((i) => i.name === t.iface)!, present, label };
  }

  private logAdded(t: IpTarget, plan: StartPlan): void {
    this.deps.log.info(
      `${this.id}: added ${t.address}/${t.prefixLen}${t.broadcast ? ` brd ${t.broadcast}` : ''} on ${t.iface}${plan.label ? ` (${plan.label})` : ''} (${plan.how})`,
    );
  }

  private warnPrefix(t: IpTarget, prefixLen: number): void {
    if (prefixLen === t.prefixLen) return;
    this.deps.log.warn(`${this.id}: ${t.address} already on ${t.iface} with /${prefixLen} (configured /${t.prefixLen}); keeping it`);
  }

  /** Waits for the first announcement; a failure does not fail start (the address is up) but is logged loudly. */
  private async awaitFirst(d: IpAgentDetail, first: Promise<{ via: string; firstSentMs?: number }>, t: IpTarget): Promise<void> {
    try {
      const rep = await first;
      d.announceVia = rep.via;
      if (rep.firstSentMs !== undefined) d.firstAnnounceMs = rep.firstSentMs;
    } catch (e) {
      // Like IPaddr2: clients will still find the address by ARP; say it loudly.
      d.announceError = errorText(e);
      this.deps.log.error(`${this.id}: could not announce ${t.address} on ${t.iface}: ${d.announceError}`);
    }
  }

  private async linkUp(iface: string): Promise<void> {
    const r = await this.runIp([this.ip, 'link', 'set', iface, 'up']);
    if (!ok(r)) throw this.fail('start', `ip link set ${iface} up: ${describeExit(r)}: ${outputTail(r)}`, outputTail(r));
  }

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

  /** `ip -j addr show`; the result also refreshes the snapshot (every query is one less later). */
  private async query(op: ResourceOp): Promise<IfInfo[]> {
    const mark = this.snapshot?.mark() ?? 0;
    try {
      const ifs = await queryInterfaces(this.deps.runner, this.ip, this.timeoutMs);
      this.snapshot?.offer(ifs, mark);
      return ifs;
    } catch (e) {
      throw this.fail(op, errorText(e), e instanceof QueryError ? e.output : undefined);
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
    return this.deps.runner.run(argv, { timeoutMs: this.timeoutMs });
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

function announceTarget(t: IpTarget): AnnounceTarget {
  return { family: t.family, address: t.address, iface: t.iface, prefixLen: t.prefixLen };
}

/** Two plans would make the tool do the same thing (same interface state, address, label). */
function samePlan(a: StartPlan, b: StartPlan): boolean {
  const key = (p: StartPlan): string =>
    JSON.stringify([p.target, p.label ?? null, p.link.name, p.link.index, p.link.up, p.present ? p.present.addr.prefixLen : null]);
  return key(a) === key(b);
}
