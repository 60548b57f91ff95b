import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeExit, ok, outputTail, SystemCommandRunner } from './command-runner';

const runner = new SystemCommandRunner();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 'R', 'S', 'Z'... or 'gone'. */
function procState(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]!;
  } catch {
    return 'gone';
  }
}

test('run: argv without a shell, exit code, stdout and stderr apart', async () => {
  const r = await runner.run(['/bin/sh', '-c', 'echo "$1 $2"; echo oops >&2; exit 3', 'sh', 'a b', '$HOME']);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, 'a b $HOME\n');
  assert.equal(r.stderr, 'oops\n');
  assert.equal(ok(r), false);
  assert.equal(describeExit(r), 'exit 3');
  assert.equal(outputTail(r), 'a b $HOME\noops');
});

test('run: a missing program is reported, not thrown', async () => {
  const r = await runner.run(['/nonexistent/tool', 'x']);
  assert.match(r.spawnError ?? '', /ENOENT/);
  assert.match(describeExit(r), /^cannot start \/nonexistent\/tool: .*ENOENT/);
});

test('run: timeout signals the whole process group', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-cr-'));
  try {
    const t0 = Date.now();
    const r = await runner.run(['/bin/sh', '-c', `sleep 30 & echo $! > ${dir}/pid; wait`], { timeoutMs: 200 });
    assert.equal(r.timedOut, true);
    assert.equal(describeExit(r, 200), 'timed out after 200 ms');
    assert.ok(Date.now() - t0 < 2000);
    await sleep(100);
    const st = procState(Number(readFileSync(join(dir, 'pid'), 'utf8')));
    assert.ok(st === 'gone' || st === 'Z', `background sleep state ${st}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run: a background child holding the stdout pipe does not keep us waiting', async () => {
  const t0 = Date.now();
  const r = await runner.run(['/bin/sh', '-c', 'echo started; (sleep 2; echo late) & exit 0']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'started\n');
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
});

test('outputToFiles: a daemon that keeps writing survives (no SIGPIPE) and does not block us', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-cr-'));
  let daemon = 0;
  try {
    const script = `echo out; echo err >&2; (while :; do echo tick; sleep 0.05; done) & echo $! > ${dir}/pid; exit 0`;
    const t0 = Date.now();
    const r = await runner.run(['/bin/sh', '-c', script], { outputToFiles: true });
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^out\n/);
    assert.equal(r.stderr, 'err\n');
    daemon = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    await sleep(300);
    assert.notEqual(procState(daemon), 'gone', 'the daemon was killed by writing to its stdout');
    assert.notEqual(procState(daemon), 'Z');
  } finally {
    if (daemon) process.kill(daemon, 'SIGKILL'); // the one process this test started in the background
    rmSync(dir, { recursive: true, force: true });
  }
});

test('start: onLine gets each stdout line as it arrives, the last one even without newline', async () => {
  const lines: string[] = [];
  const c = runner.start(['/bin/sh', '-c', 'echo one; sleep 0.05; printf "two\\nthree"'], { onLine: (l) => lines.push(l) });
  assert.equal(typeof c.pid, 'number');
  const r = await c.exited;
  assert.equal(r.code, 0);
  assert.deepEqual(lines, ['one', 'two', 'three']);
});

test('start: kill() signals the group; no-op after exit', async () => {
  const c = runner.start(['/bin/sh', '-c', 'sleep 30']);
  await sleep(50);
  c.kill('SIGTERM');
  const r = await c.exited;
  assert.equal(r.signal, 'SIGTERM');
  c.kill(); // already gone: nothing happens
});
