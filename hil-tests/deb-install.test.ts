// The x64 .deb from dist/ installed into a throwaway root with dpkg --root
// (maintainer scripts run chroot-less with DPKG_ROOT): files and modes,
// /etc/ha.d/authkeys created 0600 with a random key and kept on reinstall,
// the unit accepted by systemd-analyze verify, the installed executable
// using the package's native/ folder, the shipped ha.cf valid once node
// names are filled in, and purge removing what the package created.

import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { distPackage, requireTools } from './lib/dist';
import { run, runOk, testScope } from './lib/procs';
import { requireRoot } from './lib/require';
import { makeTmpDir } from './lib/tmp';

function dpkgRoot(root: string): void {
  for (const d of ['info', 'updates', 'triggers']) mkdirSync(path.join(root, 'var/lib/dpkg', d), { recursive: true });
  for (const f of ['status', 'available']) writeFileSync(path.join(root, 'var/lib/dpkg', f), '');
}

const mode = (p: string): number => statSync(p).mode & 0o7777;

test('.deb: install into a throwaway root, files, modes, authkeys, unit, executable, purge', { timeout: 180_000 }, async (t) => {
  requireRoot('package tests');
  requireTools({ dpkg: 'dpkg', 'systemd-analyze': 'systemd', unshare: 'util-linux' }, 'package tests');
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'deb-install');
  const root = path.join(dir, 'root');
  dpkgRoot(root);
  const deb = distPackage('deb', 'x64');
  // No libc6 & co. in an empty root: --force-depends.
  const dpkg = (...args: string[]): Promise<unknown> => runOk(['dpkg', `--root=${root}`, '--force-script-chrootless', '--force-depends', '--log=/dev/null', ...args], { timeoutMs: 120_000 });
  await dpkg('-i', deb);

  const f = (p: string): string => path.join(root, p);
  const expect: [string, number][] = [
    ['usr/sbin/ringbeat', 0o755],
    ['usr/lib/ringbeat/native/bindings-cpp.node', 0o644],
    ['usr/lib/ringbeat/native/epoll.node', 0o644],
    ['usr/lib/ringbeat/native/i2c.node', 0o644],
    ['usr/lib/systemd/system/ringbeat.service', 0o644],
    ['etc/ha.d/ha.cf', 0o644],
    ['etc/ha.d/authkeys', 0o600],
    ['usr/share/ringbeat/boards/sim.json', 0o644],
    ['usr/share/man/man8/ringbeat.8.gz', 0o644],
    ['usr/share/doc/ringbeat/copyright', 0o644],
  ];
  for (const [p, m] of expect) {
    assert.ok(existsSync(f(p)), `${p} installed`);
    assert.equal(mode(f(p)).toString(8), m.toString(8), `${p} mode`);
    assert.equal(statSync(f(p)).uid, 0, `${p} owned by root`);
  }
  const auth = readFileSync(f('etc/ha.d/authkeys'), 'utf8');
  const key = /^1 sha1 ([0-9a-f]{64})$/m.exec(auth)?.[1];
  assert.ok(key, `random sha1 key in authkeys:\n${auth}`);
  await runOk(['dpkg', `--root=${root}`, '--verify', 'ringbeat']);

  // Reinstall (upgrade path): the existing key stays.
  await dpkg('-i', deb);
  assert.equal(readFileSync(f('etc/ha.d/authkeys'), 'utf8'), auth, 'authkeys kept');

  // The unit, with the installed executable visible at /usr/sbin (overlay in a private mount namespace).
  const unit = f('usr/lib/systemd/system/ringbeat.service');
  const v = await run(['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c',
    `mount -t overlay overlay -o lowerdir=${f('usr/sbin')}:/usr/sbin /usr/sbin && exec systemd-analyze verify --man=no ${unit}`]);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(`${v.stdout}${v.stderr}`.trim(), '', 'systemd-analyze verify has no complaint');

  // The installed executable: version; native addons from /usr/lib/ringbeat/native (no unpacking).
  const exe = f('usr/sbin/ringbeat');
  assert.match((await runOk([exe, 'version'])).stdout, /^ringbeat /);
  const hw = await run([exe, 'hwtest', '--board', 'sim', '-c', f('etc/ha.d')], { env: { RINGBEAT_NATIVE_TRACE: '1', RINGBEAT_NATIVE_CACHE: '/nonexistent' } });
  assert.match(hw.stderr, new RegExp(`native epoll: ${f('usr/lib/ringbeat/native/epoll.node')} \\(native/ folder\\)`));

  // ha.cf as shipped: check names the missing nodes; with nodes filled in it passes.
  const conf = f('etc/ha.d');
  const bad = await run([exe, 'check', '-c', conf]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /node/);
  writeFileSync(path.join(conf, 'ha.cf'), readFileSync(path.join(conf, 'ha.cf'), 'utf8').replace('#node nodea nodeb', 'node nodea nodeb'));
  appendFileSync(path.join(conf, 'nodeinfo'), 'nodea\n');
  const good = await run([exe, 'check', '-c', conf]);
  assert.equal(good.code, 0, good.stderr);

  // Purge: package files and the generated authkeys go; the edited ha.cf is a conffile dpkg removes on purge.
  await dpkg('--purge', 'ringbeat');
  for (const p of ['usr/sbin/ringbeat', 'usr/lib/ringbeat/native/epoll.node', 'etc/ha.d/authkeys', 'etc/ha.d/ha.cf']) assert.ok(!existsSync(f(p)), `${p} removed`);
});
