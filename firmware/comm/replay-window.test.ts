import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplayWindow, WINDOW } from './replay-window';

test('each counter is accepted once; copies are duplicates; too old is a replay', () => {
  const w = new ReplayWindow();
  assert.equal(w.check('a', 5, 1), 'ok');
  assert.equal(w.check('a', 5, 3), 'ok');
  assert.equal(w.check('a', 5, 3), 'duplicate');
  assert.equal(w.check('a', 5, 2), 'ok', 'out of order within the window');
  assert.equal(w.check('a', 5, 2), 'duplicate');
  assert.equal(w.check('a', 5, 3 + WINDOW), 'ok');
  assert.equal(w.check('a', 5, 3), 'replay', 'fell out of the window');
  assert.equal(w.check('a', 5, 4), 'ok', 'still inside the window (never seen)');
});

test('older generations are replays; a newer generation starts a fresh window', () => {
  const w = new ReplayWindow();
  w.check('a', 5, 100);
  assert.equal(w.check('a', 4, 101), 'replay');
  assert.equal(w.check('a', 6, 1), 'ok');
  assert.equal(w.check('a', 5, 102), 'replay');
});

test('floors persisted from an earlier run reject that generation and older ones', () => {
  const w = new ReplayWindow({ a: 9 });
  assert.equal(w.check('a', 8, 1), 'replay');
  assert.equal(w.check('a', 9, 1), 'replay', 'cannot know which counters of gen 9 were used');
  assert.equal(w.check('a', 10, 1), 'ok');
  assert.deepEqual(w.floors(), { a: 10 });
});

test('counters must be positive integers', () => {
  const w = new ReplayWindow();
  assert.equal(w.check('a', 1, NaN), 'replay');
  assert.equal(w.check('a', 1, 0), 'replay');
});
