import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FLOWCONTROL_LIMIT, SeqTrack } from './seqtrack';

test('first message of a generation is accepted, in-order ones too, repeats are duplicates', () => {
  const t = new SeqTrack(3);
  assert.deepEqual(t.receive(100, 1), { kind: 'accept', ack: false });
  assert.deepEqual(t.receive(100, 2), { kind: 'accept', ack: false });
  assert.deepEqual(t.receive(100, 3), { kind: 'accept', ack: true }, 'seq % 10 == ackTrigger is acked');
  assert.deepEqual(t.receive(100, 3), { kind: 'duplicate' });
  assert.deepEqual(t.receive(100, 1), { kind: 'duplicate' }, 'old seq that was never missing');
});

test('a gap records the missing seqs; the late copies fill it; ACKs wait for the gap', () => {
  const t = new SeqTrack(5);
  t.receive(7, 1);
  assert.deepEqual(t.receive(7, 4), { kind: 'gap', missing: [2, 3] });
  assert.deepEqual(t.missingSeqs(), [2, 3]);
  assert.equal(t.contiguousSeq(), 1);
  assert.deepEqual(t.receive(7, 5), { kind: 'accept', ack: false }, 'no ACK while seqs are missing');
  assert.deepEqual(t.receive(7, 3), { kind: 'filled' });
  assert.deepEqual(t.receive(7, 3), { kind: 'duplicate' });
  assert.ok(t.giveUp(2));
  assert.deepEqual(t.missingSeqs(), []);
  assert.equal(t.contiguousSeq(), 5);
});

test('older generation is a replay; newer generation is a restart that resets tracking', () => {
  const t = new SeqTrack(0);
  t.receive(10, 50);
  assert.deepEqual(t.receive(9, 51), { kind: 'replay' });
  assert.deepEqual(t.receive(11, 1), { kind: 'restart', previousGeneration: 10 });
  assert.equal(t.lastSeq, 1);
  assert.deepEqual(t.receive(11, 2), { kind: 'accept', ack: false });
});

test('a gap larger than the flow-control limit resets instead of asking for hundreds of rexmits', () => {
  const t = new SeqTrack(0);
  t.receive(1, 1);
  const v = t.receive(1, 2 + FLOWCONTROL_LIMIT + 1);
  assert.equal(v.kind, 'accept');
  assert.deepEqual(t.missingSeqs(), []);
});
