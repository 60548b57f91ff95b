// Anti-replay for ringbeat's native `sha256` auth mode (ringbeat-only clusters).
//
// Heartbeat's crc/md5/sha1 modes sign messages but keep no replay defence
// beyond seq tracking: `NS_*` control messages carry no seq at all, and a
// receiver that restarted has forgotten every generation, so a recorded
// `shutdone` or `hb_takeover` from an old session is accepted again. In sha256
// mode every frame carries `ac`, a per-generation counter over ALL frames the
// origin sends (NS_ ones included), and receivers keep, per origin:
// - the highest generation seen, persisted across restarts (older ones are
//   replays, also after our own restart), and
// - an IPsec-style sliding window over `ac` (RFC 4303 3.4.3): a counter seen
//   before, or older than the window, is rejected.
// Copies of one frame arriving over several media (or relayed around the
// ring) have the same `ac`: the first is accepted, the rest are duplicates.

export const WINDOW = 1024;

export type ReplayVerdict = 'ok' | 'duplicate' | 'replay';

interface OriginState {
  generation: number;
  highest: number;
  /** Circular bitmap: bit (ac % WINDOW) set = counter ac was seen (for ac within the window). */
  seen: Uint32Array;
}

export class ReplayWindow {
  private readonly origins = new Map<string, OriginState>();

  /** @param floors highest generation seen per origin in earlier runs (persisted). */
  constructor(floors: Record<string, number> = {}) {
    for (const [origin, generation] of Object.entries(floors)) {
      this.origins.set(origin, { generation, highest: Infinity, seen: new Uint32Array(WINDOW / 32) });
    }
  }

  /** Checks and records (origin, generation, ac). */
  check(origin: string, generation: number, ac: number): ReplayVerdict {
    if (!Number.isSafeInteger(ac) || ac <= 0) return 'replay';
    let s = this.origins.get(origin);
    if (!s || generation > s.generation) {
      s = { generation, highest: 0, seen: new Uint32Array(WINDOW / 32) };
      this.origins.set(origin, s);
    } else if (generation < s.generation) {
      return 'replay';
    }
    // A generation restored from disk: nothing of it may be accepted (we
    // cannot know which counters were already used), the origin must move on.
    if (s.highest === Infinity) return 'replay';
    if (ac > s.highest) {
      // Counters between the old and the new highest are now inside the
      // window and unseen: clear their slots (the bitmap is circular).
      const from = Math.max(s.highest + 1, ac - WINDOW + 1);
      for (let c = from; c <= ac; c++) clearBit(s.seen, c % WINDOW);
      s.highest = ac;
      setBit(s.seen, ac % WINDOW);
      return 'ok';
    }
    if (s.highest - ac >= WINDOW) return 'replay';
    if (getBit(s.seen, ac % WINDOW)) return 'duplicate';
    setBit(s.seen, ac % WINDOW);
    return 'ok';
  }

  /** Highest generation seen from `origin` (undefined if never). */
  generationOf(origin: string): number | undefined {
    return this.origins.get(origin)?.generation;
  }

  /** Highest generation per origin, to persist. */
  floors(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [o, s] of this.origins) out[o] = s.generation;
    return out;
  }
}

function setBit(bits: Uint32Array, i: number): void {
  bits[i >>> 5] |= 1 << (i & 31);
}

function clearBit(bits: Uint32Array, i: number): void {
  bits[i >>> 5] &= ~(1 << (i & 31));
}

function getBit(bits: Uint32Array, i: number): boolean {
  return ((bits[i >>> 5] >>> (i & 31)) & 1) === 1;
}
