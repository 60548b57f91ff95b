// Per-peer receive sequencing, as Heartbeat 3.0.6 does it
// (heartbeat.c:should_drop_message(), spec section 4.2): generation (`hg`) and
// `seq` decide whether a message is new, a duplicate (the normal case: every
// message arrives once per medium), a replay from an older generation, or
// fills a gap. Gaps are remembered so the engine can ask for retransmission.
//
// Pure state, no timers and no I/O: the engine owns scheduling.

/** Heartbeat's limits: larger gaps reset tracking; at most this many seqs are remembered missing. */
export const FLOWCONTROL_LIMIT = 250;
export const MAX_MISSING = 500;

export type SeqVerdict =
  /** New, in order (or the first message we see from this generation). */
  | { kind: 'accept'; ack: boolean }
  /** New, and it opened a gap: `missing` lists the seqs now awaited. */
  | { kind: 'gap'; missing: number[] }
  /** A seq we had recorded as missing (a retransmission or a late copy). */
  | { kind: 'filled' }
  /** Already seen (same generation and seq): still proves the link is alive. */
  | { kind: 'duplicate' }
  /** Older generation than we know: Heartbeat calls this an attempted replay. */
  | { kind: 'replay' }
  /** Higher generation: the peer restarted; tracking was reset and the message accepted. */
  | { kind: 'restart'; previousGeneration: number };

export class SeqTrack {
  generation = -1;
  lastSeq = 0;
  /** Highest seq we have ACKed to the peer. */
  ackedSeq = 0;
  private readonly missing = new Set<number>();

  /**
   * @param ackTrigger Heartbeat picks a random digit per peer and ACKs every
   *   in-order seq whose last decimal digit matches it (config.c:add_node()).
   */
  constructor(readonly ackTrigger: number) {}

  /** Classifies a sequenced message and updates the tracking state. */
  receive(generation: number, seq: number): SeqVerdict {
    if (generation < this.generation) return { kind: 'replay' };
    if (generation > this.generation) {
      const previousGeneration = this.generation;
      this.reset(generation, seq);
      if (previousGeneration >= 0) return { kind: 'restart', previousGeneration };
      return { kind: 'accept', ack: this.shouldAck(seq) };
    }
    if (seq === this.lastSeq + 1) {
      this.lastSeq = seq;
      return { kind: 'accept', ack: this.shouldAck(seq) };
    }
    if (seq > this.lastSeq + 1) {
      const gap = seq - this.lastSeq - 1;
      if (gap > FLOWCONTROL_LIMIT) {
        // Too far behind to catch up by retransmission: start over from here.
        this.reset(generation, seq);
        return { kind: 'accept', ack: false };
      }
      const added: number[] = [];
      for (let s = this.lastSeq + 1; s < seq && this.missing.size < MAX_MISSING; s++) {
        if (!this.missing.has(s)) {
          this.missing.add(s);
          added.push(s);
        }
      }
      this.lastSeq = seq;
      return { kind: 'gap', missing: added };
    }
    if (this.missing.delete(seq)) return { kind: 'filled' };
    return { kind: 'duplicate' };
  }

  /** NS_nak_rexmit: the sender no longer has this seq; stop waiting for it. */
  giveUp(seq: number): boolean {
    return this.missing.delete(seq);
  }

  isMissing(seq: number): boolean {
    return this.missing.has(seq);
  }

  missingSeqs(): number[] {
    return [...this.missing].sort((a, b) => a - b);
  }

  /** The highest seq below which nothing is missing (what an ACK may claim). */
  contiguousSeq(): number {
    let lowest = this.lastSeq + 1;
    for (const s of this.missing) lowest = Math.min(lowest, s);
    return lowest - 1;
  }

  private shouldAck(seq: number): boolean {
    return this.missing.size === 0 && seq % 10 === this.ackTrigger;
  }

  private reset(generation: number, seq: number): void {
    this.generation = generation;
    this.lastSeq = seq;
    this.ackedSeq = 0;
    this.missing.clear();
  }
}
