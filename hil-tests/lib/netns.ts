// An isolated lab network made of network namespaces:
//
//   netns <id>-br : bridge br0 (STP off, forward_delay 0, no multicast snooping)
//      |  p0          |  p1          ...   (veth, bridge side, inside <id>-br)
//   netns <id>-a   netns <id>-b     ...   each with eth0 = the other veth end,
//      10.99.0.1/24   10.99.0.2/24        lo up, IPv6 off unless asked for
//
// Every interface lives inside a namespace created here, never in the root
// namespace, so every packet stays inside the lab and several labs (even with
// the same subnet) can run in parallel. Names: `rbt` + 5 random chars + `-` +
// label, at most 15 characters (usable as interface names too).
//
// Teardown (registered in the scope) SIGKILLs every process left in the lab's
// namespaces (by PID, from `ip netns pids`) and deletes the namespaces. A
// registry file per lab under /run/ringbeat-hil lets a later run delete the
// namespaces of a test process that was SIGKILLed (owner PID gone).

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  hilLog,
  procRef,
  isAlive,
  registerEmergency,
  run,
  runOk,
  runSyncQuiet,
  sleep,
  startProcess,
  type Proc,
  type ProcRef,
  type RunOptions,
  type RunResult,
  type Scope,
} from './procs';

export const NS_PREFIX = 'rbt';
const REGISTRY_DIR = '/run/ringbeat-hil';
const MAX_NAME = 15;

export type HostSpec = string | { label: string; ip?: string; ip6?: string };

export interface LabNetOptions {
  /** Host namespaces to create: a count (labels h0, h1, ...) or labels (<= 6 chars, [a-z0-9]). */
  hosts: number | HostSpec[];
  /** IPv4 subnet (default 10.99.0.0/24); host i gets subnet base + firstHost + i unless given. */
  subnet?: string;
  firstHost?: number;
  /** Also give every host an IPv6 address (default prefix fd00:99::/64, no DAD); otherwise IPv6 is disabled. */
  ipv6?: boolean | string;
  /** Interface name inside each host namespace (default eth0). */
  ifname?: string;
}

export interface NetHost {
  /** Label given at creation (e.g. 'nodea'). */
  label: string;
  /** Network namespace name. */
  ns: string;
  /** Interface name inside `ns` (eth0). */
  ifname: string;
  /** IPv4 address without prefix. */
  ip: string;
  prefixLen: number;
  /** `ip/prefixLen` */
  cidr: string;
  broadcast: string;
  ip6?: string;
  /** Bridge-side veth name (inside the bridge namespace). */
  bridgePort: string;
  index: number;
}

// ---------------------------------------------------------------------------
// IPv4 helpers

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`bad IPv4 address '${ip}'`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseSubnet(cidr: string): { base: number; prefixLen: number; broadcast: string; size: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new Error(`bad subnet '${cidr}' (want a.b.c.d/len)`);
  const prefixLen = Number(m[2]);
  if (prefixLen < 8 || prefixLen > 30) throw new Error(`subnet prefix /${prefixLen} out of range 8..30`);
  const mask = prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
  const base = (ipToInt(m[1]!) & mask) >>> 0;
  const size = 2 ** (32 - prefixLen);
  return { base, prefixLen, broadcast: intToIp((base + size - 1) >>> 0), size };
}

// ---------------------------------------------------------------------------
// Namespace listing / registry of labs (for sweeping after a crashed run)

/** Names of all network namespaces (`ip netns list`). */
export async function listNetns(): Promise<string[]> {
  const r = await runOk(['ip', 'netns', 'list'], { timeoutMs: 10_000 });
  return parseNetnsList(r.stdout);
}

function parseNetnsList(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

/** PIDs of processes in a network namespace (`ip netns pids`); [] if it does not exist. */
export async function netnsPids(ns: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', ns], { timeoutMs: 10_000 });
  if (r.code !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

interface RegistryEntry {
  id: string;
  owner: { pid: number; startTime: string };
  created: string;
  netns: string[];
}

function registryFile(id: string): string {
  return path.join(REGISTRY_DIR, `${id}.json`);
}

function writeRegistry(e: RegistryEntry): void {
  fs.mkdirSync(REGISTRY_DIR, { recursive: true, mode: 0o700 });
  fs.writeFileSync(registryFile(e.id), JSON.stringify(e, null, 1));
}

function killNetnsSync(ns: string): void {
  const pids = runSyncQuiet(['ip', 'netns', 'pids', ns])
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  runSyncQuiet(['ip', 'netns', 'del', ns]);
}

let swept = false;

/**
 * Deletes the namespaces (and SIGKILLs the processes inside them) of labs
 * whose owning test process no longer exists (e.g. it was SIGKILLed). Only
 * labs recorded in the registry are touched. Runs once per process.
 */
export async function sweepStaleLabs(): Promise<string[]> {
  if (swept) return [];
  swept = true;
  let files: string[];
  try {
    files = fs.readdirSync(REGISTRY_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const removed: string[] = [];
  const existing = new Set(await listNetns().catch(() => [] as string[]));
  for (const f of files) {
    const file = path.join(REGISTRY_DIR, f);
    let e: RegistryEntry;
    try {
      e = JSON.parse(fs.readFileSync(file, 'utf8')) as RegistryEntry;
    } catch {
      continue;
    }
    const owner: ProcRef = { pid: e.owner.pid, startTime: e.owner.startTime, comm: '' };
    if (isAlive(owner)) continue;
    for (const ns of e.netns) {
      if (!ns.startsWith(NS_PREFIX) || !existing.has(ns)) continue;
      for (const pid of await netnsPids(ns)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await run(['ip', 'netns', 'del', ns], { timeoutMs: 10_000 });
      removed.push(ns);
    }
    fs.rmSync(file, { force: true });
  }
  if (removed.length) hilLog(`swept namespaces left by a dead test process: ${removed.join(' ')}`);
  return removed;
}

function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(5);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

// ---------------------------------------------------------------------------

/** An isolated bridge + N host namespaces. Create with LabNet.create(). */
export class LabNet {
  /** `rbt` + 5 random chars, unique among existing namespaces. */
  readonly id: string;
  readonly bridgeNs: string;
  readonly hosts: NetHost[] = [];
  readonly subnet: string;
  readonly ipv6Prefix?: string;
  readonly ifname: string;
  private readonly created: string[] = [];
  private readonly owner: { pid: number; startTime: string };
  private readonly sub: ReturnType<typeof parseSubnet>;
  private readonly firstHost: number;
  private tornDown = false;
  private unregisterEmergency: () => void = () => {};

  private constructor(id: string, opts: LabNetOptions) {
    this.id = id;
    this.bridgeNs = `${id}-br`;
    this.subnet = opts.subnet ?? '10.99.0.0/24';
    this.sub = parseSubnet(this.subnet);
    this.firstHost = opts.firstHost ?? 1;
    this.ifname = opts.ifname ?? 'eth0';
    if (opts.ipv6) this.ipv6Prefix = typeof opts.ipv6 === 'string' ? opts.ipv6 : 'fd00:99::';
    const me = procRef(process.pid);
    this.owner = { pid: process.pid, startTime: me?.startTime ?? '' };
  }

  /** Builds the lab; teardown is registered in `scope` (also on partial failure). */
  static async create(scope: Scope, opts: LabNetOptions): Promise<LabNet> {
    await sweepStaleLabs();
    const existing = new Set(await listNetns());
    let id = '';
    for (let i = 0; i < 20 && (id === '' || [...existing].some((n) => n.startsWith(id))); i++) id = NS_PREFIX + randomId();
    const net = new LabNet(id, opts);
    scope.defer(`delete lab network ${id}`, () => net.teardown(), { timeoutMs: 60_000 });
    net.unregisterEmergency = registerEmergency(`delete lab network ${id}`, () => net.teardownSync());
    net.saveRegistry();

    await net.addNs(net.bridgeNs);
    await net.ipn(net.bridgeNs, [
      'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0',
    ]);
    await net.ipn(net.bridgeNs, ['link', 'set', 'br0', 'up']);
    const specs: HostSpec[] =
      typeof opts.hosts === 'number' ? Array.from({ length: opts.hosts }, (_, i) => `h${i}`) : opts.hosts;
    for (const s of specs) await net.addHost(s);
    return net;
  }

  /** Adds one more host namespace on the bridge (e.g. a client). */
  async addHost(spec: HostSpec): Promise<NetHost> {
    if (this.tornDown) throw new Error(`lab ${this.id} is torn down`);
    const label = typeof spec === 'string' ? spec : spec.label;
    if (!/^[a-z0-9]{1,6}$/.test(label)) throw new Error(`host label '${label}' must be 1-6 chars [a-z0-9]`);
    if (this.hosts.some((h) => h.label === label)) throw new Error(`host label '${label}' used twice`);
    const index = this.hosts.length;
    const ns = `${this.id}-${label}`;
    if (ns.length > MAX_NAME) throw new Error(`namespace name ${ns} longer than ${MAX_NAME}`);
    const ipInt = (this.sub.base + this.firstHost + index) >>> 0;
    const ip = typeof spec !== 'string' && spec.ip ? spec.ip : intToIp(ipInt);
    if (typeof spec === 'string' && this.firstHost + index >= this.sub.size - 1) {
      throw new Error(`subnet ${this.subnet} too small for ${index + 1} hosts`);
    }
    const ip6 = this.ipv6Prefix
      ? typeof spec !== 'string' && spec.ip6
        ? spec.ip6
        : `${this.ipv6Prefix}${(this.firstHost + index).toString(16)}`
      : undefined;
    const host: NetHost = {
      label,
      ns,
      ifname: this.ifname,
      ip,
      prefixLen: this.sub.prefixLen,
      cidr: `${ip}/${this.sub.prefixLen}`,
      broadcast: this.sub.broadcast,
      ip6,
      bridgePort: `p${index}`,
      index,
    };
    await this.addNs(ns);
    const br = this.bridgeNs;
    await this.ipn(br, ['link', 'add', host.bridgePort, 'type', 'veth', 'peer', 'name', host.ifname, 'netns', ns]);
    await this.ipn(br, ['link', 'set', host.bridgePort, 'master', 'br0']);
    await this.ipn(br, ['link', 'set', host.bridgePort, 'up']);
    await this.ipn(ns, ['addr', 'add', host.cidr, 'brd', host.broadcast, 'dev', host.ifname]);
    if (ip6) await this.ipn(ns, ['-6', 'addr', 'add', `${ip6}/64`, 'dev', host.ifname, 'nodad']);
    await this.ipn(ns, ['link', 'set', host.ifname, 'up']);
    this.hosts.push(host);
    return host;
  }

  /** Host by label or index. */
  host(which: string | number): NetHost {
    const h = typeof which === 'number' ? this.hosts[which] : this.hosts.find((x) => x.label === which);
    if (!h) throw new Error(`lab ${this.id} has no host ${String(which)} (have: ${this.hosts.map((x) => x.label).join(', ')})`);
    return h;
  }

  /** All namespaces created by this lab (hosts and bridge). */
  namespaces(): string[] {
    return [...this.created];
  }

  /** Runs a command inside a namespace (`ip netns exec`). */
  exec(where: string | NetHost, argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return run(['ip', 'netns', 'exec', this.resolve(where), ...argv], opts);
  }

  /** exec() that throws unless the exit code is 0. */
  execOk(where: string | NetHost, argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    return runOk(['ip', 'netns', 'exec', this.resolve(where), ...argv], opts);
  }

  /**
   * Starts a long-running process inside a namespace (e.g. tcpdump, a daemon);
   * stopped at scope teardown. Its PID is the command's own PID.
   */
  spawn(
    scope: Scope,
    where: string | NetHost,
    name: string,
    argv: readonly string[],
    logFile: string,
  ): Promise<Proc> {
    return startProcess(scope, { name, argv: ['ip', 'netns', 'exec', this.resolve(where), ...argv], logFile });
  }

  async linkDown(where: string | NetHost, ifname = this.ifname): Promise<void> {
    await this.ipn(this.resolve(where), ['link', 'set', ifname, 'down']);
  }

  async linkUp(where: string | NetHost, ifname = this.ifname): Promise<void> {
    await this.ipn(this.resolve(where), ['link', 'set', ifname, 'up']);
  }

  /** "Power loss" of a NIC: deletes the interface (and with it the veth pair and all its addresses). */
  async deleteLink(where: string | NetHost, ifname = this.ifname): Promise<void> {
    await this.ipn(this.resolve(where), ['link', 'del', ifname]);
  }

  /** PIDs of the processes in a namespace of this lab. */
  pids(where: string | NetHost): Promise<number[]> {
    return netnsPids(this.resolve(where));
  }

  /**
   * SIGKILLs every process in a namespace of this lab (by PID) and waits until
   * none is left. Returns the PIDs that were signalled.
   */
  async killAll(where: string | NetHost, timeoutMs = 5000): Promise<number[]> {
    const ns = this.resolve(where);
    const killed: number[] = [];
    const t0 = Date.now();
    for (;;) {
      const pids = await netnsPids(ns);
      if (pids.length === 0) return killed;
      if (Date.now() - t0 > timeoutMs) throw new Error(`processes still in netns ${ns} after SIGKILL: ${pids.join(' ')}`);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
          if (!killed.includes(pid)) killed.push(pid);
        } catch {
          /* already gone */
        }
      }
      await sleep(30);
    }
  }

  /** Kills everything inside and deletes all namespaces; verifies they are gone. */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    const errors: string[] = [];
    for (const ns of [...this.created].reverse()) {
      try {
        await this.killAll(ns);
      } catch (e) {
        errors.push(String(e));
      }
      const r = await run(['ip', 'netns', 'del', ns], { timeoutMs: 10_000 });
      if (r.code !== 0 && !/No such file/.test(r.stderr)) errors.push(`ip netns del ${ns}: ${r.stderr.trim()}`);
    }
    const left = (await listNetns()).filter((n) => this.created.includes(n));
    if (left.length) errors.push(`namespaces still present: ${left.join(' ')}`);
    this.unregisterEmergency();
    fs.rmSync(registryFile(this.id), { force: true });
    if (errors.length) throw new Error(`teardown of lab ${this.id}: ${errors.join('; ')}`);
  }

  private teardownSync(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    for (const ns of [...this.created].reverse()) killNetnsSync(ns);
    try {
      fs.rmSync(registryFile(this.id), { force: true });
    } catch {
      /* ignore */
    }
  }

  /** Namespace name for a NetHost, a host label or a namespace name of this lab. */
  resolve(where: string | NetHost): string {
    const ns = typeof where === 'string' ? (this.hosts.find((h) => h.label === where)?.ns ?? where) : where.ns;
    if (!this.created.includes(ns)) throw new Error(`namespace/host '${ns}' does not belong to lab ${this.id}`);
    return ns;
  }

  private saveRegistry(): void {
    writeRegistry({
      id: this.id,
      owner: this.owner,
      created: new Date().toISOString(),
      // the bridge first: recorded before creation, so a crash mid-way is still swept
      netns: [this.bridgeNs, ...this.created.filter((n) => n !== this.bridgeNs)],
    });
  }

  private async addNs(ns: string): Promise<void> {
    this.created.push(ns);
    this.saveRegistry();
    await runOk(['ip', 'netns', 'add', ns], { timeoutMs: 10_000 });
    await this.ipn(ns, ['link', 'set', 'lo', 'up']);
    if (!this.ipv6Prefix) {
      // no IPv6 chatter (RS, MLD, DAD) in captures
      await runOk(
        [
          'ip', 'netns', 'exec', ns, 'sh', '-c',
          'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6',
        ],
        { timeoutMs: 10_000 },
      );
    }
  }

  private async ipn(ns: string, args: string[]): Promise<void> {
    await runOk(['ip', '-n', ns, ...args], { timeoutMs: 10_000 });
  }
}


export { parseNetnsList };
