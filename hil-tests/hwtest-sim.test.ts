// `ringbeat hwtest` of the x64 executable from dist/ against the simulated
// board: the real onoff + epoll addon on the FUSE sysfs-GPIO emulator, the
// real i2c-bus addon on the LD_PRELOAD I2C simulator (PCF8574 at 0x20,
// MCP23017 at 0x27). The executable runs alone in a directory, so its
// embedded addons are unpacked and loaded. The simulators' own records show
// that every output was really pulsed and every relay left off.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { buildSimulators } from '../board/sim/build';
import { requireSim, simCommand } from '../board/sim/sim-run';
import { loneExecutable } from './lib/dist';
import { run, testScope } from './lib/procs';
import { requireRoot } from './lib/require';
import { makeTmpDir } from './lib/tmp';

interface Row {
  item: string;
  ok: boolean;
  detail: string;
}

test('hwtest on the simulated board: all checks pass, pulses and relay cycles reach the hardware', { timeout: 120_000 }, async (t) => {
  requireRoot('hwtest simulation');
  requireSim({ arch: 'x64', gpio: { log: '' } });
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'hwtest-sim');
  const exe = loneExecutable('x64', dir);
  const trace = path.join(dir, 'gpio-trace');
  const state = path.join(dir, 'i2c-state');
  const i2cLog = path.join(dir, 'i2c-log');
  const c = simCommand([exe, 'hwtest', '--board', 'sim', '-c', dir], {
    arch: 'x64',
    binaries: buildSimulators('x64'),
    gpio: { log: path.join(dir, 'fuse.log'), trace },
    i2c: { devices: 'pcf8574@0x20,mcp23017@0x27', bus: 1, stateFile: state, logFile: i2cLog },
  });
  const r = await run(c.argv, { env: { ...c.env, RINGBEAT_NATIVE_CACHE: dir, RINGBEAT_NATIVE_TRACE: '1' }, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /30 checks, 0 failed/);
  assert.match(r.stderr, /native epoll: .*epoll\.node \(embedded asset\)/);
  assert.match(r.stderr, /native i2c: .*i2c\.node \(embedded asset\)/);

  // GPIO: electrical levels as the emulator saw them.
  const lines = readFileSync(trace, 'utf8').trim().split('\n').map((l) => l.replace(/^\d+ /, ''));
  const of = (n: number): string[] => lines.filter((l) => l.startsWith(`gpio${n} `) || l.endsWith(` ${n}`));
  assert.deepEqual(of(529), ['export 529', 'gpio529 out 0', 'gpio529 value 1', 'gpio529 value 0', 'gpio529 value 0', 'unexport 529'], 'watchdog kick pulsed');
  assert.deepEqual(of(535), ['export 535', 'gpio535 out 1', 'gpio535 value 0', 'gpio535 value 1', 'gpio535 value 1', 'unexport 535'], 'active-low relay: on = low');
  assert.deepEqual(of(530), ['export 530', 'gpio530 in 0', 'unexport 530'], 'input only read');
  assert.equal(lines.filter((l) => l.startsWith('export')).length, lines.filter((l) => l.startsWith('unexport')).length, 'every line released');

  // I2C: everything off at the end; every MCP23017 relay was switched on once.
  assert.equal(readFileSync(state, 'utf8'), '0x20 pcf8574 latch=0xff\n0x27 mcp23017 iodira=0x00 iodirb=0x00 olata=0x00 olatb=0x00\n');
  const log = readFileSync(i2cLog, 'utf8');
  for (let ch = 0; ch < 16; ch++) {
    const reg = ch < 8 ? '0x14' : '0x15';
    assert.match(log, new RegExp(`^0x27 write ${reg} 0x${(1 << ch % 8).toString(16).padStart(2, '0')}$`, 'm'), `MCP23017 relay ${ch} switched on`);
  }
  for (let ch = 0; ch < 8; ch++) {
    assert.match(log, new RegExp(`^0x20 send 0x${(0xff & ~(1 << ch)).toString(16)}$`, 'm'), `PCF8574 relay ${ch} switched on (low)`);
  }
});

test('hwtest fails (exit 1) naming the relay board that does not answer', { timeout: 120_000 }, async (t) => {
  requireRoot('hwtest simulation');
  requireSim({ arch: 'x64', gpio: { log: '' } });
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'hwtest-fail');
  const exe = loneExecutable('x64', dir);
  const c = simCommand([exe, 'hwtest', '--board', 'sim', '--json', '-c', dir], {
    arch: 'x64',
    binaries: buildSimulators('x64'),
    gpio: { log: path.join(dir, 'fuse.log') },
    i2c: { devices: 'mcp23017@0x27', bus: 1 },
  });
  const r = await run(c.argv, { env: { ...c.env, RINGBEAT_NATIVE_CACHE: dir }, timeoutMs: 60_000 });
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  const j = JSON.parse(r.stdout) as { ok: boolean; rows: Row[] };
  assert.equal(j.ok, false);
  const failed = j.rows.filter((x) => !x.ok);
  assert.equal(failed.length, 1, JSON.stringify(failed));
  assert.equal(failed[0]!.item, 'k8 pcf8574@0x20');
  assert.match(failed[0]!.detail, /no device answers \(no ACK, errno 121\)/);
});
