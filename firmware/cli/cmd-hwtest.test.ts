import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadBoard } from '../../board/board-registry';
import { FakeGpioChip } from '../../board/testing/fake-gpio';
import { FakeI2cBus, Mcp23017Model, Pcf8574Model } from '../../board/testing/fake-i2c';
import { cmdHwtest, formatHwtest, runHwtest, type HwtestDeps } from './cmd-hwtest';

function deps(chip: FakeGpioChip, bus: FakeI2cBus): HwtestDeps {
  return { gpio: chip.factory, i2c: () => bus, sleep: async () => undefined };
}

const sim = (): ReturnType<typeof loadBoard> => loadBoard('sim', tmpdir());

test('the simulated board passes: every output pulsed 0,1,0, inputs read, every relay cycled and left off', async () => {
  const chip = new FakeGpioChip();
  chip.inputLevels.set(512 + 18, 1);
  const pcf = new Pcf8574Model();
  const mcp = new Mcp23017Model();
  const bus = new FakeI2cBus({ 0x20: pcf, 0x27: mcp });
  const rows = await runHwtest(sim(), deps(chip, bus));
  assert.equal(rows.length, 4 + 2 + 8 + 16);
  assert.ok(rows.every((r) => r.ok), formatHwtest(sim(), rows));
  assert.deepEqual(chip.writes.filter(([g]) => g === 529).map(([, v]) => v), [1, 0, 0], 'watchdog kick pulsed (and left low)');
  assert.match(rows.find((r) => r.item.startsWith('peer-power'))!.detail, /level 1, both-edge interrupt armed/);
  assert.deepEqual(chip.exported(), [], 'every line released');
  assert.equal(pcf.latch, 0xff, 'PCF8574 relays off (active low)');
  assert.equal(mcp.regs[0x14], 0);
  assert.equal(mcp.regs[0x15], 0);
  assert.ok(bus.closed);
  const table = formatHwtest(sim(), rows);
  assert.match(table, /^ringbeat hwtest: board sim \(built-in board sim\)\nPART +ITEM +CHECK +RESULT +DETAIL\n/);
  assert.match(table, /30 checks, 0 failed\n$/);
});

test('faults become FAIL rows; the run goes on and everything is still released', async () => {
  const chip = new FakeGpioChip();
  chip.stuck.set(539, 0); // status LED driver dead
  chip.busy.add(534); // relay-a owned by another driver
  const mcp = new Mcp23017Model();
  mcp.inverted = 1 << 4;
  const bus = new FakeI2cBus({ 0x27: mcp }); // no PCF8574 at 0x20
  const rows = await runHwtest(sim(), deps(chip, bus));
  const failed = rows.filter((r) => !r.ok).map((r) => `${r.item}: ${r.detail}`);
  assert.equal(failed.length, 4, failed.join('\n'));
  assert.match(failed[0]!, /^status-led gpio539.*read back 0,0,0 \(expected 0,1,0\)/);
  assert.match(failed[1]!, /^relay-a gpio534.*EBUSY/);
  assert.match(failed[2]!, /^k8 pcf8574@0x20: pcf8574 'k8' at 0x20 on \/dev\/i2c-1: no device answers/);
  assert.match(failed[3]!, /^k16 mcp23017@0x27 relay 4: read back OFF, ON \(expected on, off\)/);
  assert.deepEqual(chip.exported(), []);
});

test('an unopenable bus is one FAIL row', async () => {
  const rows = await runHwtest(sim(), {
    gpio: new FakeGpioChip().factory,
    i2c: () => {
      throw new Error('cannot open /dev/i2c-1: ENOENT');
    },
    sleep: async () => undefined,
  });
  assert.deepEqual(
    rows.filter((r) => !r.ok).map((r) => [r.item, r.check]),
    [['/dev/i2c-1', 'open']],
  );
});

test('command: exit 0/1, --json, board from <config>/board, clear error without a board', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'rb-hwtest-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  let out = '';
  let err = '';
  const o = (s: string): void => void (out += s);
  const e = (s: string): void => void (err += s);
  const good = (): HwtestDeps => deps(new FakeGpioChip(), new FakeI2cBus({ 0x20: new Pcf8574Model(), 0x27: new Mcp23017Model() }));
  assert.equal(await cmdHwtest({ configDir: d, json: false }, o, e, good()), 1);
  assert.match(err, /no board selected: pass --board NAME/);
  writeFileSync(join(d, 'board'), 'sim\n');
  out = '';
  assert.equal(await cmdHwtest({ configDir: d, json: true }, o, e, good()), 0);
  const j = JSON.parse(out) as { board: string; ok: boolean; rows: unknown[] };
  assert.equal(j.board, 'sim');
  assert.equal(j.ok, true);
  assert.equal(j.rows.length, 30);
  out = '';
  assert.equal(await cmdHwtest({ configDir: d, json: false, board: 'sim' }, o, e, deps(new FakeGpioChip(), new FakeI2cBus({}))), 1);
  assert.match(out, /FAIL/);
});
