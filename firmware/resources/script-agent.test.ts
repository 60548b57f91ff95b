import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, SystemClock } from '../core/clock';
import { memoryLogger } from '../core/log';
import { ResourceError } from './agent';
import { SystemCommandRunner } from './command-runner';
import { splitResource, type ResourceSpec } from './haresources-parse';
import { defaultSearchPath, parseScriptStatus, ScriptAgent } from './script-agent';
import { heartbeatScriptEnv } from './script-env';
import { FakeRunner } from './testing/fake-runner';

function res(raw: string): ResourceSpec {
  const { agent, args } = splitResource(raw);
  return { raw, agent, args, at: { file: 'haresources', line: 1 } };
}

test("status: Heartbeat's rule on stdout (exit code ignored)", () => {
  assert.equal(parseScriptStatus('httpd (pid 123) is running...'), 'running');
  assert.equal(parseScriptStatus('INFO: Delay Running OK'), 'running');
  assert.equal(parseScriptStatus('OK'), 'running');
  assert.equal(parseScriptStatus('Running'), 'running');
  assert.equal(parseScriptStatus('httpd is not running'), 'stopped');
  assert.equal(parseScriptStatus('NOT currently Running'), 'stopped');
  assert.equal(parseScriptStatus('daemon is not \nrunning'), 'stopped'); // the shell glob spans lines too
  assert.equal(parseScriptStatus('daemon is not\nrunning'), 'running'); // ...but wants a blank after "not"
  assert.equal(parseScriptStatus('stopped'), 'stopped');
  assert.equal(parseScriptStatus('ok'), 'stopped'); // "OK" is case-sensitive
  assert.equal(parseScriptStatus(''), 'stopped');
  assert.equal(parseScriptStatus('INFO: Resource is stopped'), 'stopped');
});

test('lookup order: <configDir>/resource.d before /etc/init.d; args then the operation; timeouts', async () => {
  const runner = new FakeRunner((argv) => (argv.at(-1) === 'status' ? { stdout: 'stopped\n' } : { code: 0 }));
  const present = new Set(['/etc/init.d/httpd', '/cfg/resource.d/Filesystem', '/etc/init.d/Filesystem']);
  const env = { HA_DIR: '/cfg' };
  const mk = (raw: string) =>
    new ScriptAgent(res(raw), { searchPath: defaultSearchPath('/cfg'), env, startTimeoutMs: 7000, statusTimeoutMs: 900 }, {
      runner, clock: new ManualClock(), log: memoryLogger(), isExecutable: (p) => present.has(p),
    });
  assert.deepEqual(defaultSearchPath('/cfg'), ['/cfg/resource.d', '/etc/init.d']);
  const fs = mk('Filesystem::/dev/sda1::/data1::ext2');
  assert.equal(fs.id, 'Filesystem::/dev/sda1::/data1::ext2');
  assert.equal(fs.findScript(), '/cfg/resource.d/Filesystem');
  await fs.start();
  assert.deepEqual(runner.commands, [
    '/cfg/resource.d/Filesystem /dev/sda1 /data1 ext2 status', // Heartbeat: we_own_resource || start
    '/cfg/resource.d/Filesystem /dev/sda1 /data1 ext2 start',
  ]);
  assert.equal(runner.calls[0]!.opts.timeoutMs, 900);
  assert.equal(runner.calls[1]!.opts.timeoutMs, 7000);
  assert.equal(runner.calls[1]!.opts.env, env);
  const httpd = mk('httpd');
  assert.equal(httpd.findScript(), '/etc/init.d/httpd');
  await httpd.stop();
  assert.equal(runner.commands.at(-1), '/etc/init.d/httpd stop');
  assert.equal(runner.calls.at(-1)!.opts.timeoutMs, 60_000);
});

test('start is skipped when status already says running', async () => {
  const runner = new FakeRunner(() => ({ stdout: 'httpd is running\n' }));
  const log = memoryLogger();
  const a = new ScriptAgent(res('httpd'), { searchPath: ['/rd'], env: {} }, { runner, clock: new ManualClock(), log, isExecutable: () => true });
  await a.start();
  assert.deepEqual(runner.commands, ['/rd/httpd status']);
  assert.match(log.lines.join('\n'), /already running \(status\), start skipped/);
  const b = new ScriptAgent(res('httpd'), { searchPath: ['/rd'], env: {}, statusBeforeStart: false }, { runner, clock: new ManualClock(), log, isExecutable: () => true });
  await b.start();
  assert.equal(runner.commands.at(-1), '/rd/httpd start');
});

test('missing script: start/stop fail naming the search path; status says stopped', async () => {
  const a = new ScriptAgent(res('nosuch::x'), { searchPath: ['/a/resource.d', '/etc/init.d'], env: {} }, {
    runner: new FakeRunner(), clock: new ManualClock(), log: memoryLogger(), isExecutable: () => false,
  });
  await assert.rejects(a.start(), /nosuch::x: start: cannot locate resource script nosuch \(searched \/a\/resource\.d, \/etc\/init\.d\)/);
  await assert.rejects(a.stop(), /stop: cannot locate resource script nosuch/);
  assert.equal(await a.status(), 'stopped');
});

// Real scripts through the real runner.
test('real scripts: failure carries the exit code and output tail; env is Heartbeat-like', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-script-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rd = join(dir, 'resource.d');
  mkdirSync(rd);
  const script = (name: string, body: string): void => {
    writeFileSync(join(rd, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(rd, name), 0o755);
  };
  script('failing', 'echo "starting $1"; for i in 1 2 3 4 5 6 7 8 9 10; do echo "line $i"; done; echo "cannot bind port" >&2; exit 3');
  script('envdump', `env | grep -E '^(HA_|PATH=)' | sort > "${dir}/env.out"; echo "$@" > "${dir}/args.out"`);
  const env = heartbeatScriptEnv({ configDir: dir, localNode: 'nodea', autoFailback: 'off', log: { logfile: '/var/log/ha-log', debugLevel: 0 }, rscTmpDir: join(dir, 'rsctmp'), exists: () => false });
  const deps = { runner: new SystemCommandRunner(), clock: new SystemClock(), log: memoryLogger() };
  const opts = { searchPath: [rd], env, statusBeforeStart: false };

  const f = new ScriptAgent(res('failing::web'), opts, deps);
  await assert.rejects(f.start(), (e: unknown) => {
    assert.ok(e instanceof ResourceError);
    assert.equal(e.op, 'start');
    assert.match(e.message, new RegExp(`^failing::web: ${rd}/failing web start: exit 3; output:\\n`));
    assert.match(e.message, /line 10\ncannot bind port$/);
    assert.doesNotMatch(e.message, /starting web/); // only the tail (8 lines)
    return true;
  });

  const e = new ScriptAgent(res('envdump::a::b'), opts, deps);
  await e.start();
  assert.equal(readFileSync(join(dir, 'args.out'), 'utf8'), 'a b start\n');
  const seen = readFileSync(join(dir, 'env.out'), 'utf8');
  for (const want of [
    `HA_DIR=${dir}`, 'HA_CURHOST=nodea', `HA_RCDIR=${dir}/rc.d`, `HA_RESOURCEDIR=${dir}/resource.d`, `HA_RSCTMP=${dir}/rsctmp`,
    'HA_LOGFILE=/var/log/ha-log', 'HA_LOGFACILITY=none', 'HA_NICEFAILBACK=yes', 'HA_DATEFMT=%Y/%m/%d_%T ',
  ]) {
    assert.ok(seen.includes(`${want}\n`), `${want} missing in:\n${seen}`);
  }
  assert.match(seen, /^PATH=.*\/usr\/sbin.*\/sbin/m);
});

test('real scripts: timeout kills the script and what it started', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-script-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hang'), `#!/bin/sh\nsleep 30 &\necho $! > "${dir}/child.pid"\nwait\n`);
  chmodSync(join(dir, 'hang'), 0o755);
  const a = new ScriptAgent(res('hang'), { searchPath: [dir], env: { PATH: '/usr/bin:/bin' }, stopTimeoutMs: 300 }, {
    runner: new SystemCommandRunner(), clock: new SystemClock(), log: memoryLogger(),
  });
  const t0 = Date.now();
  await assert.rejects(a.stop(), /hang stop: timed out after 300 ms/);
  assert.ok(Date.now() - t0 < 3000);
  const pid = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
  await new Promise((r) => setTimeout(r, 100));
  // Gone, or a zombie waiting for a reaper that is not us (it was the script's child).
  let state = 'gone';
  try {
    state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]!;
  } catch {
    /* gone */
  }
  assert.ok(state === 'gone' || state === 'Z', `the sleep started by the script still runs (state ${state})`);
});
