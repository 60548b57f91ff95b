// Per-hop delivery times of one node's frames around a serial ring, from the
// paced cables' frame logs (hil-tests/lib/paced-cable.ts, frameLog: true):
// no instrumentation inside the nodes. Pure function, unit-tested.
//
// Ring layout (hil-tests/lib/ring.ts): cable i joins node i (end a, port 0)
// and node i+1 (end b, port 1). From the origin o a frame goes
//   clockwise:        o -> o+1 -> o+2 ...  over cable (o+h-1), direction a2b
//   counter-clockwise: o -> o-1 -> o-2 ... over cable (o-h),   direction b2a
//
// For a hop h >= 2 the frame was relayed by the node h-1 hops away:
//   hop time   = last byte delivered at hop h - last byte delivered at hop h-1
//   extra      = hop time - wire time of the (relayed) frame on hop h
//   turnaround = first byte the relaying node wrote - last byte it received
//   line wait  = how long those bytes then waited for the line (busy with the
//                node's previous frame)
//   mid-frame gap = line idle inside the frame (the node wrote it in pieces)
//   cable late = last byte delivered - its due time: the cable's own error
//   so: extra = turnaround + line wait + mid-frame gap + cable late (hop >= 2)
//   busy with others = the part of the turnaround in which the onward line
//                carried other frames (queueing in the relaying node's pacer)
// Hop 1 has no relay: its "hop time" runs from the origin's first byte.

import type { CableFrameRecord } from '../../hil-tests/lib/paced-cable';

export type RingDirection = 'cw' | 'ccw';

export interface HopSample {
  /** src/hg/seq of the frame. */
  frame: string;
  direction: RingDirection;
  hop: number;
  /** The node reached. */
  node: string;
  len: number;
  wireMs: number;
  /** Last byte at this node - first byte leaving the origin. */
  fromSendMs: number;
  /** Last byte here - last byte at the previous node (hop 1: fromSendMs). */
  hopMs: number;
  /** hopMs - wireMs (hop 1: what the cable adds to the wire time). */
  extraMs: number;
  /** First byte relayed on by the previous node - last byte it received (hop >= 2). */
  turnaroundMs?: number;
  /** How long the frame waited for the line on this hop (its sender wrote it while earlier bytes were still going out). */
  lineWaitMs?: number;
  /**
   * Part of the turnaround during which the onward line was carrying other
   * frames (the relaying node had to queue this one: its pacer sends one frame
   * at a time, its own first). turnaround - this = the node's own processing.
   */
  busyWithOthersMs?: number;
  /** Line idle in the middle of the frame: the sender wrote it in pieces, with pauses. */
  midFrameGapMs?: number;
  /** Last byte delivered - its due time on the wire: the cable's own timing error. */
  cableLateMs?: number;
}

export interface HopAnalysisOptions {
  /** Node names in ring order; cable i joins nodes[i] and nodes[i+1]. */
  nodes: readonly string[];
  /** Cable names by index (PacedCable.name). */
  cables: readonly string[];
  origin: number;
  /** Hops to follow in each direction (default floor(N/2)). */
  maxHops?: number;
  baud: number;
  bitsPerChar?: number;
  /** Only frames whose first byte left the origin at or after this (ns). */
  sinceNs?: number;
  /** Only these message types (default ['status']). */
  types?: readonly string[];
}

const frameKey = (r: CableFrameRecord): string => `${r.src}/${r.hg}/${r.seq}`;

export function analyzeHops(records: readonly CableFrameRecord[], o: HopAnalysisOptions): HopSample[] {
  const n = o.nodes.length;
  if (o.cables.length !== n) throw new Error(`a closed ring of ${n} nodes has ${n} cables, got ${o.cables.length}`);
  const maxHops = o.maxHops ?? Math.floor(n / 2);
  const types = o.types ?? ['status'];
  const origin = o.nodes[o.origin]!;
  const msPerByte = ((o.bitsPerChar ?? 10) * 1000) / o.baud;

  // first record per (cable, direction, event, frame): later copies are loop copies or retransmissions
  const first = new Map<string, CableFrameRecord>();
  for (const r of records) {
    if (!r.ok || r.seq === undefined) continue;
    const k = `${r.cable}|${r.dir}|${r.ev}|${frameKey(r)}`;
    const prev = first.get(k);
    const t = r.ev === 'tx' ? r.t0 : r.t1;
    if (!prev || t < (prev.ev === 'tx' ? prev.t0 : prev.t1)) first.set(k, r);
  }
  const at = (cable: number, dir: 'a2b' | 'b2a', ev: 'tx' | 'rx', key: string): CableFrameRecord | undefined =>
    first.get(`${o.cables[((cable % n) + n) % n]}|${dir}|${ev}|${key}`);

  // every frame sent on each line direction, for how busy a line was
  const sentOn = new Map<string, CableFrameRecord[]>();
  for (const r of records) {
    if (r.ev !== 'tx' || r.w0 === undefined || r.w1 === undefined) continue;
    const k = `${r.cable}|${r.dir}`;
    (sentOn.get(k) ?? sentOn.set(k, []).get(k)!).push(r);
  }
  const busyWithOthers = (cable: number, dir: string, from: number, to: number, self: CableFrameRecord): number => {
    let ns = 0;
    for (const r of sentOn.get(`${o.cables[((cable % n) + n) % n]}|${dir}`) ?? []) {
      if (r === self) continue;
      ns += Math.max(0, Math.min(r.w1!, to) - Math.max(r.w0!, from));
    }
    return ns / 1e6;
  };

  const out: HopSample[] = [];
  const sent = [...first.values()].filter(
    (r) => r.ev === 'tx' && r.src === origin && (r.type === undefined || types.includes(r.type)) && r.t0 >= (o.sinceNs ?? 0),
  );
  const keys = [...new Set(sent.map(frameKey))];
  for (const key of keys) {
    for (const direction of ['cw', 'ccw'] as const) {
      const dir = direction === 'cw' ? 'a2b' : 'b2a';
      // cable leaving node at distance h-1 toward distance h
      const cableOf = (h: number): number => (direction === 'cw' ? o.origin + h - 1 : o.origin - h);
      const nodeAt = (h: number): string => o.nodes[((direction === 'cw' ? o.origin + h : o.origin - h) % n + n) % n]!;
      const start = at(cableOf(1), dir, 'tx', key);
      if (!start) continue;
      let prevArrival: CableFrameRecord | undefined;
      for (let h = 1; h <= maxHops; h++) {
        const arrival = at(cableOf(h), dir, 'rx', key);
        if (!arrival) break;
        const wireMs = arrival.len * msPerByte;
        const fromSendMs = (arrival.t1 - start.t0) / 1e6;
        const hopMs = prevArrival ? (arrival.t1 - prevArrival.t1) / 1e6 : fromSendMs;
        const s: HopSample = { frame: key, direction, hop: h, node: nodeAt(h), len: arrival.len, wireMs, fromSendMs, hopMs, extraMs: hopMs - wireMs };
        const sent = h === 1 ? start : at(cableOf(h), dir, 'tx', key);
        if (sent?.w0 !== undefined) s.lineWaitMs = Math.max(0, sent.w0 - sent.t0) / 1e6;
        if (sent?.w0 !== undefined && sent.w1 !== undefined) {
          s.midFrameGapMs = Math.max(0, (sent.w1 - sent.w0) / 1e6 - sent.len * msPerByte);
          s.cableLateMs = (arrival.t1 - sent.w1) / 1e6;
        }
        if (prevArrival && sent) {
          s.turnaroundMs = (sent.t0 - prevArrival.t1) / 1e6;
          s.busyWithOthersMs = busyWithOthers(cableOf(h), dir, prevArrival.t1, sent.t0, sent);
        }
        out.push(s);
        prevArrival = arrival;
      }
    }
  }
  return out;
}
