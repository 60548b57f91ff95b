// scripts/flash against loop images: the overlay lands on the image's Linux
// partition, the verification pass passes (and fails on a tampered overlay),
// authkeys is created once, and wrong targets are refused: the running
// system's / (tried with / remounted read-only in a private mount namespace,
// so a bug could not write anything), a directory that is not a mount point,
// a block device that backs a mounted filesystem, an image that is mounted,
// an image without a Linux filesystem.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { distExecutable, distPackage, ROOT, requireTools } from './lib/dist';
import { run, runOk, testScope, type RunResult, type Scope } from './lib/procs';
import { requireRoot } from './lib/require';
import { makeTmpDir } from './lib/tmp';

const FLASH = path.join(ROOT, 'scripts', 'flash');
const OFFSET = 2048 * 512;

/** A 256 MB image with an MBR and one ext4 partition (no loop device needed to make it). */
async function makeImage(file: string): Promise<void> {
  await runOk(['truncate', '-s', '256M', file]);
  await runOk(['sfdisk', '-q', file], { input: 'label: dos\nstart=2048, type=83\n' });
  await runOk(['mkfs.ext4', '-q', '-F', '-L', 'rbroot', '-E', `offset=${OFFSET}`, file, `${(256 * 1024 - 1024)}k`]);
}

/** Mounts the image's partition read-only for inspection; unmounted (and the loop freed) by the scope. */
async function inspect(scope: Scope, image: string, at: string): Promise<string> {
  mkdirSync(at, { recursive: true });
  await runOk(['mount', '-o', `ro,loop,offset=${OFFSET}`, image, at]);
  scope.defer(`unmount ${at}`, async () => {
    if ((await run(['mountpoint', '-q', at])).code === 0) await runOk(['umount', at]);
  });
  return at;
}

const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
const flash = (args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> => run([FLASH, ...args], { timeoutMs: 120_000, ...opts });

test('scripts/flash writes and verifies the overlay on an image; refuses wrong targets', { timeout: 300_000 }, async (t) => {
  requireRoot('flash tests');
  requireTools({ sfdisk: 'fdisk', 'mkfs.ext4': 'e2fsprogs', losetup: 'mount', xz: 'xz-utils', tar: 'tar', unshare: 'util-linux' }, 'flash tests');
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'flash');
  const overlay = distPackage('rootfs', 'x64');
  const image = path.join(dir, 'board.img');
  await makeImage(image);

  const first = await flash(['--overlay', overlay, image]);
  assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
  assert.match(first.stderr, /writing to partition 1/);
  assert.match(first.stderr, /write +\[#{30}\] 100%/);
  assert.match(first.stderr, /verify \[#{30}\] 100%/);
  assert.match(first.stderr, /verified \d+ files on /);

  const mnt = await inspect(scope, image, path.join(dir, 'mnt1'));
  assert.equal(sha(path.join(mnt, 'usr/sbin/ringbeat')), sha(distExecutable('x64')), 'the executable from dist/');
  assert.equal(statSync(path.join(mnt, 'usr/sbin/ringbeat')).mode & 0o7777, 0o755);
  assert.equal(statSync(path.join(mnt, 'etc/ha.d/authkeys')).mode & 0o7777, 0o600);
  const key = readFileSync(path.join(mnt, 'etc/ha.d/authkeys'), 'utf8');
  assert.match(key, /^1 sha1 [0-9a-f]{64}$/m);
  assert.ok(statSync(path.join(mnt, 'usr/lib/systemd/system/ringbeat.service')).isFile());
  await runOk(['umount', mnt]);

  // Flashing again (an update) keeps the key.
  const again = await flash(['--overlay', overlay, image]);
  assert.equal(again.code, 0, again.stderr);
  const mnt2 = await inspect(scope, image, path.join(dir, 'mnt2'));
  assert.equal(readFileSync(path.join(mnt2, 'etc/ha.d/authkeys'), 'utf8'), key, 'authkeys kept');
  await runOk(['umount', mnt2]);

  // A tampered overlay (a file changed after the manifest was made) fails verification.
  const tree = path.join(dir, 'tampered');
  mkdirSync(tree);
  await runOk(['tar', '-xJf', overlay, '-C', tree]);
  writeFileSync(path.join(tree, 'usr/share/ringbeat/boards/sim.json'), '{}\n');
  const bad = path.join(dir, 'tampered.tar.gz');
  await runOk(['tar', '-C', tree, '--owner=0', '--group=0', '--numeric-owner', '-I', 'gzip -1', '-cf', bad, 'etc', 'usr'], { timeoutMs: 120_000 });
  const tampered = await flash(['--overlay', bad, image]);
  assert.equal(tampered.code, 1, tampered.stderr);
  assert.match(tampered.stderr, /verification FAILED \(1 problems\):\n {2}\/usr\/share\/ringbeat\/boards\/sim\.json: content differs/);

  // Wrong targets.
  const notMounted = path.join(dir, 'sdcard');
  mkdirSync(notMounted);
  const nm = await flash(['--overlay', overlay, notMounted]);
  assert.equal(nm.code, 1);
  assert.match(nm.stderr, /refusing to write to .*sdcard:\n {2}.*is not a mount point \(is the SD card mounted there\?\)/);
  assert.match(nm.stderr, /--force/);
  assert.deepEqual(readdirSync(notMounted), [], 'nothing written');

  const tmpfs = path.join(dir, 'tmpfs');
  mkdirSync(tmpfs);
  const rootTry = await run(['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c',
    `mount -t tmpfs tmpfs '${tmpfs}' && mount -o remount,bind,ro / && TMPDIR='${tmpfs}' exec '${FLASH}' --overlay '${overlay}' /`], { timeoutMs: 60_000 });
  assert.equal(rootTry.code, 1, rootTry.stderr);
  assert.match(rootTry.stderr, /refusing to write to \/:\n {2}\/ is the root of the running system/);

  // A block device that backs a mounted filesystem (a card still mounted by the desktop).
  const mnt3 = await inspect(scope, image, path.join(dir, 'mnt3'));
  const loop = (await runOk(['losetup', '--find', '--show', image])).stdout.trim();
  scope.defer(`detach ${loop}`, () => runOk(['losetup', '--detach', loop]).then(() => undefined));
  const busy = await flash(['--overlay', overlay, loop]);
  assert.equal(busy.code, 1, busy.stderr);
  assert.match(busy.stderr, new RegExp(`refusing to write to ${loop}:\\n {2}${loop} \\(or another partition of its disk\\) backs the mounted filesystem ${mnt3}`));

  // The image itself while it is mounted.
  const mountedImage = await flash(['--overlay', overlay, image]);
  assert.equal(mountedImage.code, 1, mountedImage.stderr);
  assert.match(mountedImage.stderr, new RegExp(`attached to a loop device that backs the mounted filesystem ${mnt3}`));

  // An image without a Linux filesystem.
  const blank = path.join(dir, 'blank.img');
  await runOk(['truncate', '-s', '16M', blank]);
  const nofs = await flash(['--overlay', overlay, blank]);
  assert.equal(nofs.code, 1);
  assert.match(nofs.stderr, /holds no filesystem, not a Linux root filesystem/);
});
