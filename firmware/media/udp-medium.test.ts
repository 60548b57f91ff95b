// UdpMedium tests.
//
// Part 1 runs in this process on `lo` (no privileges): lifecycle, host name
// resolution, receive-socket reopen, send limits.
//
// Part 2 uses REAL network namespaces (root): two namespaces A and B joined by
// veth pairs, one "node" per namespace. Sockets cannot be moved into a
// namespace and Node cannot setns(), so each node is a child process started
// with `ip netns exec NS node --import tsx udp-peer.fixture.ts`, driven over
// JSON lines on stdin/stdout. Every name has a random suffix (veth names stay
// <= 15 chars); namespaces and children are removed in after hooks, children
// are killed by their own PID only.

import { test, describe, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { SystemClock } from '../core/clock';
import type { MediumHandlers, MediumState } from './medium';
import { UdpMedium, type UdpTarget } from './udp-medium';
import { UdpReceiverRegistry } from './udp-receiver';
import { broadcastOf, inSubnet, ipv4Of } from './iface';
import { sleep, until } from './test-helpers.fixture';

const clock = new SystemClock();

class Recorder implements MediumHandlers {
  frames: { data: string; from?: string }[] = [];
  states: [MediumState, string][] = [];
  onFrame(f: Buffer, o: { address?: string }): void {
    this.frames.push({ data: f.toString('latin1'), from: o.address });
  }
  onDrop(): void {}
  onState(s: MediumState, d: string): void {
    this.states.push([s, d]);
  }
  get state(): MediumState | undefined {
    return this.states.at(-1)?.[0];
  }
}

// ---------------------------------------------------------------------------
// Part 1: in process, on lo

test('iface helpers: broadcast, subnet, first IPv4 entry', () => {
  assert.equal(broadcastOf('10.1.2.3', '255.255.255.0'), '10.1.2.255');
  assert.equal(broadcastOf('192.168.7.9', '255.255.252.0'), '192.168.7.255');
  assert.equal(broadcastOf('172.16.0.1', '255.240.0.0'), '172.31.255.255');
  assert.equal(inSubnet('10.1.2.77', { address: '10.1.2.3', netmask: '255.255.255.0' }), true);
  assert.equal(inSubnet('10.1.3.77', { address: '10.1.2.3', netmask: '255.255.255.0' }), false);
  assert.equal(inSubnet('fe80::1', { address: '10.1.2.3', netmask: '255.255.255.0' }), false);
  const i = ipv4Of('eth9', [
    { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '', internal: false, cidr: null, scopeid: 2 },
    { address: '10.9.0.5', netmask: '255.255.0.0', family: 'IPv4', mac: '', internal: false, cidr: null },
  ]);
  assert.deepEqual(i, { name: 'eth9', address: '10.9.0.5', netmask: '255.255.0.0', broadcast: '10.9.255.255' });
  assert.equal(ipv4Of('eth9', undefined), undefined);
});

function localMedium(t: TestContext, target: UdpTarget, extra: Partial<ConstructorParameters<typeof UdpMedium>[0]> = {}) {
  const receivers = extra.receivers ?? new UdpReceiverRegistry({ clock });
  const m = new UdpMedium({ target, clock, receivers, watchMs: 100, ...extra });
  const rec = new Recorder();
  t.after(() => m.stop());
  return { m, rec, receivers };
}

const freePort = () => randomInt(20000, 60000);

test('ucast on lo: host name resolved, frame looped to ourselves, stats counted', async (t) => {
  const port = freePort();
  const { m, rec } = localMedium(t, { kind: 'ucast', iface: 'lo', peer: 'localhost', port });
  assert.equal(m.name, 'lo');
  assert.equal(m.format, 'netstring');
  m.start(rec);
  await until(() => rec.state === 'up', 'up');
  m.send(Buffer.from('###\nhello'));
  await until(() => rec.frames.length === 1, 'frame');
  assert.deepEqual(rec.frames[0], { data: '###\nhello', from: '127.0.0.1' });
  const s = m.stats();
  assert.equal(s.kind, 'ucast');
  assert.equal(s.framesOut, 1);
  assert.equal(s.framesIn, 1);
  assert.equal(s.bytesIn, 9);
  assert.equal(s.opens, 1);
  await m.stop();
  assert.equal(rec.state, 'stopped');
  m.send(Buffer.from('x'));
  assert.equal(m.stats().txDropped, 1);
});

test('a peer that does not resolve yet: down, retried, up once it resolves', async (t) => {
  let calls = 0;
  const resolveHost = async (h: string) => {
    calls++;
    if (calls < 3) throw new Error(`ENOTFOUND ${h}`);
    return '127.0.0.1';
  };
  const { m, rec } = localMedium(t, { kind: 'ucast', iface: 'lo', peer: 'peer-b', port: freePort() }, { resolveHost });
  m.start(rec);
  await until(() => rec.state === 'up', 'up');
  assert.deepEqual(
    rec.states.map((s) => s[0]),
    ['starting', 'down', 'up'],
  );
  assert.match(rec.states[1][1], /cannot resolve ucast peer peer-b/);
  assert.equal(calls, 3);
});

test('missing interface: down, send never throws, stop cancels the retries', async (t) => {
  const { m, rec, receivers } = localMedium(t, { kind: 'bcast', iface: 'rbnosuch0', port: freePort() });
  m.start(rec);
  await until(() => rec.state === 'down', 'down');
  assert.match(rec.states.at(-1)![1], /rbnosuch0 is missing/);
  m.send(Buffer.from('x'));
  m.send(Buffer.alloc(70000));
  assert.equal(m.stats().txDropped, 2);
  await m.stop();
  assert.deepEqual(receivers.activePorts(), []);
  const n = rec.states.length;
  await sleep(300);
  assert.equal(rec.states.length, n);
});

test('oversized frame (> 65507 bytes) is dropped, not thrown', async (t) => {
  const { m, rec } = localMedium(t, { kind: 'ucast', iface: 'lo', peer: '127.0.0.1', port: freePort() });
  m.start(rec);
  await until(() => rec.state === 'up', 'up');
  m.send(Buffer.alloc(65508));
  m.send(Buffer.alloc(65507));
  await until(() => rec.frames.length === 1, 'max datagram');
  assert.equal(rec.frames[0].data.length, 65507);
  assert.equal(m.stats().txDropped, 1);
  assert.equal(rec.state, 'up');
});

test('receive socket that cannot bind: down, reopened with backoff, then up', async (t) => {
  const port = freePort();
  // A socket without SO_REUSEADDR keeps everyone else off the port.
  const blocker = dgram.createSocket({ type: 'udp4' });
  await new Promise<void>((r) => blocker.bind(port, '0.0.0.0', r));
  let blocked = true;
  t.after(() => {
    if (blocked) blocker.close();
  });
  const { m, rec } = localMedium(t, { kind: 'ucast', iface: 'lo', peer: '127.0.0.1', port });
  m.start(rec);
  await until(() => rec.state === 'down', 'down');
  assert.match(rec.states.at(-1)![1], /EADDRINUSE/);
  m.send(Buffer.from('lost'));
  assert.equal(m.stats().txDropped, 1);
  blocker.close();
  blocked = false;
  await until(() => rec.state === 'up', 'up after the port frees', 5000);
  m.send(Buffer.from('now'));
  await until(() => rec.frames.length === 1, 'frame');
  assert.equal(rec.frames[0].data, 'now');
});

test('two media on one port share one socket; release closes it with the last one', async (t) => {
  const port = freePort();
  const receivers = new UdpReceiverRegistry({ clock });
  const a = localMedium(t, { kind: 'ucast', iface: 'lo', peer: '127.0.0.1', port }, { receivers });
  const b = localMedium(t, { kind: 'ucast', iface: 'lo', peer: '127.0.0.1', port }, { receivers });
  a.m.start(a.rec);
  b.m.start(b.rec);
  await until(() => a.rec.state === 'up' && b.rec.state === 'up', 'both up');
  assert.deepEqual(receivers.activePorts(), [port]);
  b.m.send(Buffer.from('one'));
  await until(() => a.rec.frames.length === 1, 'frame');
  await sleep(50);
  // Same subnet for both: the first registered medium gets it, exactly once.
  assert.equal(b.rec.frames.length, 0);
  await a.m.stop();
  assert.deepEqual(receivers.activePorts(), [port]);
  b.m.send(Buffer.from('two'));
  await until(() => b.rec.frames.length === 1, 'frame to the remaining medium');
  await b.m.stop();
  assert.deepEqual(receivers.activePorts(), []);
});

// ---------------------------------------------------------------------------
// Part 2: two network namespaces

const isRoot = process.getuid?.() === 0;
const hasIp = spawnSync('ip', ['-V']).status === 0;
const fixture = join(__dirname, 'udp-peer.fixture.ts');
const repoRoot = join(__dirname, '..', '..');

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

interface PeerEvent {
  ev: string;
  id?: string;
  state?: MediumState;
  detail?: string;
  data?: string;
  from?: string;
  stats?: Record<string, unknown>;
  ports?: number[];
}

/** A child node inside a namespace. */
class Peer {
  events: PeerEvent[] = [];
  private exited: Promise<void>;
  private constructor(
    readonly ns: string,
    private readonly proc: ChildProcess,
  ) {
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      try {
        this.events.push(JSON.parse(l) as PeerEvent);
      } catch {
        this.events.push({ ev: 'noise', data: l });
      }
    });
    this.exited = new Promise((r) => proc.once('exit', () => r()));
  }

  static async start(ns: string): Promise<Peer> {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS; // each node start would parse a CA bundle
    const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', fixture], {
      cwd: repoRoot,
      env,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const p = new Peer(ns, proc);
    await p.waitFor((e) => e.ev === 'ready', `${ns} fixture ready`, 15000);
    return p;
  }

  send(cmd: object): void {
    this.proc.stdin!.write(JSON.stringify(cmd) + '\n');
  }

  add(id: string, target: UdpTarget): void {
    this.send({ op: 'add', id, target, watchMs: 200 });
  }

  async waitFor(pred: (e: PeerEvent) => boolean, what: string, timeoutMs = 5000): Promise<PeerEvent> {
    await until(() => this.events.some(pred), `${what} (${this.ns})`, timeoutMs);
    return this.events.find(pred)!;
  }

  state(id: string): MediumState | undefined {
    return this.events.filter((e) => e.ev === 'state' && e.id === id).at(-1)?.state;
  }

  async waitState(id: string, state: MediumState, timeoutMs = 5000): Promise<void> {
    await until(() => this.state(id) === state, `${this.ns}/${id} ${state}`, timeoutMs);
  }

  frames(id: string): PeerEvent[] {
    return this.events.filter((e) => e.ev === 'frame' && e.id === id);
  }

  async stats(id: string): Promise<Record<string, unknown>> {
    const n = this.events.length;
    this.send({ op: 'stats', id });
    await until(() => this.events.slice(n).some((e) => e.ev === 'stats' && e.id === id), 'stats');
    return this.events.slice(n).find((e) => e.ev === 'stats' && e.id === id)!.stats!;
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.stdin!.end(); // the fixture stops its media and exits
    const t = setTimeout(() => {
      if (this.proc.pid !== undefined && this.proc.exitCode === null) process.kill(this.proc.pid, 'SIGKILL');
    }, 3000);
    await this.exited;
    clearTimeout(t);
  }
}

describe('UDP media between two network namespaces (needs root and iproute2)', () => {
  before(() => {
    if (!isRoot) throw new Error('these tests create network namespaces: run them as root');
    if (!hasIp) throw new Error('ip is missing: apt-get install iproute2');
  });
  const sfx = randomBytes(3).toString('hex');
  const nsA = `rbu${sfx}a`;
  const nsB = `rbu${sfx}b`;
  const net = randomInt(16, 250); // 10.<net>.<pair>.0/24
  const dev = (side: 'a' | 'b', pair: number) => `r${sfx}${side}${pair}`; // 9 chars
  const addr = (side: 'a' | 'b', pair: number) => `10.${net}.${pair}.${side === 'a' ? 1 : 2}`;
  const group = `239.${net}.0.1`;
  let nsCreated: string[] = [];

  const addPair = (pair: number): void => {
    ip('link', 'add', dev('a', pair), 'netns', nsA, 'type', 'veth', 'peer', 'name', dev('b', pair), 'netns', nsB);
    for (const [side, ns] of [['a', nsA], ['b', nsB]] as const) {
      ip('-n', ns, 'addr', 'add', `${addr(side, pair)}/24`, 'dev', dev(side, pair));
      ip('-n', ns, 'link', 'set', dev(side, pair), 'up');
    }
  };
  /**
   * A veth reports carrier (RUNNING) a little after `link set up`, up to a
   * second on a busy host, and until then libuv (so a medium) does not list it.
   */
  const waitRunning = async (pair: number): Promise<void> => {
    for (const [side, ns] of [['a', nsA], ['b', nsB]] as const) {
      await until(() => {
        const r = spawnSync('ip', ['-n', ns, 'link', 'show', 'dev', dev(side, pair)], { encoding: 'utf8' });
        return /LOWER_UP/.test(r.stdout) && /state UP/.test(r.stdout);
      }, `${dev(side, pair)} running`);
    }
  };
  /** Deleting one end of a veth pair deletes both. */
  const delPair = (pair: number): void => ip('-n', nsA, 'link', 'del', dev('a', pair));

  before(async () => {
    for (const ns of [nsA, nsB]) {
      ip('netns', 'add', ns);
      nsCreated.push(ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    addPair(1);
    addPair(2);
    await waitRunning(1);
    await waitRunning(2);
  });

  after(() => {
    // Children are closed by each test; deleting a namespace removes its veths.
    for (const ns of nsCreated) spawnSync('ip', ['netns', 'del', ns]);
    nsCreated = [];
  });

  async function peers(t: TestContext): Promise<[Peer, Peer]> {
    const ps = await Promise.all([Peer.start(nsA), Peer.start(nsB)]);
    t.after(() => Promise.all(ps.map((p) => p.close())));
    return ps as [Peer, Peer];
  }

  test('bcast: delivered to the other namespace, and our own broadcast comes back', async (t) => {
    const [A, B] = await peers(t);
    A.add('m', { kind: 'bcast', iface: dev('a', 1), port: 694 });
    B.add('m', { kind: 'bcast', iface: dev('b', 1), port: 694 });
    await Promise.all([A.waitState('m', 'up'), B.waitState('m', 'up')]);
    A.send({ op: 'send', id: 'm', data: '###\nfrom-a' });
    await B.waitFor((e) => e.ev === 'frame' && e.data === '###\nfrom-a', 'bcast frame at B');
    assert.equal(B.frames('m')[0].from, addr('a', 1));
    await A.waitFor((e) => e.ev === 'frame' && e.data === '###\nfrom-a', 'own bcast at A');
    const st = await A.stats('m');
    assert.equal(st.framesOut, 1);
    assert.equal(st.name, dev('a', 1));
  });

  test('ucast: delivered to the peer address only', async (t) => {
    const [A, B] = await peers(t);
    A.add('m', { kind: 'ucast', iface: dev('a', 1), peer: addr('b', 1), port: 695 });
    B.add('m', { kind: 'ucast', iface: dev('b', 1), peer: addr('a', 1), port: 695 });
    await Promise.all([A.waitState('m', 'up'), B.waitState('m', 'up')]);
    A.send({ op: 'send', id: 'm', data: 'u1' });
    B.send({ op: 'send', id: 'm', data: 'u2' });
    await B.waitFor((e) => e.ev === 'frame' && e.data === 'u1', 'ucast at B');
    await A.waitFor((e) => e.ev === 'frame' && e.data === 'u2', 'ucast at A');
    await sleep(100);
    assert.deepEqual(A.frames('m').map((e) => e.data), ['u2']);
    assert.deepEqual(B.frames('m').map((e) => e.data), ['u1']);
  });

  test('mcast: group joined on the interface; loop 0 keeps our own copy out', async (t) => {
    const [A, B] = await peers(t);
    A.add('m', { kind: 'mcast', iface: dev('a', 1), group, port: 696, ttl: 1, loop: false });
    B.add('m', { kind: 'mcast', iface: dev('b', 1), group, port: 696, ttl: 1, loop: true });
    await Promise.all([A.waitState('m', 'up'), B.waitState('m', 'up')]);
    A.send({ op: 'send', id: 'm', data: 'mc-a' });
    B.send({ op: 'send', id: 'm', data: 'mc-b' });
    await B.waitFor((e) => e.ev === 'frame' && e.data === 'mc-a', 'mcast at B');
    await A.waitFor((e) => e.ev === 'frame' && e.data === 'mc-b', 'mcast at A');
    await B.waitFor((e) => e.ev === 'frame' && e.data === 'mc-b', 'own mcast at B (loop 1)');
    await sleep(150);
    assert.deepEqual(A.frames('m').map((e) => e.data), ['mc-b']);
  });

  test('two media on one port: one shared socket, each datagram to the medium of its subnet', async (t) => {
    const [A, B] = await peers(t);
    for (const p of [1, 2]) {
      A.add(`m${p}`, { kind: 'bcast', iface: dev('a', p), port: 697 });
      B.add(`m${p}`, { kind: 'bcast', iface: dev('b', p), port: 697 });
    }
    await Promise.all([1, 2].flatMap((p) => [A.waitState(`m${p}`, 'up'), B.waitState(`m${p}`, 'up')]));
    const ss = spawnSync('ip', ['netns', 'exec', nsB, 'ss', '-Hunl', 'sport = :697'], { encoding: 'utf8' });
    assert.equal(ss.stdout.trim().split('\n').filter(Boolean).length, 1, `sockets on 697:\n${ss.stdout}`);
    A.send({ op: 'send', id: 'm1', data: 'via-1' });
    A.send({ op: 'send', id: 'm2', data: 'via-2' });
    await B.waitFor((e) => e.ev === 'frame' && e.data === 'via-2', 'frame on pair 2');
    await B.waitFor((e) => e.ev === 'frame' && e.data === 'via-1', 'frame on pair 1');
    await sleep(100);
    assert.deepEqual(B.frames('m1').map((e) => [e.data, e.from]), [['via-1', addr('a', 1)]]);
    assert.deepEqual(B.frames('m2').map((e) => [e.data, e.from]), [['via-2', addr('a', 2)]]);
  });

  test('interface deleted -> down; re-created -> up, group re-joined, delivery resumes', async (t) => {
    addPair(3);
    t.after(() => spawnSync('ip', ['-n', nsA, 'link', 'del', dev('a', 3)]));
    await waitRunning(3);
    const [A, B] = await peers(t);
    A.add('mc', { kind: 'mcast', iface: dev('a', 3), group, port: 698, ttl: 1, loop: false });
    B.add('mc', { kind: 'mcast', iface: dev('b', 3), group, port: 698, ttl: 1, loop: false });
    B.add('bc', { kind: 'bcast', iface: dev('b', 3), port: 699 });
    A.add('bc', { kind: 'bcast', iface: dev('a', 3), port: 699 });
    await Promise.all(['mc', 'bc'].flatMap((id) => [A.waitState(id, 'up'), B.waitState(id, 'up')]));
    A.send({ op: 'send', id: 'mc', data: 'before' });
    await B.waitFor((e) => e.ev === 'frame' && e.data === 'before', 'frame before');

    delPair(3);
    await Promise.all(['mc', 'bc'].flatMap((id) => [A.waitState(id, 'down'), B.waitState(id, 'down')]));
    const down = B.events.filter((e) => e.ev === 'state' && e.id === 'mc').at(-1)!;
    assert.match(down.detail!, /disappeared|missing/);
    A.send({ op: 'send', id: 'mc', data: 'lost' });
    assert.equal((await A.stats('mc')).txDropped, 1);
    await sleep(500); // a few failed re-checks

    addPair(3);
    await Promise.all(['mc', 'bc'].flatMap((id) => [A.waitState(id, 'up'), B.waitState(id, 'up')]));
    A.send({ op: 'send', id: 'mc', data: 'after' });
    A.send({ op: 'send', id: 'bc', data: 'after-bc' });
    await B.waitFor((e) => e.ev === 'frame' && e.data === 'after', 'mcast after re-creation');
    await B.waitFor((e) => e.ev === 'frame' && e.data === 'after-bc', 'bcast after re-creation');
    assert.equal((await B.stats('mc')).opens, 2);
    assert.deepEqual(
      B.events.filter((e) => e.ev === 'state' && e.id === 'mc').map((e) => e.state),
      ['starting', 'up', 'down', 'up'],
    );
  });

  test('send errors (EPERM from a firewall): down without flapping, up on the first send that works', async (t) => {
    if (spawnSync('nft', ['--version']).status !== 0) throw new Error('nft is missing: apt-get install nftables');
    const nft = (...args: string[]) => {
      const r = spawnSync('ip', ['netns', 'exec', nsA, 'nft', ...args], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr}`);
    };
    t.after(() => spawnSync('ip', ['netns', 'exec', nsA, 'nft', 'delete', 'table', 'inet', 'rbtest']));
    const [A, B] = await peers(t);
    A.add('m', { kind: 'ucast', iface: dev('a', 1), peer: addr('b', 1), port: 701 });
    B.add('m', { kind: 'ucast', iface: dev('b', 1), peer: addr('a', 1), port: 701 });
    await Promise.all([A.waitState('m', 'up'), B.waitState('m', 'up')]);
    nft('add', 'table', 'inet', 'rbtest');
    nft('add', 'chain', 'inet', 'rbtest', 'out', '{ type filter hook output priority 0 ; }');
    nft('add', 'rule', 'inet', 'rbtest', 'out', 'udp', 'dport', '701', 'drop');
    // Heartbeats keep coming every 100 ms, as the engine would send them.
    let n = 0;
    const beat = setInterval(() => A.send({ op: 'send', id: 'm', data: `hb${n++}` }), 100);
    t.after(() => clearInterval(beat));
    await A.waitState('m', 'down');
    const down = A.events.filter((e) => e.ev === 'state' && e.id === 'm').at(-1)!;
    assert.match(down.detail!, /EPERM/);
    await sleep(1500);
    const states = () => A.events.filter((e) => e.ev === 'state' && e.id === 'm').map((e) => e.state);
    assert.deepEqual(states(), ['starting', 'up', 'down'], 'no flapping while every send fails');
    nft('delete', 'table', 'inet', 'rbtest');
    await A.waitState('m', 'up', 5000);
    const nAtUp = n;
    await B.waitFor((e) => e.ev === 'frame' && e.data === `hb${nAtUp}`, 'heartbeats flow again');
    clearInterval(beat);
    assert.deepEqual(states(), ['starting', 'up', 'down', 'up']);
    const st = await A.stats('m');
    assert.equal(st.opens, 2);
    assert.ok((st.txDropped as number) >= 10, `txDropped ${st.txDropped}`);
  });

  test('interface created after start: down until it appears, then up', async (t) => {
    t.after(() => spawnSync('ip', ['-n', nsA, 'link', 'del', dev('a', 4)]));
    const [A, B] = await peers(t);
    B.add('m', { kind: 'bcast', iface: dev('b', 4), port: 700 });
    await B.waitState('m', 'down');
    addPair(4);
    A.add('m', { kind: 'bcast', iface: dev('a', 4), port: 700 });
    await Promise.all([A.waitState('m', 'up'), B.waitState('m', 'up')]);
    A.send({ op: 'send', id: 'm', data: 'late' });
    await B.waitFor((e) => e.ev === 'frame' && e.data === 'late', 'frame on the late interface');
  });
});
