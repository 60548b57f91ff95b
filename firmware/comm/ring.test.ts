// The serial ring relay and the cross-check, on the real engine with
// in-memory point-to-point lines and a manual clock (HIL tests do the same on
// paced ptys).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterConfig } from '../config/config-data';
import { testConfig } from '../config/testing/test-config';
import { ManualClock } from '../core/clock';
import { memoryLogger } from '../core/log';
import { Authenticator } from '../wire/auth';
import { encodeForSerial } from '../wire/frame';
import { HaMessage } from '../wire/message';
import { Engine } from './engine';
import type { MembershipEvent } from './events';
import { TestWire, type TestMedium } from './testing/wire-medium';

const NAMES = ['na', 'nb', 'nc', 'nd'];

function cfg(local: string, nodes: string[]): ClusterConfig {
  return testConfig(local, {
    nodes,
    baud: 115200,
    crossCheckWaitMs: 100,
    auth: { outbound: 1, keys: [{ index: 1, method: 'sha1', key: 'ring', at: { file: 'a', line: 1 } }] },
  });
}

interface RingNode {
  name: string;
  engine: Engine;
  ports: TestMedium[];
  events: MembershipEvent[];
}

/** Node i's port 0 is cabled to node i+1's port 1. */
function ring(clock: ManualClock, names = NAMES) {
  const wires = names.map(() => new TestWire());
  const nodes: RingNode[] = names.map((name, i) => {
    const p0 = wires[i]!.end(`${name}-p0`, 'classic');
    const p1 = wires[(i + names.length - 1) % names.length]!.end(`${name}-p1`, 'classic');
    const events: MembershipEvent[] = [];
    const engine = new Engine({
      config: cfg(name, names),
      identity: { uuid: Buffer.alloc(16, i + 1), generation: 100 + i },
      clock,
      media: [p0, p1],
      log: memoryLogger(),
      emit: (e) => events.push(e),
      deliver: () => undefined,
      loadavg: () => '0.00 0.00 0.00 1/1 1',
    });
    return { name, engine, ports: [p0, p1], events };
  });
  for (const n of nodes) n.engine.start();
  return { wires, nodes };
}

const state = (n: RingNode, of: string) => n.engine.snapshot().nodes.find((x) => x.name === of)?.state;
const deaths = (n: RingNode) => n.events.filter((e) => e.type === 'node-state' && e.state === 'dead');

test('4-node ring: all see all through the relay; one cut link changes nothing', () => {
  const clock = new ManualClock();
  const { wires, nodes } = ring(clock);
  clock.advance(500);
  for (const n of nodes) for (const m of NAMES) if (m !== n.name) assert.equal(state(n, m), 'active', `${n.name} sees ${m}`);
  // na and nc are not cabled to each other: only the relay connects them.
  assert.ok(nodes.every((n) => n.ports.some((p) => p.relayed > 0)), 'every node relays');
  wires[0]!.connected = false; // cut na <-> nb
  clock.advance(3000);
  for (const n of nodes) assert.equal(deaths(n).length, 0, `${n.name}: no death with one link cut`);
  for (const n of nodes) for (const m of NAMES) if (m !== n.name) assert.equal(state(n, m), 'active');
});

test('no frame circulates forever: traffic per link stays bounded by the TTL', () => {
  const clock = new ManualClock();
  const { wires, nodes } = ring(clock);
  clock.advance(1000);
  const before = wires[0]!.ends.reduce((s, e) => s + e.sent.length, 0);
  clock.advance(1000);
  const perSecond = wires[0]!.ends.reduce((s, e) => s + e.sent.length, 0) - before;
  // 4 nodes x 10 status/s, each crossing any one link at most twice (once per
  // direction) plus a few ACKs: bounded, not growing.
  assert.ok(perSecond <= 4 * 10 * 2 + 40, `frames per second on one link: ${perSecond}`);
  clock.advance(1000);
  const perSecond2 = wires[0]!.ends.reduce((s, e) => s + e.sent.length, 0) - before - perSecond;
  assert.ok(Math.abs(perSecond2 - perSecond) <= 10, `steady (${perSecond} then ${perSecond2})`);
  void nodes;
});

test('a frame crosses a whole 8-node line (7 hops) within its TTL of node count + hopfudge', () => {
  // An 8-node line (not a ring) relays a frame from one end to the other:
  // ttl 9 at the origin, 1 after 8 hops; the last node does not relay it.
  const clock = new ManualClock();
  const names = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8'];
  const { wires, nodes } = ring(clock, names);
  wires[names.length - 1]!.connected = false; // open the ring into a line n1 ... n8
  clock.advance(1000);
  for (const n of nodes) for (const m of names) if (m !== n.name) assert.equal(state(n, m), 'active', `${n.name} sees ${m} over up to 7 hops`);
  const ttlDrops = nodes.reduce((s, n) => s + (n.engine.snapshot().drops['ttl-expired'] ?? 0), 0);
  assert.equal(ttlDrops, 0, 'the line is shorter than the TTL: nothing expires');
});

test('a frame whose TTL runs out is not relayed further (and is counted)', () => {
  const clock = new ManualClock();
  const { nodes } = ring(clock);
  clock.advance(500);
  const auth = new Authenticator(cfg('na', NAMES).auth);
  const msg = HaMessage.of({ t: 'status', st: 'active', dt: '1f4', protocol: '1', src: 'na', seq: '7fff', hg: '64', ts: '1', ld: '0', ttl: '2' });
  const relayedBefore = nodes[2]!.ports[0]!.relayed;
  const expiredBefore = nodes[2]!.engine.snapshot().drops['ttl-expired'] ?? 0;
  // Arrives at nb from na's side with ttl 2: nb relays it to nc with ttl 1, nc does not relay.
  nodes[1]!.ports[1]!.inject(encodeForSerial(msg, auth));
  assert.equal(nodes[2]!.ports[0]!.relayed, relayedBefore, 'nc did not pass it on to nd');
  assert.equal((nodes[2]!.engine.snapshot().drops['ttl-expired'] ?? 0) - expiredBefore, 1);
});

test('isolated node: the others declare it dead after deadtime + settle + cross-check; nobody else dies', () => {
  const clock = new ManualClock();
  const { wires, nodes } = ring(clock);
  clock.advance(1000);
  // Isolate nb: cut both of its lines (na<->nb is wire 0, nb<->nc is wire 1).
  wires[0]!.connected = false;
  wires[1]!.connected = false;
  clock.advance(2000);
  for (const n of [nodes[0]!, nodes[2]!, nodes[3]!]) {
    const d = deaths(n);
    assert.equal(d.length, 1, `${n.name} declared exactly one death`);
    const e = d[0]!;
    assert.ok(e.type === 'node-state' && e.node === 'nb');
    // deadtime 500 + settle 25 + cross-check (answers arrive at once here) + one keepalive of phase
    assert.ok(e.silentMs! <= 500 + 100 + 25 + 100, `${n.name}: silent ${e.silentMs} ms`);
  }
  assert.ok(nodes[0]!.engine.snapshot().tx.crossChecks >= 1, 'a cross-check was asked');
});

test('three nodes, one link cut (no ring): a link problem is reported, no death', () => {
  const clock = new ManualClock();
  // Two UDP segments (no relay on UDP): na only on lan1, nc only on lan2, nb
  // on both. na and nc never hear each other directly, nb hears both.
  const names = ['na', 'nb', 'nc'];
  const lan1 = new TestWire();
  const lan2 = new TestWire();
  const media = { na: [lan1.end('na-eth0', 'netstring')], nb: [lan1.end('nb-eth0', 'netstring'), lan2.end('nb-eth1', 'netstring')], nc: [lan2.end('nc-eth0', 'netstring')] };
  const nodes = names.map((name, i) => {
    const events: MembershipEvent[] = [];
    const engine = new Engine({
      config: cfg(name, names),
      identity: { uuid: Buffer.alloc(16, i + 1), generation: 1 },
      clock,
      media: media[name as 'na'],
      log: memoryLogger(),
      emit: (e) => events.push(e),
      deliver: () => undefined,
      loadavg: () => '0',
    });
    engine.start();
    return { name, engine, ports: [], events };
  });
  clock.advance(3000);
  // na cannot hear nc (and vice versa), but nb hears both.
  for (const [n, other] of [[nodes[0]!, 'nc'], [nodes[2]!, 'na']] as const) {
    assert.equal(deaths(n).length, 0, `${n.name}: no death`);
    const snap = n.engine.snapshot().nodes.find((x) => x.name === other)!;
    assert.deepEqual(snap.heardOnlyBy, ['nb'], `${n.name} reports ${other} as a link problem`);
    assert.ok(n.events.some((e) => e.type === 'reachability' && e.node === other && !e.direct));
  }
});
