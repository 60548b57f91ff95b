// npm run bench:detect -- [--runs N] [--profiles 50ms,100ms,1s] [--impl ringbeat,heartbeat]
//                         [--json FILE] [--serial BAUD] [--build]
//
// Failure detection time, ringbeat against the real Heartbeat 3.0.6 in the
// same harness (scripts/bench/pair.ts): node A is killed with SIGKILL (every
// process of its namespace: power loss as far as the peers can tell), node B
// survives, and a third namespace C listens on UDP 694 and stamps every
// datagram on CLOCK_MONOTONIC.
//
//   detection            = first datagram from B carrying t=stonith node=nodea
//                          (Heartbeat sends it right after mark_node_dead(); ringbeat
//                          does the same) - the moment of the first SIGKILL
//   last hb age at kill  = kill - A's last datagram seen by C before the kill:
//                          detection ~ deadtime - age + the implementation's own delay
//   silence - deadtime   = (stonith - A's last datagram) - deadtime: that own
//                          delay (Heartbeat: its dead-node scan runs every 250 ms)
//
// A profile 'X' means keepalive X, deadtime 4 X; 'X/Y' gives both (e.g. 10ms/50ms).
// Each run restarts A (B is reused) and kills it only once its advertised
// deadtime (`dt`) is the configured one: Heartbeat advertises deadtime + 2 s
// for its first 5 s. The kill moment is randomised within one keepalive.
// B's own status is also polled where that is cheap (ringbeat's control
// socket) and reported as "status shows dead", for context.
//
// Needs root (namespaces), iproute2, util-linux, and for Heartbeat the Debian
// heartbeat package; ringbeat must be built (npm run build, or pass --build).
// Ctrl-C tears everything down; samples so far stay in the --json file.

import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { hilLog, sleep, withScope, type Scope } from '../hil-tests/lib/procs';
import { requireHeartbeat, requireLab } from '../hil-tests/lib/require';
import { makeTmpDir } from '../hil-tests/lib/tmp';
import type { ProbeRecord } from '../hil-tests/lib/udp-probe';
import { prepareRingbeat } from './bench/ringbeat-build';
import { buildPair, IMPLS, type Impl, type Pair, type Profile } from './bench/pair';
import { fmt, formatTable, summarize, summaryRow, type Summary } from './bench/stats';

const VICTIM = 'nodea';
const OBSERVER = 'nodeb';

interface Sample {
  impl: Impl;
  profile: string;
  keepaliveMs: number;
  deadtimeMs: number;
  run: number;
  /** hrtime (ns, CLOCK_MONOTONIC) right before the first SIGKILL. */
  killNs: string;
  detectMs?: number;
  overDeadtimeMs?: number;
  lastHbAgeMs?: number;
  silenceMs?: number;
  silenceOverMs?: number;
  statusDeadMs?: number;
  stonithResult?: string;
  /** Datagrams from A that reached C after the kill stamp (in flight). */
  aDatagramsAfterKill: number;
  /** t=stonith about A from B while A was alive (should be 0). */
  falseDeathsBeforeKill: number;
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
  const [ka, dt] = s.split('/');
  const keepaliveMs = parseTimeMs(ka!);
  const deadtimeMs = dt === undefined ? 4 * keepaliveMs : parseTimeMs(dt);
  if (!(deadtimeMs > 2 * keepaliveMs)) throw new Error(`profile ${s}: deadtime must be > 2 x keepalive (Heartbeat's rule)`);
  if (!Number.isInteger(keepaliveMs) || !Number.isInteger(deadtimeMs)) throw new Error(`profile ${s}: whole milliseconds only`);
  return { label: `${keepaliveMs}ms/${deadtimeMs}ms`, keepaliveMs, deadtimeMs };
}

interface Options {
  runs: number;
  profiles: Profile[];
  impls: Impl[];
  json?: string;
  serialBaud?: number;
  build: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '10' },
      profiles: { type: 'string', default: '50ms,100ms,1s' },
      impl: { type: 'string', default: 'ringbeat,heartbeat' },
      json: { type: 'string' },
      serial: { type: 'string' },
      build: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(fs.readFileSync(__filename, 'utf8').split('\n\n')[0]!.replace(/^\/\/ ?/gm, ''));
    process.exit(0);
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${values.runs}: want a positive integer`);
  const impls = values.impl.split(',').map((s) => s.trim()) as Impl[];
  for (const i of impls) if (!IMPLS.includes(i)) throw new Error(`--impl ${i}: want ${IMPLS.join(', ')}`);
  const serialBaud = values.serial === undefined ? undefined : Number(values.serial);
  if (serialBaud !== undefined && !(Number.isInteger(serialBaud) && serialBaud > 0)) throw new Error(`--serial ${values.serial}: want a baud rate`);
  return { runs, profiles: values.profiles.split(',').map(parseProfile), impls, json: values.json, serialBaud, build: values.build };
}

// ---------------------------------------------------------------------------
// one series: one implementation, one profile, N kills

const fromA = (r: ProbeRecord): boolean => r.f.src === VICTIM;
const stonithAboutA = (r: ProbeRecord): boolean => r.f.t === 'stonith' && r.f.node === VICTIM && r.f.src === OBSERVER;
const nsToMs = (ns: bigint): number => Number(ns) / 1e6;

/**
 * Waits until A's recent status messages advertise the configured deadtime
 * (Heartbeat sends deadtime + 2 s for its first 5 s, and a peer uses the
 * advertised value): two in a row after `fromIndex`. Messages without `dt`
 * count as well (an implementation that does not advertise one).
 */
async function waitSteadyDeadtime(pair: Pair, p: Profile, fromIndex: number, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    pair.probe.poll();
    const statuses = pair.probe.records.slice(fromIndex).filter((r) => fromA(r) && r.f.t === 'status');
    const last2 = statuses.slice(-2);
    if (last2.length === 2 && last2.every((r) => r.f.dt === undefined || Number.parseInt(r.f.dt, 16) === p.deadtimeMs)) return;
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`A never advertised dt=${p.deadtimeMs} ms (last: ${statuses.at(-1)?.f.dt ?? 'no status'})`);
    }
    await sleep(Math.min(50, p.keepaliveMs));
  }
}

async function oneRun(pair: Pair, impl: Impl, p: Profile, run: number, signal: AbortSignal): Promise<Sample> {
  const { a, b, probe } = pair;
  probe.poll();
  const fromIndex = probe.records.length;
  if (run > 1) await a.start();
  await b.waitPeerActive(VICTIM, 30_000);
  await waitSteadyDeadtime(pair, p, fromIndex, 30_000);
  await sleep(Math.random() * p.keepaliveMs);
  probe.poll();
  const falseDeathsBeforeKill = probe.records.slice(fromIndex).filter(stonithAboutA).length;

  const killNs = await a.kill();

  // B's verdict: the stonith datagram (primary) and, where cheap, B's status (context)
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  signal.addEventListener('abort', onAbort);
  let statusDeadNs: bigint | undefined;
  let stonithSeenAt: number | undefined;
  const statusWatch = (async () => {
    if (!b.peerDead) return;
    const deadline = Date.now() + 2 * p.deadtimeMs + 5000;
    while (Date.now() < deadline && !signal.aborted) {
      // the status may flip a moment after the stonith went out: give it 500 ms
      if (stonithSeenAt !== undefined && Date.now() - stonithSeenAt > 500) return;
      if (await b.peerDead(VICTIM).catch(() => false)) {
        statusDeadNs = process.hrtime.bigint();
        // an implementation that has not sent its stonith 1.5 s after saying "dead" will not
        setTimeout(() => stop.abort(), 1500).unref();
        return;
      }
      await sleep(10);
    }
  })();
  const stonith = await probe.waitFor((r) => r.t > killNs && stonithAboutA(r), 2 * p.deadtimeMs + 5000, {
    fromIndex,
    signal: stop.signal,
  });
  stonithSeenAt = Date.now();
  await statusWatch;
  stop.abort();
  signal.removeEventListener('abort', onAbort);

  const detectNs = stonith?.t;
  const horizon = detectNs ?? (statusDeadNs ?? process.hrtime.bigint());
  const beforeKill = probe.last(fromA, killNs);
  const lastAny = probe.last((r) => fromA(r) && r.t <= horizon);
  const aAfterKill = probe.records.slice(fromIndex).filter((r) => fromA(r) && r.t > killNs).length;
  const s: Sample = {
    impl,
    profile: p.label,
    keepaliveMs: p.keepaliveMs,
    deadtimeMs: p.deadtimeMs,
    run,
    killNs: killNs.toString(),
    aDatagramsAfterKill: aAfterKill,
    falseDeathsBeforeKill,
  };
  if (beforeKill) s.lastHbAgeMs = nsToMs(killNs - beforeKill.t);
  if (statusDeadNs !== undefined) s.statusDeadMs = nsToMs(statusDeadNs - killNs);
  if (detectNs !== undefined) {
    s.detectMs = nsToMs(detectNs - killNs);
    s.overDeadtimeMs = s.detectMs - p.deadtimeMs;
    s.stonithResult = stonith!.f.result;
    if (lastAny) {
      s.silenceMs = nsToMs(detectNs - lastAny.t);
      s.silenceOverMs = s.silenceMs - p.deadtimeMs;
    }
  } else {
    s.error = `no t=stonith node=${VICTIM} from ${OBSERVER} on the wire` + (statusDeadNs !== undefined ? ` (its status said dead after ${fmt(s.statusDeadMs)} ms)` : '');
  }
  return s;
}

async function runSeries(scope: Scope, impl: Impl, p: Profile, o: Options, record: (s: Sample) => void): Promise<void> {
  const dir = makeTmpDir(scope, `bench-detect-${impl}`);
  const pair = await buildPair(scope, { impl, profile: p, dir, serialBaud: o.serialBaud });
  await Promise.all([pair.a.start(), pair.b.start()]);
  for (let run = 1; run <= o.runs; run++) {
    let s: Sample;
    try {
      s = await oneRun(pair, impl, p, run, scope.signal);
    } catch (e) {
      const error = e instanceof Error ? e.message.split('\n')[0]! : String(e);
      record({ impl, profile: p.label, keepaliveMs: p.keepaliveMs, deadtimeMs: p.deadtimeMs, run, killNs: '0', aDatagramsAfterKill: 0, falseDeathsBeforeKill: 0, error });
      throw e;
    }
    record(s);
    const tag = `[${impl} ${p.label}] run ${run}/${o.runs}:`;
    if (s.detectMs !== undefined) {
      hilLog(`${tag} detected after ${fmt(s.detectMs)} ms (deadtime ${p.deadtimeMs}; last hb ${fmt(s.lastHbAgeMs)} ms before the kill; ` +
        `${fmt(s.silenceOverMs)} ms over deadtime after it)${s.falseDeathsBeforeKill ? ` FALSE DEATHS BEFORE KILL: ${s.falseDeathsBeforeKill}` : ''}`);
    } else {
      hilLog(`${tag} ${s.error}`);
    }
  }
}

// ---------------------------------------------------------------------------
// report

const METRICS: { key: keyof Sample; label: string }[] = [
  { key: 'detectMs', label: 'detection (ms)' },
  { key: 'overDeadtimeMs', label: 'detection - deadtime' },
  { key: 'lastHbAgeMs', label: 'last hb age at kill' },
  { key: 'silenceOverMs', label: 'after last hb - deadtime' },
  { key: 'statusDeadMs', label: 'status shows dead (poll)' },
];

interface Report {
  profile: string;
  impl: Impl;
  runs: number;
  errors: number;
  falseDeathsBeforeKill: number;
  metrics: Record<string, Summary | undefined>;
}

function summaries(samples: readonly Sample[], o: Options): Report[] {
  const out: Report[] = [];
  for (const p of o.profiles) {
    for (const impl of o.impls) {
      const mine = samples.filter((s) => s.profile === p.label && s.impl === impl);
      if (mine.length === 0) continue;
      const metrics: Record<string, Summary | undefined> = {};
      for (const m of METRICS) metrics[m.key] = summarize(mine.map((s) => s[m.key] as number | undefined));
      out.push({
        profile: p.label,
        impl,
        runs: mine.length,
        errors: mine.filter((s) => s.error).length,
        falseDeathsBeforeKill: mine.reduce((n, s) => n + s.falseDeathsBeforeKill, 0),
        metrics,
      });
    }
  }
  return out;
}

function printReport(reports: readonly Report[], o: Options): void {
  for (const p of o.profiles) {
    const mine = reports.filter((r) => r.profile === p.label);
    if (mine.length === 0) continue;
    const rows: string[][] = [];
    for (const r of mine) {
      for (const m of METRICS) {
        const s = r.metrics[m.key];
        if (s || m.key === 'detectMs') rows.push(summaryRow([r.impl, m.label], s));
      }
    }
    console.log(`\n== keepalive ${p.keepaliveMs} ms / deadtime ${p.deadtimeMs} ms${o.serialBaud ? ` (bcast + serial ${o.serialBaud})` : ' (bcast)'} ==`);
    console.log(formatTable(['impl', 'metric (ms)', 'n', 'median', 'p90', 'min', 'max'], rows));
    for (const r of mine) {
      if (r.errors) console.log(`  ${r.impl}: ${r.errors} of ${r.runs} runs without a stonith datagram (see --json for the reason)`);
      if (r.falseDeathsBeforeKill) console.log(`  ${r.impl}: ${r.falseDeathsBeforeKill} FALSE death(s) declared before the kill`);
    }
  }
  console.log('\nHeartbeat 3.0.6 reference (measured once, spec section 12, detection medians): 3.02 s at 1s/3s, 0.80 s at 100ms/500ms, 0.13 s at 10ms/50ms.');
}

function writeJson(file: string | undefined, o: Options, samples: readonly Sample[], startedAt: string): void {
  if (!file) return;
  const doc = {
    bench: 'detect',
    startedAt,
    options: { ...o, profiles: o.profiles.map((p) => p.label) },
    samples,
    summary: summaries(samples, o),
  };
  fs.writeFileSync(file, JSON.stringify(doc, null, 1) + '\n');
}

async function main(): Promise<void> {
  const o = options();
  requireLab();
  if (o.impls.includes('heartbeat')) requireHeartbeat();
  if (o.impls.includes('ringbeat')) prepareRingbeat(o.build);
  const startedAt = new Date().toISOString();
  const samples: Sample[] = [];
  const record = (s: Sample): void => {
    samples.push(s);
    writeJson(o.json, o, samples, startedAt); // after every run: an interrupted bench keeps its samples
  };
  let failed = 0;
  for (const impl of o.impls) {
    for (const p of o.profiles) {
      hilLog(`series: ${impl}, keepalive ${p.keepaliveMs} ms, deadtime ${p.deadtimeMs} ms, ${o.runs} runs`);
      try {
        await withScope(`bench-detect ${impl} ${p.label}`, (scope) => runSeries(scope, impl, p, o, record));
      } catch (e) {
        failed++;
        hilLog(`series ${impl} ${p.label} FAILED: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  printReport(summaries(samples, o), o);
  if (o.json) console.log(`\nraw samples and summary: ${o.json}`);
  if (failed) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
