import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterConfig } from '../config/config-data';
import { testConfig } from '../config/testing/test-config';
import { ManualClock } from '../core/clock';
import { memoryLogger } from '../core/log';
import { Authenticator } from '../wire/auth';
import { decodeUdp, encodeForUdp } from '../wire/frame';
import { HaMessage } from '../wire/message';
import { Engine } from './engine';
import type { ClusterMessage, MembershipEvent } from './events';
import { TestWire, type TestMedium } from './testing/wire-medium';

const config = testConfig;

interface Node {
  engine: Engine;
  events: MembershipEvent[];
  messages: ClusterMessage[];
  medium: TestMedium;
  log: ReturnType<typeof memoryLogger>;
}

function node(
  name: string,
  wire: TestWire,
  clock: ManualClock,
  generation: number,
  over: Partial<ClusterConfig> = {},
  floors?: { load?: Record<string, number>; saved?: Record<string, number>[] },
): Node {
  const events: MembershipEvent[] = [];
  const messages: ClusterMessage[] = [];
  const medium = wire.end(`eth0@${name}`, 'netstring');
  const log = memoryLogger();
  let r = 0;
  const engine = new Engine({
    config: config(name, over),
    identity: { uuid: Buffer.alloc(16, name === 'nodea' ? 0xaa : 0xbb), generation },
    clock,
    media: [medium],
    log,
    emit: (e) => events.push(e),
    deliver: (m) => messages.push(m),
    loadavg: () => '0.10 0.20 0.30 1/100 42',
    random: () => ((r = (r * 9301 + 49297) % 233280) / 233280),
    replayFloors: floors?.load,
    persistFloors: (f) => floors?.saved?.push(f),
  });
  return { engine, events, messages, medium, log };
}

const deadEvents = (n: Node, who: string) =>
  n.events.filter((e) => e.type === 'node-state' && e.node === who && e.state === 'dead');

test('two engines see each other active; statuses carry Heartbeat\'s fields in its order', () => {
  const clock = new ManualClock();
  const wire = new TestWire();
  const a = node('nodea', wire, clock, 0x100);
  const b = node('nodeb', wire, clock, 0x200);
  a.engine.start();
  b.engine.start();
  clock.advance(300);
  assert.equal(a.engine.localState, 'active');
  const snap = a.engine.snapshot();
  assert.equal(snap.nodes.find((n) => n.name === 'nodeb')?.state, 'active');
  const r = decodeUdp(a.medium.sent.at(-1)!, new Authenticator(config('x').auth));
  assert.ok(r.ok);
  assert.deepEqual(
    r.msg.fields.map((f) => f.name),
    ['t', 'st', 'dt', 'protocol', 'rbcap', 'src', 'srcuuid', 'seq', 'hg', 'ts', 'ld', 'ttl', 'auth'],
  );
  assert.equal(r.msg.get('dt'), '1f4');
  assert.equal(r.msg.get('hg'), '100');
  assert.equal(r.msg.get('ttl'), '3');
  assert.equal(r.msg.get('ld'), '0.10 0.20 0.30 1/100 42');
});

test('silence is a death after deadtime; shutdone is a death at once', () => {
  const clock = new ManualClock();
  const wire = new TestWire();
  const a = node('nodea', wire, clock, 1);
  const b = node('nodeb', wire, clock, 1);
  a.engine.start();
  b.engine.start();
  clock.advance(300);
  b.medium.up = false; // power loss
  clock.advance(480);
  assert.equal(deadEvents(a, 'nodeb').length, 0);
  clock.advance(100);
  assert.equal(deadEvents(a, 'nodeb').length, 1);

  const wire2 = new TestWire();
  const c = node('nodea', wire2, clock, 1);
  const d = node('nodeb', wire2, clock, 1);
  c.engine.start();
  d.engine.start();
  clock.advance(300);
  d.engine.send(new HaMessage().add('t', 'shutdone').add('st', 'dead'));
  const e = deadEvents(c, 'nodeb');
  assert.equal(e.length, 1);
  assert.ok(e[0]!.type === 'node-state' && e[0]!.reason === 'shutdown');
});

test('lost messages are requested with NS_rexmit and resent identically; ACKs flow', () => {
  const clock = new ManualClock();
  const wire = new TestWire();
  const a = node('nodea', wire, clock, 1);
  const b = node('nodeb', wire, clock, 1);
  a.engine.start();
  b.engine.start();
  clock.advance(250);
  // Lose a's next two sequenced messages on the way to b.
  let lose = 2;
  const lost: Buffer[] = [];
  wire.filter = (frame, from) => {
    if (from === a.medium && lose > 0 && frame.includes('t=status')) {
      lose--;
      lost.push(frame);
      return false;
    }
    return true;
  };
  clock.advance(1000);
  const sa = a.engine.snapshot();
  const sb = b.engine.snapshot();
  assert.equal(lost.length, 2);
  assert.ok(sb.tx.rexmitRequests >= 1, `b asked for rexmit (${sb.tx.rexmitRequests})`);
  const req = b.medium.sent.map((f) => decodeUdp(f, new Authenticator(config("x").auth))).find((r) => r.ok && r.msg.get("t") === "NS_rexmit");
  assert.ok(req && req.ok && Number(req.msg.get("lastseq")) - Number(req.msg.get("firstseq")) === 1, "one request covers both lost seqs");
  assert.ok(sa.tx.rexmitsSent >= 2, `a resent (${sa.tx.rexmitsSent})`);
  assert.ok(a.medium.sent.some((f) => f.equals(lost[0]!)), 'the retransmission is byte-identical');
  assert.equal(sb.nodes.find((n) => n.name === 'nodea')?.missing, 0);
  assert.ok(sb.tx.acksSent > 0 && sa.tx.acksSent > 0);
  assert.equal(deadEvents(b, 'nodea').length, 0);
});

test('a restarted peer (higher generation) is reported; an old generation is dropped as replay', () => {
  const clock = new ManualClock();
  const wire = new TestWire();
  const a = node('nodea', wire, clock, 1);
  let b = node('nodeb', wire, clock, 5);
  a.engine.start();
  b.engine.start();
  clock.advance(300);
  const old = b.medium.sent.at(-1)!;
  void b.engine.stop();
  wire.ends.splice(wire.ends.indexOf(b.medium), 1);
  b = node('nodeb', wire, clock, 6);
  b.engine.start();
  clock.advance(200);
  assert.ok(a.events.some((e) => e.type === 'node-state' && e.node === 'nodeb' && e.reason === 'restart'));
  a.medium.inject(old);
  assert.equal(a.engine.snapshot().drops.replay, 1);
});

test('bad frames are dropped and counted by reason; nothing else is disturbed', () => {
  const clock = new ManualClock();
  const wire = new TestWire();
  const a = node('nodea', wire, clock, 1);
  const b = node('nodeb', wire, clock, 1);
  a.engine.start();
  b.engine.start();
  clock.advance(300);
  const wrongKey = new Authenticator({ outbound: 1, keys: [{ index: 1, method: 'sha1', key: 'other', at: { file: 'x', line: 1 } }] });
  const forged = HaMessage.of({ t: 'status', st: 'active', src: 'nodeb', seq: '99', hg: '1', ts: '1' });
  a.medium.inject(encodeForUdp(forged, wrongKey, { innerAuth: true }));
  a.medium.inject(Buffer.from('random bytes \x00\xff'));
  a.medium.inject(Buffer.from('###\n8:t=status,%%%\n2:1 x,'));
  const good = b.medium.sent.at(-1)!;
  a.medium.inject(good.subarray(0, good.length - 5));
  const stranger = HaMessage.of({ t: 'status', st: 'up', src: 'mallory', seq: '1', hg: '1', ts: '1' });
  a.medium.inject(encodeForUdp(stranger, new Authenticator(config('x').auth), { innerAuth: true }));
  clock.advance(300);
  const d = a.engine.snapshot().drops;
  assert.equal(d['bad-auth'], 1);
  assert.equal(d['malformed'], 1);
  assert.equal(d['no-type-prefix'], 1);
  assert.equal(d['truncated'], 1);
  assert.equal(d['unknown-node'], 1);
  assert.equal(a.engine.snapshot().nodes.find((n) => n.name === 'nodeb')?.state, 'active');
  assert.ok(a.log.lines.some((l) => /dropped frame on eth0@nodea: bad-auth/.test(l)));
});

test('reqnodes is answered with repnodes; other messages go to the layers above', () => {
  const clock = new ManualClock();
  const wire = new TestWire();
  const a = node('nodea', wire, clock, 1);
  const b = node('nodeb', wire, clock, 1);
  a.engine.start();
  b.engine.start();
  clock.advance(300);
  b.engine.send(new HaMessage().add('t', 'reqnodes').add('dest', 'nodea'));
  const rep = b.messages.find((m) => m.type === 'repnodes');
  assert.ok(rep);
  assert.equal(new HaMessage(rep.fields).get('nodelist'), 'nodea nodeb ');
  b.engine.send(new HaMessage().add('t', 'resource').add('rsc_hold', 'none'));
  assert.equal(a.messages.at(-1)?.type, 'resource');
  b.engine.send(new HaMessage().add('t', 'resource').add('dest', 'nodec'));
  assert.equal(a.engine.snapshot().drops['not-for-us'], 1);
});

test('sha256 mode: every frame carries ac; a replayed frame is rejected even after a restart of the receiver', () => {
  const clock = new ManualClock();
  const wire = new TestWire();
  const auth = { outbound: 1, keys: [{ index: 1, method: 'sha256' as const, key: 'secret', at: { file: 'authkeys', line: 2 } }] };
  const saved: Record<string, number>[] = [];
  const a = node('nodea', wire, clock, 1, { auth }, { saved });
  const b = node('nodeb', wire, clock, 7, { auth });
  a.engine.start();
  b.engine.start();
  clock.advance(300);
  const r = decodeUdp(b.medium.sent.at(-1)!, new Authenticator(auth));
  assert.ok(r.ok && r.msg.has('ac'));
  // An NS_ frame (no seq) replayed: Heartbeat's modes would accept it again.
  b.engine.send(new HaMessage().add('t', 'NS_ackmsg').add('dest', 'nodea').add('ackseq', '1'));
  const ack = b.medium.sent.at(-1)!;
  a.medium.inject(ack);
  assert.equal(a.engine.snapshot().drops.duplicate, 1);
  assert.equal(deadEvents(a, 'nodeb').length, 0);
  assert.deepEqual(saved.at(-1), { nodeb: 7 }, 'the peer generation was persisted');

  // The receiver restarts (new engine, floors loaded from disk): the recorded
  // frame of generation 7 is still refused.
  void a.engine.stop();
  const wire2 = new TestWire();
  const a2 = node('nodea', wire2, clock, 2, { auth }, { load: saved.at(-1) });
  a2.engine.start();
  a2.medium.inject(ack);
  assert.equal(a2.engine.snapshot().drops.replay, 1);
});
