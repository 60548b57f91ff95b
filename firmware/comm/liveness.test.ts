import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../core/clock';
import type { MembershipEvent } from './events';
import { Liveness, type LivenessOptions } from './liveness';

function setup(over: Partial<LivenessOptions> = {}) {
  const clock = new ManualClock();
  const events: MembershipEvent[] = [];
  const l = new Liveness(
    { localNode: 'a', nodes: ['a', 'b', 'c'], keepaliveMs: 100, deadtimeMs: 500, warntimeMs: 300, initdeadMs: 1000, settleMs: 20, ...over },
    clock,
    (e) => events.push(e),
  );
  return { clock, events, l, deaths: () => events.filter((e) => e.type === 'node-state' && e.state === 'dead') };
}

test('init -> up -> active once every peer was heard', () => {
  const { l, events } = setup();
  l.start();
  assert.equal(l.local, 'up');
  l.heard('b', 'eth0', { st: 'up' });
  assert.equal(l.local, 'up');
  l.heard('c', 'eth0', { st: 'active' });
  assert.equal(l.local, 'active');
  assert.deepEqual(
    events.filter((e) => e.type === 'local-state').map((e) => e.type === 'local-state' && e.state),
    ['up', 'active'],
  );
  assert.equal(l.stateOf('c'), 'active');
});

test('a node is dead only when NO medium heard it within deadtime (+ settle)', () => {
  const { l, clock, deaths, events } = setup();
  l.start();
  l.heard('b', 'eth0', { st: 'active' });
  l.heard('b', '/dev/ttyS0');
  l.heard('c', 'eth0', { st: 'active' });
  // b keeps talking on serial only; c goes silent.
  for (let t = 0; t < 10; t++) {
    clock.advance(100);
    l.heard('b', '/dev/ttyS0', { st: 'active' });
  }
  assert.equal(l.stateOf('b'), 'active');
  const linkDeaths = events.filter((e) => e.type === 'link-state' && e.state === 'dead');
  assert.ok(linkDeaths.some((e) => e.type === 'link-state' && e.node === 'b' && e.link === 'eth0'), 'b:eth0 link reported dead');
  const d = deaths();
  assert.equal(d.length, 1);
  assert.ok(d[0]!.type === 'node-state' && d[0]!.node === 'c' && d[0]!.reason === 'deadtime');
});

test('death is declared deadtime + settle after the last frame, not earlier', () => {
  const { l, clock, deaths } = setup();
  l.start();
  l.heard('b', 'eth0', { st: 'active' });
  l.heard('c', 'eth0', { st: 'active' });
  clock.advance(400);
  l.heard('c', 'eth0');
  clock.advance(100); // b silent for 500 = deadtime, not more
  assert.equal(deaths().length, 0);
  clock.advance(15); // deadline passed, settling
  assert.equal(deaths().length, 0);
  clock.advance(10);
  assert.equal(deaths().length, 1);
  const e = deaths()[0]!;
  assert.ok(e.type === 'node-state' && e.node === 'b' && e.silentMs! >= 500 && e.silentMs! <= 530);
});

test('a frame arriving during the settle period cancels the death', () => {
  const { l, clock, deaths } = setup();
  l.start();
  l.heard('b', 'eth0', { st: 'active' });
  l.heard('c', 'eth0', { st: 'active' });
  clock.advance(505);
  l.heard('b', 'eth0');
  l.heard('c', 'eth0');
  clock.advance(30);
  assert.equal(deaths().length, 0);
});

test('peers never heard are declared dead after initdead; the peer\'s own dt is honoured', () => {
  const { l, clock, deaths } = setup();
  l.start();
  l.heard('b', 'eth0', { st: 'active', dtMs: 3000 });
  clock.advance(1030);
  assert.deepEqual(
    deaths().map((e) => e.type === 'node-state' && [e.node, e.reason]),
    [['c', 'initdead']],
  );
  assert.equal(l.local, 'active', 'active once every node is heard or dead');
  clock.advance(1500);
  assert.equal(l.stateOf('b'), 'active', 'b advertised a 3 s deadtime');
  clock.advance(600);
  assert.equal(l.stateOf('b'), 'dead');
});

test('late heartbeats are reported with the measured interval; duplicates do not count', () => {
  const { l, clock, events } = setup();
  l.start();
  l.heard('b', 'eth0', { st: 'active' });
  clock.advance(350);
  l.heard('b', 'ttyS0');
  l.heard('b', 'eth0', { st: 'active' });
  const late = events.filter((e) => e.type === 'late-heartbeat');
  assert.equal(late.length, 1);
  assert.ok(late[0]!.type === 'late-heartbeat' && late[0]!.intervalMs === 350 && late[0]!.warntimeMs === 300);
});

test('shutdown is an immediate death; being heard again revives; a restart is always reported', () => {
  const { l, clock, events } = setup();
  l.start();
  l.heard('b', 'eth0', { st: 'active' });
  l.shutdown('b');
  assert.equal(l.stateOf('b'), 'dead');
  clock.advance(50);
  l.restarted('b');
  l.heard('b', 'eth0', { st: 'init' });
  assert.equal(l.stateOf('b'), 'init', 'it advertises init after its restart');
  const reasons = events.filter((e) => e.type === 'node-state' && e.node === 'b').map((e) => e.type === 'node-state' && `${e.state}:${e.reason}`);
  assert.deepEqual(reasons, ['active:heard', 'dead:shutdown', 'up:restart', 'init:status']);
});

test('a late confirm timer (stalled process) defers the decision and reports the stall', () => {
  const { l, clock, events, deaths } = setup();
  l.start();
  l.heard('b', 'eth0', { st: 'active' });
  l.heard('c', 'eth0', { st: 'active' });
  // Simulate a 300 ms stall: time jumps past the deadline and the settle
  // timer in one go. Frames that were queued are processed right after.
  clock.advance(400);
  clock.stall(420);
  clock.advance(0);
  const stalls = events.filter((e) => e.type === 'stall');
  assert.equal(stalls.length, 1, 'stall reported');
  l.heard('b', 'eth0');
  l.heard('c', 'eth0');
  clock.advance(25);
  assert.equal(deaths().length, 0, 'no death declared on a stall');
});
