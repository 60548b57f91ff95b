// The arm64 executable we ship, under qemu-user (qemu-aarch64-static through a
// private binfmt_misc, so the daemon can re-execute itself for its heartbeat
// path): `version`, `check`, a serial heartbeat pair with the x64 executable
// over a null-modem pty pair (both must see the other active), `status`, and
// `hwtest` on the simulated board with the arm64 build of the I2C simulator.
// Both executables run alone in a directory: their embedded addons are used.
//
// qemu is slow: keepalive 1 s, deadtime 10 s.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { buildSimulators } from '../board/sim/build';
import { requireSim, simCommand, type SimRunOptions } from '../board/sim/sim-run';
import { controlRequest, socketPath } from '../firmware/daemon/control';
import type { StatusReport } from '../firmware/daemon/status-data';
import { loneExecutable, writeNodeConfig } from './lib/dist';
import { run, startProcess, testScope, waitUntil } from './lib/procs';
import { requireLab } from './lib/require';
import { SerialCable } from './lib/serial-cable';
import { makeTmpDir, subDir } from './lib/tmp';

const ARM: Pick<SimRunOptions, 'arch'> = { arch: 'arm64' };

async function peerState(runDir: string, self: string, peer: string): Promise<string | undefined> {
  const s = (await controlRequest(socketPath(runDir, self), { cmd: 'status' })) as StatusReport;
  return s.comm?.nodes.find((n) => n.name === peer)?.state;
}

test('arm64 executable under qemu: version, check, serial pair with x64, status, hwtest', { timeout: 300_000 }, async (t) => {
  requireLab();
  requireSim({ arch: 'arm64', gpio: { log: '' } });
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'arm64-smoke');
  const arm = loneExecutable('arm64', subDir(dir, 'arm'));
  const x64 = loneExecutable('x64', subDir(dir, 'x64'));
  const binaries = buildSimulators('arm64');
  const armEnv = { RINGBEAT_NATIVE_CACHE: subDir(dir, 'cache-arm64'), RINGBEAT_NATIVE_TRACE: '1' };
  const onArm = (argv: string[], extra: Partial<SimRunOptions> = {}): ReturnType<typeof simCommand> => simCommand([arm, ...argv], { ...ARM, binaries, ...extra });

  const v = onArm(['version']);
  const version = await run(v.argv, { env: { ...v.env, ...armEnv }, timeoutMs: 60_000 });
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^ringbeat \d+\.\d+\.\d+\n$/);

  const cable = await SerialCable.create(scope, { dir: path.join(dir, 'serial') });
  const timing = { keepalive: '1', deadtime: '10', warntime: '5', initdead: '20' };
  const confA = writeNodeConfig(path.join(dir, 'a'), { name: 'nodea', nodes: ['nodea', 'nodeb'], media: [`serial ${cable.a}`], ...timing });
  const confB = writeNodeConfig(path.join(dir, 'b'), { name: 'nodeb', nodes: ['nodea', 'nodeb'], media: [`serial ${cable.b}`], ...timing });

  const c = onArm(['check', '-c', confB]);
  const check = await run(c.argv, { env: { ...c.env, ...armEnv }, timeoutMs: 60_000 });
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /configuration OK \(node nodeb, 2 nodes, 1 media\)/);

  const runA = path.join(dir, 'a', 'run');
  const runB = path.join(dir, 'b', 'run');
  const a = await startProcess(scope, {
    name: 'ringbeat x64 nodea',
    argv: [x64, 'run', '-c', confA, '--state-dir', path.join(dir, 'a', 'state'), '--run-dir', runA],
    logFile: path.join(dir, 'a', 'console.log'),
    env: { RINGBEAT_NATIVE_CACHE: subDir(dir, 'cache-x64') },
  });
  const r = onArm(['run', '-c', confB, '--state-dir', path.join(dir, 'b', 'state'), '--run-dir', runB]);
  const b = await startProcess(scope, { name: 'ringbeat arm64 nodeb', argv: r.argv, env: { ...r.env, ...armEnv }, logFile: path.join(dir, 'b', 'console.log'), stopGraceMs: 1500 });
  await b.waitForLog(/heartbeat path running/, { timeoutMs: 90_000 });
  await a.waitForLog(/heartbeat path running/, { timeoutMs: 30_000 });
  const details = (): string => `${a.tail(15)}\n${b.tail(15)}`;
  await waitUntil('nodea sees nodeb active', async () => (await peerState(runA, 'nodea', 'nodeb')) === 'active', { timeoutMs: 90_000, intervalMs: 250, details });
  await waitUntil('nodeb sees nodea active', async () => (await peerState(runB, 'nodeb', 'nodea')) === 'active', { timeoutMs: 90_000, intervalMs: 250, details });
  assert.match(readFileSync(path.join(dir, 'b', 'console.log'), 'utf8'), /native bindings-cpp: .*bindings-cpp\.node \(embedded asset\)/);

  const s = onArm(['status', '--json', '-c', confB, '--run-dir', runB]);
  const st = await run(s.argv, { env: { ...s.env, ...armEnv }, timeoutMs: 60_000 });
  assert.equal(st.code, 0, st.stderr);
  const report = JSON.parse(st.stdout) as StatusReport;
  assert.equal(report.comm?.nodes.find((n) => n.name === 'nodea')?.state, 'active');
  assert.equal(report.comm?.media[0]?.kind, 'serial');
  await b.stop();
  await a.stop();

  // hwtest on the simulated board, arm64 I2C simulator preloaded into the arm64 process.
  const state = path.join(dir, 'i2c-state');
  const h = onArm(['hwtest', '--board', 'sim', '-c', dir], {
    gpio: { log: path.join(dir, 'fuse.log') },
    i2c: { devices: 'pcf8574@0x20,mcp23017@0x27', bus: 1, stateFile: state },
  });
  const hw = await run(h.argv, { env: { ...h.env, ...armEnv }, timeoutMs: 120_000 });
  assert.equal(hw.code, 0, `${hw.stdout}\n${hw.stderr}`);
  assert.match(hw.stdout, /30 checks, 0 failed/);
  assert.match(hw.stderr, /native epoll: .* \(embedded asset\)/);
  assert.equal(readFileSync(state, 'utf8'), '0x20 pcf8574 latch=0xff\n0x27 mcp23017 iodira=0x00 iodirb=0x00 olata=0x00 olatb=0x00\n');
});
