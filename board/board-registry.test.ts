import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { availableBoards, BoardError, loadBoard, selectBoardName } from './board-registry';

function confDir(t: { after(f: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'rb-boards-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('built-in boards load; a site board in <config>/boards/ overrides and adds', (t) => {
  const d = confDir(t);
  assert.equal(loadBoard('sim', d).source, 'built-in board sim');
  mkdirSync(join(d, 'boards'));
  writeFileSync(join(d, 'boards', 'sim.json'), JSON.stringify({ name: 'sim', description: 'mine', i2c: { bus: 3, relayBoards: [] } }));
  writeFileSync(join(d, 'boards', 'lab.json'), JSON.stringify({ name: 'lab', description: 'lab', gpio: { chipBase: 0, relays: [{ name: 'r', line: 1 }] } }));
  const sim = loadBoard('sim', d);
  assert.equal(sim.source, join(d, 'boards', 'sim.json'));
  assert.equal(sim.i2c?.bus, 3);
  assert.equal(loadBoard('lab', d).gpio?.relays[0]?.line, 1);
  assert.deepEqual(availableBoards(d), ['lab', 'rpi4-mcp23017', 'rpi4-pcf8574', 'sim']);
});

test('unknown, invalid and unparsable boards are BoardErrors naming the problem', (t) => {
  const d = confDir(t);
  assert.throws(() => loadBoard('nope', d), (e: Error) => e instanceof BoardError && /unknown board 'nope' \(available: .*sim/.test(e.message));
  assert.throws(() => loadBoard('../etc/passwd', d), /invalid board name/);
  mkdirSync(join(d, 'boards'));
  writeFileSync(join(d, 'boards', 'broken.json'), '{ nope');
  assert.throws(() => loadBoard('broken', d), new RegExp(`${join(d, 'boards', 'broken.json')}: .*JSON`));
  writeFileSync(join(d, 'boards', 'bad.json'), JSON.stringify({ name: 'bad', description: 'x', gpio: { chipBase: 0, relays: [{ line: 1 }] } }));
  assert.throws(() => loadBoard('bad', d), /board 'bad' is invalid:\n {2}.*gpio\.relays\[0\]\.name/);
});

test('the board is --board, else the first word of <config>/board', (t) => {
  const d = confDir(t);
  assert.equal(selectBoardName(d, 'x'), 'x');
  assert.throws(() => selectBoardName(d), new RegExp(`no board selected: pass --board NAME or write the board name into ${join(d, 'board')}`));
  writeFileSync(join(d, 'board'), '\n  rpi4-pcf8574  # the cabinet board\n');
  assert.equal(selectBoardName(d), 'rpi4-pcf8574');
});
