import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gpioLines, parseBoardDefinition } from './board-def';
import { builtinBoardNames } from './board-registry';

const GOOD = {
  name: 'b1',
  description: 'test board',
  gpio: { chipBase: 512, watchdogKick: { line: 4 }, relays: [{ name: 'r1', line: 5, activeLow: true }], inputs: [{ name: 'in1', line: 6, edge: 'both' }] },
  i2c: { bus: 1, relayBoards: [{ name: 'k', type: 'pcf8574', address: '0x20', channels: 8 }] },
};

test('a valid definition parses with defaults filled in', () => {
  const r = parseBoardDefinition(GOOD, 'b1.json', 'b1');
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.board.gpio!.watchdogKick!.name, 'watchdog-kick');
  assert.equal(r.board.gpio!.statusLed, undefined);
  assert.deepEqual(r.board.i2c!.relayBoards[0], { name: 'k', type: 'pcf8574', address: 0x20, channels: 8, activeLow: true });
  assert.deepEqual(
    gpioLines(r.board.gpio!).map((l) => [l.name, l.role, l.line]),
    [['watchdog-kick', 'watchdog-kick', 4], ['r1', 'relay', 5], ['in1', 'input', 6]],
  );
});

test('every problem is reported with file and JSON path; unknown keys are errors', () => {
  const bad = {
    name: 'Bad Name',
    description: '',
    extra: 1,
    gpio: {
      chipBase: -1,
      relays: [{ name: 'r1', line: 5, actveLow: true }, { name: 'r1', line: 5 }],
      inputs: [{ name: 'i', line: 1.5, edge: 'up' }],
    },
    i2c: { bus: 1, relayBoards: [{ name: 'k', type: 'pcf8575', address: '0x80', channels: 8 }, { name: 'm', type: 'mcp23017', address: 0x27, channels: 17 }] },
  };
  const r = parseBoardDefinition(bad, 'bad.json', 'bad');
  assert.ok(!r.ok);
  const text = r.errors.join('\n');
  for (const want of [
    /bad\.json: name: must be a name/,
    /bad\.json: description: must be a non-empty string/,
    /bad\.json: extra: unknown key/,
    /gpio\.chipBase: must be an integer 0\.\.4095/,
    /gpio\.relays\[0\]\.actveLow: unknown key/,
    /gpio: line 5 is used twice \(r1 and r1\)/,
    /gpio: name 'r1' is used twice/,
    /gpio\.inputs\[0\]\.line: must be an integer/,
    /gpio\.inputs\[0\]\.edge: must be one of none, rising, falling, both/,
    /i2c\.relayBoards\[0\]\.type: must be pcf8574 or mcp23017/,
    /i2c\.relayBoards\[0\]\.address: must be a 7-bit I2C address/,
    /i2c\.relayBoards\[1\]\.channels: must be an integer 1\.\.16/,
  ]) {
    assert.match(text, want);
  }
});

test('name must match the file; a board needs gpio or i2c; duplicate I2C addresses are errors', () => {
  const r1 = parseBoardDefinition({ ...GOOD, name: 'other' }, 'b1.json', 'b1');
  assert.ok(!r1.ok && /is 'other' but the file is named for 'b1'/.test(r1.errors.join()));
  const r2 = parseBoardDefinition({ name: 'x', description: 'd' }, 'x.json');
  assert.ok(!r2.ok && /needs a gpio or an i2c section/.test(r2.errors.join()));
  const dup = { ...GOOD, i2c: { bus: 1, relayBoards: [GOOD.i2c.relayBoards[0], { ...GOOD.i2c.relayBoards[0], name: 'k2' }] } };
  const r3 = parseBoardDefinition(dup, 'b1.json');
  assert.ok(!r3.ok && /address 0x20 is used twice \(k and k2\)/.test(r3.errors.join()));
});

test('every file in board/boards/ is valid and built in', () => {
  const files = readdirSync(join(__dirname, 'boards')).filter((f) => f.endsWith('.json'));
  assert.deepEqual(files.map((f) => f.slice(0, -5)).sort(), builtinBoardNames());
  for (const f of files) {
    const r = parseBoardDefinition(JSON.parse(readFileSync(join(__dirname, 'boards', f), 'utf8')), f, f.slice(0, -5));
    assert.ok(r.ok, `${f}: ${r.ok ? '' : r.errors.join('; ')}`);
  }
});
