import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, type Clock } from '../core/clock';
import { memoryLogger } from '../core/log';
import { ResourceError, type ResourceAgent, type ResourceState } from './agent';
import { GroupRunner } from './group-runner';
import { parseHaresources } from './haresources-parse';

/** An agent that records calls into a shared journal and fails on demand. */
class FakeAgent implements ResourceAgent {
  state: ResourceState = 'stopped';
  failStart?: string;
  /** Number of stop calls that fail before one succeeds (Infinity = never). */
  failStops = 0;
  /** Stop fails but the resource goes away (a non-LSB script). */
  stopFailsButStops = false;
  stopCalls = 0;
  constructor(
    readonly id: string,
    private readonly journal: string[],
    private readonly clock: Clock,
    private readonly costMs = 0,
  ) {}
  async start(): Promise<void> {
    this.journal.push(`start ${this.id}`);
    if (this.clock instanceof ManualClock) this.clock.stall(this.costMs);
    if (this.failStart) {
      this.state = 'running'; // half started
      throw new ResourceError(`${this.id}: start: ${this.failStart}`, this.id, 'start', this.failStart);
    }
    this.state = 'running';
  }
  async stop(): Promise<void> {
    this.journal.push(`stop ${this.id}`);
    this.stopCalls++;
    if (this.stopCalls <= this.failStops) {
      if (this.stopFailsButStops) this.state = 'stopped';
      throw new ResourceError(`${this.id}: stop: device busy`, this.id, 'stop');
    }
    this.state = 'stopped';
  }
  async status(): Promise<ResourceState> {
    this.journal.push(`status ${this.id}`);
    return this.state;
  }
  detail(): Record<string, number | string> {
    return { probe: this.id };
  }
}

const HARES = 'nodea IPaddr2::10.99.0.100/24/eth0 Filesystem::/dev/sdb1::/srv::ext4 httpd\n';

function setup(opts: { cost?: number } = {}) {
  const clock = new ManualClock();
  const journal: string[] = [];
  const spec = parseHaresources(HARES, { file: 'haresources', nodes: ['nodea'] }).groups[0]!;
  const agents = spec.resources.map((r) => new FakeAgent(r.raw, journal, clock, opts.cost ?? 0));
  const log = memoryLogger();
  // Retry backoff runs on the manual clock: tick it while the runner waits.
  const runner = new GroupRunner(spec, agents, { log, clock }, { stopRetries: 3, retryBaseMs: 100, retryMaxMs: 250 });
  const pump = async <T>(p: Promise<T>): Promise<T> => {
    let done = false;
    void p.finally(() => (done = true));
    for (let i = 0; i < 200 && !done; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(50);
    }
    return p;
  };
  return { clock, journal, agents, runner, log, pump };
}

const IP = 'IPaddr2::10.99.0.100/24/eth0';
const FS = 'Filesystem::/dev/sdb1::/srv::ext4';

test('start in order, stop in reverse; timings on the monotonic clock with agent details', async () => {
  const { journal, runner } = setup({ cost: 10 });
  const s = await runner.start();
  assert.equal(s.ok, true);
  assert.equal(s.key, IP);
  assert.deepEqual(journal, [`start ${IP}`, `start ${FS}`, 'start httpd']);
  assert.deepEqual(s.running, [IP, FS, 'httpd']);
  assert.deepEqual(s.timings.map((t) => [t.id, t.op, t.beganMs, t.endedMs, t.ok]), [
    [IP, 'start', 0, 10, true],
    [FS, 'start', 10, 20, true],
    ['httpd', 'start', 20, 30, true],
  ]);
  assert.deepEqual(s.timings[0]!.detail, { probe: IP });
  assert.equal(s.beganMs, 0);
  assert.equal(s.endedMs, 30);
  journal.length = 0;
  const t = await runner.stop();
  assert.equal(t.ok, true);
  assert.deepEqual(journal, ['stop httpd', `stop ${FS}`, `stop ${IP}`]);
  assert.deepEqual(t.running, []);
  assert.deepEqual(t.stopFailed, []);
});

test('a failing start stops the failed resource and the ones before it (reverse) and reports why', async () => {
  const { journal, agents, runner, log } = setup();
  agents[1]!.failStart = 'mount: /srv: wrong fs type';
  const r = await runner.start();
  assert.equal(r.ok, false);
  assert.equal(r.rolledBack, true);
  assert.deepEqual(r.failed, { id: FS, error: `${FS}: start: mount: /srv: wrong fs type` });
  assert.deepEqual(journal, [`start ${IP}`, `start ${FS}`, `stop ${FS}`, `stop ${IP}`]); // httpd never touched
  assert.deepEqual(r.running, []);
  assert.deepEqual(r.stopFailed, []);
  assert.deepEqual(r.timings.map((t) => `${t.op} ${t.id} ${t.ok}`), [`start ${IP} true`, `start ${FS} false`, `stop ${FS} true`, `stop ${IP} true`]);
  assert.match(log.lines.join('\n'), /Giving up resource group IPaddr2::10\.99\.0\.100\/24\/eth0 due to failure of Filesystem::\/dev\/sdb1::\/srv::ext4/);
});

test('a failing stop is retried with backoff and then succeeds', async () => {
  const { journal, agents, runner, clock, pump } = setup();
  await runner.start();
  agents[2]!.failStops = 2;
  journal.length = 0;
  const t0 = clock.now();
  const r = await pump(runner.stop());
  assert.equal(r.ok, true);
  assert.deepEqual(journal, ['stop httpd', 'stop httpd', 'stop httpd', `stop ${FS}`, `stop ${IP}`]);
  const h = r.timings.find((t) => t.id === 'httpd')!;
  assert.equal(h.attempts, 3);
  assert.ok(h.endedMs - t0 >= 300, `backoff 100 + 200 ms, took ${h.endedMs - t0}`);
});

test('a stop that never succeeds: status asked, reported as stopFailed, the others still stopped', async () => {
  const { journal, agents, runner, pump, log } = setup();
  await runner.start();
  agents[1]!.failStops = Infinity;
  journal.length = 0;
  const r = await pump(runner.stop());
  assert.equal(r.ok, false);
  assert.deepEqual(r.stopFailed, [{ id: FS, error: `${FS}: stop: device busy` }]);
  assert.deepEqual(r.running, [FS]);
  assert.deepEqual(journal, ['stop httpd', `stop ${FS}`, `stop ${FS}`, `stop ${FS}`, `stop ${FS}`, `status ${FS}`, `stop ${IP}`]);
  assert.equal(r.timings.find((t) => t.id === FS)!.attempts, 4);
  assert.match(log.lines.join('\n'), /Resource STOP failure: Filesystem::\/dev\/sdb1::\/srv::ext4 still running after 4 attempts/);
});

test('stop keeps failing but status says stopped: counted as stopped (non-LSB script), warned', async () => {
  const { agents, runner, pump, log } = setup();
  await runner.start();
  agents[2]!.failStops = Infinity;
  agents[2]!.stopFailsButStops = true;
  const r = await pump(runner.stop());
  assert.equal(r.ok, true);
  assert.deepEqual(r.stopFailed, []);
  assert.match(log.lines.join('\n'), /status says stopped; counting it as stopped/);
});

test('rollback whose stop fails reports both the start failure and stopFailed', async () => {
  const { agents, runner, pump } = setup();
  agents[1]!.failStart = 'boom';
  agents[0]!.failStops = Infinity;
  const r = await pump(runner.start());
  assert.equal(r.ok, false);
  assert.equal(r.failed?.id, FS);
  assert.deepEqual(r.stopFailed.map((f) => f.id), [IP]);
  assert.deepEqual(r.running, [IP]);
});

test('operations never overlap: stop asked during start runs after it', async () => {
  const { journal, runner } = setup();
  const a = runner.start();
  const b = runner.stop();
  await Promise.all([a, b]);
  assert.deepEqual(journal, [`start ${IP}`, `start ${FS}`, 'start httpd', 'stop httpd', `stop ${FS}`, `stop ${IP}`]);
});

test('status: ALL / NONE / SOME like ResourceManager statgroup; errors are unknown', async () => {
  const { agents, runner } = setup();
  assert.equal((await runner.status()).state, 'stopped');
  await runner.start();
  assert.equal((await runner.status()).state, 'running');
  agents[2]!.state = 'stopped';
  const s = await runner.status();
  assert.equal(s.state, 'partial');
  assert.deepEqual(s.resources.map((r) => r.state), ['running', 'running', 'stopped']);
  agents[0]!.status = async () => {
    throw new Error('ip: cannot run');
  };
  assert.deepEqual((await runner.status()).resources[0], { id: IP, state: 'unknown', error: 'ip: cannot run' });
});

test('agents must match the group', () => {
  const { agents } = setup();
  const spec = parseHaresources(HARES, { file: 'h', nodes: ['nodea'] }).groups[0]!;
  assert.throws(() => new GroupRunner(spec, agents.slice(1), { log: memoryLogger(), clock: new ManualClock() }), /2 agents for 3 resources/);
});
