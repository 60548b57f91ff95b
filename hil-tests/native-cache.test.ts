// Where the single executable puts its embedded native addons, and where it
// refuses to: the daemon (`ringbeat run`, whose heartbeat path loads the
// serial port addon) with its cache directory on a noexec tmpfs, on a
// read-only mount, missing, or not writable for its user must stop with an
// error naming the directory, and must not have written any file there. A
// good cache directory gets the addons once, mode 0500.
//
// The executable runs alone in a directory (no native/ folder beside it).

import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loneExecutable, writeNodeConfig } from './lib/dist';
import { run, startProcess, testScope, type RunResult } from './lib/procs';
import { requireLab } from './lib/require';
import { SerialCable } from './lib/serial-cable';
import { makeTmpDir } from './lib/tmp';

/** Runs `ringbeat run` in a private mount namespace after `setup` (sh), then counts the files left in the cache. */
async function runInNs(setup: string, cache: string, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult & { files: number }> {
  const script = `set -e; ${setup}; set +e; "$@"; rc=$?; echo "files=$(find '${cache}' -type f 2>/dev/null | wc -l)"; exit $rc`;
  const r = await run(['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'ns', ...argv], {
    env: { RINGBEAT_NATIVE_CACHE: cache, ...env },
    timeoutMs: 30_000,
  });
  return { ...r, files: Number(/files=(\d+)/.exec(r.stdout)?.[1] ?? -1) };
}

test('the daemon refuses a noexec, read-only, missing or unwritable cache directory, naming it; a good one gets the addons', { timeout: 120_000 }, async (t) => {
  requireLab();
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'native-cache');
  const exe = loneExecutable('x64', dir);
  const cable = await SerialCable.create(scope, { dir: path.join(dir, 'serial') });
  const conf = writeNodeConfig(path.join(dir, 'conf'), { name: 'nodea', nodes: ['nodea', 'nodeb'], media: [`serial ${cable.a}`], keepalive: '1', deadtime: '10', initdead: '12' });
  const daemon = (state: string): string[] => [exe, 'run', '-c', conf, '--state-dir', path.join(dir, state), '--run-dir', path.join(dir, `${state}-run`)];

  // noexec tmpfs (as /tmp or /run often are on hardened images)
  const noexec = path.join(dir, 'noexec');
  mkdirSync(noexec);
  const a = await runInNs(`mount -t tmpfs -o noexec,size=8m tmpfs '${noexec}'`, noexec, daemon('s1'));
  assert.equal(a.code, 1, a.stderr);
  assert.match(a.stderr, new RegExp(`native addon cache directory ${noexec} \\(\\$RINGBEAT_NATIVE_CACHE\\) is on a noexec mount`));
  assert.equal(a.files, 0, 'nothing written to the noexec mount');
  assert.doesNotMatch(a.stderr, /^\s+at /m, 'a message, not a stack trace');

  // read-only bind mount
  const ro = path.join(dir, 'ro');
  mkdirSync(ro);
  const b = await runInNs(`mount --bind '${ro}' '${ro}' && mount -o remount,bind,ro '${ro}'`, ro, daemon('s2'));
  assert.equal(b.code, 1, b.stderr);
  assert.match(b.stderr, new RegExp(`${ro} \\(\\$RINGBEAT_NATIVE_CACHE\\) is on a read-only mount`));
  assert.equal(b.files, 0);

  // missing directory (systemd's CacheDirectory= would have created it)
  const missing = path.join(dir, 'missing');
  const c = await runInNs('true', missing, daemon('s3'), { RINGBEAT_NATIVE_CACHE: '', CACHE_DIRECTORY: missing });
  assert.equal(c.code, 1, c.stderr);
  assert.match(c.stderr, new RegExp(`${missing} \\(\\$CACHE_DIRECTORY \\(systemd CacheDirectory=\\)\\) does not exist`));

  // not writable for the daemon's user (nobody): root's 0755 directory.
  // Everything else (config, state, run dir) belongs to nobody.
  const locked = path.join(dir, 'locked');
  mkdirSync(locked, { mode: 0o755 });
  const home = path.join(dir, 'nobody');
  const uconf = writeNodeConfig(path.join(home, 'conf'), { name: 'nodea', nodes: ['nodea', 'nodeb'], media: [`serial ${cable.a}`], keepalive: '1', deadtime: '10', initdead: '12' });
  for (const p of [home, uconf, ...readdirSync(uconf).map((f) => path.join(uconf, f))]) chownSync(p, 65534, 65534);
  const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', exe, 'run', '-c', uconf, '--state-dir', path.join(home, 'state'), '--run-dir', path.join(home, 'run')];
  const d = await runInNs('true', locked, asNobody);
  assert.equal(d.code, 1, d.stderr);
  assert.match(d.stderr, new RegExp(`${locked} \\(\\$RINGBEAT_NATIVE_CACHE\\) is not writable \\(EACCES\\)`));
  assert.equal(d.files, 0);

  // a good cache directory: the daemon runs, the addons are there once, 0500
  const good = path.join(dir, 'good');
  mkdirSync(good, { mode: 0o700 });
  const log = path.join(dir, 'good.log');
  const p = await startProcess(scope, { name: 'ringbeat good cache', argv: daemon('s5'), logFile: log, env: { RINGBEAT_NATIVE_CACHE: good, RINGBEAT_NATIVE_TRACE: '1' } });
  await p.waitForLog(/heartbeat path running/, { timeoutMs: 20_000 });
  await p.waitForLog(/native bindings-cpp: .* \(embedded asset\)/, { timeoutMs: 5000 });
  await p.stop();
  const owned = path.join(good, 'native-0');
  const files = readdirSync(owned).flatMap((h) => readdirSync(path.join(owned, h)).map((f) => path.join(owned, h, f)));
  assert.deepEqual(files.map((f) => path.basename(f)).sort(), ['bindings-cpp.node']);
  assert.equal(statSync(files[0]!).mode & 0o777, 0o500);
  assert.equal(statSync(owned).mode & 0o777, 0o700);
  chmodSync(good, 0o700);
});
