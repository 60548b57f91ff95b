// The R1 protocol between two R1Managers on an in-memory bus with fake
// groups (HIL tests run it against the real Heartbeat and real IP agents).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AutoFailback } from '../config/config-data';
import { ManualClock } from '../core/clock';
import { memoryLogger } from '../core/log';
import type { MembershipEvent } from '../comm/events';
import type { HaMessage } from '../wire/message';
import type { GroupResult } from './group-runner';
import { R1Manager, type ManagedGroup } from './r1-manager';

/** Where each group runs: the test's view of "the network". */
type World = Map<string, Set<string>>;

function fakeGroup(key: string, node: string, where: string, world: World, failStart = false): ManagedGroup {
  const result = (op: 'start' | 'stop', ok: boolean): GroupResult => ({
    key, op, ok, rolledBack: !ok && op === 'start', stopFailed: [], running: [], beganMs: 0, endedMs: 0, timings: [],
    ...(ok ? {} : { failed: { id: key, error: 'exit 1' } }),
  });
  return {
    key,
    node,
    start: async () => {
      if (failStart) return result('start', false);
      world.get(key)!.add(where);
      return result('start', true);
    },
    stop: async () => {
      world.get(key)!.delete(where);
      return result('stop', true);
    },
  };
}

interface Node {
  name: string;
  rm: R1Manager;
  sent: HaMessage[];
  log: ReturnType<typeof memoryLogger>;
}

function cluster(opts: { autoFailback?: AutoFailback; failStartOn?: string } = {}) {
  const clock = new ManualClock();
  const world: World = new Map([['ip-a', new Set()], ['ip-b', new Set()]]);
  const queue: { from: string; msg: HaMessage }[] = [];
  const nodes: Record<string, Node> = {};
  const makeNode = (name: string): Node => {
    const sent: HaMessage[] = [];
    const log = memoryLogger();
    const rm = new R1Manager({
      localNode: name,
      nodes: ['nodea', 'nodeb'],
      autoFailback: opts.autoFailback ?? 'off',
      groups: [
        fakeGroup('ip-a', 'nodea', name, world, opts.failStartOn === name),
        fakeGroup('ip-b', 'nodeb', name, world, opts.failStartOn === name),
      ],
      send: (msg) => {
        sent.push(msg);
        queue.push({ from: name, msg });
      },
      clock,
      log,
      rqstDelayMs: 2000,
    });
    return (nodes[name] = { name, rm, sent, log });
  };
  makeNode('nodea');
  makeNode('nodeb');
  /** Power loss of a node: its resources vanish with it. */
  const crash = (name: string) => {
    up.delete(name);
    for (const w of world.values()) w.delete(name);
  };
  /** The node boots again: a fresh manager, nothing running. */
  const reboot = (name: string) => {
    up.add(name);
    return makeNode(name);
  };
  const up = new Set(['nodea', 'nodeb']);
  /** Delivers queued messages (to live nodes) and lets promises run, until quiet. */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 200; i++) {
      await new Promise((r) => setImmediate(r));
      const q = queue.splice(0);
      if (q.length === 0) continue;
      for (const { from, msg } of q) {
        if (!up.has(from)) continue;
        for (const n of Object.values(nodes)) {
          if (n.name === from || !up.has(n.name)) continue;
          n.rm.onMessage({ from, type: msg.get('t')!, fields: msg.fields, atMs: clock.now() });
        }
      }
    }
  };
  const event = (to: string, e: MembershipEvent) => nodes[to]!.rm.onMembership(e);
  const active = (name: string) => event(name, { type: 'local-state', state: 'active', atMs: clock.now() });
  const heard = (to: string, node: string) => event(to, { type: 'node-state', node, state: 'active', prev: 'init', reason: 'heard', atMs: 0 });
  const dies = (to: string, node: string, reason: 'deadtime' | 'initdead' | 'shutdown' = 'deadtime') =>
    event(to, { type: 'node-state', node, state: 'dead', prev: 'active', reason, atMs: 0 });
  const where = (key: string) => [...world.get(key)!].sort();
  const tick = async (ms: number) => {
    clock.advance(ms);
    await settle();
  };
  return { clock, nodes, settle, active, heard, dies, where, tick, up, crash, reboot, a: nodes.nodea!, b: nodes.nodeb! };
}

async function bothUp(c: ReturnType<typeof cluster>) {
  c.heard('nodea', 'nodeb');
  c.heard('nodeb', 'nodea');
  c.active('nodea');
  c.active('nodeb');
  await c.settle();
  await c.tick(2000);
}

test('both start together: after the start-up delay each takes its own group; the rest agrees', async () => {
  const c = cluster();
  await bothUp(c);
  assert.deepEqual(c.where('ip-a'), ['nodea']);
  assert.deepEqual(c.where('ip-b'), ['nodeb']);
  assert.equal(c.a.rm.snapshot().state, 'stable');
  assert.equal(c.a.rm.snapshot().holds, 'local');
  assert.equal(c.a.rm.snapshot().otherHolds, 'local');
  assert.ok(c.a.sent.some((m) => m.get('t') === 'starting'));
  assert.ok(c.a.sent.some((m) => m.get('t') === 'resource' && m.get('rsc_hold') === 'local' && m.get('isstable') === '1'));
});

test('a node alone at start takes everything; stonith is announced for the dead peer', async () => {
  const c = cluster();
  c.crash('nodeb');
  c.dies('nodea', 'nodeb', 'initdead');
  c.active('nodea');
  await c.settle();
  assert.deepEqual(c.where('ip-a'), ['nodea']);
  assert.deepEqual(c.where('ip-b'), ['nodea']);
  const st = c.a.sent.find((m) => m.get('t') === 'stonith');
  assert.equal(st?.get('node'), 'nodeb');
  assert.equal(st?.get('result'), 'n_stnth', 'never heard from: it might hold resources');
});

test('peer death: its groups are taken over, announced with stonith n_stnth and mach_down', async () => {
  const c = cluster();
  await bothUp(c);
  c.crash('nodeb');
  c.dies('nodea', 'nodeb');
  await c.settle();
  assert.deepEqual(c.where('ip-b'), ['nodea'], 'nodea runs ip-b');
  assert.equal(c.a.rm.snapshot().holds, 'all');
  assert.ok(c.a.sent.some((m) => m.get('t') === 'resource' && m.get('info') === 'mach_down'));
  assert.equal(c.a.sent.find((m) => m.get('t') === 'stonith')?.get('result'), 'n_stnth', 'it held local resources');
});

test('standby moves everything to the peer (3-phase protocol); takeover brings it back', async () => {
  const c = cluster();
  await bothUp(c);
  c.a.rm.requestStandby('all');
  await c.settle();
  assert.deepEqual(c.where('ip-a'), ['nodeb']);
  assert.deepEqual(c.where('ip-b'), ['nodeb']);
  assert.equal(c.a.rm.snapshot().holds, 'none');
  assert.equal(c.b.rm.snapshot().holds, 'all');
  const infos = c.a.sent.concat(c.b.sent).filter((m) => m.get('t') === 'ask_resources').map((m) => m.get('info'));
  assert.deepEqual(infos.sort(), ['done', 'done', 'me', 'other']);
  assert.equal(c.a.rm.snapshot().standby, 'not');
  assert.equal(c.b.rm.snapshot().standby, 'not');

  c.a.rm.requestTakeover('all');
  await c.settle();
  assert.deepEqual(c.where('ip-a'), ['nodea']);
  assert.deepEqual(c.where('ip-b'), ['nodea']);
  assert.equal(c.b.rm.snapshot().holds, 'none');
});

test('standby is refused while the other side is in flux', async () => {
  const c = cluster();
  c.heard('nodea', 'nodeb');
  c.active('nodea');
  await c.settle();
  assert.throws(() => c.a.rm.requestStandby('all'), /refused/);
  assert.throws(() => c.a.rm.requestStandby('bogus'), /not all, local, foreign/);
});

test('auto_failback on: the preferred node gets its group back when it returns; off: it does not', async () => {
  for (const mode of ['on', 'off'] as const) {
    const c = cluster({ autoFailback: mode });
    await bothUp(c);
    c.crash('nodeb');
    c.dies('nodea', 'nodeb');
    await c.settle();
    assert.deepEqual(c.where('ip-b'), ['nodea']);
    // nodeb boots again; nodea hears it (new generation).
    c.reboot('nodeb');
    c.a.rm.onMembership({ type: 'node-state', node: 'nodeb', state: 'up', prev: 'dead', reason: 'heard', atMs: 0 });
    c.heard('nodeb', 'nodea');
    c.active('nodeb');
    await c.settle();
    await c.tick(3000);
    assert.deepEqual(c.where('ip-a'), ['nodea'], `auto_failback ${mode}: ip-a stays`);
    assert.deepEqual(c.where('ip-b'), mode === 'on' ? ['nodeb'] : ['nodea'], `auto_failback ${mode}: ip-b`);
    assert.equal(c.nodes.nodeb!.rm.snapshot().state, 'stable');
  }
});

test('graceful shutdown hands over at once (no deadtime wait)', async () => {
  const c = cluster();
  await bothUp(c);
  await c.b.rm.shutdown();
  c.dies('nodea', 'nodeb', 'shutdown');
  await c.settle();
  assert.deepEqual(c.where('ip-b'), ['nodea']);
  assert.deepEqual(c.where('ip-a'), ['nodea']);
  const bt = c.b.sent.map((m) => m.get('t'));
  assert.ok(bt.indexOf('shutdone') > bt.lastIndexOf('resource'), 'shutdone is the last word');
  assert.equal(c.b.sent.findLast((m) => m.get('t') === 'resource')?.get('info'), 'shutdown');
});

test('legacy mode: each node asks for its groups with ip-request; the holder gives them up', async () => {
  const c = cluster({ autoFailback: 'legacy' });
  c.crash('nodeb');
  c.dies('nodea', 'nodeb', 'initdead');
  c.active('nodea');
  await c.settle();
  assert.deepEqual(c.where('ip-b'), ['nodea']);
  const b = c.reboot('nodeb');
  c.a.rm.onMembership({ type: 'node-state', node: 'nodeb', state: 'active', prev: 'dead', reason: 'heard', atMs: 0 });
  c.heard('nodeb', 'nodea');
  c.active('nodeb');
  await c.settle();
  assert.deepEqual(c.where('ip-b'), ['nodeb']);
  assert.deepEqual(c.where('ip-a'), ['nodea']);
  assert.ok(b.sent.some((m) => m.get('t') === 'ip-request' && m.get('ipaddr') === 'ip-b'));
  assert.ok(c.a.sent.some((m) => m.get('t') === 'ip-request-resp' && m.get('weown') === 'yes'));
});

test('a group that fails to start is reported as failed and nothing is left running', async () => {
  const c = cluster({ failStartOn: 'nodea' });
  await bothUp(c);
  const g = c.a.rm.snapshot().groups.find((x) => x.key === 'ip-a')!;
  assert.equal(g.state, 'failed');
  assert.match(g.error ?? '', /exit 1/);
  assert.deepEqual(c.where('ip-a'), []);
  assert.ok(c.a.log.lines.some((l) => /ip-a failed to start/.test(l)));
});

test('a node without groups is passive: no starting, answers starting with "none, stable", reports deaths', async () => {
  const clock = new ManualClock();
  const sent: HaMessage[] = [];
  const rm = new R1Manager({
    localNode: 'nodea', nodes: ['nodea', 'nodeb', 'nodec'], autoFailback: 'off', groups: [],
    send: (m) => sent.push(m), clock, log: memoryLogger(), rqstDelayMs: 2000,
  });
  rm.onMembership({ type: 'node-state', node: 'nodeb', state: 'active', prev: 'init', reason: 'heard', atMs: 0 });
  rm.onMembership({ type: 'local-state', state: 'active', atMs: 0 });
  assert.equal(sent.length, 0, 'nothing announced at start');
  rm.onMessage({ from: 'nodeb', type: 'starting', fields: [], atMs: 0 });
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.get('t'), 'resource');
  assert.equal(sent[0]!.get('rsc_hold'), 'none');
  assert.equal(sent[0]!.get('isstable'), '1');
  rm.onMembership({ type: 'node-state', node: 'nodeb', state: 'dead', prev: 'active', reason: 'deadtime', atMs: 0 });
  assert.equal(sent[1]!.get('t'), 'stonith');
  assert.equal(sent[1]!.get('result'), 'unneeded');
  assert.equal(sent.length, 2, 'no takeover chatter');
  assert.throws(() => rm.requestStandby('all'), /no resources/);
  await rm.shutdown();
  assert.equal(sent.at(-1)!.get('t'), 'shutdone');
});
