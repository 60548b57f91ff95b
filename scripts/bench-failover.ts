// npm run bench:failover -- [--runs N] [--profiles 1s/3s,100ms/500ms,50ms/200ms,25ms/100ms,10ms/50ms]
//                           [--impl ringbeat,heartbeat] [--json FILE] [--build]
//                           [--soak SECONDS] [--soak-profile KA/DT]
//
// Client-visible failover time after a power loss, ringbeat against the real
// Heartbeat 3.0.6 in the same harness: the two-node lab of `npm run lab`
// (scripts/lab/lab-build.ts: nodea, nodeb and a client on one bridge, a socat
// serial null-modem line, media serial + bcast, sha1 auth), haresources
// `nodea IPaddr2::10.99.0.100/24/eth0/10.99.0.255`, auto_failback off, the
// responder on both nodes, the client sending a request to the VIP every 10 ms.
// Only the implementation differs (ringbeat gets `debug 1` for its per-step
// timing lines; Heartbeat runs with its own IPaddr2 and send_arp).
//
// Power loss of the node holding the VIP: t0 = CLOCK_MONOTONIC right before
// the first SIGKILL; every process of the node is SIGKILLed (Heartbeat:
// HeartbeatNode.kill9(), MCP first, then the rest of its PID namespace;
// ringbeat: every PID of its network namespace; the responder dies too), then
// its NIC (veth) is deleted at once, as the Heartbeat baseline's killnode.py
// does (spec section 12): one netlink request from an `ip -batch` already
// running in the bridge namespace, sent right after the last SIGKILL; the
// kernel confirms the deletion 40-130 ms later (veth unregistration waits for
// RCU), reported as "(NIC deleted)". The node is silent from t0 on. Phases,
// all after t0 and all stamped on CLOCK_MONOTONIC by observers that do
// nothing else:
//
//   detection    first `t=stonith node=<victim>` datagram from the survivor
//                (UdpProbe in the client namespace)
//   IP up        the VIP appears on the survivor (rtnetlink RTM_NEWADDR, by
//                scripts/bench/lab-watch.py in the survivor's namespace)
//   first GARP   first ARP frame from the survivor's MAC claiming the VIP
//                (AF_PACKET in the client namespace, lab-watch.py)
//   first reply  first client reply answered by the survivor
//                (scripts/lab/client.mjs) = the client-visible outage
//
// The kills alternate: kill the holder (VIP -> other node), rebuild its NIC,
// restart it (auto_failback off: the VIP stays), wait until both are stable and
// advertise the configured deadtime, kill the new holder, and so on. The kill
// moment is randomised within one keepalive.
//
// A profile is KA/DT[/WT] (e.g. 100ms/500ms, or 1s/3s/2s); a lone KA means
// deadtime 4 x KA. Warntime defaults as in spec section 12 (2 s at 1s/3s,
// else 0.6 x deadtime). --soak SECONDS runs a ringbeat pair at --soak-profile
// (ringbeat's recommended settings) with the client for that long and counts
// deaths, late heartbeats, stonith datagrams and any VIP movement (all must be
// zero); default 600 s with a full run (--runs >= 10), else none.
//
// The nodes run a private copy of the build (a concurrent `npm run build`
// rewrites dist/native/*.node in place, which kills a running ringbeat with
// SIGBUS). The 1-minute load average at each kill is recorded: on a shared
// machine the IP path (process spawns) suffers first.
//
// Needs root, iproute2, socat, util-linux, python3, and for Heartbeat the
// Debian heartbeat package (with resource-agents); ringbeat must be built
// (npm run build, or pass --build). Ctrl-C tears everything down; the samples
// so far stay in the --json file (rewritten after every run).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { HeartbeatNode } from '../hil-tests/lib/heartbeat-node';
import type { LabNet, NetHost } from '../hil-tests/lib/netns';
import { childEnv, hilLog, runOk, sleep, waitForLog, waitUntil, withScope, type Proc, type Scope } from '../hil-tests/lib/procs';
import { requireCommands, requireHeartbeat, requireLab } from '../hil-tests/lib/require';
import type { RingbeatNode } from '../hil-tests/lib/ringbeat-node';
import { UdpProbe, type ProbeRecord } from '../hil-tests/lib/udp-probe';
import { addressHolders, buildLab, startClient, VIP4, type Lab, type Reply } from './lab/lab-build';
import { prepareRingbeat } from './bench/ringbeat-build';
import { fmt, formatTable, summarize, summaryRow, type Summary } from './bench/stats';

type Impl = 'ringbeat' | 'heartbeat';
const IMPLS: readonly Impl[] = ['ringbeat', 'heartbeat'];
const NODES = ['nodea', 'nodeb'] as const;
type NodeName = (typeof NODES)[number];
const HARESOURCES = `nodea IPaddr2::${VIP4}/24/eth0/10.99.0.255\n`;
const WATCH = path.join(__dirname, 'bench', 'lab-watch.py');
const DEFAULT_PROFILES = '1s/3s,100ms/500ms,50ms/200ms,25ms/100ms,10ms/50ms';
/** ringbeat's recommended settings (the soak runs at these). */
const RECOMMENDED = '25ms/100ms';
/** Heartbeat 3.0.6 medians measured once (spec section 12.2), seconds. */
const HEARTBEAT_REFERENCE: Record<string, number> = { '1000ms/3000ms': 5.01, '100ms/500ms': 2.75, '10ms/50ms': 2.2 };

interface Profile {
  label: string;
  keepaliveMs: number;
  deadtimeMs: number;
  warntimeMs: number;
}

interface Sample {
  impl: Impl;
  profile: string;
  run: number;
  victim: NodeName;
  survivor: NodeName;
  /** CLOCK_MONOTONIC ns right before the first SIGKILL. */
  t0: string;
  /** All times below: ms after t0. */
  linkDelMs?: number;
  detectMs?: number;
  stonithResult?: string;
  ipUpMs?: number;
  garpMs?: number;
  /** ARP op of the first GARP: 1 request, 2 reply. */
  garpOp?: number;
  firstReplyMs?: number;
  /** When the request of the first reply was sent (ms after t0). */
  firstReplySentMs?: number;
  /** Last reply from the victim before t0 (negative). */
  lastReplyBeforeMs?: number;
  /** Derived: IP up - detection, first GARP - detection, first reply - first GARP. */
  ipAfterDetectMs?: number;
  garpAfterDetectMs?: number;
  replyAfterGarpMs?: number;
  /** ARP requests the client sent for the VIP between t0 and the first reply (it had to ask). */
  clientArpRequests: number;
  /** stonith datagrams between the previous run's end and this kill (false deaths). */
  falseDeathsBeforeKill: number;
  /** Late heartbeats logged/counted between the previous run's end and this kill. */
  lateBeforeKill: number;
  loadavg1: number;
  /** ringbeat only, from the survivor's log (debug 1): wall-clock log times converted to ms after t0. */
  rb?: {
    deadLoggedMs?: number;
    silentMs?: number;
    groupStartMs?: number;
    ipQueryMs?: number;
    ipAddMs?: number;
    announceMs?: number;
  };
  /** The survivor's log lines about the takeover (evidence). */
  survivorLog: string[];
  error?: string;
}

interface SoakResult {
  impl: 'ringbeat';
  profile: string;
  seconds: number;
  deaths: number;
  lateHeartbeats: number;
  /** The daemons' own counters at the last answer (peer entries: lateHeartbeats, deaths). */
  statusCounters: Record<string, { late: number; deaths: number } | undefined>;
  /** Nodes whose daemon stopped answering its control socket. */
  notAnswering: string[];
  stonithDatagrams: number;
  vipEvents: number;
  vipHolderChanges: number;
  repliesByNode: Record<string, number>;
  requestsLost: number;
  maxReplyGapMs: number;
  maxStallMs: number;
  maxTickLateMs: number;
  loadavg1Max: number;
  evidence: string[];
  pass: boolean;
  error?: string;
}

// ---------------------------------------------------------------------------
// arguments

function parseTimeMs(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(s.trim());
  if (!m) throw new Error(`bad time '${s}' (want e.g. 50ms or 1s)`);
  return m[2] === 's' ? Number(m[1]) * 1000 : Number(m[1]);
}

export function parseProfile(s: string): Profile {
  const [ka, dt, wt] = s.split('/');
  const keepaliveMs = parseTimeMs(ka!);
  const deadtimeMs = dt === undefined ? 4 * keepaliveMs : parseTimeMs(dt);
  if (!(deadtimeMs > 2 * keepaliveMs)) throw new Error(`profile ${s}: deadtime must be > 2 x keepalive (Heartbeat's rule)`);
  // spec section 12: warntime 2 s at 1s/3s, 300ms at 100ms/500ms, 30ms at 10ms/50ms
  const warntimeMs = wt !== undefined ? parseTimeMs(wt) : keepaliveMs === 1000 && deadtimeMs === 3000 ? 2000 : Math.round(0.6 * deadtimeMs);
  if (![keepaliveMs, deadtimeMs, warntimeMs].every(Number.isInteger)) throw new Error(`profile ${s}: whole milliseconds only`);
  if (!(warntimeMs > keepaliveMs && warntimeMs < deadtimeMs)) throw new Error(`profile ${s}: warntime ${warntimeMs} ms must lie between keepalive and deadtime`);
  return { label: `${keepaliveMs}ms/${deadtimeMs}ms`, keepaliveMs, deadtimeMs, warntimeMs };
}

interface Options {
  runs: number;
  profiles: Profile[];
  impls: Impl[];
  json?: string;
  build: boolean;
  soakSeconds: number;
  soakProfile: Profile;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '10' },
      profiles: { type: 'string', default: DEFAULT_PROFILES },
      impl: { type: 'string', default: 'ringbeat,heartbeat' },
      json: { type: 'string' },
      build: { type: 'boolean', default: false },
      soak: { type: 'string' },
      'soak-profile': { type: 'string', default: RECOMMENDED },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(fs.readFileSync(__filename, 'utf8').split('\n\n')[0]!.replace(/^\/\/ ?/gm, ''));
    process.exit(0);
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 0) throw new Error(`--runs ${values.runs}: want a whole number`);
  const impls = values.impl.split(',').map((s) => s.trim()).filter(Boolean) as Impl[];
  for (const i of impls) if (!IMPLS.includes(i)) throw new Error(`--impl ${i}: want ${IMPLS.join(', ')}`);
  const soakSeconds = values.soak === undefined ? (runs >= 10 ? 600 : 0) : Number(values.soak);
  if (!Number.isFinite(soakSeconds) || soakSeconds < 0) throw new Error(`--soak ${values.soak}: want seconds`);
  if (runs === 0 && soakSeconds === 0) throw new Error('--runs 0 and no --soak: nothing to do');
  return {
    runs,
    profiles: values.profiles.split(',').map((s) => parseProfile(s.trim())),
    impls,
    json: values.json,
    build: values.build,
    soakSeconds,
    soakProfile: parseProfile(values['soak-profile']),
  };
}

// ---------------------------------------------------------------------------
// observers

const nsToMs = (ns: bigint): number => Number(ns) / 1e6;
const ms = (v: number): string => `${v}ms`;

/** Follows a JSON-lines file (lab-watch.py output). */
class JsonlFollower<T> {
  readonly records: T[] = [];
  private offset = 0;
  private partial = '';
  constructor(
    readonly file: string,
    private readonly parse: (o: Record<string, unknown>) => T | undefined,
  ) {}

  poll(): T[] {
    let buf: Buffer;
    try {
      const fd = fs.openSync(this.file, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        if (size <= this.offset) return [];
        buf = Buffer.alloc(size - this.offset);
        const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
        this.offset += n;
        buf = buf.subarray(0, n);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return [];
    }
    const lines = (this.partial + buf.toString('utf8')).split('\n');
    this.partial = lines.pop() ?? '';
    const fresh: T[] = [];
    for (const l of lines) {
      if (!l.startsWith('{"t":')) continue;
      const r = this.parse(JSON.parse(l) as Record<string, unknown>);
      if (r !== undefined) fresh.push(r);
    }
    this.records.push(...fresh);
    return fresh;
  }
}

interface ArpRecord {
  t: bigint;
  src: string;
  op: number;
  spa: string;
  tpa: string;
}

interface AddrRecord {
  t: bigint;
  ev: 'add' | 'del';
  addr: string;
}

/** Starts lab-watch.py in a namespace; resolves once it is listening. */
async function startWatch<T>(
  scope: Scope,
  net: LabNet,
  host: NetHost,
  args: string[],
  file: string,
  parse: (o: Record<string, unknown>) => T | undefined,
): Promise<{ proc: Proc; follow: JsonlFollower<T> }> {
  const proc = await net.spawn(scope, host, `lab-watch ${args[0]} in ${host.label}`, ['python3', WATCH, ...args], file);
  await waitForLog(file, /\{"ready":/, { timeoutMs: 10_000, proc, intervalMs: 10 });
  return { proc, follow: new JsonlFollower(file, parse) };
}

const parseArp = (o: Record<string, unknown>): ArpRecord => ({
  t: BigInt(o.t as string),
  src: o.src as string,
  op: o.op as number,
  spa: o.spa as string,
  tpa: o.tpa as string,
});

const parseAddr = (o: Record<string, unknown>): AddrRecord => ({ t: BigInt(o.t as string), ev: o.ev as 'add' | 'del', addr: o.addr as string });

// ---------------------------------------------------------------------------
// the two implementations behind one interface

interface NodeCtl {
  readonly name: NodeName;
  readonly host: NetHost;
  /** Starts the node and its responder. */
  start(): Promise<void>;
  /**
   * SIGKILLs every process of the node (t0 = right before the first SIGKILL)
   * and right after that deletes its NIC (`cut`); resolves when all are gone.
   */
  powerLoss(cut: () => Promise<bigint>): Promise<{ t0: bigint; linkDel: bigint }>;
  /** This node sees `peer` as active. */
  peerActive(peer: string): Promise<boolean>;
  /** Resources stable on this node (not in transition), running the VIP's group if `holder`. */
  settled(holder: boolean): Promise<boolean>;
  /** Late heartbeats and deaths so far (cumulative). */
  counters(): Promise<{ late: number; deaths: number }>;
  /** Bytes in the node's log so far; log lines since an offset. */
  logOffset(): number;
  logSince(offset: number): string[];
  /** Milliseconds since the node was last started. */
  uptimeMs(): number;
}

/**
 * Deletes a host's NIC with one netlink request from a process that is
 * already running: `ip -batch -` in the bridge namespace (which no power loss
 * touches), fed through its stdin. Deleting the bridge-side veth end removes
 * the pair, i.e. the node's eth0 and every address on it, in well under a
 * millisecond after the write (spawning `ip` for it costs 10-60 ms here).
 */
class NicCutter {
  private readonly p: ChildProcess;
  private waiting?: (t: bigint) => void;

  private constructor(net: LabNet, scope: Scope) {
    // stdbuf -oL: line-buffered output, so the `link show` after each delete confirms it at once
    this.p = spawn('stdbuf', ['-oL', 'ip', '-n', net.bridgeNs, '-force', '-batch', '-'], { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv() });
    this.p.stdout!.on('data', () => {
      const t = process.hrtime.bigint();
      const w = this.waiting;
      this.waiting = undefined;
      w?.(t);
    });
    this.p.stderr!.on('data', (d: Buffer) => hilLog(`nic cutter: ${d.toString().trim()}`));
    this.p.stdin!.on('error', () => undefined);
    scope.defer('stop the NIC cutter', () => {
      this.p.stdin!.end();
      if (this.p.exitCode === null && this.p.signalCode === null) this.p.kill('SIGKILL');
    });
  }

  static start(net: LabNet, scope: Scope): NicCutter {
    return new NicCutter(net, scope);
  }

  /** Sends the delete now (synchronously); resolves with the time its confirmation arrived. */
  cut(h: NetHost): Promise<bigint> {
    const done = new Promise<bigint>((resolve) => {
      this.waiting = resolve;
    });
    this.p.stdin!.write(`link del ${h.bridgePort}\nlink show dev br0\n`);
    return Promise.race([done, sleep(5000).then(() => Promise.reject(new Error(`NIC of ${h.label} not confirmed deleted within 5 s`)))]);
  }
}

function readFrom(file: string, offset: number): string[] {
  try {
    const b = fs.readFileSync(file);
    return b.subarray(Math.min(offset, b.length)).toString('utf8').split('\n');
  } catch {
    return [];
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The bench's haresources (with the broadcast, as Heartbeat gets it) and a debugfile per node (`debug 1` timing lines go only there). */
function setupRingbeat(lab: Lab): void {
  for (const n of lab.nodes) {
    fs.writeFileSync(path.join(n.confDir, 'haresources'), HARESOURCES);
    n.writeConfig([`debugfile ${debugFile(n)}`]);
  }
}

const debugFile = (n: RingbeatNode): string => path.join(path.dirname(n.haLog), 'ha-debug');

class RingbeatCtl implements NodeCtl {
  private startedAt = performance.now();
  constructor(
    readonly lab: Lab,
    readonly node: RingbeatNode,
  ) {}

  get name(): NodeName {
    return this.node.name as NodeName;
  }

  get host(): NetHost {
    return this.node.opts.host;
  }

  async start(): Promise<void> {
    this.startedAt = performance.now();
    await this.node.start();
    await this.lab.startResponder(this.node);
  }

  async powerLoss(cut: () => Promise<bigint>): Promise<{ t0: bigint; linkDel: bigint }> {
    // list first, then stamp and signal back to back: the stamp is the kill
    const pids = await this.lab.net.pids(this.host);
    const t0 = process.hrtime.bigint();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    const linkDel = cut();
    await this.node.kill9(); // anything forked meanwhile; waits until the namespace is empty
    return { t0, linkDel: await linkDel };
  }

  async peerActive(peer: string): Promise<boolean> {
    return (await this.node.nodeState(peer)) === 'active';
  }

  async settled(holder: boolean): Promise<boolean> {
    const r = (await this.node.status()).resources;
    if (!r || r.state !== 'stable' || !r.otherStable || r.busy || r.standby !== 'not') return false;
    // (holds: 'local' for nodea at the start, 'all' after a takeover; nodeb holds 'local' = its empty share)
    return r.groups.every((g) => g.state === (holder ? 'running' : 'stopped'));
  }

  async counters(): Promise<{ late: number; deaths: number }> {
    const s = await this.node.status();
    let late = 0;
    let deaths = 0;
    for (const n of s.comm?.nodes ?? []) {
      if (n.self) continue;
      late += n.lateHeartbeats;
      deaths += n.deaths;
    }
    return { late, deaths };
  }

  /** The debugfile: every line of the log plus the `debug 1` ones. */
  logOffset(): number {
    return fileSize(debugFile(this.node));
  }

  logSince(offset: number): string[] {
    return readFrom(debugFile(this.node), offset);
  }

  uptimeMs(): number {
    return performance.now() - this.startedAt;
  }
}

/** ns offset from performance.now() to process.hrtime.bigint() (both CLOCK_MONOTONIC in Node). */
function perfToHrOffset(): bigint {
  let best: bigint | undefined;
  for (let i = 0; i < 5; i++) {
    const h = process.hrtime.bigint();
    const p = BigInt(Math.round(performance.now() * 1e6));
    const off = h - p;
    if (best === undefined || off > best) best = off;
  }
  return best!;
}

class HeartbeatCtl implements NodeCtl {
  private readonly offset = perfToHrOffset();
  constructor(
    readonly lab: Lab,
    readonly node: HeartbeatNode,
    /** The lab's ringbeat node object for the same host: only used to place the responder. */
    readonly place: RingbeatNode,
  ) {}

  get name(): NodeName {
    return this.node.name as NodeName;
  }

  get host(): NetHost {
    return this.place.opts.host;
  }

  async start(): Promise<void> {
    await this.node.start({ waitForApi: true });
    await this.lab.startResponder(this.place);
  }

  async powerLoss(cut: () => Promise<bigint>): Promise<{ t0: bigint; linkDel: bigint }> {
    const pids = await this.lab.net.pids(this.host);
    // kill9() stamps (performance.now()) and SIGKILLs the node's whole PID
    // namespace, MCP first, synchronously before its first await; the
    // responder and anything else in the network namespace follow in the
    // same breath, then the NIC goes.
    const kill = this.node.kill9();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    const linkDel = cut();
    const k = await kill;
    await this.lab.net.killAll(this.host);
    return { t0: BigInt(Math.round(k.monoMs * 1e6)) + this.offset, linkDel: await linkDel };
  }

  async peerActive(peer: string): Promise<boolean> {
    return (await this.node.nodeStatus(peer, 3000)) === 'active';
  }

  async settled(holder: boolean): Promise<boolean> {
    // rscstatus: all | local | foreign | none, or transition while resources move
    const r = await this.node.clStatus(['rscstatus'], { timeoutMs: 3000 });
    const v = r.stdout.trim();
    return r.code === 0 && ['all', 'local', 'foreign', 'none'].includes(v) && (!holder || v !== 'none');
  }

  /** From ha-log, which survives restarts: cumulative over the node's lives. */
  counters(): Promise<{ late: number; deaths: number }> {
    return Promise.resolve({ late: this.node.grepLog(/Late heartbeat/).length, deaths: this.node.grepLog(/node \S+: is dead/).length });
  }

  logOffset(): number {
    return this.node.logOffset();
  }

  logSince(offset: number): string[] {
    return readFrom(this.node.logFile, offset);
  }

  uptimeMs(): number {
    return this.node.uptimeMs() ?? 0;
  }
}

// ---------------------------------------------------------------------------
// one series: one implementation, one profile, N power losses

interface Series {
  impl: Impl;
  p: Profile;
  lab: Lab;
  ctl: Record<NodeName, NodeCtl>;
  probe: UdpProbe;
  arp: JsonlFollower<ArpRecord>;
  replies: Reply[];
  scope: Scope;
  cutter: NicCutter;
}

const other = (n: NodeName): NodeName => (n === 'nodea' ? 'nodeb' : 'nodea');

async function holders(lab: Lab): Promise<string[]> {
  return addressHolders([lab.net.host('nodea'), lab.net.host('nodeb')], VIP4);
}

/** Recreates a deleted NIC (veth pair to the bridge, address, up), as LabNet built it. */
async function rebuildNic(net: LabNet, h: NetHost): Promise<void> {
  const br = net.bridgeNs;
  await runOk(['ip', '-n', br, 'link', 'add', h.bridgePort, 'type', 'veth', 'peer', 'name', h.ifname, 'netns', h.ns]);
  await runOk(['ip', '-n', br, 'link', 'set', h.bridgePort, 'master', 'br0']);
  await runOk(['ip', '-n', br, 'link', 'set', h.bridgePort, 'up']);
  await runOk(['ip', '-n', h.ns, 'addr', 'add', h.cidr, 'brd', h.broadcast, 'dev', h.ifname]);
  await runOk(['ip', '-n', h.ns, 'link', 'set', h.ifname, 'up']);
}

/**
 * Waits until the pair is in steady state with `holder` serving the VIP:
 * both see each other active, resources stable (the group running on the holder only),
 * the VIP only on the holder, and both advertise the configured deadtime
 * (Heartbeat advertises deadtime + 2 s for its first ~5 s).
 */
async function waitSteady(s: Series, holder: NodeName, timeoutMs: number): Promise<void> {
  const { ctl, p } = s;
  const peer = other(holder);
  const opts = { timeoutMs, intervalMs: 100, signal: s.scope.signal };
  await waitUntil(`${holder} and ${peer} see each other active`, async () => (await ctl[holder].peerActive(peer)) && (await ctl[peer].peerActive(holder)), opts);
  await waitUntil(`resources stable, the VIP group running on ${holder} only`, async () => {
    if ((await holders(s.lab)).join() !== holder) return false;
    return (await ctl[holder].settled(true)) && (await ctl[peer].settled(false));
  }, opts);
  if (s.impl === 'heartbeat') {
    // its first ~5 s run with dt = deadtime + 2 s
    const young = Math.min(ctl.nodea.uptimeMs(), ctl.nodeb.uptimeMs());
    if (young < 7000) await sleep(7000 - young);
  }
  s.probe.poll();
  const from = s.probe.records.length;
  await waitUntil(`both nodes advertise dt=${p.deadtimeMs} ms`, () => {
    s.probe.poll();
    const recent = s.probe.records.slice(from);
    return NODES.every((n) => {
      const st = recent.filter((r) => r.f.src === n && r.f.t === 'status').slice(-2);
      return st.length === 2 && st.every((r) => r.f.dt === undefined || Number.parseInt(r.f.dt, 16) === p.deadtimeMs);
    });
  }, { ...opts, intervalMs: 50 });
}

const TAKEOVER_LOG = /is dead|late heartbeat|Late heartbeat|stonith|STONITH|resources being acquired|Taking over|mach_down|takeover|added |IPaddr2|send_arp|start completed|first \S+ for|acquisition|Resource|resource group/;

function parseRbLog(lines: string[], t0Wall: number): NonNullable<Sample['rb']> {
  const rb: NonNullable<Sample['rb']> = {};
  const when = (l: string): number | undefined => {
    const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) /.exec(l);
    return m ? Date.parse(m[1]!) - t0Wall : undefined;
  };
  for (const l of lines) {
    let m = /node \S+: is dead \([^,)]*(?:, silent (\d+)ms)?\)/.exec(l);
    if (m && rb.deadLoggedMs === undefined) {
      rb.deadLoggedMs = when(l);
      if (m[1]) rb.silentMs = Number(m[1]);
      continue;
    }
    m = /resource group \S+: start completed in ([\d.]+) ms/.exec(l);
    if (m && rb.groupStartMs === undefined) rb.groupStartMs = Number(m[1]);
    m = /IPaddr2::\S+ start: (\{.*\})\s*$/.exec(l);
    if (m && rb.ipAddMs === undefined) {
      try {
        const d = JSON.parse(m[1]!) as Record<string, number>;
        if (d.queryDoneMs !== undefined && d.beganMs !== undefined) rb.ipQueryMs = d.queryDoneMs - d.beganMs;
        if (d.addDoneMs !== undefined && d.addStartMs !== undefined) rb.ipAddMs = d.addDoneMs - d.addStartMs;
        if (d.firstAnnounceMs !== undefined && d.addDoneMs !== undefined) rb.announceMs = d.firstAnnounceMs - d.addDoneMs;
      } catch {
        /* not JSON after all */
      }
    }
  }
  return rb;
}

async function oneRun(s: Series, run: number, window: { probeFrom: number; counters: Record<NodeName, { late: number; deaths: number }> }): Promise<Sample> {
  const { lab, ctl, probe, arp, p } = s;
  const h = await holders(lab);
  if (h.length !== 1) throw new Error(`VIP holders before the kill: [${h.join(', ')}] (want exactly one)`);
  const victim = h[0] as NodeName;
  const survivor = other(victim);
  const vCtl = ctl[victim];
  const sCtl = ctl[survivor];
  const survivorMac = await lab.mac(sCtl.host);
  const addrFile = path.join(lab.dir, `addr-${survivor}-run${run}.jsonl`);
  const addr = await startWatch(s.scope, lab.net, sCtl.host, ['addr'], addrFile, parseAddr);
  const logOffset = sCtl.logOffset();
  await sleep(Math.random() * p.keepaliveMs);

  probe.poll();
  const falseDeathsBeforeKill = probe.records.slice(window.probeFrom).filter((r) => r.f.t === 'stonith').length;
  let lateBeforeKill = 0;
  for (const n of NODES) {
    const c = await ctl[n].counters();
    lateBeforeKill += c.late - window.counters[n].late;
  }
  const arpFrom = arp.records.length;
  const loadavg1 = os.loadavg()[0]!;

  // ---- power loss ----
  const { t0, linkDel } = await vCtl.powerLoss(() => s.cutter.cut(vCtl.host));
  const wallNow = Date.now();
  const t0Wall = wallNow - nsToMs(process.hrtime.bigint() - t0); // t0 on the wall clock (log lines carry wall times)

  const timeoutMs = 2 * p.deadtimeMs + 20_000;
  const first = await waitUntil(
    `a reply via ${survivor}`,
    () => s.replies.find((r) => r.by === survivor && r.recv > t0),
    { timeoutMs, intervalMs: 10, signal: s.scope.signal },
  ).catch((e: Error) => e);
  // the phases come before the reply; give the observers' output a moment
  await sleep(300);
  probe.poll();
  arp.poll();
  addr.follow.poll();
  await addr.proc.stop();
  const stonith = probe.records.find((r: ProbeRecord) => r.t > t0 && r.f.t === 'stonith' && r.f.node === victim && r.f.src === survivor);
  const ipUp = addr.follow.records.find((r) => r.t > t0 && r.ev === 'add' && r.addr === VIP4);
  const arps = arp.records.slice(arpFrom).filter((r) => r.t > t0);
  const garp = arps.find((r) => r.src === survivorMac && r.spa === VIP4);
  const last = [...s.replies].reverse().find((r) => r.recv <= t0);
  const rel = (t: bigint | undefined): number | undefined => (t === undefined ? undefined : nsToMs(t - t0));
  const sample: Sample = {
    impl: s.impl,
    profile: p.label,
    run,
    victim,
    survivor,
    t0: t0.toString(),
    linkDelMs: rel(linkDel),
    detectMs: rel(stonith?.t),
    stonithResult: stonith?.f.result,
    ipUpMs: rel(ipUp?.t),
    garpMs: rel(garp?.t),
    garpOp: garp?.op,
    lastReplyBeforeMs: rel(last?.recv),
    clientArpRequests: 0,
    falseDeathsBeforeKill,
    lateBeforeKill,
    loadavg1,
    survivorLog: sCtl.logSince(logOffset).filter((l) => TAKEOVER_LOG.test(l)).slice(0, 40),
  };
  if (first instanceof Error) {
    sample.error = first.message.split('\n')[0];
  } else {
    sample.firstReplyMs = rel(first.recv);
    sample.firstReplySentMs = rel(first.sent);
    sample.clientArpRequests = arps.filter((r) => r.op === 1 && r.spa === lab.client.ip && r.tpa === VIP4 && r.t < first.recv).length;
  }
  if (sample.detectMs !== undefined) {
    if (sample.ipUpMs !== undefined) sample.ipAfterDetectMs = sample.ipUpMs - sample.detectMs;
    if (sample.garpMs !== undefined) sample.garpAfterDetectMs = sample.garpMs - sample.detectMs;
  }
  if (sample.garpMs !== undefined && sample.firstReplyMs !== undefined) sample.replyAfterGarpMs = sample.firstReplyMs - sample.garpMs;
  if (s.impl === 'ringbeat') sample.rb = parseRbLog(sample.survivorLog, t0Wall);
  return sample;
}

/** After a run: the victim's NIC comes back, it boots, and the pair settles with the survivor holding the VIP. */
async function restore(s: Series, victim: NodeName): Promise<void> {
  const v = s.ctl[victim];
  await rebuildNic(s.lab.net, v.host);
  await v.start();
  await waitSteady(s, other(victim), 90_000);
  await sleep(1000); // let the last announcements of the takeover finish
}

async function runSeries(scope: Scope, impl: Impl, p: Profile, o: Options, record: (s: Sample) => void): Promise<void> {
  const lab = await buildLab(scope, {
    keepalive: ms(p.keepaliveMs),
    deadtime: ms(p.deadtimeMs),
    warntime: ms(p.warntimeMs),
    initdead: p.deadtimeMs > 5000 ? String(Math.ceil(p.deadtimeMs / 1000)) : '5',
    autoFailback: 'off',
    baud: 115200,
    extraConfig: impl === 'ringbeat' ? ['debug 1'] : [],
  });
  let ctl: Record<NodeName, NodeCtl>;
  if (impl === 'ringbeat') {
    setupRingbeat(lab);
    ctl = { nodea: new RingbeatCtl(lab, lab.a), nodeb: new RingbeatCtl(lab, lab.b) };
  } else {
    const mk = async (place: RingbeatNode, tty: string): Promise<HeartbeatCtl> =>
      new HeartbeatCtl(
        lab,
        await HeartbeatNode.create(scope, {
          name: place.name,
          nodes: [...NODES],
          dir: lab.dir,
          host: place.opts.host,
          media: [`serial ${tty}`, 'bcast eth0'],
          keepalive: ms(p.keepaliveMs),
          deadtime: ms(p.deadtimeMs),
          warntime: ms(p.warntimeMs),
          initdead: 10,
          baud: 115200,
          haresources: HARESOURCES,
          autoFailback: 'off',
        }),
        place,
      );
    ctl = { nodea: await mk(lab.a, lab.cable!.a), nodeb: await mk(lab.b, lab.cable!.b) };
  }
  const probe = await UdpProbe.start(scope, lab.net, lab.client, { dir: lab.dir, name: 'client-udp-probe' });
  const arp = (await startWatch(scope, lab.net, lab.client, ['arp', lab.client.ifname], path.join(lab.dir, 'client-arp.jsonl'), parseArp)).follow;
  const series: Series = { impl, p, lab, ctl, probe, arp, replies: [], scope, cutter: NicCutter.start(lab.net, scope) };

  const t0 = performance.now();
  await Promise.all([ctl.nodea.start(), ctl.nodeb.start()]);
  await waitUntil('VIP on nodea after the start', async () => (await holders(lab)).join() === 'nodea', { timeoutMs: 90_000, intervalMs: 100, signal: scope.signal });
  if (impl === 'heartbeat') {
    for (const n of NODES) await (ctl[n] as HeartbeatCtl).node.waitLog(/Initial resource acquisition complete/, 60_000);
  }
  await waitSteady(series, 'nodea', 60_000);
  const client = await startClient(scope, lab, VIP4, 10);
  series.replies = client.replies;
  await waitUntil('client served by nodea', () => client.replies.some((r) => r.by === 'nodea'), { timeoutMs: 10_000, signal: scope.signal });
  await sleep(2000);
  hilLog(`[${impl} ${p.label}] pair up and steady after ${((performance.now() - t0) / 1000).toFixed(1)} s (lab ${lab.net.id}, ${lab.dir})`);

  for (let run = 1; run <= o.runs; run++) {
    probe.poll();
    const window = {
      probeFrom: probe.records.length,
      counters: { nodea: await ctl.nodea.counters(), nodeb: await ctl.nodeb.counters() },
    };
    let s: Sample;
    try {
      s = await oneRun(series, run, window);
    } catch (e) {
      const error = e instanceof Error ? e.message.split('\n')[0]! : String(e);
      record({ impl, profile: p.label, run, victim: 'nodea', survivor: 'nodeb', t0: '0', clientArpRequests: 0, falseDeathsBeforeKill: 0, lateBeforeKill: 0, loadavg1: os.loadavg()[0]!, survivorLog: [], error });
      throw e;
    }
    record(s);
    const tag = `[${impl} ${p.label}] run ${run}/${o.runs} (${s.victim} killed):`;
    hilLog(
      `${tag} ${s.error ? `ERROR ${s.error}` : `outage ${fmt(s.firstReplyMs)} ms`}; detect ${fmt(s.detectMs)}, IP up ${fmt(s.ipUpMs)}, ` +
        `GARP ${fmt(s.garpMs)}, NIC gone ${fmt(s.linkDelMs)}${s.rb ? `; log: dead ${fmt(s.rb.deadLoggedMs, 0)} (silent ${s.rb.silentMs ?? '-'}), group start ${fmt(s.rb.groupStartMs)}` : ''}` +
        `${s.falseDeathsBeforeKill ? ` FALSE DEATHS BEFORE KILL: ${s.falseDeathsBeforeKill}` : ''}${s.lateBeforeKill ? ` late heartbeats before kill: ${s.lateBeforeKill}` : ''}`,
    );
    if (s.error) throw new Error(s.error);
    if (run < o.runs) await restore(series, s.victim);
  }
}

// ---------------------------------------------------------------------------
// soak: no false failover at the recommended settings

async function runSoak(scope: Scope, p: Profile, seconds: number): Promise<SoakResult> {
  const lab = await buildLab(scope, {
    keepalive: ms(p.keepaliveMs),
    deadtime: ms(p.deadtimeMs),
    warntime: ms(p.warntimeMs),
    initdead: '5',
    autoFailback: 'off',
    baud: 115200,
    extraConfig: ['debug 1'],
  });
  setupRingbeat(lab);
  const ctl = { nodea: new RingbeatCtl(lab, lab.a), nodeb: new RingbeatCtl(lab, lab.b) };
  const probe = await UdpProbe.start(scope, lab.net, lab.client, { dir: lab.dir, name: 'client-udp-probe' });
  const arp = (await startWatch(scope, lab.net, lab.client, ['arp', lab.client.ifname], path.join(lab.dir, 'client-arp.jsonl'), parseArp)).follow;
  const series: Series = { impl: 'ringbeat', p, lab, ctl, probe, arp, replies: [], scope, cutter: NicCutter.start(lab.net, scope) };
  await Promise.all([ctl.nodea.start(), ctl.nodeb.start()]);
  await waitUntil('VIP on nodea after the start', async () => (await holders(lab)).join() === 'nodea', { timeoutMs: 60_000, intervalMs: 100, signal: scope.signal });
  await waitSteady(series, 'nodea', 60_000);
  const addrW = {
    nodea: await startWatch(scope, lab.net, lab.a.opts.host, ['addr'], path.join(lab.dir, 'soak-addr-nodea.jsonl'), parseAddr),
    nodeb: await startWatch(scope, lab.net, lab.b.opts.host, ['addr'], path.join(lab.dir, 'soak-addr-nodeb.jsonl'), parseAddr),
  };
  const client = await startClient(scope, lab, VIP4, 10);
  await waitUntil('client served by nodea', () => client.replies.some((r) => r.by === 'nodea'), { timeoutMs: 10_000, signal: scope.signal });
  await sleep(1000);
  probe.poll();
  const probeFrom = probe.records.length;
  const logOffsets = { nodea: ctl.nodea.logOffset(), nodeb: ctl.nodeb.logOffset() };
  const startNs = process.hrtime.bigint();
  const replyFrom = client.replies.length;
  hilLog(`[soak ${p.label}] ${seconds} s of a steady ringbeat pair with the client (lab ${lab.net.id}, ${lab.dir})`);

  // Counted from the logs (they survive a daemon that dies); the daemons' own
  // counters (status) are read as a cross-check while they answer.
  const logCount = (re: RegExp): number => NODES.reduce((n, x) => n + ctl[x].logSince(logOffsets[x]).filter((l) => re.test(l)).length, 0);
  const DEAD = /: is dead \(/;
  const LATE = /late heartbeat from node/;
  const statusCounters: Record<NodeName, { late: number; deaths: number } | undefined> = { nodea: undefined, nodeb: undefined };
  const notAnswering: string[] = [];
  let lastHolder = 'nodea';
  let holderChanges = 0;
  let maxStallMs = 0;
  let maxTickLateMs = 0;
  let loadMax = 0;
  const events: string[] = [];
  const t0 = performance.now();
  let nextReport = 60;
  while ((performance.now() - t0) / 1000 < seconds && !scope.signal.aborted) {
    await sleep(1000);
    const el = (performance.now() - t0) / 1000;
    const hNow = (await holders(lab)).join();
    if (hNow !== lastHolder) {
      holderChanges++;
      const e = `${el.toFixed(1)} s (${new Date().toISOString()}): VIP holders [${lastHolder}] -> [${hNow}]`;
      events.push(e);
      hilLog(`[soak] ${e}`);
      lastHolder = hNow;
    }
    loadMax = Math.max(loadMax, os.loadavg()[0]!);
    for (const n of NODES) {
      try {
        const st = await ctl[n].node.status();
        if (st.comm?.stalls) {
          maxStallMs = Math.max(maxStallMs, st.comm.stalls.maxLateMs);
          maxTickLateMs = Math.max(maxTickLateMs, st.comm.stalls.maxTickLateMs);
        }
        statusCounters[n] = await ctl[n].counters();
      } catch (e) {
        if (!notAnswering.includes(n)) {
          notAnswering.push(n);
          const pr = ctl[n].node.proc;
          const ev = `${el.toFixed(1)} s (${new Date().toISOString()}): ${n} does not answer (${(e as Error).message.split('\n')[0]}; daemon ${pr?.running ? 'still running' : `exited: ${JSON.stringify(pr?.exitInfo)}`})`;
          events.push(ev);
          hilLog(`[soak] ${ev}`);
        }
      }
    }
    if (el >= nextReport) {
      nextReport += 60;
      hilLog(`[soak] ${el.toFixed(0)}/${seconds} s: deaths ${logCount(DEAD)}, late heartbeats ${logCount(LATE)}, VIP on [${hNow}], load ${os.loadavg()[0]!.toFixed(2)}`);
    }
  }
  await sleep(200);
  probe.poll();
  const stonith = probe.records.slice(probeFrom).filter((r) => r.f.t === 'stonith');
  let vipEvents = 0;
  for (const n of NODES) {
    addrW[n].follow.poll();
    vipEvents += addrW[n].follow.records.filter((r) => r.t > startNs && r.addr === VIP4).length;
  }
  const replies = client.replies.slice(replyFrom);
  const repliesByNode: Record<string, number> = {};
  let maxGap = 0;
  for (let i = 0; i < replies.length; i++) {
    const r = replies[i]!;
    repliesByNode[r.by] = (repliesByNode[r.by] ?? 0) + 1;
    if (i > 0) maxGap = Math.max(maxGap, nsToMs(r.recv - replies[i - 1]!.recv));
  }
  const seqs = replies.map((r) => r.seq);
  const requestsLost = seqs.length ? Math.max(...seqs) - Math.min(...seqs) + 1 - new Set(seqs).size : 0;
  const evidence = [
    ...events,
    ...NODES.flatMap((n) => ctl[n].logSince(logOffsets[n]).filter((l) => /is dead|late heartbeat|stall|ERROR|resources being acquired|added |removed |shutting|restarted|status (up|active|dead)/.test(l)).map((l) => `${n}: ${l}`)).slice(0, 80),
    ...NODES.filter((n) => notAnswering.includes(n)).map((n) => `${n} console tail:\n${ctl[n].node.tail(30)}`),
  ];
  const deaths = logCount(DEAD);
  const lateHeartbeats = logCount(LATE);
  const res: SoakResult = {
    impl: 'ringbeat',
    profile: `${p.label} (warntime ${p.warntimeMs}ms)`,
    seconds: Math.round((performance.now() - t0) / 1000),
    deaths,
    lateHeartbeats,
    statusCounters,
    stonithDatagrams: stonith.length,
    vipEvents,
    vipHolderChanges: holderChanges,
    repliesByNode,
    requestsLost,
    maxReplyGapMs: maxGap,
    maxStallMs,
    maxTickLateMs,
    loadavg1Max: loadMax,
    notAnswering,
    evidence,
    pass: deaths === 0 && notAnswering.length === 0 && stonith.length === 0 && vipEvents === 0 && holderChanges === 0 && Object.keys(repliesByNode).every((n) => n === 'nodea'),
  };
  if (scope.signal.aborted) res.error = 'interrupted';
  return res;
}

// ---------------------------------------------------------------------------
// report

const PHASES: { key: keyof Sample; label: string }[] = [
  { key: 'firstReplyMs', label: 'outage = first reply' },
  { key: 'detectMs', label: 'detection (stonith)' },
  { key: 'ipUpMs', label: 'IP up' },
  { key: 'garpMs', label: 'first GARP' },
  { key: 'ipAfterDetectMs', label: 'IP up - detection' },
  { key: 'garpAfterDetectMs', label: 'GARP - detection' },
  { key: 'replyAfterGarpMs', label: 'reply - GARP' },
  { key: 'linkDelMs', label: '(NIC deleted)' },
];

interface Report {
  profile: string;
  impl: Impl;
  runs: number;
  errors: number;
  falseDeathsBeforeKill: number;
  lateBeforeKill: number;
  clientArpRequests: number;
  /** 1-minute load average at the kills (the machine may be shared). */
  loadavg1?: Summary;
  metrics: Record<string, Summary | undefined>;
  byVictim: Record<string, Summary | undefined>;
  rb?: Record<string, Summary | undefined>;
}

function summaries(samples: readonly Sample[], o: Options): Report[] {
  const out: Report[] = [];
  for (const p of o.profiles) {
    for (const impl of o.impls) {
      const mine = samples.filter((s) => s.profile === p.label && s.impl === impl);
      if (mine.length === 0) continue;
      const metrics: Record<string, Summary | undefined> = {};
      for (const m of PHASES) metrics[m.key] = summarize(mine.map((s) => s[m.key] as number | undefined));
      const byVictim: Record<string, Summary | undefined> = {};
      for (const v of NODES) byVictim[v] = summarize(mine.filter((s) => s.victim === v && !s.error).map((s) => s.firstReplyMs));
      const r: Report = {
        profile: p.label,
        impl,
        runs: mine.length,
        errors: mine.filter((s) => s.error).length,
        falseDeathsBeforeKill: mine.reduce((n, s) => n + s.falseDeathsBeforeKill, 0),
        lateBeforeKill: mine.reduce((n, s) => n + s.lateBeforeKill, 0),
        clientArpRequests: mine.reduce((n, s) => n + s.clientArpRequests, 0),
        loadavg1: summarize(mine.map((s) => s.loadavg1)),
        metrics,
        byVictim,
      };
      if (impl === 'ringbeat') {
        const rb: Record<string, Summary | undefined> = {};
        for (const k of ['deadLoggedMs', 'silentMs', 'groupStartMs', 'ipQueryMs', 'ipAddMs', 'announceMs'] as const) rb[k] = summarize(mine.map((s) => s.rb?.[k]));
        r.rb = rb;
      }
      out.push(r);
    }
  }
  return out;
}

function printReport(reports: readonly Report[], o: Options, soak: SoakResult | undefined): void {
  const med = (r: Report | undefined, k: string): number | undefined => r?.metrics[k]?.median;
  // headline: one row per profile and implementation
  const rows: string[][] = [];
  for (const p of o.profiles) {
    const rbR = reports.find((r) => r.profile === p.label && r.impl === 'ringbeat');
    const hbR = reports.find((r) => r.profile === p.label && r.impl === 'heartbeat');
    for (const r of [rbR, hbR]) {
      if (!r) continue;
      const out = r.metrics.firstReplyMs;
      rows.push([
        p.label,
        r.impl,
        String(out?.n ?? 0),
        fmt(out?.median),
        fmt(out?.p90),
        fmt(out?.max),
        fmt(med(r, 'detectMs')),
        fmt(med(r, 'ipUpMs')),
        fmt(med(r, 'garpMs')),
        fmt(med(r, 'firstReplyMs')),
        r === rbR && hbR && med(rbR, 'firstReplyMs') && med(hbR, 'firstReplyMs') ? (med(rbR, 'firstReplyMs')! / med(hbR, 'firstReplyMs')!).toFixed(3) : '',
      ]);
    }
  }
  console.log('\n== client-visible outage after a power loss (ms after the first SIGKILL; serial + bcast, client every 10 ms) ==');
  console.log(formatTable(['keepalive/deadtime', 'impl', 'n', 'outage med', 'p90', 'max', 'detect med', 'IP up med', 'GARP med', 'reply med', 'rb/hb'], rows));

  for (const p of o.profiles) {
    const mine = reports.filter((r) => r.profile === p.label);
    if (mine.length === 0) continue;
    const t: string[][] = [];
    for (const r of mine) {
      for (const m of PHASES) t.push(summaryRow([r.impl, m.label], r.metrics[m.key]));
      if (r.rb) {
        t.push(summaryRow([r.impl, 'log: "is dead" logged'], r.rb.deadLoggedMs));
        t.push(summaryRow([r.impl, 'log: silent at death'], r.rb.silentMs));
        t.push(summaryRow([r.impl, 'log: group start took'], r.rb.groupStartMs));
        t.push(summaryRow([r.impl, 'log: ip addr query'], r.rb.ipQueryMs));
        t.push(summaryRow([r.impl, 'log: ip addr add'], r.rb.ipAddMs));
        t.push(summaryRow([r.impl, 'log: add -> 1st announce'], r.rb.announceMs));
      }
    }
    console.log(`\n== keepalive ${p.keepaliveMs} ms / deadtime ${p.deadtimeMs} ms / warntime ${p.warntimeMs} ms ==`);
    console.log(formatTable(['impl', 'phase (ms after t0)', 'n', 'median', 'p90', 'min', 'max'], t));
    for (const r of mine) {
      const bv = NODES.map((v) => `${v} killed: ${fmt(r.byVictim[v]?.median)} (n ${r.byVictim[v]?.n ?? 0})`).join(', ');
      console.log(`  ${r.impl}: outage median by victim: ${bv}; client ARP requests in the outage: ${r.clientArpRequests}; load average at the kills ${fmt(r.loadavg1?.min, 1)}-${fmt(r.loadavg1?.max, 1)} (median ${fmt(r.loadavg1?.median, 1)})` +
        `${r.errors ? `; ${r.errors} FAILED run(s)` : ''}${r.falseDeathsBeforeKill ? `; ${r.falseDeathsBeforeKill} FALSE death(s) before a kill` : ''}` +
        `${r.lateBeforeKill ? `; ${r.lateBeforeKill} late heartbeat(s) between kills` : ''}`);
    }
    const rbR = mine.find((r) => r.impl === 'ringbeat');
    const hbR = mine.find((r) => r.impl === 'heartbeat');
    if (rbR && hbR && med(rbR, 'firstReplyMs') && med(hbR, 'firstReplyMs')) {
      const ratio = med(rbR, 'firstReplyMs')! / med(hbR, 'firstReplyMs')!;
      console.log(`  ratio ringbeat/Heartbeat of median outage: ${ratio.toFixed(3)} (${(1 / ratio).toFixed(1)}x faster)`);
    }
    const ref = HEARTBEAT_REFERENCE[p.label];
    if (ref !== undefined) console.log(`  Heartbeat reference (spec 12.2, measured once): median ${ref.toFixed(2)} s`);
  }
  // ringbeat at its recommended settings against Heartbeat at its tightest stable ones
  const rec = reports.find((r) => r.impl === 'ringbeat' && r.profile === o.soakProfile.label);
  const hbTight = reports.find((r) => r.impl === 'heartbeat' && r.profile === '10ms/50ms');
  if (rec && med(rec, 'firstReplyMs') !== undefined) {
    const m = med(rec, 'firstReplyMs')!;
    console.log(`\nringbeat at its recommended ${o.soakProfile.label}: median outage ${fmt(m)} ms (target <= 200 ms: ${m <= 200 ? 'met' : 'NOT met'})` +
      (hbTight && med(hbTight, 'firstReplyMs') ? `; Heartbeat at its tightest 10ms/50ms: ${fmt(med(hbTight, 'firstReplyMs'))} ms; ratio ${(m / med(hbTight, 'firstReplyMs')!).toFixed(3)}` : ''));
  }
  if (soak) {
    console.log(`\n== soak: ringbeat pair at ${soak.profile}, ${soak.seconds} s ==`);
    console.log(formatTable(['what', 'count'], [
      ['deaths declared', String(soak.deaths)],
      ['late heartbeats', String(soak.lateHeartbeats)],
      ['stonith datagrams', String(soak.stonithDatagrams)],
      ['VIP add/del events', String(soak.vipEvents)],
      ['VIP holder changes', String(soak.vipHolderChanges)],
      ['daemons not answering', soak.notAnswering.join(' ') || '0'],
      ['client replies', Object.entries(soak.repliesByNode).map(([k, v]) => `${k}:${v}`).join(' ') || '0'],
      ['client requests lost', String(soak.requestsLost)],
      ['max gap between replies (ms)', fmt(soak.maxReplyGapMs)],
      ['heartbeat path max stall (ms)', fmt(soak.maxStallMs)],
      ['heartbeat path max tick late (ms)', fmt(soak.maxTickLateMs)],
      ['load average (1 min) max', fmt(soak.loadavg1Max, 2)],
    ]));
    console.log(`  no false failover: ${soak.pass ? 'PASS' : 'FAIL'}${soak.error ? ` (${soak.error})` : ''}`);
    for (const l of soak.evidence.slice(0, 30)) console.log(`  | ${l}`);
  }
}

function writeJson(file: string | undefined, o: Options, samples: readonly Sample[], soak: SoakResult | undefined, startedAt: string, failures: string[], build?: BuildSnapshot): void {
  if (!file) return;
  const doc = {
    bench: 'failover',
    startedAt,
    host: { cpus: os.cpus().length, kernel: os.release(), node: process.version },
    ringbeat: build,
    options: { ...o, profiles: o.profiles, soakProfile: o.soakProfile },
    samples,
    summary: summaries(samples, o),
    soak,
    failures,
  };
  fs.writeFileSync(file, JSON.stringify(doc, null, 1) + '\n');
}

interface BuildSnapshot {
  /** What was copied (dist/...) and the private copy the nodes run. */
  from: string[];
  command: string[];
  sha256: string;
  builtAt: string;
}

/**
 * Runs ringbeat from a private copy of the build (the executable or bundle
 * plus native/): a concurrent `npm run build` rewrites dist/native/*.node in
 * place, and a running ringbeat that has them dlopen()ed dies of SIGBUS
 * (seen: "heartbeat path process exited unexpectedly (code null, signal
 * SIGBUS)"). The copy is removed at exit.
 */
function snapshotRingbeat(cmd: string[]): BuildSnapshot {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringbeat-bench-bin-'));
  fs.chmodSync(dir, 0o755);
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const file = cmd[cmd.length - 1]!;
  const src = path.dirname(file);
  const dest = path.join(dir, path.basename(file));
  fs.copyFileSync(file, dest);
  fs.chmodSync(dest, fs.statSync(file).mode);
  if (fs.existsSync(path.join(src, 'native'))) fs.cpSync(path.join(src, 'native'), path.join(dir, 'native'), { recursive: true });
  const command = [...cmd.slice(0, -1), dest];
  process.env.RINGBEAT_BIN = command.join(' ');
  const v = spawnSync(command[0]!, [...command.slice(1), 'version'], { encoding: 'utf8', env: childEnv(), timeout: 30_000 });
  if (v.status !== 0) throw new Error(`the copy of ${file} does not run (${v.status}): ${v.stderr}${v.stdout} (a build in progress? run again)`);
  const sha256 = createHash('sha256').update(fs.readFileSync(dest)).digest('hex');
  hilLog(`ringbeat: running a private copy of ${file} (sha256 ${sha256.slice(0, 16)}..., built ${fs.statSync(file).mtime.toISOString()}): ${command.join(' ')}`);
  return { from: [file, path.join(src, 'native')], command, sha256, builtAt: fs.statSync(file).mtime.toISOString() };
}

async function main(): Promise<void> {
  const o = options();
  requireLab();
  requireCommands(['python3'], 'bench:failover (lab-watch.py)');
  if (o.impls.includes('heartbeat') && o.runs > 0) requireHeartbeat();
  let build: BuildSnapshot | undefined;
  if (o.impls.includes('ringbeat') || o.soakSeconds > 0) build = snapshotRingbeat(prepareRingbeat(o.build));
  const startedAt = new Date().toISOString();
  const samples: Sample[] = [];
  const failures: string[] = [];
  let soak: SoakResult | undefined;
  const save = (): void => writeJson(o.json, o, samples, soak, startedAt, failures, build);
  const record = (s: Sample): void => {
    samples.push(s);
    save(); // after every run: an interrupted bench keeps its samples
  };
  if (o.runs > 0) {
    // profile by profile, both implementations back to back: a machine whose
    // load changes over the hour then weighs on both alike
    for (const p of o.profiles) {
      for (const impl of o.impls) {
        hilLog(`series: ${impl}, keepalive ${p.keepaliveMs} ms, deadtime ${p.deadtimeMs} ms, warntime ${p.warntimeMs} ms, ${o.runs} power losses`);
        try {
          await withScope(`bench-failover ${impl} ${p.label}`, (scope) => runSeries(scope, impl, p, o, record));
        } catch (e) {
          const msg = `series ${impl} ${p.label} FAILED: ${e instanceof Error ? e.message : String(e)}`;
          failures.push(msg);
          hilLog(msg);
          save();
        }
      }
    }
  }
  if (o.soakSeconds > 0) {
    try {
      soak = await withScope(`bench-failover soak ${o.soakProfile.label}`, (scope) => runSoak(scope, o.soakProfile, o.soakSeconds));
    } catch (e) {
      const msg = `soak FAILED: ${e instanceof Error ? e.message : String(e)}`;
      failures.push(msg);
      hilLog(msg);
    }
    save();
  }
  printReport(summaries(samples, o), o, soak);
  if (failures.length) console.log(`\n${failures.length} failure(s):\n  ${failures.map((f) => f.split('\n')[0]).join('\n  ')}`);
  if (o.json) console.log(`\nraw samples and summary: ${o.json}`);
  if (failures.length || (soak && !soak.pass)) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
