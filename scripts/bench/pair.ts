// The two-node lab the detection benchmark runs both implementations in, so
// that only the implementation differs:
//
//   netns nodea (A, the victim)  --\
//   netns nodeb (B, the observer) --+-- bridge (bcast eth0, udpport 694)
//   netns probe (C, UdpProbe)     --/
//   [optional] paced serial cable A <-> B
//
// A BenchNode hides how an implementation is started, killed and asked about
// its peer. Kill times are taken on CLOCK_MONOTONIC (process.hrtime.bigint()),
// the clock the probe stamps datagrams with.

import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { HeartbeatNode } from '../../hil-tests/lib/heartbeat-node';
import { LabNet, type NetHost } from '../../hil-tests/lib/netns';
import { PacedCable } from '../../hil-tests/lib/paced-cable';
import type { Scope } from '../../hil-tests/lib/procs';
import { RingbeatNode } from '../../hil-tests/lib/ringbeat-node';
import { UdpProbe } from '../../hil-tests/lib/udp-probe';

export type Impl = 'ringbeat' | 'heartbeat';
export const IMPLS: readonly Impl[] = ['ringbeat', 'heartbeat'];

export interface Profile {
  label: string;
  keepaliveMs: number;
  deadtimeMs: number;
}

export interface BenchNode {
  readonly name: string;
  readonly host: NetHost;
  start(): Promise<void>;
  /** SIGKILLs every process of the node; resolves with the time right before the first SIGKILL, once all are gone. */
  kill(): Promise<bigint>;
  /** Waits until this node reports `peer` as active. */
  waitPeerActive(peer: string, timeoutMs: number): Promise<void>;
  /** Cheap poll of this node's own verdict on `peer` (ringbeat: control socket); undefined if the implementation has none cheap enough. */
  peerDead?(peer: string): Promise<boolean>;
}

/** ns offset from performance.now() to process.hrtime.bigint() (both CLOCK_MONOTONIC in Node). */
function perfToHrOffset(): bigint {
  let best: bigint | undefined;
  for (let i = 0; i < 5; i++) {
    const h = process.hrtime.bigint();
    const p = BigInt(Math.round(performance.now() * 1e6));
    const off = h - p;
    if (best === undefined || off > best) best = off; // the read order makes each estimate low by the gap
  }
  return best!;
}

class HeartbeatBench implements BenchNode {
  private readonly offset = perfToHrOffset();
  constructor(
    readonly node: HeartbeatNode,
    readonly host: NetHost,
  ) {}

  get name(): string {
    return this.node.name;
  }

  start(): Promise<void> {
    return this.node.start();
  }

  async kill(): Promise<bigint> {
    const r = await this.node.kill9();
    return BigInt(Math.round(r.monoMs * 1e6)) + this.offset;
  }

  async waitPeerActive(peer: string, timeoutMs: number): Promise<void> {
    if (!this.node.apiReady()) await this.node.waitForApi(timeoutMs);
    await this.node.waitNodeStatus(peer, 'active', timeoutMs, 100);
  }
}

class RingbeatBench implements BenchNode {
  constructor(
    readonly node: RingbeatNode,
    readonly net: LabNet,
    readonly host: NetHost,
  ) {}

  get name(): string {
    return this.node.name;
  }

  start(): Promise<void> {
    return this.node.start();
  }

  async kill(): Promise<bigint> {
    // list first, then stamp and signal back to back: the stamp is the kill
    const pids = await this.net.pids(this.host);
    const t = process.hrtime.bigint();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await this.node.kill9(); // anything forked meanwhile; waits until the namespace is empty
    return t;
  }

  async waitPeerActive(peer: string, timeoutMs: number): Promise<void> {
    await this.node.waitNodeState(peer, 'active', timeoutMs);
  }

  async peerDead(peer: string): Promise<boolean> {
    return (await this.node.nodeState(peer)) === 'dead';
  }
}

export interface PairOptions {
  impl: Impl;
  profile: Profile;
  dir: string;
  /** Also join A and B with a paced serial cable at this rate. */
  serialBaud?: number;
}

export interface Pair {
  net: LabNet;
  probe: UdpProbe;
  a: BenchNode;
  b: BenchNode;
  cable?: PacedCable;
}

/** ha.cf time: milliseconds with the `ms` suffix, which Heartbeat and ringbeat both read. */
const ms = (v: number): string => `${v}ms`;

/** Builds the lab and the two nodes (not started). Everything is torn down with `scope`. */
export async function buildPair(scope: Scope, o: PairOptions): Promise<Pair> {
  const net = await LabNet.create(scope, { hosts: ['nodea', 'nodeb', 'probe'] });
  const probe = await UdpProbe.start(scope, net, net.host('probe'), { dir: o.dir });
  const cable = o.serialBaud
    ? await PacedCable.create(scope, { dir: path.join(o.dir, 'serial'), baud: o.serialBaud })
    : undefined;
  const nodes = ['nodea', 'nodeb'];
  const media = (end: 'a' | 'b'): string[] => ['bcast eth0', ...(cable ? [`serial ${end === 'a' ? cable.a : cable.b}`] : [])];
  const timing = { keepalive: ms(o.profile.keepaliveMs), deadtime: ms(o.profile.deadtimeMs) };
  const auth = 'sha1 ringbeat-bench-detect';
  let a: BenchNode;
  let b: BenchNode;
  if (o.impl === 'heartbeat') {
    const common = { nodes, dir: o.dir, auth, ...timing, initdead: 10, baud: o.serialBaud };
    a = new HeartbeatBench(await HeartbeatNode.create(scope, { ...common, name: 'nodea', host: net.host('nodea'), media: media('a') }), net.host('nodea'));
    b = new HeartbeatBench(await HeartbeatNode.create(scope, { ...common, name: 'nodeb', host: net.host('nodeb'), media: media('b') }), net.host('nodeb'));
  } else {
    const common = { nodes, dir: o.dir, net, auth, ...timing, initdead: '10', baud: o.serialBaud };
    a = new RingbeatBench(RingbeatNode.create(scope, { ...common, name: 'nodea', host: net.host('nodea'), media: media('a') }), net, net.host('nodea'));
    b = new RingbeatBench(RingbeatNode.create(scope, { ...common, name: 'nodeb', host: net.host('nodeb'), media: media('b') }), net, net.host('nodeb'));
  }
  return { net, probe, a, b, cable };
}
