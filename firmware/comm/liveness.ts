// Who is alive, decided on the monotonic clock (spec section 6):
// - a node is dead when NO medium has heard it within its deadtime (the peer's
//   advertised `dt` if it sent one, else ours); before first contact, initdead;
// - a link (node x medium) is dead on the same test against that medium alone;
// - a status later than warntime after the previous one is reported with the
//   measured interval.
//
// Cross-check (ringbeat-only, three or more nodes): when a node's silence
// passes deadtime, the other live ringbeat nodes are asked whether they still
// hear it. Only if none does within a bounded wait is it declared dead; if one
// does, only our links to it are broken: that is reported as a link problem,
// the node keeps its state, and the question is asked again periodically.
//
// Event-loop stalls are a fact of Node: when a deadline passes, frames that
// prove the node alive may still sit unread in a socket or pty buffer. So a
// death is only declared after a short settle period in which the loop has
// really run (the confirm timer itself must not be late), and a stall of this
// process is reported instead of being mistaken for a silent peer. After a
// stall the settle period is a whole keepalive longer: what the peers sent
// meanwhile may be lost (a UART overruns in 350 ms at 115200 baud), and their
// next status is at most one keepalive away.

import type { Clock, TimerHandle } from '../core/clock';
import type { LinkState, MembershipEvent, NodeState, NodeStateReason } from './events';

export interface LivenessOptions {
  localNode: string;
  /** All configured nodes including the local one. */
  nodes: string[];
  keepaliveMs: number;
  deadtimeMs: number;
  warntimeMs: number;
  initdeadMs: number;
  /** Extra wait before a death is final (default: min(25 ms, keepalive/2)). */
  settleMs?: number;
  /** Ask the other live nodes before declaring a death (absent: decide alone, like Heartbeat). */
  crossCheck?: CrossCheckHooks;
}

export interface CrossCheckHooks {
  /** Longest wait for the answers. */
  waitMs: number;
  /** Live nodes able to answer (ringbeat peers), not including `suspect`. */
  askers(suspect: string): string[];
  /** Broadcast the question about `suspect`. */
  ask(suspect: string): void;
}

interface PendingCheck {
  expecting: Set<string>;
  heardBy: string[];
  timer: TimerHandle;
}

interface LinkRecord {
  lastHeard: number;
  state: LinkState;
}

interface NodeRecord {
  name: string;
  state: NodeState;
  /** Last `st` the node itself advertised. */
  advertised?: NodeState;
  lastHeard?: number;
  lastStatusAt?: number;
  /** Peer's own deadtime (`dt`), if it sent one. */
  peerDeadtimeMs?: number;
  links: Map<string, LinkRecord>;
  lateHeartbeats: number;
  deaths: number;
  restarts: number;
  /** Cross-check in progress. */
  check?: PendingCheck;
  /** Only other nodes hear it (link problem): who, and when to ask again. */
  indirect?: { heardBy: string[]; recheckAt: number };
}

export interface NodeSnapshot {
  name: string;
  self: boolean;
  state: NodeState;
  lastHeardAgoMs: number | null;
  deadtimeMs: number;
  lateHeartbeats: number;
  deaths: number;
  restarts: number;
  links: { name: string; state: LinkState; lastHeardAgoMs: number }[];
  /** Set when this node cannot hear it but these nodes can (a link problem, not a death). */
  heardOnlyBy?: string[];
}

const NODE_STATES: readonly string[] = ['init', 'up', 'active', 'dead'];

export class Liveness {
  private readonly peers = new Map<string, NodeRecord>();
  private readonly selfLinks = new Map<string, LinkRecord>();
  private localState: 'init' | 'up' | 'active' = 'init';
  private readonly startedAt: number;
  private readonly settleMs: number;
  /** Wait before judging after this process was stalled: one keepalive for a fresh status, plus settle. */
  private readonly stallGraceMs: number;
  private scanTimer?: TimerHandle;
  private scanAt = Infinity;
  private confirming?: TimerHandle;
  private stopped = false;

  constructor(
    private readonly opts: LivenessOptions,
    private readonly clock: Clock,
    private readonly emit: (e: MembershipEvent) => void,
  ) {
    this.startedAt = clock.now();
    this.settleMs = opts.settleMs ?? Math.min(25, opts.keepaliveMs / 2);
    this.stallGraceMs = opts.keepaliveMs + this.settleMs;
    for (const n of opts.nodes) {
      if (n === opts.localNode) continue;
      this.peers.set(n, { name: n, state: 'init', links: new Map(), lateHeartbeats: 0, deaths: 0, restarts: 0 });
    }
  }

  /** Media are running: local state goes init -> up, and the initdead clock is armed. */
  start(): void {
    this.setLocal('up');
    this.checkActive();
    this.rearm();
  }

  stop(): void {
    this.stopped = true;
    this.scanTimer?.cancel();
    this.confirming?.cancel();
    for (const n of this.peers.values()) this.cancelCheck(n);
  }

  get local(): 'init' | 'up' | 'active' {
    return this.localState;
  }

  isPeer(node: string): boolean {
    return this.peers.has(node);
  }

  stateOf(node: string): NodeState | undefined {
    return this.peers.get(node)?.state;
  }

  /** Peers currently not dead (heard at least once). */
  livePeers(): string[] {
    return [...this.peers.values()].filter((p) => p.state !== 'dead' && p.state !== 'init').map((p) => p.name);
  }

  /** Our own frame came back (broadcast loopback): our side of that link works. */
  heardSelf(link: string): void {
    const now = this.clock.now();
    const l = this.selfLinks.get(link);
    if (l) l.lastHeard = now;
    else this.selfLinks.set(link, { lastHeard: now, state: 'up' });
  }

  /**
   * An authentic frame from `node` arrived on `link` (duplicates count: they
   * prove the node and the link alive). `status` is given for the first copy
   * of each status message only.
   */
  heard(node: string, link: string, status?: { st?: string; dtMs?: number }): void {
    const n = this.peers.get(node);
    if (!n || this.stopped) return;
    const now = this.clock.now();
    const linkRec = n.links.get(link);
    if (!linkRec) {
      n.links.set(link, { lastHeard: now, state: 'up' });
      this.emit({ type: 'link-state', node, link, state: 'up', prev: 'init', atMs: now });
    } else {
      linkRec.lastHeard = now;
      if (linkRec.state === 'dead') {
        linkRec.state = 'up';
        this.emit({ type: 'link-state', node, link, state: 'up', prev: 'dead', atMs: now });
      }
    }
    n.lastHeard = now;
    if (n.indirect) {
      n.indirect = undefined;
      this.emit({ type: 'reachability', node, direct: true, heardBy: [], atMs: now });
    }
    this.cancelCheck(n);

    let next = n.state;
    let reason: NodeStateReason = 'status';
    if (status) {
      if (status.dtMs !== undefined && status.dtMs > 0) n.peerDeadtimeMs = status.dtMs;
      if (n.lastStatusAt !== undefined) {
        const interval = now - n.lastStatusAt;
        if (interval > this.opts.warntimeMs) {
          n.lateHeartbeats++;
          this.emit({ type: 'late-heartbeat', node, intervalMs: interval, warntimeMs: this.opts.warntimeMs, atMs: now });
        }
      }
      n.lastStatusAt = now;
      if (status.st && NODE_STATES.includes(status.st) && status.st !== 'dead') {
        n.advertised = status.st as NodeState;
        next = n.advertised;
      }
    }
    if (n.state === 'dead' || n.state === 'init') {
      next = n.advertised ?? 'up';
      reason = 'heard';
    }
    this.setNode(n, next, reason, now);
    this.checkActive();
    this.rearm();
  }

  /** The node announced a graceful shutdown: dead now, no deadtime wait. */
  shutdown(node: string): void {
    const n = this.peers.get(node);
    if (!n) return;
    n.advertised = undefined;
    n.lastStatusAt = undefined;
    this.markDead(n, 'shutdown', this.clock.now());
    this.checkActive();
  }

  /** The node came back with a higher generation: everything it held is gone. */
  restarted(node: string): void {
    const n = this.peers.get(node);
    if (!n) return;
    n.restarts++;
    n.lastStatusAt = undefined;
    const now = this.clock.now();
    const prev = n.state;
    // Always reported, even without a state change: upper layers must learn
    // that the node lost whatever it held.
    this.emit({ type: 'node-state', node, state: prev === 'dead' || prev === 'init' ? 'up' : prev, prev, reason: 'restart', atMs: now });
    if (prev === 'dead' || prev === 'init') n.state = 'up';
  }

  snapshot(): NodeSnapshot[] {
    const now = this.clock.now();
    const self: NodeSnapshot = {
      name: this.opts.localNode,
      self: true,
      state: this.localState,
      lastHeardAgoMs: 0,
      deadtimeMs: this.opts.deadtimeMs,
      lateHeartbeats: 0,
      deaths: 0,
      restarts: 0,
      links: [...this.selfLinks].map(([name, l]) => ({ name, state: this.linkAlive(l, this.opts.deadtimeMs, now) ? 'up' : 'dead', lastHeardAgoMs: now - l.lastHeard })),
    };
    const peers = [...this.peers.values()].map<NodeSnapshot>((n) => ({
      name: n.name,
      self: false,
      state: n.state,
      lastHeardAgoMs: n.lastHeard === undefined ? null : now - n.lastHeard,
      deadtimeMs: this.deadtimeOf(n),
      lateHeartbeats: n.lateHeartbeats,
      deaths: n.deaths,
      restarts: n.restarts,
      links: [...n.links].map(([name, l]) => ({ name, state: l.state, lastHeardAgoMs: now - l.lastHeard })),
      ...(n.indirect ? { heardOnlyBy: [...n.indirect.heardBy] } : {}),
    }));
    return [self, ...peers];
  }

  private linkAlive(l: LinkRecord, deadtime: number, now: number): boolean {
    return now - l.lastHeard <= deadtime;
  }

  private deadtimeOf(n: NodeRecord): number {
    return n.peerDeadtimeMs ?? this.opts.deadtimeMs;
  }

  /** When this node's silence becomes fatal (Infinity when already dead). */
  private nodeDeadline(n: NodeRecord): number {
    if (n.state === 'dead' || n.check) return Infinity;
    if (n.indirect) return n.indirect.recheckAt;
    if (n.lastHeard === undefined) return this.startedAt + this.opts.initdeadMs;
    return n.lastHeard + this.deadtimeOf(n);
  }

  private rearm(): void {
    if (this.stopped || this.localState === 'init') return;
    let earliest = Infinity;
    for (const n of this.peers.values()) {
      earliest = Math.min(earliest, this.nodeDeadline(n));
      const dt = this.deadtimeOf(n);
      for (const l of n.links.values()) if (l.state === 'up') earliest = Math.min(earliest, l.lastHeard + dt);
    }
    // Deadlines only ever move later when frames arrive, so an armed timer
    // that is earlier than needed simply re-arms when it fires.
    if (earliest === Infinity || earliest >= this.scanAt) return;
    this.scanTimer?.cancel();
    this.scanAt = earliest;
    const dueAt = earliest + 0.5;
    this.scanTimer = this.clock.after(dueAt - this.clock.now(), () => {
      this.scanAt = Infinity;
      this.scan(dueAt);
    });
  }

  private expired(now: number): { nodes: NodeRecord[]; links: [NodeRecord, string, LinkRecord][] } {
    const nodes: NodeRecord[] = [];
    const links: [NodeRecord, string, LinkRecord][] = [];
    for (const n of this.peers.values()) {
      if (now > this.nodeDeadline(n)) nodes.push(n);
      const dt = this.deadtimeOf(n);
      for (const [name, l] of n.links) if (l.state === 'up' && now > l.lastHeard + dt) links.push([n, name, l]);
    }
    return { nodes, links };
  }

  private scan(dueAt: number): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const { nodes, links } = this.expired(now);
    if (nodes.length === 0 && links.length === 0) return this.rearm();
    // Ran late: this process was stalled, so the silence may be ours.
    const stalled = now - dueAt > this.settleMs;
    if (stalled) this.emit({ type: 'stall', lateMs: now - dueAt, atMs: now });
    if (!this.confirming) this.confirm(stalled ? this.stallGraceMs : this.settleMs, 0);
  }

  /**
   * Second look after `waitMs` (the settle period, or the stall grace). If
   * this timer itself ran late, the process was stalled and frames may be
   * waiting or lost: look again after the stall grace.
   */
  private confirm(waitMs: number, attempt: number): void {
    const dueAt = this.clock.now() + waitMs;
    this.confirming = this.clock.after(waitMs, () => {
      this.confirming = undefined;
      if (this.stopped) return;
      const now = this.clock.now();
      const late = now - dueAt;
      if (late > this.settleMs && attempt < 3) {
        this.emit({ type: 'stall', lateMs: late, atMs: now });
        this.confirm(this.stallGraceMs, attempt + 1);
        return;
      }
      const { nodes, links } = this.expired(now);
      for (const [n, name, l] of links) {
        l.state = 'dead';
        this.emit({ type: 'link-state', node: n.name, link: name, state: 'dead', prev: 'up', atMs: now });
      }
      for (const n of nodes) this.suspect(n, now);
      this.checkActive();
      this.rearm();
    });
  }

  /** A node's silence passed its deadline: cross-check if we can, else it is dead. */
  private suspect(n: NodeRecord, now: number): void {
    const reason: NodeStateReason = n.lastHeard === undefined ? 'initdead' : 'deadtime';
    const cc = this.opts.crossCheck;
    const askers = cc ? cc.askers(n.name).filter((a) => a !== n.name && this.peers.get(a)?.state !== 'dead') : [];
    if (!cc || askers.length === 0 || n.check) {
      if (!n.check) this.markDead(n, reason, now);
      return;
    }
    n.check = {
      expecting: new Set(askers),
      heardBy: [],
      timer: this.clock.after(cc.waitMs, () => this.resolveCheck(n)),
    };
    cc.ask(n.name);
  }

  /**
   * Another node's answer to our cross-check: when it last heard `node`
   * directly (null: not within its memory).
   */
  crossAnswer(from: string, node: string, heardAgoMs: number | null): void {
    const n = this.peers.get(node);
    const c = n?.check;
    if (!n || !c || !c.expecting.delete(from)) return;
    // Evidence of life is hearing it NOW, i.e. within the last couple of
    // heartbeats; "980 ms ago" with a 1 s deadtime only means the answerer
    // is about to lose it too (it is dead, the last frames simply reached the
    // nodes at slightly different times).
    const alive = Math.min(this.deadtimeOf(n), 2 * this.opts.keepaliveMs + 50);
    if (heardAgoMs !== null && heardAgoMs <= alive) c.heardBy.push(from);
    if (c.expecting.size === 0) this.resolveCheck(n);
  }

  /** What we answer when asked about `node`: how long ago WE heard it directly. */
  directlyHeardAgo(node: string): number | null {
    const n = this.peers.get(node);
    if (!n || n.lastHeard === undefined || n.state === 'dead') return null;
    return this.clock.now() - n.lastHeard;
  }

  private resolveCheck(n: NodeRecord): void {
    const c = n.check;
    if (!c || this.stopped) return;
    c.timer.cancel();
    n.check = undefined;
    const now = this.clock.now();
    if (n.lastHeard !== undefined && now <= n.lastHeard + this.deadtimeOf(n)) return this.rearm(); // heard meanwhile
    if (c.heardBy.length === 0) {
      this.markDead(n, n.lastHeard === undefined ? 'initdead' : 'deadtime', now);
      this.checkActive();
      return this.rearm();
    }
    const first = !n.indirect;
    // Ask again after another keepalive-ish period while only others hear it.
    n.indirect = { heardBy: c.heardBy, recheckAt: now + Math.max(this.opts.keepaliveMs, this.opts.crossCheck!.waitMs) };
    if (first) this.emit({ type: 'reachability', node: n.name, direct: false, heardBy: [...c.heardBy], atMs: now });
    this.rearm();
  }

  private cancelCheck(n: NodeRecord): void {
    n.check?.timer.cancel();
    n.check = undefined;
  }

  private markDead(n: NodeRecord, reason: NodeStateReason, now: number): void {
    if (n.state === 'dead') return;
    this.cancelCheck(n);
    n.indirect = undefined;
    for (const [name, l] of n.links) {
      if (l.state === 'up') {
        l.state = 'dead';
        this.emit({ type: 'link-state', node: n.name, link: name, state: 'dead', prev: 'up', atMs: now });
      }
    }
    n.deaths++;
    const silentMs = n.lastHeard === undefined ? now - this.startedAt : now - n.lastHeard;
    const prev = n.state;
    n.state = 'dead';
    this.emit({ type: 'node-state', node: n.name, state: 'dead', prev, reason, atMs: now, silentMs });
  }

  private setNode(n: NodeRecord, state: NodeState, reason: NodeStateReason, now: number): void {
    if (n.state === state) return;
    const prev = n.state;
    n.state = state;
    this.emit({ type: 'node-state', node: n.name, state, prev, reason, atMs: now });
  }

  private setLocal(state: 'init' | 'up' | 'active'): void {
    if (this.localState === state) return;
    this.localState = state;
    this.emit({ type: 'local-state', state, atMs: this.clock.now() });
  }

  /** Heartbeat's comm_now_up(): active once every node was heard from or declared dead. */
  private checkActive(): void {
    if (this.localState !== 'up') return;
    for (const n of this.peers.values()) if (n.state === 'init') return;
    this.setLocal('active');
  }
}
