// The send history: the last MAXMSGHIST sequenced messages this node sent,
// kept signed so a retransmission is the identical message (same seq, same
// ts, same auth), which is what Heartbeat peers expect (spec 4.3). Also the
// per-peer ACK bookkeeping that tells us whether a peer is falling behind.

import type { HaMessage } from '../wire/message';

export const MAXMSGHIST = 500;
/** Heartbeat pauses its clients when this many messages are unacknowledged. */
export const ACK_BACKLOG_LIMIT = 250;
/** At most this many messages are resent for one request (hb_rexmit.c). */
export const MAX_REXMIT_BATCH = 50;

interface Entry {
  seq: number;
  msg: HaMessage;
  lastSentAt: number;
}

export type RexmitAnswer =
  | { kind: 'resend'; msg: HaMessage }
  /** Sent again too recently; the original or the last resend is probably still in flight. */
  | { kind: 'too-soon' }
  /** The requester already acknowledged it. */
  | { kind: 'acked' }
  /** Not in the history any more (or never sent): answer NS_nak_rexmit. */
  | { kind: 'nak' };

export class XmitHistory {
  private readonly ring: (Entry | undefined)[] = new Array(MAXMSGHIST);
  private hiseq = 0;
  private readonly ackFrom = new Map<string, number>();

  constructor(private readonly capacity = MAXMSGHIST) {}

  add(seq: number, msg: HaMessage, now: number): void {
    this.ring[seq % this.capacity] = { seq, msg, lastSentAt: now };
    this.hiseq = Math.max(this.hiseq, seq);
  }

  get highestSeq(): number {
    return this.hiseq;
  }

  /** Lowest seq still retrievable. */
  get lowWater(): number {
    return Math.max(1, this.hiseq - this.capacity + 1);
  }

  /**
   * Answers a retransmission request for one seq from `peer`.
   * @param minIntervalMs do not resend a message sent less than this long ago
   */
  rexmit(peer: string, seq: number, now: number, minIntervalMs: number): RexmitAnswer {
    if (seq <= (this.ackFrom.get(peer) ?? 0)) return { kind: 'acked' };
    const e = this.ring[seq % this.capacity];
    if (!e || e.seq !== seq || seq < this.lowWater) return { kind: 'nak' };
    if (now - e.lastSentAt < minIntervalMs) return { kind: 'too-soon' };
    e.lastSentAt = now;
    return { kind: 'resend', msg: e.msg };
  }

  /** NS_ackmsg from `peer`: everything up to `seq` arrived there. */
  ack(peer: string, seq: number): void {
    if (seq > (this.ackFrom.get(peer) ?? 0) && seq <= this.hiseq) this.ackFrom.set(peer, seq);
  }

  /**
   * Starts ACK accounting for a peer that just came alive: only messages sent
   * from now on count against it.
   */
  track(peer: string): void {
    if (!this.ackFrom.has(peer)) this.ackFrom.set(peer, this.hiseq);
  }

  /** A peer restarted or died: its ACK state no longer holds back anything. */
  forget(peer: string): void {
    this.ackFrom.delete(peer);
  }

  ackedBy(peer: string): number {
    return this.ackFrom.get(peer) ?? 0;
  }

  /** Unacknowledged messages for the slowest of `livePeers` (Heartbeat's flow-control measure). */
  backlog(livePeers: string[]): number {
    let worst = 0;
    for (const p of livePeers) {
      const acked = this.ackFrom.get(p);
      if (acked !== undefined) worst = Math.max(worst, this.hiseq - acked);
    }
    return worst;
  }
}
