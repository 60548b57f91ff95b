// The heartbeat protocol engine: Heartbeat 3.0.6's master control process
// reduced to what the wire needs, on injected media and an injected clock.
//
// Send path: control fields (spec 1.5) -> sign once -> history -> every medium
// (netstring on UDP, classic on serial). Receive path: decode + verify ->
// origin lookup -> (sha256) anti-replay -> seq tracking (4.2) -> liveness ->
// protocol messages handled here (status, NS_ackmsg, NS_rexmit,
// NS_nak_rexmit, reqnodes, shutdone) -> everything else to the layers above.
// Every dropped frame is counted by reason, per medium.

import type { Clock, TimerHandle } from '../core/clock';
import type { Logger } from '../core/log';
import type { ClusterConfig } from '../config/config-data';
import type { Medium, MediumStats } from '../media/medium';
import { Authenticator } from '../wire/auth';
import { decodeSerialFrame, decodeUdp, encodeForSerial, encodeForUdp, signClassic } from '../wire/frame';
import { HaMessage, type DropReason } from '../wire/message';
import type { ClusterMessage, MembershipEvent } from './events';
import type { Identity } from './identity';
import { Liveness, type NodeSnapshot } from './liveness';
import { ReplayWindow, type ReplayVerdict } from './replay-window';
import { RelayFilter } from './relay-filter';
import { SeqTrack } from './seqtrack';
import { ACK_BACKLOG_LIMIT, MAX_REXMIT_BATCH, XmitHistory } from './xmit-history';

export type DropCounts = Record<DropReason, number>;

export interface EngineDeps {
  config: ClusterConfig;
  identity: Identity;
  clock: Clock;
  media: Medium[];
  log: Logger;
  /** Membership decisions, in order. */
  emit(e: MembershipEvent): void;
  /** Cluster messages for the layers above. */
  deliver(m: ClusterMessage): void;
  /** First line of /proc/loadavg (Heartbeat's `ld`); cached by the caller. */
  loadavg(): string;
  random?: () => number;
  /** Highest generation per peer from earlier runs (sha256 anti-replay). */
  replayFloors?: Record<string, number>;
  /** Called when the anti-replay floors changed (to persist them). */
  persistFloors?(floors: Record<string, number>): void;
}

interface PeerState {
  name: string;
  track: SeqTrack;
  uuid?: Buffer;
  /** Missing seqs we asked (or will ask) for, with the number of requests so far. */
  rexmitTries: Map<number, number>;
  /** The next request cycle for this peer. */
  rexmitTimer?: TimerHandle;
  /** It advertised ringbeat capabilities (answers cross-checks). */
  ringbeat: boolean;
}

export interface EngineSnapshot {
  node: string;
  generation: number;
  uuid: string;
  seq: number;
  localState: 'init' | 'up' | 'active';
  uptimeMs: number;
  nodes: (NodeSnapshot & { generation?: number; lastSeq?: number; missing?: number; ackedByPeer?: number })[];
  media: (MediumStats & { drops: Partial<DropCounts> })[];
  drops: Partial<DropCounts>;
  tx: { messages: number; statuses: number; rexmitRequests: number; rexmitsSent: number; naksSent: number; acksSent: number; crossChecks: number };
  /** count/maxLateMs/lastLateMs: stalls over 50 ms; maxTickLateMs: worst lateness of any keepalive tick. */
  stalls: { count: number; maxLateMs: number; lastLateMs: number; maxTickLateMs: number };
}

/** Frame-level issues are logged at most this often per (medium, reason). */
const DROP_LOG_INTERVAL_MS = 5000;
/** A keepalive tick later than this is reported as a stall of the heartbeat path. */
const STALL_REPORT_MS = 50;
const MAX_REXMIT_TRIES = 10;
/** NS_rexmit messages per peer per request cycle (each covers a range of up to 50 seqs). */
const MAX_REXMIT_REQUESTS_PER_CYCLE = 4;
/** ringbeat's cross-check question and answer (NS_: unsequenced; Heartbeat ignores unknown types). */
const XCHECK_QUERY = 'NS_rb_xq';
const XCHECK_ANSWER = 'NS_rb_xa';
/** Capabilities a ringbeat node advertises in its status messages. */
const CAPABILITIES = 'xcheck';

const hex = (n: number): string => n.toString(16);

export class Engine {
  private readonly cfg: ClusterConfig;
  private readonly auth: Authenticator;
  private readonly liveness: Liveness;
  private readonly history = new XmitHistory();
  private readonly peers = new Map<string, PeerState>();
  private readonly uuidToNode = new Map<string, string>();
  private readonly replay?: ReplayWindow;
  private readonly dropsByMedium = new Map<string, Partial<DropCounts>>();
  private readonly lastDropLog = new Map<string, { at: number; suppressed: number }>();
  private readonly random: () => number;
  private readonly serialMedia: Medium[];
  private readonly relayFilter = new RelayFilter();
  private seq = 0;
  private authCounter = 0;
  private keepaliveTimer?: TimerHandle;
  private startedAt = 0;
  private stopped = false;
  private backlogWarned = false;
  private readonly tx = { messages: 0, statuses: 0, rexmitRequests: 0, rexmitsSent: 0, naksSent: 0, acksSent: 0, crossChecks: 0 };
  private readonly stalls = { count: 0, maxLateMs: 0, lastLateMs: 0, maxTickLateMs: 0 };

  constructor(private readonly deps: EngineDeps) {
    this.cfg = deps.config;
    this.auth = new Authenticator(deps.config.auth);
    this.random = deps.random ?? Math.random;
    const c = this.cfg;
    this.liveness = new Liveness(
      {
        localNode: c.localNode,
        nodes: c.nodes,
        keepaliveMs: c.keepaliveMs,
        deadtimeMs: c.deadtimeMs,
        warntimeMs: c.warntimeMs,
        initdeadMs: c.initdeadMs,
        crossCheck:
          c.crossCheckWaitMs > 0 && c.nodes.length >= 3
            ? {
                waitMs: c.crossCheckWaitMs,
                askers: (suspect) =>
                  [...this.peers.values()]
                    .filter((p) => p.ringbeat && p.name !== suspect && this.liveness.stateOf(p.name) !== 'dead')
                    .map((p) => p.name),
                ask: (suspect) => {
                  this.tx.crossChecks++;
                  this.send(new HaMessage().add('t', XCHECK_QUERY).add('node', suspect));
                },
              }
            : undefined,
      },
      deps.clock,
      (e) => this.onMembership(e),
    );
    for (const n of c.nodes) {
      if (n === c.localNode) continue;
      this.peers.set(n, { name: n, track: new SeqTrack(Math.floor(this.random() * 10)), rexmitTries: new Map(), ringbeat: false });
    }
    if (this.auth.outboundMethod === 'sha256') this.replay = new ReplayWindow(deps.replayFloors);
    this.serialMedia = deps.media.filter((m) => m.kind === 'serial');
  }

  start(): void {
    const { clock, media } = this.deps;
    this.startedAt = clock.now();
    for (const m of media) {
      m.start({
        onFrame: (frame) => this.onFrame(m, frame),
        onDrop: (reason, detail) => this.drop(m, reason, detail),
        onState: (state, detail) => {
          if (state === 'down') this.deps.log.warn(`medium ${m.name} down: ${detail}`);
          else if (state === 'up') {
            this.deps.log.info(`medium ${m.name} up${detail ? `: ${detail}` : ''}`);
            // A serial port opens asynchronously: the start-up statuses were
            // dropped on it. Announce ourselves at once instead of a keepalive later.
            if (this.startedAt > 0) this.sendStatus();
          }
        },
      });
    }
    // Heartbeat announces init, then up as soon as its media run.
    this.sendStatus('init');
    this.liveness.start();
    this.sendStatus();
    this.keepaliveTimer = clock.every(this.cfg.keepaliveMs, (lateMs) => {
      // Every tick's lateness is this process's own scheduling delay (GC,
      // CPU starvation): keep the worst, report the big ones.
      this.stalls.maxTickLateMs = Math.max(this.stalls.maxTickLateMs, lateMs);
      if (lateMs > STALL_REPORT_MS) this.noteStall(lateMs);
      this.sendStatus();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.keepaliveTimer?.cancel();
    this.liveness.stop();
    for (const p of this.peers.values()) this.cancelRexmits(p);
    await Promise.all(this.deps.media.map((m) => m.stop()));
  }

  /** Sends a cluster message from the layers above (resource protocol etc.). */
  send(msg: HaMessage): void {
    if (this.stopped) return;
    this.transmit(msg);
  }

  get localState(): 'init' | 'up' | 'active' {
    return this.liveness.local;
  }

  snapshot(): EngineSnapshot {
    const now = this.deps.clock.now();
    const totals: Partial<DropCounts> = {};
    for (const counts of this.dropsByMedium.values()) {
      for (const [r, n] of Object.entries(counts)) totals[r as DropReason] = (totals[r as DropReason] ?? 0) + (n ?? 0);
    }
    return {
      node: this.cfg.localNode,
      generation: this.deps.identity.generation,
      uuid: this.deps.identity.uuid.toString('hex'),
      seq: this.seq,
      localState: this.liveness.local,
      uptimeMs: now - this.startedAt,
      nodes: this.liveness.snapshot().map((n) => {
        const p = this.peers.get(n.name);
        if (!p) return n;
        return {
          ...n,
          generation: p.track.generation >= 0 ? p.track.generation : undefined,
          lastSeq: p.track.lastSeq,
          missing: p.track.missingSeqs().length,
          ackedByPeer: this.history.ackedBy(p.name),
        };
      }),
      media: this.deps.media.map((m) => ({ ...m.stats(), drops: { ...(this.dropsByMedium.get(m.name) ?? {}) } })),
      drops: totals,
      tx: { ...this.tx },
      stalls: { ...this.stalls },
    };
  }

  // ---- send path ----------------------------------------------------------

  private sendStatus(st?: 'init' | 'up' | 'active'): void {
    if (this.stopped) return;
    const msg = new HaMessage()
      .add('t', 'status')
      .add('st', st ?? this.liveness.local)
      .add('dt', hex(this.cfg.deadtimeMs))
      .add('protocol', '1')
      // Heartbeat reads status fields by name and ignores this one.
      .add('rbcap', CAPABILITIES);
    this.tx.statuses++;
    this.transmit(msg);
  }

  /** Adds Heartbeat's control fields (spec 1.5, add_control_msg_fields()) in its order. */
  private addControlFields(msg: HaMessage): void {
    const c = this.cfg;
    const t = msg.get('t') ?? '';
    const ns = t.startsWith('NS_');
    const dest = msg.get('dest');
    if (dest !== undefined) {
      const du = this.peers.get(dest)?.uuid;
      if (du && !msg.has('destuuid')) msg.addBinary('destuuid', du);
    }
    if (!(ns && msg.has('src'))) msg.set('src', c.localNode);
    if (!(ns && msg.has('srcuuid'))) msg.setBinary('srcuuid', this.deps.identity.uuid);
    if (!ns) msg.set('seq', hex(++this.seq));
    msg.set('hg', hex(this.deps.identity.generation));
    msg.set('ts', hex(Math.floor(this.deps.clock.wallMs() / 1000)));
    if (!ns) msg.set('ld', this.deps.loadavg());
    msg.set('ttl', String(c.nodes.length + c.hopfudge));
    if (this.replay) msg.set('ac', hex(++this.authCounter));
  }

  private transmit(msg: HaMessage): void {
    this.addControlFields(msg);
    signClassic(msg, this.auth);
    const seq = msg.get('t')?.startsWith('NS_') ? 0 : this.seq;
    if (seq) {
      this.history.add(seq, msg, this.deps.clock.now());
      this.checkBacklog();
    }
    this.tx.messages++;
    this.broadcast(msg);
  }

  /** Encodes once per format and writes to every medium. */
  private broadcast(msg: HaMessage): void {
    let udp: Buffer | undefined;
    let serial: Buffer | undefined;
    for (const m of this.deps.media) {
      if (m.format === 'netstring') {
        udp ??= encodeForUdp(msg, this.auth, { innerAuth: this.cfg.msgfmt === 'classic' });
        m.send(udp);
      } else {
        serial ??= encodeForSerial(msg, this.auth);
        m.send(serial);
      }
    }
  }

  private checkBacklog(): void {
    const backlog = this.history.backlog(this.liveness.livePeers());
    if (backlog > ACK_BACKLOG_LIMIT && !this.backlogWarned) {
      this.backlogWarned = true;
      this.deps.log.warn(`send history filling up: ${backlog} messages not acknowledged by the slowest peer`);
    } else if (backlog < ACK_BACKLOG_LIMIT / 2) {
      this.backlogWarned = false;
    }
  }

  // ---- receive path ---------------------------------------------------------

  private onFrame(medium: Medium, frame: Buffer): void {
    if (this.stopped) return;
    const r = medium.format === 'netstring' ? decodeUdp(frame, this.auth) : decodeSerialFrame(frame, this.auth);
    if (!r.ok) return this.drop(medium, r.reason, r.detail);
    const msg = r.msg;
    const src = msg.get('src')?.toLowerCase();
    const t = msg.get('t');
    if (!src || !t) return this.drop(medium, 'bad-field', `missing ${src ? 't' : 'src'}`);
    if (src === this.cfg.localNode) {
      // Our own broadcast came back: our side of this medium works.
      this.liveness.heardSelf(medium.name);
      return;
    }
    const peer = this.peerFor(src, msg);
    if (!peer) return this.drop(medium, 'unknown-node', `src=${src}`);
    const hgText = msg.get('hg') ?? '0';
    const hg = Number.parseInt(hgText, 16);
    if (!/^[0-9a-fA-F]+$/.test(hgText) || !Number.isSafeInteger(hg)) return this.drop(medium, 'bad-field', `hg=${hgText}`);
    const ts = Number.parseInt(msg.get('ts') ?? '', 16);
    if (!(ts > 0)) return this.drop(medium, 'bad-field', `ts=${msg.get('ts') ?? '(none)'}`);

    let replayVerdict: ReplayVerdict = 'ok';
    if (this.replay) {
      const ac = Number.parseInt(msg.get('ac') ?? '', 16);
      const knownGeneration = this.replay.generationOf(src);
      replayVerdict = this.replay.check(src, hg, ac);
      // Persist every new generation at once: after our own restart, frames
      // of that generation (or older) recorded by an attacker are replays.
      if (replayVerdict === 'ok' && knownGeneration !== hg) this.persistReplayFloors();
      if (replayVerdict === 'replay') return this.drop(medium, 'replay', `${src} hg=${hex(hg)} ac=${msg.get('ac') ?? '(none)'}`);
    }
    // The ring relay sees every authentic frame of another node, also ones
    // that are duplicates for us (we may have heard them on UDP first: the
    // next node on the ring may have no UDP at all).
    if (medium.kind === 'serial' && this.serialMedia.length > 1 && !(hg < peer.track.generation)) this.relay(medium, msg, src, t, hg);
    if (replayVerdict === 'duplicate') {
      this.liveness.heard(src, medium.name);
      return this.drop(medium, 'duplicate', `${src} hg=${hex(hg)} ac=${msg.get('ac') ?? '(none)'}`);
    }

    const dest = msg.get('dest');
    const forUs = dest === undefined || dest.toLowerCase() === this.cfg.localNode;

    if (t.startsWith('NS_')) {
      // Control messages carry no seq (spec 4.2 rule 1).
      if (peer.track.generation >= 0 && hg < peer.track.generation) {
        return this.drop(medium, 'replay', `${t} from ${src} hg=${hex(hg)} < ${hex(peer.track.generation)}`);
      }
      this.liveness.heard(src, medium.name);
      if (!forUs) return this.drop(medium, 'not-for-us', `${t} dest=${dest}`);
      return this.handleControl(t, msg, peer);
    }

    const seqText = msg.get('seq') ?? '';
    const seq = Number.parseInt(seqText, 16);
    if (!/^[0-9a-fA-F]+$/.test(seqText) || !(seq > 0) || !Number.isSafeInteger(seq)) {
      return this.drop(medium, 'bad-seq', `seq=${seqText || '(none)'} from ${src}`);
    }
    const v = peer.track.receive(hg, seq);
    switch (v.kind) {
      case 'replay':
        return this.drop(medium, 'replay', `${src} hg=${hex(hg)} < ${hex(peer.track.generation)}`);
      case 'duplicate':
        this.liveness.heard(src, medium.name);
        return this.drop(medium, 'duplicate', `${src} seq=${seqText}`);
      case 'restart':
        this.deps.log.info(`node ${src} restarted (generation ${hex(v.previousGeneration)} -> ${hex(hg)})`);
        this.cancelRexmits(peer);
        this.history.forget(src);
        this.liveness.restarted(src);
        break;
      case 'gap':
        this.deps.log.debug(1, `${v.missing.length} lost packet(s) from ${src} [${v.missing[0]}..${v.missing[v.missing.length - 1]}]`);
        for (const s of v.missing) this.scheduleRexmit(peer, s);
        break;
      case 'filled':
        this.cancelRexmit(peer, seq);
        break;
      case 'accept':
        if (v.ack) this.sendAck(peer, seq);
        break;
    }
    if (t === 'status') {
      const st = msg.get('st');
      peer.ringbeat = (msg.get('rbcap') ?? '').split(',').includes('xcheck');
      const dtMs = Number.parseInt(msg.get('dt') ?? '', 16);
      this.liveness.heard(src, medium.name, { st, dtMs: Number.isFinite(dtMs) ? dtMs : undefined });
      this.history.track(src);
      if (st === 'dead') this.liveness.shutdown(src);
    } else {
      this.liveness.heard(src, medium.name);
    }
    if (!forUs) return this.drop(medium, 'not-for-us', `${t} dest=${dest}`);
    this.dispatch(t, msg, peer);
  }

  /** Finds the peer by srcuuid (learned) or name; learns the uuid. */
  private peerFor(src: string, msg: HaMessage): PeerState | undefined {
    const uuid = msg.getBinary('srcuuid');
    if (uuid) {
      const known = this.uuidToNode.get(uuid.toString('hex'));
      if (known && known !== src) {
        this.deps.log.warn(`uuid ${uuid.toString('hex')} moved from node ${known} to ${src}`);
      }
    }
    const peer = this.peers.get(src);
    if (!peer) return undefined;
    if (uuid && (!peer.uuid || !peer.uuid.equals(uuid))) {
      if (peer.uuid) this.deps.log.warn(`node ${src} changed its uuid`);
      peer.uuid = Buffer.from(uuid);
      this.uuidToNode.set(uuid.toString('hex'), src);
    }
    return peer;
  }

  private handleControl(t: string, msg: HaMessage, peer: PeerState): void {
    switch (t) {
      case 'NS_ackmsg': {
        const ackseq = Number.parseInt(msg.get('ackseq') ?? '', 16);
        if (ackseq > 0) this.history.ack(peer.name, ackseq);
        return;
      }
      case 'NS_rexmit': {
        // firstseq/lastseq are DECIMAL here (ha_msg_add_int), unlike every other seq.
        const first = Number.parseInt(msg.get('firstseq') ?? '', 10);
        const last = Number.parseInt(msg.get('lastseq') ?? '', 10);
        if (!(first > 0) || !(last >= first)) return;
        return this.answerRexmit(peer, first, Math.min(last, first + MAX_REXMIT_BATCH - 1));
      }
      case 'NS_nak_rexmit': {
        const seq = Number.parseInt(msg.get('firstseq') ?? '', 16);
        if (seq > 0 && peer.track.giveUp(seq)) {
          this.cancelRexmit(peer, seq);
          this.deps.log.debug(1, `node ${peer.name} cannot retransmit seq ${hex(seq)}`);
        }
        return;
      }
      case XCHECK_QUERY: {
        const node = msg.get('node')?.toLowerCase();
        if (!node || node === this.cfg.localNode) return;
        const ago = this.liveness.directlyHeardAgo(node);
        this.send(
          new HaMessage()
            .add('t', XCHECK_ANSWER)
            .add('dest', peer.name)
            .add('node', node)
            .add('heard', ago === null ? 'none' : String(Math.round(ago))),
        );
        return;
      }
      case XCHECK_ANSWER: {
        const node = msg.get('node')?.toLowerCase();
        const heard = msg.get('heard');
        if (!node || heard === undefined) return;
        const ago = heard === 'none' ? null : Number.parseInt(heard, 10);
        this.liveness.crossAnswer(peer.name, node, ago === null || Number.isFinite(ago) ? ago : null);
        return;
      }
      default:
        // Other NS_ types (NS_st: ping media) are not ours to act on.
        return;
    }
  }

  private dispatch(t: string, msg: HaMessage, peer: PeerState): void {
    switch (t) {
      case 'status':
        return;
      case 'reqnodes':
        // A peer that just came up asks for our node list (send_reqnodes_msg()).
        this.send(
          new HaMessage()
            .add('t', 'repnodes')
            .add('dest', peer.name)
            .add('nodelist', this.cfg.nodes.map((n) => `${n} `).join(''))
            .add('delnodelist', ' '),
        );
        return;
      case 'shutdone':
        this.deps.log.info(`node ${peer.name} shut down gracefully`);
        this.liveness.shutdown(peer.name);
        break;
    }
    this.deps.deliver({ from: peer.name, type: t, fields: msg.fields, atMs: this.deps.clock.now() });
  }

  // ---- ring relay ---------------------------------------------------------------

  /** Passes a frame of another node on to our other serial ports, TTL - 1, re-signed. */
  private relay(from: Medium, msg: HaMessage, src: string, t: string, hg: number): void {
    const ttl = Number.parseInt(msg.get('ttl') ?? '', 10);
    if (!Number.isFinite(ttl)) return;
    const key = t.startsWith('NS_') ? `${src}|${hg}|${t}|${msg.get('auth') ?? ''}` : `${src}|${hg}|${msg.get('seq') ?? ''}`;
    const v = this.relayFilter.check(key, ttl, this.deps.clock.now());
    if (v === 'ttl-expired') return this.drop(from, 'ttl-expired', `${t} from ${src} ttl=${ttl}`);
    if (v === 'seen') return;
    const copy = msg.clone().set('ttl', String(ttl - 1));
    const frame = encodeForSerial(copy, this.auth);
    for (const m of this.serialMedia) if (m !== from) m.send(frame, { relay: true });
  }

  // ---- retransmission -------------------------------------------------------

  private rexmitDelay(): number {
    const max = this.cfg.maxRexmitDelayMs;
    const min = max < 100 ? 0 : 50;
    return min + this.random() * (max - min);
  }

  /**
   * Asks the peer for what is missing. One request cycle per peer, not one
   * timer per lost seq: the missing seqs are sent as ranges in at most a few
   * NS_rexmit messages per cycle. On a ring a lost copy usually still
   * arrives the long way round within the random first delay; a storm of
   * per-seq requests (each relayed around the ring) would only add load
   * exactly when the lines are already overloaded.
   */
  private scheduleRexmit(peer: PeerState, seq: number): void {
    peer.rexmitTries.set(seq, peer.rexmitTries.get(seq) ?? 0);
    if (peer.rexmitTimer) return;
    peer.rexmitTimer = this.deps.clock.after(this.rexmitDelay(), () => this.askRexmit(peer));
  }

  private askRexmit(peer: PeerState): void {
    peer.rexmitTimer = undefined;
    if (this.stopped) return;
    const dead = this.liveness.stateOf(peer.name) === 'dead';
    const wanted: number[] = [];
    for (const [seq, tries] of peer.rexmitTries) {
      if (!peer.track.isMissing(seq)) peer.rexmitTries.delete(seq);
      else if (dead || tries >= MAX_REXMIT_TRIES) {
        peer.track.giveUp(seq);
        peer.rexmitTries.delete(seq);
      } else wanted.push(seq);
    }
    if (wanted.length === 0) return;
    wanted.sort((a, b) => a - b);
    let requests = 0;
    for (let k = 0; k < wanted.length && requests < MAX_REXMIT_REQUESTS_PER_CYCLE; ) {
      const first = wanted[k]!;
      let last = first;
      while (k + 1 < wanted.length && wanted[k + 1] === last + 1 && last - first + 1 < MAX_REXMIT_BATCH) last = wanted[++k]!;
      k++;
      for (let s2 = first; s2 <= last; s2++) peer.rexmitTries.set(s2, (peer.rexmitTries.get(s2) ?? 0) + 1);
      requests++;
      this.tx.rexmitRequests++;
      // firstseq/lastseq are decimal (ha_msg_add_int), unlike every other seq.
      this.send(
        new HaMessage().add('t', 'NS_rexmit').add('dest', peer.name).add('firstseq', String(first)).add('lastseq', String(last)),
      );
    }
    peer.rexmitTimer = this.deps.clock.after(this.cfg.maxRexmitDelayMs, () => this.askRexmit(peer));
  }

  private cancelRexmit(peer: PeerState, seq: number): void {
    peer.rexmitTries.delete(seq);
  }

  private cancelRexmits(peer: PeerState): void {
    peer.rexmitTimer?.cancel();
    peer.rexmitTimer = undefined;
    peer.rexmitTries.clear();
  }

  private answerRexmit(peer: PeerState, first: number, last: number): void {
    const now = this.deps.clock.now();
    for (let s = first; s <= last; s++) {
      const a = this.history.rexmit(peer.name, s, now, this.cfg.maxRexmitDelayMs - 10);
      if (a.kind === 'resend') {
        this.tx.rexmitsSent++;
        this.broadcast(a.msg);
      } else if (a.kind === 'nak') {
        this.tx.naksSent++;
        this.send(
          new HaMessage()
            .add('t', 'NS_nak_rexmit')
            .add('dest', peer.name)
            .add('firstseq', hex(s))
            .add('info', 'not in history'),
        );
      }
    }
  }

  private sendAck(peer: PeerState, seq: number): void {
    peer.track.ackedSeq = seq;
    this.tx.acksSent++;
    this.send(new HaMessage().add('t', 'NS_ackmsg').add('dest', peer.name).add('ackseq', hex(seq)));
  }

  // ---- bookkeeping ------------------------------------------------------------

  private onMembership(e: MembershipEvent): void {
    if (e.type === 'node-state' && e.state === 'dead') {
      const p = this.peers.get(e.node);
      if (p) this.cancelRexmits(p);
      this.history.forget(e.node);
    }
    if (e.type === 'local-state' && e.state === 'active') this.sendStatus();
    if (e.type === 'stall') this.noteStall(e.lateMs);
    this.deps.emit(e);
  }

  private noteStall(lateMs: number): void {
    this.stalls.count++;
    this.stalls.lastLateMs = lateMs;
    this.stalls.maxLateMs = Math.max(this.stalls.maxLateMs, lateMs);
    this.deps.log.warn(`heartbeat path ran ${lateMs.toFixed(1)} ms late (stalled)`);
  }

  private persistReplayFloors(): void {
    if (this.replay && this.deps.persistFloors) this.deps.persistFloors(this.replay.floors());
  }

  private drop(medium: Medium, reason: DropReason, detail: string): void {
    let counts = this.dropsByMedium.get(medium.name);
    if (!counts) {
      counts = {};
      this.dropsByMedium.set(medium.name, counts);
    }
    counts[reason] = (counts[reason] ?? 0) + 1;
    // Duplicates, messages for other nodes and TTL ends are normal traffic, not problems.
    if (reason === 'duplicate' || reason === 'not-for-us' || reason === 'ttl-expired' || !this.cfg.logBadPackets) return;
    const key = `${medium.name}\0${reason}`;
    const now = this.deps.clock.now();
    const last = this.lastDropLog.get(key);
    if (last && now - last.at < DROP_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    const more = last?.suppressed ? ` (${last.suppressed} more since last report)` : '';
    this.lastDropLog.set(key, { at: now, suppressed: 0 });
    this.deps.log.warn(`dropped frame on ${medium.name}: ${reason}: ${detail}${more}`);
  }
}

