// Heartbeat's R1 ("haresources") resource management protocol, so a mixed
// ringbeat/Heartbeat pair moves resources both ways (spec section 7;
// hb_resource.c and the rc.d/mach_down/req_resource scripts).
//
// Two modes, as Heartbeat's auto_failback setting selects:
// - nice_failback (auto_failback on|off): nodes exchange `starting` and
//   `resource rsc_hold=none|local|foreign|all isstable=0|1`; a node takes its
//   own (local) groups when the other side is stable and does not hold them,
//   or when a start-up deadlock times out; the three-phase standby protocol
//   (`ask_resources info=me|other|done`) moves groups on request
//   (`ringbeat standby`, hb_standby) and for auto_failback on.
// - legacy: each node asks for its own groups with `ip-request`; the holder
//   releases them and answers `ip-request-resp`.
// In both, a dead node's groups are taken over at once, starting with the IP
// (in-process: no shell chain), and a graceful stop hands everything over
// before `shutdone`.
//
// A node without haresources groups is passive: it never announces itself
// with `starting`, answers a peer's `starting` with "I hold nothing, stable"
// (what a Heartbeat peer needs to proceed) and reports deaths with `stonith`,
// nothing more. (R1 is a two-node protocol: in a larger membership-only
// cluster the full exchange would be chatter multiplied by every pair.)
//
// "local" groups are the ones whose preferred node (first word of the
// haresources line) is this node; "foreign" groups all others. Every message
// this node sends is also handled locally first, as Heartbeat's loopback does.

import type { Clock, TimerHandle } from '../core/clock';
import type { Logger } from '../core/log';
import type { AutoFailback } from '../config/config-data';
import type { ClusterMessage, MembershipEvent } from '../comm/events';
import { HaMessage } from '../wire/message';
import type { GroupResult } from './group-runner';

/** Heartbeat's rsc_hold bits: none=0, local=1, foreign=2, all=3. */
const NONE = 0;
const LOCAL = 1;
const FOREIGN = 2;
const ALL = 3;
const HOLD_NAMES = ['none', 'local', 'foreign', 'all'] as const;
type HoldName = (typeof HOLD_NAMES)[number];

function encodeHold(s: string | undefined): number {
  const i = HOLD_NAMES.indexOf((s ?? '') as HoldName);
  return i < 0 ? NONE : i;
}

/** The other side's view of a resource set (local <-> foreign). */
function swapped(bits: number): number {
  return bits === LOCAL ? FOREIGN : bits === FOREIGN ? LOCAL : bits;
}

type RState = 'init' | 'starting' | 'bothstarting' | 'rscrcvd' | 'stable' | 'shutdown';
type Standby = 'not' | 'me' | 'other' | 'done';

/** Heartbeat's standby timeouts: 10 s for the first reply, an hour for the whole operation. */
const STANDBY_INIT_MS = 10_000;
const STANDBY_RSC_MS = 3_600_000;

export interface ManagedGroup {
  key: string;
  /** Preferred node (lower-case). */
  node: string;
  start(): Promise<GroupResult>;
  stop(): Promise<GroupResult>;
}

export interface GroupView {
  key: string;
  node: string;
  /** What this node did last with it. */
  state: 'stopped' | 'starting' | 'running' | 'stopping' | 'failed' | 'stop-failed';
  error?: string;
  /** Monotonic ms of the last transition. */
  atMs?: number;
}

export interface R1Snapshot {
  mode: 'nice_failback' | 'legacy';
  autoFailback: AutoFailback;
  state: RState;
  holds: HoldName;
  otherHolds: HoldName;
  otherStable: boolean;
  standby: Standby;
  busy: boolean;
  groups: GroupView[];
}

export interface R1Deps {
  localNode: string;
  nodes: string[];
  autoFailback: AutoFailback;
  groups: ManagedGroup[];
  /** Sends a message to the cluster (not looped back: this class does that). */
  send(msg: HaMessage): void;
  clock: Clock;
  log: Logger;
  /** Start-up deadlock breaker (Heartbeat's RQSTDELAY, 10 s). */
  rqstDelayMs: number;
  /** Called after each group operation (status, benchmarks). */
  onGroupResult?(r: GroupResult): void;
}

export class R1Manager {
  private readonly nice: boolean;
  private rstate: RState = 'init';
  private iHold = NONE;
  private otherHolds = NONE;
  private otherStable = false;
  private standby: Standby = 'not';
  private standbyType = ALL;
  private standbyDeadline = 0;
  private takeoverInProgress = false;
  private needsFailback = false;
  private shuttingDown = false;
  private active = false;
  private readonly dead = new Set<string>();
  private readonly heard = new Set<string>();
  private rqstTimer?: TimerHandle;
  private failbackTimer?: TimerHandle;
  /** Group operations run one at a time, in order (Heartbeat runs one resource script chain at a time). */
  private ops: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly views = new Map<string, GroupView>();
  /** legacy: groups we asked for with ip-request. */
  private readonly requested = new Set<string>();

  private readonly passive: boolean;

  constructor(private readonly d: R1Deps) {
    this.nice = d.autoFailback !== 'legacy';
    this.passive = d.groups.length === 0;
    for (const g of d.groups) this.views.set(g.key, { key: g.key, node: g.node, state: 'stopped' });
  }

  // ---- inputs -------------------------------------------------------------

  onMembership(e: MembershipEvent): void {
    if (e.type === 'local-state' && e.state === 'active') return this.commUp();
    if (e.type !== 'node-state') return;
    if (e.state === 'dead') {
      this.dead.add(e.node);
      // A graceful shutdown is handled through its `shutdone` message.
      if (this.active && e.reason !== 'shutdown') this.recoverDead(e.node);
      return;
    }
    this.heard.add(e.node);
    if ((this.dead.delete(e.node) || e.reason === 'restart') && !this.passive) {
      // A node came back: tell it what we hold, so neither side starts
      // something the other runs. (Heartbeat restarts itself here.)
      this.sendResourcesHeld(this.rstate === 'stable');
      if (e.reason === 'restart') {
        this.otherHolds = NONE;
        this.otherStable = false;
      }
    }
  }

  onMessage(m: ClusterMessage): void {
    this.handle(m.type, new HaMessage(m.fields), m.from);
  }

  /** `ringbeat standby [all|local|foreign|failback]` (hb_standby). */
  requestStandby(what: string): string {
    if (this.passive) throw new Error('standby: this node has no resources (no haresources groups)');
    if (!this.nice) throw new Error('standby needs auto_failback on or off (nice_failback); this cluster runs legacy');
    const set = what === 'failback' ? 'foreign' : what;
    if (!['all', 'local', 'foreign'].includes(set)) throw new Error(`standby: '${what}' is not all, local, foreign or failback`);
    const refusal = this.standbyRefusal();
    if (refusal) throw new Error(`standby refused: ${refusal}`);
    this.d.log.info(`going standby [${set}]`);
    this.broadcast(new HaMessage().add('t', 'ask_resources').add('rsc_hold', set).add('info', 'me'));
    return `standby [${set}] requested`;
  }

  /** `ringbeat takeover [all|local|foreign]` (hb_takeover): the peer goes standby for us. */
  requestTakeover(what: string): string {
    if (this.passive) throw new Error('takeover: this node has no resources (no haresources groups)');
    if (!this.nice) throw new Error('takeover needs auto_failback on or off (nice_failback); this cluster runs legacy');
    if (!['all', 'local', 'foreign'].includes(what)) throw new Error(`takeover: '${what}' is not all, local or foreign`);
    if (this.peersAlive().length === 0) throw new Error('takeover refused: no live peer to take resources from');
    this.broadcast(new HaMessage().add('t', 'hb_takeover').add('rsc_hold', what));
    return `takeover [${what}] requested`;
  }

  /** Graceful stop: release everything, then `shutdone`. Resolves when done. */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.rqstTimer?.cancel();
    this.failbackTimer?.cancel();
    await this.ops; // let a running takeover or standby finish first
    if (this.passive) {
      this.broadcast(new HaMessage().add('t', 'shutdone').add('st', 'dead'));
      return;
    }
    this.iHold = NONE;
    this.rstate = 'shutdown';
    if (this.nice) this.broadcast(this.held(false, 'shutdown'));
    const running = [...this.d.groups].reverse();
    this.d.log.info('giving up all HA resources');
    const stopped = await this.run(() => this.stopGroups(running));
    if (stopped) this.d.log.info('all HA resources relinquished');
    else this.d.log.error('some resources could not be stopped (see above)');
    this.broadcast(new HaMessage().add('t', 'shutdone').add('st', 'dead'));
  }

  snapshot(): R1Snapshot {
    return {
      mode: this.nice ? 'nice_failback' : 'legacy',
      autoFailback: this.d.autoFailback,
      state: this.rstate,
      holds: HOLD_NAMES[this.iHold]!,
      otherHolds: HOLD_NAMES[this.otherHolds]!,
      otherStable: this.otherStable,
      standby: this.standby,
      busy: this.pending > 0,
      groups: [...this.views.values()].map((v) => ({ ...v })),
    };
  }

  // ---- start-up (comm_up_resource_action) --------------------------------

  private commUp(): void {
    if (this.active || this.shuttingDown) return;
    this.active = true;
    if (this.passive) {
      this.rstate = 'stable';
      for (const n of this.dead) this.recoverDead(n);
      return;
    }
    if (this.nice) {
      this.rstate = 'starting';
      this.broadcast(new HaMessage().add('t', 'starting'));
    } else {
      this.reqOurResources(false);
    }
    // Nodes already declared dead (never heard since start): take over now.
    for (const n of this.dead) this.recoverDead(n);
  }

  // ---- message dispatch ------------------------------------------------------

  private handle(t: string, msg: HaMessage, from: string): void {
    const fromMe = from === this.d.localNode;
    switch (t) {
      case 'starting':
        if (!fromMe) this.onStarting();
        return;
      case 'resource':
        return this.onResource(msg, fromMe);
      case 'ask_resources':
        return this.onAskResources(msg, from, fromMe);
      case 'hb_takeover': {
        if (fromMe || !this.nice) return;
        // rc.d/hb_takeover: the requester wants its set; we go standby for it.
        const want = msg.get('rsc_hold') ?? 'all';
        const mine = want === 'local' ? 'foreign' : want === 'foreign' ? 'local' : 'all';
        try {
          this.requestStandby(mine);
        } catch (e) {
          this.d.log.warn(`hb_takeover from ${from} not honoured: ${(e as Error).message}`);
        }
        return;
      }
      case 'shutdone':
        if (!fromMe) this.onPeerShutdone(from);
        return;
      case 'ip-request':
        if (!fromMe) this.onIpRequest(msg, from);
        return;
      case 'ip-request-resp':
        return this.onIpRequestResp(msg);
      case 'stonith':
        if (!fromMe) this.d.log.info(`node ${from} reports STONITH of ${msg.get('node')}: ${msg.get('result')}`);
        return;
    }
  }

  /** The other side starts and asks what we hold. */
  private onStarting(): void {
    if (!this.nice) return;
    if (this.passive) {
      if (this.active) this.d.send(this.held(true));
      return;
    }
    switch (this.rstate) {
      case 'rscrcvd':
      case 'stable':
      case 'shutdown':
        break;
      case 'starting':
        this.rstate = 'bothstarting';
        break;
      default:
        this.d.log.debug(1, `'starting' received in state ${this.rstate}: ignored`);
        return;
    }
    this.otherStable = false;
    this.sendResourcesHeld(this.rstate === 'stable');
  }

  private onResource(msg: HaMessage, fromMe: boolean): void {
    if (!this.nice || this.passive) return;
    const n = encodeHold(msg.get('rsc_hold'));
    const full = msg.get('rtype') === 'full';
    if (this.rstate === 'starting' || this.rstate === 'bothstarting') this.setRstate('rscrcvd');
    if (!['rscrcvd', 'stable', 'shutdown'].includes(this.rstate)) {
      this.d.log.debug(1, `'resource' received in state ${this.rstate}: ignored`);
      return;
    }
    if (!fromMe) {
      this.otherHolds = full ? n : n === NONE ? NONE : n | this.otherHolds;
      const stable = msg.get('isstable');
      if (stable === '1') {
        if (!this.otherStable) {
          this.d.log.info('remote resource transition completed');
          this.otherStable = true;
          this.sendResourcesHeld(this.rstate === 'stable');
          this.performAutoFailback();
        }
      } else if (stable !== undefined) {
        this.otherStable = false;
      }
      if (this.rstate !== 'stable' && this.rstate !== 'shutdown' && this.otherStable) {
        this.reqOurResources(false);
        this.setRstate('stable');
        this.sendResourcesHeld(true);
        this.performAutoFailback();
      }
      this.audit();
      return;
    }
    const info = msg.get('info');
    if (info === 'mach_down') {
      this.takeoverInProgress = false;
      this.iHold |= FOREIGN;
      this.needsFailback = true;
      this.otherStable = true;
    } else if (info === 'shutdown') {
      this.setRstate('shutdown');
    }
  }

  // ---- taking resources ------------------------------------------------------

  /** Our own groups (req_our_resources). */
  private reqOurResources(getThemAnyway: boolean): void {
    if (this.shuttingDown) return;
    if (this.nice) {
      if (((this.otherHolds & FOREIGN) !== 0 || (this.iHold & LOCAL) !== 0) && !getThemAnyway) {
        if (this.standby === 'not') this.d.log.info('local resource acquisition completed (none needed)');
        return;
      }
      this.iHold |= LOCAL;
    }
    const local = this.d.groups.filter((g) => g.node === this.d.localNode);
    const alone = this.peersAlive().length === 0;
    if (!this.nice && !alone) {
      // legacy: ask the holder to give each group up first.
      for (const g of local) {
        this.requested.add(g.key);
        this.broadcast(new HaMessage().add('t', 'ip-request').add('ipaddr', g.key));
      }
      return;
    }
    void this.run(async () => {
      await this.startGroups(local);
      if (local.length === 0) this.d.log.info('no local resources to acquire');
      else this.d.log.info('local resource acquisition completed');
      if (this.nice) this.broadcast(this.held(true, 'req_our_resources()'));
    });
  }

  /** A node died: announce it and take over (hb_rsc_recover_dead_resources). */
  private recoverDead(node: string): void {
    if (this.shuttingDown) return;
    if (this.standby !== 'not') {
      this.d.log.info('cancelling pending standby operation');
      this.standby = 'not';
      this.standbyDeadline = 0;
      if (!this.otherStable && (this.iHold & ALL) === ALL) this.otherStable = true;
    }
    this.needsFailback = true;
    // A node we never heard from might hold anything.
    const needFence = !this.heard.has(node) || (this.nice ? this.otherHolds !== NONE : true);
    // No fencing device yet: Heartbeat reports n_stnth (needed, not configured) or unneeded.
    this.broadcast(new HaMessage().add('t', 'stonith').add('node', node).add('result', needFence ? 'n_stnth' : 'unneeded'));
    if (this.passive) return;
    if (needFence) {
      this.d.log.warn(`node ${node} may hold resources and no STONITH device is configured; taking over after deadtime`);
      return this.takeoverFrom(node);
    }
    this.d.log.info(`dead node ${node} gave up its resources`);
    if (!this.nice) return this.takeoverFrom(node);
    if ((this.iHold & ALL) === ALL) {
      this.otherStable = true;
      return;
    }
    if (!(this.iHold & LOCAL)) this.reqOurResources(true);
    if (!(this.iHold & FOREIGN)) this.takeoverFrom(node);
  }

  /** Take the groups preferred by `node` (mach_down), then make sure of ours. */
  private takeoverFrom(node: string): void {
    if (this.shuttingDown) return;
    this.d.log.info(`resources being acquired from ${node}`);
    if (this.nice) {
      this.iHold |= FOREIGN;
      this.otherHolds = NONE;
      this.otherStable = true;
      this.takeoverInProgress = true;
    }
    // With more than two nodes, one survivor takes them: the first live node by name.
    const taker = [this.d.localNode, ...this.peersAlive()].sort()[0];
    const groups = taker === this.d.localNode ? this.d.groups.filter((g) => g.node === node) : [];
    void this.run(async () => {
      await this.startGroups(groups);
      this.d.log.info(`mach_down takeover complete for node ${node}`);
      if (this.nice) this.broadcast(new HaMessage().add('t', 'resource').add('rsc_hold', 'foreign').add('info', 'mach_down'));
    });
    this.reqOurResources(true);
  }

  /** The other side shut down gracefully: take everything at once. */
  private onPeerShutdone(from: string): void {
    this.d.log.info(`received shutdown notice from ${from}`);
    this.dead.add(from);
    this.otherStable = true;
    this.otherHolds = NONE;
    if (this.shuttingDown || this.iHold === ALL) return;
    const missing = this.d.groups.filter((g) => g.node === from || g.node === this.d.localNode);
    this.iHold = this.nice ? ALL : this.iHold;
    void this.run(async () => {
      await this.startGroups(missing);
      if (this.nice) {
        this.setRstate('stable');
        this.broadcast(this.held(true));
      }
    });
  }

  // ---- standby (ask_for_resources / go_standby) --------------------------------

  private standbyRefusal(): string | undefined {
    const now = this.d.clock.now();
    if (this.standby !== 'not' && now < this.standbyDeadline) return 'a standby is already in progress';
    if (this.takeoverInProgress || this.pending > 0) return 'a resource operation is in progress';
    if (!this.otherStable) return 'the other side is in flux (not stable)';
    if (this.rstate !== 'stable') return 'local resources are in flux';
    if (this.peersAlive().length === 0) return 'no live peer to hand resources to';
    return undefined;
  }

  private onAskResources(msg: HaMessage, from: string, fromMe: boolean): void {
    if (!this.nice || this.rstate === 'shutdown') return;
    const info = msg.get('info') ?? '';
    const rtype = msg.has('rsc_hold') ? encodeHold(msg.get('rsc_hold')) : ALL;
    const now = this.d.clock.now();
    if (this.standbyDeadline && now > this.standbyDeadline && this.standby !== 'not') {
      this.d.log.warn(`standby operation timed out in state ${this.standby}`);
      this.standby = 'not';
      this.standbyDeadline = 0;
    }
    if (this.standbyDeadline && now < this.standbyDeadline && info === 'me') {
      this.d.log.warn(`standby in progress: new request from ${from} ignored`);
      return;
    }
    let ignored = false;
    switch (this.standby) {
      case 'not':
        if (!this.otherStable) return this.d.log.warn(`standby message [${info}] from ${from} ignored: other side is in flux`);
        if (this.rstate !== 'stable') return this.d.log.warn(`standby message [${info}] from ${from} ignored: local resources in flux`);
        this.standbyType = rtype;
        if (info !== 'me') {
          ignored = true;
          break;
        }
        this.otherStable = false;
        this.d.log.info(`${from} wants to go standby [${HOLD_NAMES[rtype]}]`);
        if (fromMe) {
          this.standby = 'me';
          this.standbyDeadline = now + STANDBY_INIT_MS;
        } else {
          this.standby = 'other';
          this.standbyDeadline = now + STANDBY_RSC_MS;
          this.broadcast(this.standbyMsg('other'));
        }
        break;
      case 'me':
        if (!fromMe) {
          this.standbyType = rtype;
          this.standbyDeadline = now + STANDBY_RSC_MS;
          if (info === 'other') {
            this.d.log.info(`standby: ${from} can take our ${HOLD_NAMES[rtype]} resources`);
            this.goStandby('me', rtype);
          } else ignored = true;
        } else if (info === 'done') {
          this.d.log.info(`local standby process completed [${HOLD_NAMES[rtype]}]`);
          this.standby = 'done';
          this.iHold &= ~this.standbyType;
          this.standbyDeadline = now + STANDBY_RSC_MS;
        } else ignored = info !== 'me';
        break;
      case 'other':
        this.standbyType = rtype;
        if (info === 'done') {
          this.standbyDeadline = now + STANDBY_RSC_MS;
          if (!fromMe) {
            this.d.log.info(`standby: acquire [${HOLD_NAMES[rtype]}] resources from ${from}`);
            this.standby = 'done';
            this.goStandby('other', this.standbyType);
          } else ignored = true;
        } else if (!fromMe || info !== 'other') ignored = true;
        break;
      case 'done':
        this.standbyType = rtype;
        if (info !== 'done') {
          ignored = true;
          break;
        }
        this.standby = 'not';
        this.standbyDeadline = 0;
        if (fromMe) {
          this.d.log.info(`standby resource acquisition done [${HOLD_NAMES[rtype]}]`);
          this.iHold |= swapped(rtype);
        } else {
          this.d.log.info(`other node completed standby takeover of ${HOLD_NAMES[rtype]} resources`);
        }
        this.otherStable = true;
        this.broadcast(this.held(true));
        break;
    }
    if (ignored) this.d.log.debug(1, `ignored standby message '${info}' from ${from} in state ${this.standby}`);
  }

  /** Give up (ME) or acquire (OTHER) a resource set, then say `done`. */
  private goStandby(who: 'me' | 'other', set: number): void {
    let act: number;
    if (set === FOREIGN) act = who === 'me' ? FOREIGN : LOCAL;
    else if (set === LOCAL) act = who === 'me' ? LOCAL : FOREIGN;
    else act = ALL;
    const groups = this.d.groups.filter((g) => {
      const local = g.node === this.d.localNode;
      return act === ALL || (act === LOCAL ? local : !local);
    });
    if (who === 'me') {
      this.otherStable = false;
      this.iHold &= ~set;
      this.broadcast(this.held(false, 'standby'));
    }
    void this.run(async () => {
      const ok = who === 'me' ? await this.stopGroups([...groups].reverse()) : await this.startGroups(groups);
      if (who === 'me' && !ok) {
        // Never say `done` with a resource still running: the peer would start it too.
        this.d.log.error('standby aborted: a resource could not be stopped');
        this.standby = 'not';
        this.standbyDeadline = 0;
        return;
      }
      this.d.log.info(`${HOLD_NAMES[act]} HA resource ${who === 'me' ? 'release' : 'acquisition'} completed (standby)`);
      this.broadcast(this.standbyMsg('done'));
    });
  }

  private standbyMsg(info: 'other' | 'done'): HaMessage {
    return new HaMessage().add('t', 'ask_resources').add('rsc_hold', HOLD_NAMES[this.standbyType]!).add('info', info);
  }

  /** auto_failback on: hand foreign groups back to their preferred node once both sides are stable. */
  private performAutoFailback(): void {
    this.failbackTimer?.cancel();
    if (this.shuttingDown || !(this.iHold & FOREIGN) || !this.needsFailback || this.d.autoFailback !== 'on') {
      this.needsFailback = false;
      return;
    }
    if (this.standby !== 'not' || !this.otherStable || this.rstate !== 'stable' || this.pending > 0) {
      this.failbackTimer = this.d.clock.after(1000, () => this.performAutoFailback());
      return;
    }
    this.d.log.info('auto failback: giving foreign resources back');
    this.needsFailback = false;
    this.standbyType = FOREIGN;
    this.broadcast(new HaMessage().add('t', 'ask_resources').add('rsc_hold', 'foreign').add('info', 'me'));
  }

  // ---- legacy ip-request -----------------------------------------------------

  private onIpRequest(msg: HaMessage, from: string): void {
    const key = msg.get('ipaddr');
    const g = this.d.groups.find((x) => x.key === key);
    if (!key || !g) return;
    const view = this.views.get(key)!;
    const weOwn = view.state === 'running' || view.state === 'starting';
    void this.run(async () => {
      if (weOwn) await this.stopGroups([g]);
      this.broadcast(
        new HaMessage().add('t', 'ip-request-resp').add('dest', from).add('ipaddr', key).add('weown', weOwn ? 'yes' : 'no').add('ok', 'OK'),
      );
    });
  }

  private onIpRequestResp(msg: HaMessage): void {
    if (msg.get('dest')?.toLowerCase() !== this.d.localNode || msg.get('ok') !== 'OK') return;
    const key = msg.get('ipaddr');
    const g = this.d.groups.find((x) => x.key === key);
    // Only legacy mode asks with ip-request (nice_failback never needs the answer).
    if (this.nice || !g || !key || !this.requested.delete(key)) return;
    void this.run(() => this.startGroups([g]).then(() => undefined));
  }

  // ---- plumbing ------------------------------------------------------------------

  /** Sends a message to the cluster and handles our own copy first (Heartbeat's loopback order). */
  private broadcast(msg: HaMessage): void {
    const t = msg.get('t') ?? '';
    this.handle(t, msg.clone(), this.d.localNode);
    this.d.send(msg);
  }

  private held(stable: boolean, comment?: string): HaMessage {
    const m = new HaMessage()
      .add('t', 'resource')
      .add('rsc_hold', HOLD_NAMES[this.iHold]!)
      .add('rtype', 'full')
      .add('isstable', stable ? '1' : '0');
    if (comment) m.add('info', comment);
    return m;
  }

  private sendResourcesHeld(stable: boolean, comment?: string): void {
    if (this.nice && this.active) this.broadcast(this.held(stable, comment));
  }

  private setRstate(s: RState): void {
    if (this.rstate === s) return;
    this.rstate = s;
    if (s === 'rscrcvd' && !this.rqstTimer) {
      // Both sides waiting for the other to become stable: after RQSTDELAY
      // each takes only its own unclaimed groups, which is always safe.
      this.rqstTimer = this.d.clock.after(this.d.rqstDelayMs, () => {
        this.rqstTimer = undefined;
        if (this.rstate === 'stable' || this.rstate === 'shutdown' || this.shuttingDown) return;
        this.d.log.info('no stable peer after the start-up delay: acquiring local resources');
        this.reqOurResources(false);
        this.setRstate('stable');
        this.sendResourcesHeld(true);
      });
    }
  }

  private peersAlive(): string[] {
    return this.d.nodes.filter((n) => n !== this.d.localNode && !this.dead.has(n));
  }

  /** Heartbeat's AuditResources(): both sides claiming the same set is logged loudly. */
  private audit(): void {
    if ((this.iHold & LOCAL) && (this.otherHolds & FOREIGN)) this.d.log.error('both machines own our resources!');
    if ((this.otherHolds & LOCAL) && (this.iHold & FOREIGN)) this.d.log.error('both machines own foreign resources!');
  }

  /** Queues a group operation behind the running ones. */
  private run<T>(op: () => Promise<T>): Promise<T> {
    this.pending++;
    const p = this.ops.then(op);
    this.ops = p.then(
      () => void this.pending--,
      (e: Error) => {
        this.pending--;
        this.d.log.error(`resource operation failed: ${e.message}`);
      },
    );
    return p;
  }

  /** Starts groups that are not running; true if all run afterwards. */
  private async startGroups(groups: ManagedGroup[]): Promise<boolean> {
    let ok = true;
    for (const g of groups) {
      const v = this.views.get(g.key)!;
      if (v.state === 'running') continue;
      this.setView(v, 'starting');
      const r = await g.start();
      this.d.onGroupResult?.(r);
      if (r.ok) this.setView(v, 'running');
      else {
        ok = false;
        const why = r.failed ? `${r.failed.id}: ${r.failed.error}` : 'start failed';
        this.setView(v, r.stopFailed.length ? 'stop-failed' : 'failed', why);
        this.d.log.error(`resource group ${g.key} failed to start (${why})${r.rolledBack ? '; the group was stopped again' : ''}`);
      }
    }
    return ok;
  }

  /** Stops groups (in the order given); true if all are stopped afterwards. */
  private async stopGroups(groups: ManagedGroup[]): Promise<boolean> {
    let ok = true;
    for (const g of groups) {
      const v = this.views.get(g.key)!;
      if (v.state === 'stopped') continue;
      this.setView(v, 'stopping');
      const r = await g.stop();
      this.d.onGroupResult?.(r);
      if (r.ok) this.setView(v, 'stopped');
      else {
        ok = false;
        const why = r.stopFailed.map((f) => `${f.id}: ${f.error}`).join('; ') || 'stop failed';
        this.setView(v, 'stop-failed', why);
        this.d.log.error(`resource group ${g.key} could not be stopped (${why}): this node must not hand it over`);
      }
    }
    return ok;
  }

  private setView(v: GroupView, state: GroupView['state'], error?: string): void {
    v.state = state;
    v.atMs = this.d.clock.now();
    if (error) v.error = error;
    else delete v.error;
  }
}
