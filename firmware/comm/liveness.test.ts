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

test('after a stall the frames sent meanwhile may be lost: a status within a keepalive keeps the peer alive', () => {
  const { l, clock, events, deaths } = setup();
  l.start();
  l.heard('b', 'eth0', { st: 'active' });
  l.heard('c', 'eth0', { st: 'active' });
  clock.advance(400);
  // 300 ms stall across the deadline (500); what b and c sent meanwhile was
  // lost (an overrun UART): nothing is waiting when the loop runs again.
  clock.stall(300);
  clock.advance(0);
  assert.equal(events.filter((e) => e.type === 'stall').length, 1, 'stall reported');
  clock.advance(80); // the old settle period (20 ms) is long over: no verdict yet
  assert.equal(deaths().length, 0);
  l.heard('b', 'eth0'); // b's next status, one keepalive after the stall
  clock.advance(60);
  assert.deepEqual(deaths().map((e) => e.type === 'node-state' && e.node), ['c'], 'c stayed silent for a keepalive after the stall: dead');
  assert.equal(l.stateOf('b'), 'active');
  const death = deaths()[0]!;
  assert.equal(death.atMs, 700 + 100 + 20, 'judged one keepalive + settle after the stall ended');
});

function crossSetup() {
  const asked: string[] = [];
  let askers = ['c'];
  const env = setup({
    crossCheck: { waitMs: 100, askers: () => askers, ask: (s) => asked.push(s) },
  });
  return { ...env, asked, setAskers: (a: string[]) => (askers = a) };
}

test('cross-check: a node others still hear is a link problem, not a death; asked again until they agree', () => {
  const { l, clock, events, deaths, asked } = crossSetup();
  l.start();
  l.heard('b', 'eth0', { st: 'active' });
  l.heard('c', 'eth0', { st: 'active' });
  for (let i = 0; i < 6; i++) {
    clock.advance(100);
    l.heard('c', 'eth0', { st: 'active' });
  }
  // b's deadline (500) + settle (20) passed: c was asked about b.
  assert.deepEqual(asked, ['b']);
  l.crossAnswer('c', 'b', 30);
  assert.equal(deaths().length, 0);
  const r = events.filter((e) => e.type === 'reachability');
  assert.deepEqual(r.map((e) => e.type === 'reachability' && [e.node, e.direct, e.heardBy]), [['b', false, ['c']]]);
  assert.deepEqual(l.snapshot().find((n) => n.name === 'b')?.heardOnlyBy, ['c']);
  assert.equal(l.stateOf('b'), 'active');
  // Re-asked after max(keepalive, wait); now c does not hear b either.
  for (let i = 0; i < 2; i++) {
    clock.advance(100);
    l.heard('c', 'eth0');
  }
  assert.deepEqual(asked, ['b', 'b']);
  l.crossAnswer('c', 'b', null);
  assert.equal(deaths().length, 1);
});

test('cross-check: no answer within the wait means dead; nobody to ask means dead at once', () => {
  const { l, clock, deaths, asked, setAskers } = crossSetup();
  l.start();
  l.heard('b', 'eth0', { st: 'active' });
  l.heard('c', 'eth0', { st: 'active' });
  for (let i = 0; i < 6; i++) {
    clock.advance(100);
    l.heard('c', 'eth0');
  }
  assert.deepEqual(asked, ['b']);
  assert.equal(deaths().length, 0, 'waiting for c');
  clock.advance(60);
  l.heard('c', 'eth0');
  clock.advance(60);
  const d = deaths();
  assert.equal(d.length, 1, 'dead after the wait');
  assert.ok(d[0]!.type === 'node-state' && d[0]!.silentMs! >= 620 && d[0]!.silentMs! <= 640);
  setAskers([]);
  clock.advance(700);
  assert.equal(deaths().length, 2, 'c dies without a cross-check: nobody left to ask');
  assert.deepEqual(asked, ['b']);
});

test('cross-check: hearing the node directly again ends the link problem', () => {
  const { l, clock, events, asked } = crossSetup();
  l.start();
  l.heard('b', 'eth0', { st: 'active' });
  l.heard('c', 'eth0', { st: 'active' });
  for (let i = 0; i < 6; i++) {
    clock.advance(100);
    l.heard('c', 'eth0');
  }
  l.crossAnswer('c', 'b', 10);
  l.heard('b', 'eth0');
  const r = events.filter((e) => e.type === 'reachability').map((e) => e.type === 'reachability' && e.direct);
  assert.deepEqual(r, [false, true]);
  assert.equal(l.snapshot().find((n) => n.name === 'b')?.heardOnlyBy, undefined);
  assert.deepEqual(asked, ['b']);
  assert.equal(l.directlyHeardAgo('b'), 0);
  assert.equal(l.directlyHeardAgo('nosuch'), null);
});

test('cross-check: an answer "heard it almost a deadtime ago" is no evidence of life', () => {
  const { l, clock, deaths } = crossSetup();
  l.start();
  l.heard('b', 'eth0', { st: 'active' });
  l.heard('c', 'eth0', { st: 'active' });
  for (let i = 0; i < 6; i++) {
    clock.advance(100);
    l.heard('c', 'eth0');
  }
  l.crossAnswer('c', 'b', 480); // c's last frame of b was 480 ms ago: c is losing it too
  assert.equal(deaths().length, 1);
});
