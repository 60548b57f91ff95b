import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs, UsageError } from './args';

test('defaults, -c, --config-dir=, flags and positionals', () => {
  const d = parseArgs([], {});
  assert.equal(d.configDir, '/etc/ha.d');
  assert.equal(d.runDir, '/run/ringbeat');
  assert.equal(d.stateDir, undefined);
  const o = parseArgs(['-c', '/x', '--state-dir=/s', '--json', 'extra'], {});
  assert.equal(o.configDir, '/x');
  assert.equal(o.stateDir, '/s');
  assert.equal(o.json, true);
  assert.deepEqual(o.rest, ['extra']);
  assert.equal(parseArgs(['--config-dir', '/y'], {}).configDir, '/y');
  assert.equal(parseArgs([], { RINGBEAT_RUN_DIR: '/r' }).runDir, '/r');
});

test('bad arguments are usage errors naming the argument', () => {
  assert.throws(() => parseArgs(['--frobnicate'], {}), (e: Error) => e instanceof UsageError && /--frobnicate/.test(e.message));
  assert.throws(() => parseArgs(['-c'], {}), /-c needs a directory/);
});
