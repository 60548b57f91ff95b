// Which frames the serial ring relay passes on.
//
// Heartbeat 3.0.6 writes `ttl` (= node count + hopfudge) on every message
// but never relays (its ring relay died in 1999). ringbeat relays every
// authentic frame it did not originate to its other serial ports, with the
// TTL decremented, so a ring of point-to-point lines reaches every node.
//
// Two things stop a frame from circulating:
// - TTL: each hop decrements it; at 0 the frame is not relayed further.
// - A seen-set of (origin, generation, seq) (or, for unsequenced NS_ frames,
//   origin + generation + digest): a copy that arrives again (the long way
//   round the ring, or on a second port) is not relayed twice.
// A retransmission (Heartbeat resends the identical message when a node
// asks) is not a loop copy: it arrives with the full TTL again, while loop
// copies always carry less TTL than the first copy (they took more hops). So
// a key may be relayed again if its TTL is at least the TTL we relayed it
// with and some time has passed.

export type RelayVerdict = 'relay' | 'seen' | 'ttl-expired';

export interface RelayFilterOptions {
  /** A repeat with the same TTL within this window is a parallel copy, not a retransmission (default 50 ms). */
  minRepeatMs?: number;
  /** Remember relayed keys this long (default 10 s) and at most this many (default 4096). */
  memoryMs?: number;
  maxEntries?: number;
}

interface Seen {
  ttl: number;
  at: number;
}

export class RelayFilter {
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly opts: RelayFilterOptions = {}) {}

  /**
   * @param key origin/generation/seq (or digest) of the frame
   * @param ttl the TTL the frame arrived with
   * @returns 'relay' (send it on with ttl - 1), 'seen' or 'ttl-expired'
   */
  check(key: string, ttl: number, now: number): RelayVerdict {
    if (!(ttl > 1)) return 'ttl-expired';
    const prev = this.seen.get(key);
    if (prev && (ttl < prev.ttl || now - prev.at < (this.opts.minRepeatMs ?? 50))) return 'seen';
    // Map insertion order = age order: re-insert so the oldest stay first.
    this.seen.delete(key);
    this.seen.set(key, { ttl, at: now });
    this.prune(now);
    return 'relay';
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(now: number): void {
    const memory = this.opts.memoryMs ?? 10_000;
    const max = this.opts.maxEntries ?? 4096;
    for (const [k, v] of this.seen) {
      if (this.seen.size <= max && now - v.at <= memory) break;
      this.seen.delete(k);
    }
  }
}
