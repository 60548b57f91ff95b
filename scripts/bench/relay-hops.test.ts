import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { CableFrameRecord } from '../../hil-tests/lib/paced-cable';
import { analyzeHops } from './relay-hops';

const MS = 1e6;
const nodes = ['n0', 'n1', 'n2', 'n3'];
const cables = ['c0-1', 'c1-2', 'c2-3', 'c3-0'];

function rec(cable: string, dir: 'a2b' | 'b2a', ev: 'tx' | 'rx', t0: number, t1: number, extra: Partial<CableFrameRecord> = {}): CableFrameRecord {
  const end = ev === 'tx' ? (dir === 'a2b' ? 'a' : 'b') : dir === 'a2b' ? 'b' : 'a';
  return { cable, dir, ev, end, t0, t1, len: 100, ok: true, type: 'status', src: 'n0', hg: '5', seq: '1', ...extra };
}

test('hop times, extra over wire time and turnaround, both directions', () => {
  // 100 bytes at 100000 baud 8N1 = 10 ms on the wire; each relay takes 1 ms to turn around, the cable adds 0.5 ms
  const r: CableFrameRecord[] = [
    // clockwise: n0 -> n1 -> n2
    rec('c0-1', 'a2b', 'tx', 0, 0),
    rec('c0-1', 'a2b', 'rx', 1 * MS, 10.5 * MS),
    rec('c1-2', 'a2b', 'tx', 11.5 * MS, 11.5 * MS, { w0: 11.7 * MS, w1: 21.8 * MS }),
    rec('c1-2', 'a2b', 'rx', 12.5 * MS, 22 * MS),
    rec('c1-2', 'a2b', 'rx', 40 * MS, 50 * MS), // a later copy: ignored
    // counter-clockwise: n0 -> n3 -> n2
    rec('c3-0', 'b2a', 'tx', 0, 0),
    rec('c3-0', 'b2a', 'rx', 1 * MS, 10.5 * MS),
    rec('c2-3', 'b2a', 'tx', 12.5 * MS, 12.5 * MS),
    rec('c2-3', 'b2a', 'rx', 13.5 * MS, 23 * MS, { len: 99 }),
    // n1's own frame on the onward line (another origin: not a sample), still on the wire for 1 ms after the relayed frame arrived
    rec('c1-2', 'a2b', 'tx', 1 * MS, 1 * MS, { src: 'n1', w0: 1.5 * MS, w1: 11.5 * MS }),
    // a cut-short frame: ignored

    rec('c0-1', 'a2b', 'rx', 1 * MS, 2 * MS, { ok: false, seq: '2' }),
  ];
  const s = analyzeHops(r, { nodes, cables, origin: 0, baud: 100_000 });
  const cw = s.filter((x) => x.direction === 'cw');
  const ccw = s.filter((x) => x.direction === 'ccw');
  assert.deepEqual(cw.map((x) => [x.hop, x.node]), [[1, 'n1'], [2, 'n2']]);
  assert.deepEqual(ccw.map((x) => [x.hop, x.node]), [[1, 'n3'], [2, 'n2']]);
  const near = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);
  near(cw[0]!.extraMs, 0.5);
  near(cw[1]!.hopMs, 11.5);
  near(cw[1]!.extraMs, 1.5);
  near(cw[1]!.turnaroundMs!, 1);
  near(cw[1]!.fromSendMs, 22);
  near(ccw[1]!.wireMs, 9.9);
  near(ccw[1]!.extraMs, 12.5 - 9.9);
  near(ccw[1]!.turnaroundMs!, 2);
  assert.equal(cw[0]!.turnaroundMs, undefined);
  near(cw[1]!.lineWaitMs!, 0.2);
  near(cw[1]!.midFrameGapMs!, 0.1);
  near(cw[1]!.cableLateMs!, 0.2);
  near(cw[1]!.busyWithOthersMs!, 1);
  near(ccw[1]!.busyWithOthersMs!, 0);
  near(cw[1]!.turnaroundMs! + cw[1]!.lineWaitMs! + cw[1]!.midFrameGapMs! + cw[1]!.cableLateMs!, cw[1]!.extraMs);
  assert.equal(ccw[1]!.lineWaitMs, undefined, 'no w0 in the record: unknown');
});
