// npm run bench:relay -- [--runs N] [--nodes 8] [--baud 115200] [--keepalive 1s]
//                        [--warmup 5s] [--max-util 0.3] [--json FILE] [--build]
//
// Extra latency per relay hop on a ring of ringbeat nodes joined by paced
// serial cables (serial media only, two ports per node; hil-tests/lib/ring.ts).
// Goal (issue 3): within 2 ms of one frame's wire time per hop.
//
// The cables log, on CLOCK_MONOTONIC, when the first and the last byte of
// every >>>..<<< frame leaves a node and reaches the next one (frameLog), so
// nothing inside the nodes is instrumented. For each status frame of node 0
// (N = --runs of them) and each direction around the ring:
//
//   arrival k hops away  = last byte at the node k hops away - first byte leaving node 0
//   per-hop extra (k>=2) = (last byte at hop k - last byte at hop k-1) - wire time of the
//                          relayed frame on hop k: what one relay adds to pure store-and-forward
//   turnaround           = first byte the relaying node writes - last byte it received
//
// The keepalive is long by default (1 s) so the ring is lightly loaded and
// frames rarely queue behind each other; a frame that does queue shows up in
// p90/max. Measuring starts once every node sees every other, --warmup has
// passed, and no line is busier than --max-util (share of its rate over 2 s):
// the first seconds of a ring carry start-up traffic (node lists, R1 resource
// messages, retransmissions) that keeps the lines 70-90 % busy, and a relayed
// frame then queues behind several others. Needs root (namespaces), iproute2, util-linux, python3; ringbeat
// must be built (npm run build, or --build). Ctrl-C tears everything down.

import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { LabNet } from '../hil-tests/lib/netns';
import { wireTimeMs } from '../hil-tests/lib/paced-cable';
import { hilLog, sleep, waitUntil, withScope, type Scope } from '../hil-tests/lib/procs';
import { requireCommands, requireLab } from '../hil-tests/lib/require';
import { CableRing } from '../hil-tests/lib/ring';
import { RingbeatNode } from '../hil-tests/lib/ringbeat-node';
import { makeTmpDir } from '../hil-tests/lib/tmp';
import { analyzeHops, type HopSample } from './bench/relay-hops';
import { prepareRingbeat } from './bench/ringbeat-build';
import { fmt, formatTable, summarize, summaryRow, type Summary } from './bench/stats';

interface Options {
  runs: number;
  nodes: number;
  baud: number;
  keepaliveMs: number;
  warmupMs: number;
  maxUtil: number;
  json?: string;
  build: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '20' },
      nodes: { type: 'string', default: '8' },
      baud: { type: 'string', default: '115200' },
      keepalive: { type: 'string', default: '1s' },
      warmup: { type: 'string', default: '5s' },
      'max-util': { type: 'string', default: '0.3' },
      json: { type: 'string' },
      build: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(fs.readFileSync(__filename, 'utf8').split('\n\n')[0]!.replace(/^\/\/ ?/gm, ''));
    process.exit(0);
  }
  const int = (v: string, what: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${what} ${v}: want an integer >= ${min}`);
    return n;
  };
  const time = (v: string, what: string): number => {
    const m = /^(\d+)(ms|s)$/.exec(v);
    if (!m) throw new Error(`--${what} ${v}: want e.g. 500ms or 1s`);
    return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  };
  return {
    runs: int(values.runs, 'runs', 1),
    nodes: int(values.nodes, 'nodes', 3),
    baud: int(values.baud, 'baud', 300),
    keepaliveMs: time(values.keepalive, 'keepalive'),
    warmupMs: time(values.warmup, 'warmup'),
    maxUtil: (() => {
      const u = Number(values['max-util']);
      if (!(u > 0 && u <= 1)) throw new Error(`--max-util ${values['max-util']}: want a share in (0, 1]`);
      return u;
    })(),
    json: values.json,
    build: values.build,
  };
}

/** Busiest line direction of the ring over `windowMs`: share of its capacity used. */
async function busiestLine(ring: CableRing, baud: number, windowMs: number): Promise<number> {
  const before = await ring.stats();
  await sleep(windowMs);
  const after = await ring.stats();
  const bytesPerWindow = (baud / 10) * (windowMs / 1000);
  let worst = 0;
  after.forEach((s, i) => {
    for (const d of ['a2b', 'b2a'] as const) worst = Math.max(worst, (s[d].bytesIn - before[i]![d].bytesIn) / bytesPerWindow);
  });
  return worst;
}

/** What the lines carried over the last `windowMs`: frame counts by type and origin, most first. */
function traffic(ring: CableRing, windowMs: number): string {
  const since = Number(process.hrtime.bigint()) - windowMs * 1e6;
  const count = new Map<string, number>();
  for (const f of ring.frames()) {
    if (f.ev !== 'tx' || f.t0 < since) continue;
    const k = `${f.type ?? '?'} from ${f.src ?? '?'}`;
    count.set(k, (count.get(k) ?? 0) + 1);
  }
  const top = [...count].sort((x, y) => y[1] - x[1]).slice(0, 8);
  return top.map(([k, n]) => `${n} ${k}`).join(', ') || 'nothing';
}

/** Waits until no line is busier than `maxUtil` (start-up traffic has passed). */
async function waitQuiet(ring: CableRing, baud: number, maxUtil: number, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const u = await busiestLine(ring, baud, 2000);
    if (u === 0) throw new Error('the ring went silent: no line carried a byte for 2 s (did the nodes die? HIL_KEEP=1 keeps their logs)');
    if (u <= maxUtil) return u;
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`the ring did not quieten: busiest line still ${(u * 100).toFixed(0)} % busy after ${timeoutMs} ms; ` +
        `frames sent in the last 10 s, all lines: ${traffic(ring, 10_000)}`);
    }
    hilLog(`busiest line ${(u * 100).toFixed(0)} % busy: waiting for start-up traffic to pass`);
  }
}

/** Polls every node until each reports every other node active. */
async function waitAllSeeAll(nodes: readonly RingbeatNode[], timeoutMs: number): Promise<void> {
  const names = nodes.map((n) => n.name);
  let missing: string[] = [];
  await waitUntil(
    'every node sees every other node active',
    async () => {
      missing = [];
      for (const n of nodes) {
        const s = await n.status().catch(() => undefined);
        for (const peer of names) {
          if (peer === n.name) continue;
          const st = s?.comm?.nodes.find((x) => x.name === peer)?.state;
          if (st !== 'active') missing.push(`${n.name}:${peer}=${st ?? '?'}`);
        }
      }
      return missing.length === 0;
    },
    { timeoutMs, intervalMs: 500, details: () => `not yet: ${missing.slice(0, 20).join(' ')}${missing.length > 20 ? ' ...' : ''}` },
  );
}

interface RelayResult {
  samples: HopSample[];
  wireMs: number;
  frameBytes: number;
  cableDrops: number;
  /** Busiest line direction while measuring: share of its capacity. */
  busiest: number;
  relayLateMaxUs: number;
}

async function measure(scope: Scope, o: Options): Promise<RelayResult> {
  const dir = makeTmpDir(scope, 'bench-relay');
  const names = Array.from({ length: o.nodes }, (_, i) => `n${i}`);
  const net = await LabNet.create(scope, { hosts: names });
  // real-time relays: the cables' timing is the rig's, and must not suffer from the nodes' load
  const ring = await CableRing.create(scope, { dir, nodes: names, cable: { frameLog: true, fallbackBaud: o.baud, rtPriority: 10 } });
  const ka = o.keepaliveMs;
  const nodes = names.map((name, i) =>
    RingbeatNode.create(scope, {
      name,
      nodes: names,
      dir,
      net,
      host: net.host(name),
      media: ring.serialMedia(i),
      baud: o.baud,
      keepalive: `${ka}ms`,
      deadtime: `${Math.max(4 * ka, 2000)}ms`,
      initdead: `${Math.max(8 * ka, 10_000)}ms`,
    }),
  );
  hilLog(`starting ${o.nodes} ringbeat nodes on a ring of paced cables at ${o.baud} baud`);
  await Promise.all(nodes.map((n) => n.start(30_000)));
  await waitAllSeeAll(nodes, 60_000 + 4 * ka);
  hilLog(`all ${o.nodes} nodes see each other; warming up for ${o.warmupMs} ms`);
  await sleep(o.warmupMs);
  const util = await waitQuiet(ring, o.baud, o.maxUtil, 120_000);
  hilLog(`busiest line ${(util * 100).toFixed(0)} % busy`);
  const statsBefore = await ring.stats();
  const sinceNs = Number(process.hrtime.bigint());
  hilLog(`collecting ${o.runs} status frames of n0 (~${((o.runs + 1) * ka / 1000).toFixed(0)} s)`);
  const sentByOrigin = (): number =>
    ring.cables[0]!.frames().filter((f) => f.ev === 'tx' && f.src === 'n0' && f.type === 'status' && f.t0 >= sinceNs).length;
  await waitUntil(`${o.runs} status frames from n0`, () => sentByOrigin() >= o.runs + 1, {
    timeoutMs: (o.runs + 5) * ka + 10_000,
    intervalMs: 200,
    details: () => `nodes running: ${nodes.map((n) => `${n.name}=${n.proc?.running ? 'yes' : 'NO'}`).join(' ')}; ` +
      `frames in the last 10 s: ${traffic(ring, 10_000)}`,
  });
  await sleep(Math.min(2000, ka)); // let the last frames finish their trip
  const records = ring.frames();
  const all = analyzeHops(records, { nodes: names, cables: ring.cables.map((c) => c.name), origin: 0, baud: o.baud, sinceNs });
  // exactly `runs` frames: the first ones sent after the ring settled
  const frames = [...new Set(all.map((s) => s.frame))].slice(0, o.runs);
  const samples = all.filter((s) => frames.includes(s.frame));
  const stats = await ring.stats();
  // only what happened while measuring
  const cableDrops = stats.reduce((n, s, i) => n + s.a2b.bytesDropped + s.b2a.bytesDropped - statsBefore[i]!.a2b.bytesDropped - statsBefore[i]!.b2a.bytesDropped, 0);
  const lineUse = stats.map((s, i) => (['a2b', 'b2a'] as const).map((d) => s[d].bytesIn - statsBefore[i]![d].bytesIn));
  const measuredS = (Number(process.hrtime.bigint()) - sinceNs) / 1e9;
  const busiest = Math.max(...lineUse.flat()) / ((o.baud / 10) * measuredS);
  const relayLateMaxUs = Math.max(...stats.flatMap((s) => [s.a2b.burstLateMaxNs, s.b2a.burstLateMaxNs])) / 1e3;
  const lens = samples.map((s) => s.len).sort((x, y) => x - y);
  const frameBytes = lens[lens.length >> 1] ?? 0;
  for (const n of nodes) {
    const s = await n.status().catch(() => undefined);
    const serial = s?.comm?.media.filter((m) => m.kind === 'serial') ?? [];
    hilLog(`${n.name}: ${serial.map((m) => `${m.name.split('/').pop()} in ${m.framesIn} out ${m.framesOut} relayed ${m.relayed ?? '?'} drops ${JSON.stringify(m.drops)}`).join('; ')}`);
  }
  return { samples, wireMs: wireTimeMs(frameBytes, o.baud), frameBytes, cableDrops, busiest, relayLateMaxUs };
}

function report(r: RelayResult, o: Options): Record<string, Record<string, Summary | undefined>> {
  const maxHop = Math.max(0, ...r.samples.map((s) => s.hop));
  const byHop = (h: number): HopSample[] => r.samples.filter((s) => s.hop === h);
  const summary: Record<string, Record<string, Summary | undefined>> = {};
  const arrival: string[][] = [];
  const extra: string[][] = [];
  for (let h = 1; h <= maxHop; h++) {
    const s = byHop(h);
    const wire = summarize(s.map((x) => x.wireMs));
    summary[`hop${h}`] = {
      fromSendMs: summarize(s.map((x) => x.fromSendMs)),
      extraMs: summarize(s.map((x) => x.extraMs)),
      turnaroundMs: summarize(s.map((x) => x.turnaroundMs)),
      lineWaitMs: summarize(s.map((x) => x.lineWaitMs)),
      wireMs: wire,
    };
    arrival.push([...summaryRow([String(h)], summary[`hop${h}`]!.fromSendMs!, 2), fmt(h * (wire?.median ?? 0), 2)]);
    extra.push(summaryRow([h === 1 ? '1 (cable only)' : String(h)], summary[`hop${h}`]!.extraMs, 2));
  }
  const relayHops = r.samples.filter((s) => s.hop >= 2);
  summary.relayHops = {
    extraMs: summarize(relayHops.map((x) => x.extraMs)),
    turnaroundMs: summarize(relayHops.map((x) => x.turnaroundMs)),
    busyWithOthersMs: summarize(relayHops.map((x) => x.busyWithOthersMs)),
    processingMs: summarize(relayHops.map((x) => (x.turnaroundMs === undefined ? undefined : x.turnaroundMs - (x.busyWithOthersMs ?? 0)))),
    lineWaitMs: summarize(relayHops.map((x) => x.lineWaitMs)),
    midFrameGapMs: summarize(relayHops.map((x) => x.midFrameGapMs)),
    cableLateMs: summarize(relayHops.map((x) => x.cableLateMs)),
  };
  extra.push(summaryRow(['all relay hops'], summary.relayHops.extraMs, 2));
  const frames = new Set(r.samples.map((s) => s.frame)).size;
  console.log(`\n== relay latency: ${o.nodes}-node ring, ${o.baud} baud 8N1, keepalive ${o.keepaliveMs} ms; ${frames} status frames of n0, both directions ==`);
  console.log(`frame size (median) ${r.frameBytes} bytes = ${r.wireMs.toFixed(2)} ms on the wire`);
  console.log('\narrival of n0\'s frame k hops away (ms after its first byte left n0)');
  console.log(formatTable(['hops', 'n', 'median', 'p90', 'min', 'max', 'k x wire'], arrival));
  console.log('\nextra latency per hop (ms): hop time - wire time of the frame on that hop');
  console.log(formatTable(['hop', 'n', 'median', 'p90', 'min', 'max'], extra));
  console.log('\nwhere the extra goes, relay hops (ms)');
  console.log(formatTable(['', 'n', 'median', 'p90', 'min', 'max'], [
    summaryRow(['turnaround in the node (last byte in -> first byte out)'], summary.relayHops.turnaroundMs, 2),
    summaryRow(['  of it: onward line busy with other frames (queued)'], summary.relayHops.busyWithOthersMs, 2),
    summaryRow(['  of it: the node itself (turnaround - queued)'], summary.relayHops.processingMs, 2),
    summaryRow(['waiting for the line (node wrote while it was busy)'], summary.relayHops.lineWaitMs, 2),
    summaryRow(['line idle mid-frame (node wrote the frame in pieces)'], summary.relayHops.midFrameGapMs, 2),
    summaryRow(['cable: last byte delivered late (the rig, not ringbeat)'], summary.relayHops.cableLateMs, 2),
  ]));
  const p90 = summary.relayHops.extraMs?.p90;
  console.log(`\ngoal: extra per relay hop within 2 ms: ${p90 === undefined ? 'no relay hops measured' : `median ${fmt(summary.relayHops.extraMs!.median, 2)} ms, p90 ${fmt(p90, 2)} ms -> ${p90 <= 2 ? 'met' : 'NOT met'} (at p90)`}`);
  console.log(`while measuring: busiest line ${(r.busiest * 100).toFixed(0)} % busy, ${r.cableDrops} bytes lost to overrun; ` +
    `worst cable lateness since start ${(r.relayLateMaxUs / 1000).toFixed(1)} ms`);
  return summary;
}

async function main(): Promise<void> {
  const o = options();
  requireLab();
  requireCommands(['python3'], 'paced serial cables');
  prepareRingbeat(o.build);
  const r = await withScope('bench-relay', (scope) => measure(scope, o));
  if (r.samples.length === 0) throw new Error('no frame of n0 was seen relayed: is the ring relay working? (HIL_KEEP=1 keeps the logs)');
  const summary = report(r, o);
  if (o.json) {
    fs.writeFileSync(o.json, JSON.stringify({ bench: 'relay', startedAt: new Date().toISOString(), options: o, ...r, summary }, null, 1) + '\n');
    console.log(`raw samples and summary: ${o.json}`);
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
