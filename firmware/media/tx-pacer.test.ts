import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../core/clock';
import { TxPacer } from './tx-pacer';

function setup(baud = 9600, opts = {}) {
  const clock = new ManualClock();
  const writes: { at: number; len: number; relay: boolean }[] = [];
  const p = new TxPacer(clock, (f, relay) => writes.push({ at: clock.now(), len: f.length, relay }), { baud, ...opts });
  return { clock, writes, p };
}

test('frames leave no faster than the line rate (8N1: 10 bits per byte)', () => {
  const { clock, writes, p } = setup(9600);
  for (let i = 0; i < 3; i++) p.push(Buffer.alloc(96)); // 96 bytes = 100 ms at 9600 baud
  clock.advance(400);
  assert.deepEqual(writes.map((w) => w.at), [0, 100, 200]);
  assert.equal(p.wireTimeMs(96), 100);
});

test('own frames go before queued relayed frames; relays never delay our heartbeat by more than one frame', () => {
  const { clock, writes, p } = setup(9600);
  p.push(Buffer.alloc(96), true); // goes out at once (line idle)
  p.push(Buffer.alloc(96), true);
  p.push(Buffer.alloc(96), true);
  clock.advance(10);
  p.push(Buffer.alloc(48)); // our heartbeat
  clock.advance(1000);
  assert.deepEqual(
    writes.map((w) => [w.at, w.relay]),
    [[0, true], [100, false], [150, true], [250, true]],
  );
});

test('stale relayed frames are dropped, not sent late; queues are bounded', () => {
  const { clock, writes, p } = setup(9600, { maxRelayAgeMs: 150, maxRelayQueue: 2 });
  p.push(Buffer.alloc(96), true);
  for (let i = 0; i < 5; i++) p.push(Buffer.alloc(96), true);
  clock.advance(1000);
  const s = p.stats();
  // t=0 the first goes out; 3 of the next 5 overflow the 2-slot queue; of the
  // 2 kept, one leaves at 100 ms, the other is 200 ms old by its turn: dropped.
  assert.deepEqual(writes.map((w) => w.at), [0, 100]);
  assert.equal(s.relayDropped, 4);
  assert.equal(s.relayedSent, 2);
});

test('utilisation is the share of line time used over the window', () => {
  const { clock, p } = setup(9600, { utilisationWindowMs: 1000 });
  for (let i = 0; i < 5; i++) p.push(Buffer.alloc(96)); // 5 x 100 ms
  clock.advance(600);
  assert.ok(Math.abs(p.stats().utilisation - 0.5) < 1e-9);
  clock.advance(2000);
  assert.equal(p.stats().utilisation, 0);
});
