import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HaMessage } from '../wire/message';
import { MAXMSGHIST, XmitHistory } from './xmit-history';

test('retransmission returns the identical stored message, not too often, NAK when gone', () => {
  const h = new XmitHistory();
  const m = HaMessage.of({ t: 'status', seq: '5' });
  h.add(5, m, 0);
  assert.deepEqual(h.rexmit('b', 5, 10, 240), { kind: 'too-soon' });
  const a = h.rexmit('b', 5, 300, 240);
  assert.equal(a.kind, 'resend');
  assert.equal(a.kind === 'resend' && a.msg, m);
  assert.deepEqual(h.rexmit('b', 6, 300, 240), { kind: 'nak' }, 'never sent');
  h.ack('b', 5);
  assert.deepEqual(h.rexmit('b', 5, 1000, 240), { kind: 'acked' });
});

test('history keeps the last MAXMSGHIST messages', () => {
  const h = new XmitHistory();
  for (let s = 1; s <= MAXMSGHIST + 10; s++) h.add(s, HaMessage.of({ seq: s.toString(16) }), 0);
  assert.equal(h.lowWater, 11);
  assert.deepEqual(h.rexmit('b', 10, 1000, 0), { kind: 'nak' });
  assert.equal(h.rexmit('b', 11, 1000, 0).kind, 'resend');
});

test('backlog counts only from when a peer is tracked, and ACKs release it', () => {
  const h = new XmitHistory();
  for (let s = 1; s <= 100; s++) h.add(s, new HaMessage(), 0);
  h.track('b');
  assert.equal(h.backlog(['b']), 0);
  for (let s = 101; s <= 400; s++) h.add(s, new HaMessage(), 0);
  assert.equal(h.backlog(['b']), 300);
  h.ack('b', 390);
  assert.equal(h.backlog(['b']), 10);
  assert.equal(h.backlog(['c']), 0, 'an untracked peer holds nothing back');
});
