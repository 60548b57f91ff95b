// npm run bench:footprint -- [--runs N] [--settle S] [--window S] [--xz-level N] [--variants sea,bundle] [--json FILE] [--build]
//
// The footprint of the firmware as shipped, for the single executable
// (dist/ringbeat-x64) and for `node dist/ringbeat.cjs`:
//   size              raw and xz-compressed (executables; the bundle + native/)
//   start             spawn of `ringbeat run` (keepalive 1 s, serial on a
//                     null-modem pty pair) until (a) the daemon logs "heartbeat
//                     path running" (process start, config, native addons, the
//                     heartbeat path child up, media open) and (b) the first
//                     heartbeat frame (`>>>`) arrives at the far end of the
//                     cable. Median and min of N runs.
//   idle memory       RSS, private (Private_Clean+Private_Dirty) and PSS summed
//                     over the daemon and its heartbeat path child, --settle s
//                     (default 15) after both nodes of a serial pair see each
//                     other: start-up work (JIT, first GCs) is over by then
//   CPU               (utime+stime of both processes) / wall time over a window,
//                     at keepalive 1 s and 50 ms (pair running, each node hears the other)
// NODE_EXTRA_CA_CERTS is removed from the environment (it adds ~50 ms to every
// node start; a board does not have it). Needs socat (not root).

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tty from 'node:tty';
import { parseArgs } from 'node:util';
import { controlRequest, socketPath } from '../firmware/daemon/control';
import type { StatusReport } from '../firmware/daemon/status-data';
import { writeNodeConfig } from '../hil-tests/lib/dist';
import { Scope, sleep, startProcess, waitUntil, type Proc } from '../hil-tests/lib/procs';
import { SerialCable } from '../hil-tests/lib/serial-cable';
import { makeTmpDir } from '../hil-tests/lib/tmp';
import { cpuTicks, processTree, sumMem, ticksPerSecond, type MemStats } from './bench/proc-stats';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    window: { type: 'string', default: '20' },
    settle: { type: 'string', default: '15' },
    'xz-level': { type: 'string', default: '6' },
    variants: { type: 'string', default: 'sea,bundle' },
    json: { type: 'string' },
    build: { type: 'boolean', default: false },
  },
});

interface Variant {
  name: string;
  label: string;
  argv: string[];
}

const VARIANTS: Record<string, () => Variant> = {
  sea: () => ({ name: 'sea', label: 'SEA dist/ringbeat-x64', argv: [path.join(DIST, 'ringbeat-x64')] }),
  bundle: () => ({ name: 'bundle', label: 'node dist/ringbeat.cjs', argv: [process.execPath, path.join(DIST, 'ringbeat.cjs')] }),
};

interface Stat {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

const stat = (xs: number[]): Stat => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });

interface Figures {
  /** spawn -> heartbeat path running; spawn -> first frame on the wire (keepalive 1 s). */
  startMs?: { path: Stat; wire: Stat };
  idle?: MemStats & { processes: number };
  cpu?: Record<string, { percent: number; ticks: number; windowS: number }>;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Bytes of `files` after xz at `level` (streamed, nothing written). */
function xzSize(files: string[], level: number): number {
  const out = execFileSync('sh', ['-c', `cat "$@" | xz -T2 -${level} -c | wc -c`, 'xz', ...files], { maxBuffer: 1 << 20 });
  return Number(out.toString().trim());
}

/** Reads the far end of the cable (raw) and resolves the first time `>>>` arrives after `since()`. */
class WireWatch {
  private readonly stream: tty.ReadStream;
  private waiter?: (t: number) => void;

  constructor(device: string) {
    const fd = fs.openSync(device, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    this.stream = new tty.ReadStream(fd);
    this.stream.setRawMode(true);
    this.stream.on('data', (d: Buffer) => {
      if (this.waiter && d.includes('>>>')) {
        const w = this.waiter;
        this.waiter = undefined;
        w(performance.now());
      }
    });
  }

  next(timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no heartbeat frame within ${timeoutMs} ms`)), timeoutMs);
      this.waiter = (x) => {
        clearTimeout(t);
        resolve(x);
      };
    });
  }

  close(): void {
    this.stream.destroy();
  }
}

interface StartSample {
  /** spawn -> the daemon logs "heartbeat path running" (its child is up, media opened). */
  pathMs: number;
  /** spawn -> first heartbeat frame at the far end of the cable. */
  wireMs: number;
}

/** Spawned directly (stderr piped) so the log line is timed to the millisecond. */
async function startTimes(scope: Scope, dir: string, v: Variant, runs: number): Promise<StartSample[]> {
  const cable = await SerialCable.create(scope, { dir: path.join(dir, `start-${v.name}`) });
  const conf = writeNodeConfig(path.join(dir, `start-${v.name}-conf`), { name: 'nodea', nodes: ['nodea', 'nodeb'], media: [`serial ${cable.a}`], keepalive: '1', deadtime: '10', initdead: '12' });
  const watch = new WireWatch(cable.b);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const out: StartSample[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const frame = watch.next(20_000);
      const t0 = performance.now();
      const child = spawn(v.argv[0]!, [...v.argv.slice(1), 'run', '-c', conf, '--state-dir', path.join(dir, `start-${v.name}-state`), '--run-dir', path.join(dir, `start-${v.name}-run`)], {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const kill = (): void => void child.kill('SIGKILL');
      scope.defer(`kill ${v.name} start ${i}`, kill);
      const running = new Promise<number>((resolve) => {
        let buf = '';
        child.stderr!.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('heartbeat path running')) resolve(performance.now());
        });
      });
      const [pathAt, wireAt] = await Promise.all([running, frame]);
      out.push({ pathMs: pathAt - t0, wireMs: wireAt - t0 });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await sleep(300); // the stopping daemon's last frames must not count for the next run
    }
  } finally {
    watch.close();
    await cable.teardown();
  }
  return out;
}

interface Pair {
  a: Proc;
  b: Proc;
  runA: string;
}

async function startPair(scope: Scope, dir: string, v: Variant, keepalive: string, deadtime: string): Promise<Pair> {
  const tag = `${v.name}-${keepalive}`;
  const cable = await SerialCable.create(scope, { dir: path.join(dir, `pair-${tag}`) });
  const timing = { keepalive, deadtime, warntime: keepalive === '1' ? '5' : '250ms', initdead: '12' };
  const procs: Proc[] = [];
  let runA = '';
  for (const [name, tty2] of [['nodea', cable.a], ['nodeb', cable.b]] as const) {
    const base = path.join(dir, `pair-${tag}-${name}`);
    const conf = writeNodeConfig(base, { name, nodes: ['nodea', 'nodeb'], media: [`serial ${tty2}`], ...timing });
    if (name === 'nodea') runA = path.join(base, 'run');
    procs.push(
      await startProcess(scope, {
        name: `${tag} ${name}`,
        argv: [...v.argv, 'run', '-c', conf, '--state-dir', path.join(base, 'state'), '--run-dir', path.join(base, 'run')],
        logFile: path.join(base, 'console.log'),
      }),
    );
  }
  await waitUntil(
    'nodea sees nodeb active',
    async () => ((await controlRequest(socketPath(runA, 'nodea'), { cmd: 'status' })) as StatusReport).comm?.nodes.find((n) => n.name === 'nodeb')?.state === 'active',
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  return { a: procs[0]!, b: procs[1]!, runA };
}

async function cpuOver(pids: number[], windowS: number, hz: number): Promise<{ percent: number; ticks: number; windowS: number }> {
  const before = pids.map(cpuTicks);
  const t0 = performance.now();
  await sleep(windowS * 1000);
  const ticks = pids.map(cpuTicks).reduce((s, x, i) => s + x - before[i]!, 0);
  const wall = (performance.now() - t0) / 1000;
  return { percent: (100 * ticks) / hz / wall, ticks, windowS: wall };
}

function fmtMs(s?: Stat): string {
  return s ? `${s.median.toFixed(0)} ms (min ${s.min.toFixed(0)})` : '-';
}

const mib = (kb?: number): string => (kb === undefined ? '-' : `${(kb / 1024).toFixed(1)} MiB`);
const mb = (b?: number): string => (b === undefined ? '-' : `${(b / 1e6).toFixed(1)} MB`);

async function main(): Promise<void> {
  delete process.env.NODE_EXTRA_CA_CERTS;
  if (args.build) execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--arch', 'x64,arm64'], { stdio: 'inherit' });
  const runs = Number(args.runs);
  const windowS = Number(args.window);
  const settleS = Number(args.settle);
  const xzLevel = Number(args['xz-level']);
  const variants = args.variants!.split(',').map((n) => {
    const f = VARIANTS[n];
    if (!f) throw new Error(`unknown variant ${n} (sea, bundle)`);
    const v = f();
    if (!fs.existsSync(v.argv.at(-1)!)) throw new Error(`${v.argv.at(-1)} is missing: npm run build`);
    return v;
  });
  const hz = ticksPerSecond(() => execFileSync('getconf', ['CLK_TCK']).toString());
  const scope = new Scope('bench-footprint');
  process.on('SIGINT', () => void scope.close().then(() => process.exit(130)));
  const figures: Record<string, Figures> = {};
  try {
    const dir = makeTmpDir(scope, 'bench-footprint');
    for (const v of variants) {
      const f: Figures = (figures[v.name] = {});
      process.stderr.write(`${v.label}: start to first heartbeat (${runs} runs)\n`);
      const s = await startTimes(scope, dir, v, runs);
      f.startMs = { path: stat(s.map((x) => x.pathMs)), wire: stat(s.map((x) => x.wireMs)) };
      f.cpu = {};
      for (const [ka, dt] of [['1', '10'], ['50ms', '500ms']] as const) {
        process.stderr.write(`${v.label}: pair at keepalive ${ka}: settle ${settleS} s, CPU over ${windowS} s\n`);
        const pair = await startPair(scope, dir, v, ka, dt);
        await sleep(settleS * 1000);
        const pids = processTree(pair.a.pid);
        if (ka === '1') f.idle = { ...sumMem(pids), processes: pids.length };
        f.cpu[ka === '1' ? 'keepalive1s' : 'keepalive50ms'] = await cpuOver(pids, windowS, hz);
        await pair.a.stop();
        await pair.b.stop();
      }
    }
  } finally {
    await scope.close();
  }

  process.stderr.write(`sizes (xz -${xzLevel})\n`);
  const sizes: Record<string, { raw: number; xz: number }> = {};
  for (const arch of ['x64', 'arm64']) {
    const f = path.join(DIST, `ringbeat-${arch}`);
    if (fs.existsSync(f)) sizes[`ringbeat-${arch}`] = { raw: fs.statSync(f).size, xz: xzSize([f], xzLevel) };
  }
  const nativeDir = path.join(DIST, 'native');
  const bundleFiles = [path.join(DIST, 'ringbeat.cjs'), ...fs.readdirSync(nativeDir).filter((n) => n.endsWith('.node')).map((n) => path.join(nativeDir, n))];
  sizes['ringbeat.cjs+native'] = { raw: bundleFiles.reduce((s, f) => s + fs.statSync(f).size, 0), xz: xzSize(bundleFiles, xzLevel) };
  sizes.node = { raw: fs.statSync(process.execPath).size, xz: NaN };

  const rows: [string, ...string[]][] = [
    ['', ...variants.map((v) => v.label)],
    ['start to heartbeat path running', ...variants.map((v) => fmtMs(figures[v.name]!.startMs?.path))],
    ['start to first frame on the wire', ...variants.map((v) => fmtMs(figures[v.name]!.startMs?.wire))],
    ['idle RSS (daemon+child)', ...variants.map((v) => mib(figures[v.name]!.idle?.rssKb))],
    ['idle private (daemon+child)', ...variants.map((v) => mib(figures[v.name]!.idle?.privateKb))],
    ['idle PSS (daemon+child)', ...variants.map((v) => mib(figures[v.name]!.idle?.pssKb))],
    ['CPU, keepalive 1 s', ...variants.map((v) => `${figures[v.name]!.cpu?.keepalive1s?.percent.toFixed(3)} %`)],
    ['CPU, keepalive 50 ms', ...variants.map((v) => `${figures[v.name]!.cpu?.keepalive50ms?.percent.toFixed(3)} %`)],
  ];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
  const sizeTable = Object.entries(sizes)
    .map(([k, s]) => `${k.padEnd(22)} ${mb(s.raw).padStart(9)}  ${Number.isNaN(s.xz) ? '' : `xz -${xzLevel}: ${mb(s.xz)}`}`)
    .join('\n');
  console.log(`${table}\n\nsize                      raw\n${sizeTable}`);
  if (args.json) {
    fs.writeFileSync(args.json, `${JSON.stringify({ node: process.version, cpuTicksPerSecond: hz, xzLevel, sizes, variants: figures }, null, 2)}\n`);
    console.log(`\nfigures written to ${args.json}`);
  }
}

main().catch((e: Error) => {
  console.error(`bench:footprint: ${e.stack ?? e.message}`);
  process.exit(1);
});
