// A serial ring (or line) of paced cables for N nodes:
//
//   node0 port0 ---- port1 node1 port0 ---- port1 node2 ... nodeN-1 port0 ---- port1 node0
//        cable 0                  cable 1                           cable N-1 (ring only)
//
// Cable i joins node i's port 0 (its end `a`) to node i+1's port 1 (end `b`);
// a line is the ring without its last cable, so the end nodes have one port.
// Every cable is a PacedCable (line rate, overrun), each in its own directory
// <dir>/c<i>-<j>/ with links named <node>-p0 / <node>-p1, so the device paths
// say which node and port they belong to.
//
//   const ring = await CableRing.create(scope, { dir, nodes: 4, cable: { baud: 115200 } });
//   ha.cf of node k:  ring.serialMedia(k)   -> ['serial <dir>/c3-0/n0-p1 <dir>/c0-1/n0-p0'] ...
//   await ring.cut(1);  await ring.restore(1);  await ring.isolate('n2');

import * as path from 'node:path';
import { PacedCable, type CableFrameRecord, type PacedCableOptions, type PacedCableStats } from './paced-cable';
import type { Scope } from './procs';

export type RingTopology = 'ring' | 'line';

export interface CableRingOptions {
  /** Parent directory for the cables' directories. */
  dir: string;
  /** Node count (names n0, n1, ...) or node names ([A-Za-z0-9._-]). */
  nodes: number | readonly string[];
  /** 'ring' (default) closes the loop; 'line' leaves node N-1 port 0 and node 0 port 1 free. */
  topology?: RingTopology;
  /** Options for every cable (baud, rxBufferBytes, frameLog, tap, ...). */
  cable?: Omit<PacedCableOptions, 'dir' | 'names' | 'name'>;
}

export interface RingNodePorts {
  node: string;
  index: number;
  /** Toward the next node (end `a` of cable `index`). */
  port0?: string;
  /** Toward the previous node (end `b` of the cable before). */
  port1?: string;
}

export class CableRing {
  readonly nodes: readonly string[];
  readonly topology: RingTopology;
  /** cables[i] joins node i port 0 (a) and node (i+1) mod N port 1 (b). */
  readonly cables: readonly PacedCable[];

  private constructor(nodes: readonly string[], topology: RingTopology, cables: PacedCable[]) {
    this.nodes = nodes;
    this.topology = topology;
    this.cables = cables;
  }

  /** Builds and plugs in every cable; each one's teardown is registered in `scope`. */
  static async create(scope: Scope, opts: CableRingOptions): Promise<CableRing> {
    const nodes = typeof opts.nodes === 'number' ? Array.from({ length: opts.nodes }, (_, i) => `n${i}`) : [...opts.nodes];
    const topology = opts.topology ?? 'ring';
    if (nodes.length < 2) throw new Error(`a cable ${topology} needs at least 2 nodes, got ${nodes.length}`);
    if (new Set(nodes).size !== nodes.length) throw new Error(`node names must be unique: ${nodes.join(', ')}`);
    for (const n of nodes) if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(n)) throw new Error(`bad node name '${n}'`);
    const count = topology === 'ring' ? nodes.length : nodes.length - 1;
    const cables: PacedCable[] = [];
    for (let i = 0; i < count; i++) {
      const j = (i + 1) % nodes.length;
      cables.push(
        await PacedCable.create(scope, {
          ...opts.cable,
          dir: path.join(opts.dir, `c${i}-${j}`),
          names: [`${nodes[i]}-p0`, `${nodes[j]}-p1`],
          name: `c${i}-${j}`,
        }),
      );
    }
    return new CableRing(nodes, topology, cables);
  }

  /** Index of a node given by name or index. */
  indexOf(node: string | number): number {
    const i = typeof node === 'number' ? node : this.nodes.indexOf(node);
    if (!Number.isInteger(i) || i < 0 || i >= this.nodes.length) throw new Error(`no node ${String(node)} in ${this.nodes.join(', ')}`);
    return i;
  }

  /** Both port paths of a node (undefined where a line ends). */
  ports(node: string | number): RingNodePorts {
    const index = this.indexOf(node);
    const n = this.nodes.length;
    const prev = (index - 1 + n) % n;
    return {
      node: this.nodes[index]!,
      index,
      port0: this.cables[index]?.a,
      port1: this.cables[prev] && (this.topology === 'ring' || index > 0) ? this.cables[prev]!.b : undefined,
    };
  }

  /** The node's device paths, port 0 first. */
  devices(node: string | number): string[] {
    const p = this.ports(node);
    return [p.port0, p.port1].filter((x): x is string => x !== undefined);
  }

  /** ha.cf media line(s) for the node: ['serial <port0> <port1>'], or [] if it has no cable. */
  serialMedia(node: string | number): string[] {
    const d = this.devices(node);
    return d.length ? [`serial ${d.join(' ')}`] : [];
  }

  /** The cable joining two neighbours (either order), by index `i` (i <-> i+1) or by node pair. */
  cable(which: number | readonly [string | number, string | number]): PacedCable {
    return this.cables[this.cableIndex(which)]!;
  }

  cableIndex(which: number | readonly [string | number, string | number]): number {
    if (typeof which === 'number') {
      if (!this.cables[which]) throw new Error(`no cable ${which} (have 0..${this.cables.length - 1})`);
      return which;
    }
    const x = this.indexOf(which[0]);
    const y = this.indexOf(which[1]);
    const n = this.nodes.length;
    for (const [i, j] of [[x, y], [y, x]] as const) {
      if ((i + 1) % n === j && this.cables[i]) return i;
    }
    throw new Error(`nodes ${this.nodes[x]} and ${this.nodes[y]} are not cabled to each other`);
  }

  /** Cuts one cable (its relay stops, both ends see a hang-up). */
  async cut(which: number | readonly [string | number, string | number]): Promise<void> {
    await this.cable(which).unplug();
  }

  /** Plugs a cut cable back in (same paths; the nodes must reopen them). */
  async restore(which: number | readonly [string | number, string | number]): Promise<void> {
    await this.cable(which).replug();
  }

  /** The cables a node is plugged into. */
  cablesOf(node: string | number): PacedCable[] {
    const p = this.ports(node);
    return this.cables.filter((c) => c.a === p.port0 || c.b === p.port1);
  }

  /** Cuts every cable of one node. */
  async isolate(node: string | number): Promise<void> {
    for (const c of this.cablesOf(node)) await c.unplug();
  }

  /** Plugs back every cable of one node. */
  async rejoin(node: string | number): Promise<void> {
    for (const c of this.cablesOf(node)) await c.replug();
  }

  async stats(): Promise<PacedCableStats[]> {
    return Promise.all(this.cables.map((c) => c.stats()));
  }

  /** Frame records of every cable (needs cable.frameLog), sorted by the time the last byte passed. */
  frames(): CableFrameRecord[] {
    return this.cables.flatMap((c) => c.frames()).sort((x, y) => x.t1 - y.t1);
  }

  /**
   * Which node received a delivered frame record: the `b` end of cable i is
   * node i+1's port 1, the `a` end is node i's port 0.
   */
  receiverOf(rec: CableFrameRecord): string {
    const i = this.cables.findIndex((c) => c.name === rec.cable);
    if (i < 0) throw new Error(`frame record of unknown cable ${rec.cable}`);
    return this.nodes[rec.end === 'a' ? i : (i + 1) % this.nodes.length]!;
  }
}
