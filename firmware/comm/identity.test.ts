import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { takeIdentity } from './identity';

const WALL = Date.UTC(2026, 10, 25); // ms

test('the generation grows at every start and the uuid stays', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-id-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = takeIdentity(dir, 'file', WALL);
  assert.equal(a.generation, Math.floor(WALL / 1000), 'first start: wall-clock seconds');
  assert.equal(a.uuid.length, 16);
  const b = takeIdentity(dir, 'file', WALL - 3_600_000);
  assert.equal(b.generation, a.generation + 1, 'file method: +1 even if the clock went back');
  assert.ok(b.uuid.equals(a.uuid));
  assert.equal(readFileSync(join(dir, 'hb_generation'), 'latin1').trim(), String(b.generation));
  const c = takeIdentity(dir, 'time', WALL + 10_000);
  assert.equal(c.generation, Math.floor(WALL / 1000) + 10);
  const d = takeIdentity(dir, 'time', WALL);
  assert.equal(d.generation, c.generation + 1, 'time method never goes backwards');
  assert.ok(statSync(join(dir, 'hb_uuid')).isFile());
});

test('an unusable state directory is reported by name', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-id-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const blocker = join(dir, 'file');
  writeFileSync(blocker, 'x');
  assert.throws(() => takeIdentity(join(blocker, 'state'), 'file', WALL), /cannot create state directory .*file\/state/);
});
