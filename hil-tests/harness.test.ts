// Self-test of the HIL harness library (hil-tests/lib): brings up pairs of REAL
// Linux-HA Heartbeat 3.0.6 nodes in namespaces, over a socat serial cable and
// over UDP broadcast on a lab bridge, and checks that teardown leaves nothing.
//
//   node --import tsx --test hil-tests/harness.test.ts      (as root)
//
// Env: HIL_KEEP=1 keeps the scratch dirs (logs, configs, serial taps),
//      HIL_DEBUG=1 logs process/cleanup steps.

import { test, type TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import {
  Scope,
  hilLog,
  isAlive,
  procRef,
  run,
  sleep,
  testScope,
  waitUntil,
  withScope,
  type ProcRef,
} from './lib/procs';
import { requireHeartbeat, requireLab, requireCommands } from './lib/require';
import { LabNet, listNetns } from './lib/netns';
import { SerialCable } from './lib/serial-cable';
import { HeartbeatNode, hbTimeMs } from './lib/heartbeat-node';
import { makeTmpDir, keepScratch } from './lib/tmp';

const KEEPALIVE = '200ms';
// 3 s, not 1 s: a machine-wide pause of ~2 s under CI load (every process
// frozen at once; reproduced with a SCHED_FIFO busy loop per core) made a
// Heartbeat node with deadtime 1 s declare its live peer dead.
const DEADTIME = '3';
const DEADTIME_MS = hbTimeMs(DEADTIME);
// Heartbeat advertises dt = deadtime + 2 s for 5 s after it reports 'up'
// (measured: a node killed 2-4 s after start is declared dead after ~3.1 s),
// so kills happen only once the victim has been 'up' this long (5 s + margin
// for the next status message and a late glib timer on a loaded machine).
const MIN_UP_BEFORE_KILL_MS = 6500;

type Media = 'serial' | 'bcast';

interface Pair {
  scope: Scope;
  dir: string;
  net: LabNet;
  cable?: SerialCable;
  a: HeartbeatNode;
  b: HeartbeatNode;
  /** ms until both start() calls resolved (local status 'up'). */
  startMs: number;
  /** ms from start() until each side reported the other 'active'. */
  aSeesBMs: number;
  bSeesAMs: number;
}

async function bringUpPair(scope: Scope, media: Media, auth = 'sha1 ringbeat-hil-selftest'): Promise<Pair> {
  const dir = makeTmpDir(scope, `selftest-${media}`);
  const net = await LabNet.create(scope, { hosts: ['nodea', 'nodeb'] });
  const cable = media === 'serial' ? await SerialCable.create(scope, { dir: path.join(dir, 'serial'), tap: true }) : undefined;
  const common = {
    nodes: ['nodea', 'nodeb'],
    keepalive: KEEPALIVE,
    deadtime: DEADTIME,
    warntime: '500ms',
    initdead: 10,
    auth,
    dir,
  };
  const a = await HeartbeatNode.create(scope, {
    ...common,
    name: 'nodea',
    host: net.host('nodea'),
    media: cable ? [`serial ${cable.a}`] : ['bcast eth0'],
  });
  const b = await HeartbeatNode.create(scope, {
    ...common,
    name: 'nodeb',
    host: net.host('nodeb'),
    media: cable ? [`serial ${cable.b}`] : ['bcast eth0'],
  });
  const t0 = performance.now();
  await Promise.all([a.start(), b.start()]);
  const startMs = performance.now() - t0;
  const [ab, ba] = await Promise.all([
    a.waitNodeStatus('nodeb', 'active', 15_000 - startMs),
    b.waitNodeStatus('nodea', 'active', 15_000 - startMs),
  ]);
  const aSeesBMs = startMs + ab.elapsedMs;
  const bSeesAMs = startMs + ba.elapsedMs;
  hilLog(
    `${media} lab ${net.id}: start() (local status 'up') took ${Math.round(startMs)} ms; ` +
      `nodea sees nodeb 'active' after ${Math.round(aSeesBMs)} ms, nodeb sees nodea after ${Math.round(bSeesAMs)} ms`,
  );
  return { scope, dir, net, cable, a, b, startMs, aSeesBMs, bSeesAMs };
}

/** kill -9 nodea once it has been up long enough; returns ms until nodeb says 'dead'. */
async function killAAndExpectDead(p: Pair): Promise<number> {
  await sleep(Math.max(0, MIN_UP_BEFORE_KILL_MS - (p.a.upForMs() ?? 0)));
  assert.equal(await p.b.nodeStatus('nodea'), 'active', 'nodea must still be active right before the kill');
  const off = p.b.logOffset();
  const k = await p.a.kill9();
  // The MCP is signalled first; the rest may already be gone by the time they
  // are signalled (its death ends the namespace init's wait, and the kernel
  // then kills the whole PID namespace). kill9() waits until all are gone.
  assert.ok(k.pids.length >= 1, `kill9 signalled at least the MCP: ${k.pids.join(' ')}`);
  assert.equal(p.a.running, false);
  // Heartbeat scans every 250 ms; the rest is room for a pause during the wait
  const budget = DEADTIME_MS + 2500;
  await p.b.waitNodeStatus('nodea', 'dead', budget - (performance.now() - k.monoMs), 25);
  const detectMs = performance.now() - k.monoMs;
  assert.ok(detectMs <= budget, `nodeb saw nodea dead after ${Math.round(detectMs)} ms > ${budget} ms`);
  await p.b.waitLog(/node nodea: is dead/, 2000, off);
  return detectMs;
}

interface Leftovers {
  namespaces: string[];
  refs: ProcRef[];
  dir: string;
}

/** Everything that must be gone after teardown (PIDs with start times, namespaces). */
function snapshot(p: Pair): Leftovers {
  const refs: ProcRef[] = [];
  for (const n of [p.a, p.b]) {
    for (const pid of n.namespacePids()) {
      const r = procRef(pid);
      if (r) refs.push(r);
    }
    if (n.refs.init) refs.push(n.refs.init);
    if (n.refs.mcp) refs.push(n.refs.mcp);
  }
  if (p.cable?.pid) {
    const r = procRef(p.cable.pid);
    if (r) refs.push(r);
  }
  return { namespaces: p.net.namespaces(), refs, dir: p.dir };
}

async function assertNothingLeft(l: Leftovers): Promise<void> {
  const netns = await listNetns();
  const ns = l.namespaces.filter((n) => netns.includes(n));
  assert.deepEqual(ns, [], `namespaces left behind: ${ns.join(' ')}`);
  const alive = l.refs.filter(isAlive);
  assert.deepEqual(
    alive.map((r) => `${r.pid}(${r.comm})`),
    [],
    'processes (heartbeat, socat, namespace init) left behind',
  );
  if (!keepScratch()) assert.equal(fs.existsSync(l.dir), false, `scratch dir ${l.dir} left behind`);
}

// ---------------------------------------------------------------------------

test('Scope runs cleanups LIFO, always, and reports failures', async () => {
  const order: string[] = [];
  await assert.rejects(
    withScope('lifo', async (s) => {
      s.defer('first', () => void order.push('first'));
      s.defer('broken', () => {
        order.push('broken');
        throw new Error('boom');
      });
      s.defer('last', async () => {
        await sleep(5);
        order.push('last');
      });
      throw new Error('test body failed');
    }, { quiet: true }),
    /test body failed/,
  );
  assert.deepEqual(order, ['last', 'broken', 'first']);
  const s = new Scope('double', { quiet: true });
  s.defer('x', () => {
    throw new Error('x failed');
  });
  await assert.rejects(s.close(), /cleanup 'x' failed: x failed/);
  await assert.rejects(s.close(), /x failed/); // idempotent: same result, cleanup ran once
  assert.throws(() => s.defer('late', () => {}), /already closed/);
});

test('prerequisite checks name the missing Debian package', () => {
  assert.throws(
    () => requireCommands(['/usr/libexec/heartbeat/heartbeat-does-not-exist', 'socat-nope'], 'heartbeat tests'),
    /heartbeat tests need \/usr\/libexec\/heartbeat\/heartbeat-does-not-exist/,
  );
  assert.throws(() => requireCommands(['/nonexistent/socat']), /need \/nonexistent\/socat: apt-get install socat/);
  requireHeartbeat(); // this machine must have everything: fail (not skip) otherwise
});

test('lab network: isolated namespaces on a bridge, link down/up/delete, teardown', { timeout: 60_000 }, async (t) => {
  requireLab();
  requireCommands(['arping']);
  const scope = testScope(t);
  const net = await LabNet.create(scope, { hosts: ['x', 'y'], subnet: '10.99.7.0/24' });
  assert.match(net.id, /^rbt[a-z0-9]{5}$/);
  for (const n of net.namespaces()) assert.ok(n.length <= 15, `${n} longer than 15 chars`);
  const x = net.host('x');
  const y = net.host('y');
  assert.equal(x.cidr, '10.99.7.1/24');
  assert.equal(y.ip, '10.99.7.2');
  const arping = () => net.exec(x, ['arping', '-c', '1', '-w', '2', '-I', 'eth0', y.ip], { timeoutMs: 5000 });
  assert.equal((await arping()).code, 0, 'x reaches y over the bridge');
  // nothing of the lab is visible in the root network namespace
  const rootLinks = (await run(['ip', '-br', 'link'])).stdout;
  assert.doesNotMatch(rootLinks, new RegExp(`${net.id}|\\bp0\\b`));
  await net.linkDown(y);
  assert.notEqual((await arping()).code, 0, 'no answer while y is down');
  await net.linkUp(y);
  assert.equal((await arping()).code, 0, 'answers again after link up');
  // a stray process inside a namespace is killed by teardown
  const sleeper = await net.spawn(scope, x, 'sleeper', ['sleep', '600'], path.join(makeTmpDir(scope, 'net'), 'sleep.log'));
  // `ip netns exec` enters the namespace after spawn() returns: wait for it, then compare.
  const inside = await waitUntil('the sleeper inside x', async () => {
    const p = await net.pids(x);
    return p.length > 0 && p;
  }, { timeoutMs: 5000, intervalMs: 20 });
  assert.deepEqual(inside, [sleeper.pid]);
  await net.deleteLink(y);
  assert.notEqual((await arping()).code, 0, 'no answer after y lost its NIC');
  const names = net.namespaces();
  await scope.close();
  const left = (await listNetns()).filter((n) => names.includes(n));
  assert.deepEqual(left, []);
  assert.equal(sleeper.running, false);
});

test('serial cable: bytes flow both ways, taps record them, unplug/replug', { timeout: 60_000 }, async (t) => {
  requireLab();
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'cable');
  const cable = await SerialCable.create(scope, { dir, tap: true });
  assert.ok(cable.plugged);
  const ptys = cable.ptys();
  assert.match(ptys.a, /^\/dev\/pts\/\d+$/);
  const send = async (from: string, to: string, text: string): Promise<string> => {
    const reader = run(['timeout', '5', 'head', '-c', String(text.length), to], { timeoutMs: 8000 });
    await sleep(200); // let head open the tty
    const fd = fs.openSync(from, fs.constants.O_WRONLY | fs.constants.O_NOCTTY);
    fs.writeSync(fd, text);
    fs.closeSync(fd);
    return (await reader).stdout;
  };
  assert.equal(await send(cable.a, cable.b, 'hello-b\n'), 'hello-b\n');
  assert.equal(await send(cable.b, cable.a, 'hello-a\n'), 'hello-a\n');
  assert.equal(cable.tapBytes('a2b').toString(), 'hello-b\n');
  assert.equal(cable.tapBytes('b2a').toString(), 'hello-a\n');
  const pid = cable.pid!;
  const ref = procRef(pid)!;
  await cable.unplug();
  assert.equal(cable.plugged, false);
  assert.equal(isAlive(ref), false, 'socat is gone after unplug');
  assert.equal(fs.existsSync(cable.a) || fs.existsSync(cable.b), false, 'links removed');
  await cable.replug();
  assert.equal(await send(cable.a, cable.b, 'again\n'), 'again\n');
  assert.equal(cable.tapBytes('a2b').toString(), 'hello-b\nagain\n', 'taps append across replugs');
  const ref2 = procRef(cable.pid!)!;
  await scope.close();
  assert.equal(isAlive(ref2), false, 'socat is gone after teardown');
});

for (const media of ['serial', 'bcast'] as const) {
  test(`two real Heartbeat 3.0.6 nodes over ${media === 'serial' ? 'a socat serial cable only' : 'UDP bcast on the lab bridge'}`, { timeout: 120_000 }, async (t) => {
    requireHeartbeat();
    requireCommands(['ps']);
    const scope = testScope(t);
    const p = await bringUpPair(scope, media);
    assert.ok(p.aSeesBMs < 15_000 && p.bSeesAMs < 15_000);
    // cl_status answers inside the node's namespaces
    const hb = await p.b.clStatus(['hbstatus', '-v']);
    assert.equal(hb.code, 0, hb.stderr);
    assert.match(hb.stdout, /version:\s+3\.0\.6/);
    assert.match(hb.stdout, /nodea\s+active/);
    const links = (await p.b.clStatus(['listhblinks', 'nodea'])).stdout.trim();
    assert.equal(links, media === 'serial' ? p.cable!.b : 'eth0');
    assert.equal((await p.a.exec(['hostname'])).stdout.trim(), 'nodea', 'own UTS namespace');
    assert.equal((await p.a.exec(['cat', '/etc/ha.d/nodeinfo'])).stdout.trim(), 'nodea', 'own /etc/ha.d');
    const ps = (await p.a.exec(['ps', '-e', '-o', 'pid=,comm='])).stdout;
    assert.match(ps, /^\s*1 bash$/m, 'own PID namespace with bash as init');
    assert.equal(p.a.namespacePids().includes(p.b.mcpPid!), false);
    if (p.cable) {
      const a2b = p.cable.tapBytes('a2b').toString('latin1');
      assert.match(a2b, />>>\nt=status\n/, 'classic text on the serial wire');
      assert.match(a2b, /\nsrc=nodea\n/);
    }
    const detectMs = await killAAndExpectDead(p);
    hilLog(`${media}: nodeb reported nodea 'dead' ${Math.round(detectMs)} ms after kill -9 (deadtime ${DEADTIME_MS} ms)`);
    t.diagnostic(`${media}: peer active after ${Math.round(p.bSeesAMs)} ms; dead ${Math.round(detectMs)} ms after kill -9`);
    if (p.cable) assert.ok(p.cable.plugged, 'the cable (socat) survives the death of one end');
    {
      // reboot nodea (same varlib: the generation must go up), then a graceful stop
      const oldInit = p.a.refs.init!;
      const t0 = performance.now();
      await p.a.start();
      assert.equal(isAlive(oldInit), false);
      assert.ok(p.a.refs.init && isAlive(p.a.refs.init), 'a fresh PID namespace (new init) per start');
      await p.b.waitNodeStatus('nodea', 'active', 15_000);
      t.diagnostic(`${media}: restarted nodea is active again on nodeb after ${Math.round(performance.now() - t0)} ms`);
      const gens = p.a.grepLog(/Heartbeat generation: \d+/).map((l) => Number(/generation: (\d+)/.exec(l)![1]));
      assert.equal(gens.length, 2);
      assert.ok(gens[1]! > gens[0]!, `generation increases on restart: ${gens.join(' -> ')}`);
      // Heartbeat defers a SIGTERM until its initial resource negotiation is over
      const stableMs = await p.a.waitResourcesStable(30_000);
      const mcp = p.a.refs.mcp!;
      const t1 = performance.now();
      await p.a.stop(20_000);
      t.diagnostic(`${media}: restarted nodea's resources stable ${Math.round(stableMs)} ms after 'active'; graceful stop (SIGTERM to MCP ${mcp.pid}) took ${Math.round(performance.now() - t1)} ms`);
      assert.equal(isAlive(mcp), false);
      assert.equal(p.a.running, false);
      await p.b.waitNodeStatus('nodea', 'dead', 10_000);
    }
    const left = snapshot(p);
    const tClose = performance.now();
    await scope.close();
    t.diagnostic(`${media}: teardown took ${Math.round(performance.now() - tClose)} ms`);
    await assertNothingLeft(left);
  });
}

/** A one-shot event with a timeout, to coordinate concurrently running subtests. */
class Gate {
  private resolveFn!: () => void;
  private rejectFn!: (e: Error) => void;
  readonly promise: Promise<void>;
  constructor(readonly name: string) {
    this.promise = new Promise<void>((res, rej) => {
      this.resolveFn = res;
      this.rejectFn = rej;
    });
    this.promise.catch(() => {});
  }
  open(): void {
    this.resolveFn();
  }
  fail(e: unknown): void {
    this.rejectFn(new Error(`gate ${this.name}: other lab failed: ${e instanceof Error ? e.message : String(e)}`));
  }
  async wait(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.promise,
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => rej(new Error(`gate ${this.name} not opened within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

test('two labs in parallel with identical subnet, node names and key do not interfere', { timeout: 180_000, concurrency: 2 }, async (t) => {
  requireHeartbeat();
  const up = [new Gate('lab1 up'), new Gate('lab2 up')];
  const lab1Killed = new Gate('lab1 killed nodea');
  const lab2Checked = new Gate('lab2 checked');
  const ids: string[] = [];
  const gates = [...up, lab1Killed, lab2Checked];
  const failAll = (e: unknown): never => {
    for (const g of gates) g.fail(e);
    throw e;
  };

  const lab = (i: 0 | 1) => async (st: TestContext) => {
    const scope = testScope(st);
    try {
      const p = await bringUpPair(scope, 'bcast');
      ids[i] = p.net.id;
      up[i]!.open();
      await Promise.all(up.map((g) => g.wait(60_000)));
      if (i === 0) {
        // if broadcasts crossed labs, nodeb would keep hearing the other lab's nodea
        const detectMs = await killAAndExpectDead(p);
        st.diagnostic(`lab1: nodea dead after ${Math.round(detectMs)} ms while lab2's nodea keeps running`);
        lab1Killed.open();
        await lab2Checked.wait(60_000);
      } else {
        await lab1Killed.wait(60_000);
        // lab1's nodea is dead; ours must be unaffected for well over a deadtime
        const until = performance.now() + DEADTIME_MS + 1500;
        while (performance.now() < until) {
          assert.equal(await p.b.nodeStatus('nodea'), 'active', "lab2's nodea must stay active");
          assert.equal(await p.a.nodeStatus('nodeb'), 'active', "lab2's nodeb must stay active");
          await sleep(100);
        }
        assert.deepEqual(p.b.grepLog(/is dead/), [], 'lab2 never declared anybody dead');
        lab2Checked.open();
        await killAAndExpectDead(p);
      }
      const left = snapshot(p);
      await scope.close();
      await assertNothingLeft(left);
    } catch (e) {
      failAll(e);
    }
  };
  await Promise.all([t.test('lab 1 (kills its nodea first)', lab(0)), t.test('lab 2 (must not notice)', lab(1))]);
  assert.equal(ids.length, 2);
  assert.notEqual(ids[0], ids[1], 'unique namespace names per lab');
});
