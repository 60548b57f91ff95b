import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { parseMountInfo } from '../../firmware/core/mountinfo';
import { assessTarget, devString, liveSystemView, type PathInfo, type SystemView } from './target';

const MOUNTS = parseMountInfo(
  [
    '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '27 26 8:17 / /media/sd rw,relatime - ext4 /dev/sdb1 rw',
    '28 26 254:0 /srv /mnt/bind rw,relatime - ext4 /dev/vda rw',
    '29 26 8:33 / /media/ro ro,relatime - ext4 /dev/sdc1 ro',
  ].join('\n'),
);

/** Loop devices: 7:0 is /tmp/busy.img at an offset (mounted on /media/img), 7:1 the same file whole. */
const LOOPS = [
  { dev: '7:0', backing: '/tmp/busy.img' },
  { dev: '7:1', backing: '/tmp/busy.img' },
];

function view(paths: Record<string, PathInfo>, disks: Record<string, string[]> = {}, swaps: string[] = []): SystemView {
  return {
    mounts: [...MOUNTS, ...parseMountInfo('30 26 7:0 / /media/img rw - ext4 /dev/loop0 rw')],
    realpath: (p) => p.replace(/\/$/, '') || '/',
    stat: (p) => paths[p] ?? { kind: 'missing' },
    sameDisk: (mm) => disks[mm] ?? [mm],
    swaps,
    loopsOf: (f) => LOOPS.filter((l) => l.backing === f).map((l) => l.dev),
    loopBacking: (mm) => LOOPS.find((l) => l.dev === mm)?.backing,
  };
}

const SYS = view(
  {
    '/': { kind: 'directory' },
    '/media/sd': { kind: 'directory' },
    '/media/sd/': { kind: 'directory' },
    '/mnt/empty': { kind: 'directory' },
    '/mnt/bind': { kind: 'directory' },
    '/media/ro': { kind: 'directory' },
    '/tmp/board.img': { kind: 'file' },
    '/dev/vda': { kind: 'block', rdev: '254:0' },
    '/dev/sdb': { kind: 'block', rdev: '8:16' },
    '/dev/sdd': { kind: 'block', rdev: '8:48' },
    '/dev/sde': { kind: 'block', rdev: '8:64' },
    '/dev/tty0': { kind: 'other' },
    '/tmp/busy.img': { kind: 'file' },
    '/dev/loop1': { kind: 'block', rdev: '7:1' },
  },
  { '8:16': ['8:16', '8:17', '8:18'], '8:48': ['8:48', '8:49'], '8:64': ['8:64', '8:65'] },
  ['8:65'],
);

test('a mounted SD-card root and an image file are fine', () => {
  assert.deepEqual(assessTarget('/media/sd/', SYS), { kind: 'directory', path: '/media/sd', errors: [], refusals: [] });
  assert.deepEqual(assessTarget('/tmp/board.img', SYS), { kind: 'image', path: '/tmp/board.img', errors: [], refusals: [] });
  assert.deepEqual(assessTarget('/dev/sdd', SYS).refusals, [], 'an unmounted card');
});

test('the running root, a directory that is not a mount point, a bind of the root fs are refused', () => {
  assert.match(assessTarget('/', SYS).refusals.join(), /root of the running system/);
  assert.match(assessTarget('/mnt/empty', SYS).refusals.join(), /not a mount point \(is the SD card mounted there\?\).*filesystem of \//);
  assert.match(assessTarget('/mnt/bind', SYS).refusals.join(), /running system's root filesystem \(\/dev\/vda/);
});

test('a block device backing a mount, or whose sibling partition does, or is swap, is refused', () => {
  assert.match(assessTarget('/dev/vda', SYS).refusals.join(), /backs the mounted filesystem \/ \(\/dev\/vda\)/);
  assert.match(assessTarget('/dev/sdb', SYS).refusals.join(), /backs the mounted filesystem \/media\/sd/);
  assert.match(assessTarget('/dev/sde', SYS).refusals.join(), /swap/);
});

test('an image mounted through a loop device, and another loop device on that image, are refused', () => {
  assert.match(assessTarget('/tmp/busy.img', SYS).refusals.join(), /attached to a loop device that backs the mounted filesystem \/media\/img/);
  assert.match(assessTarget('/dev/loop1', SYS).refusals.join(), /backs the mounted filesystem \/media\/img/);
});

test('missing paths, read-only mounts and other file types are errors (not overridable)', () => {
  assert.deepEqual(assessTarget('/nope', SYS).errors, ['/nope does not exist']);
  assert.match(assessTarget('/media/ro', SYS).errors.join(), /read-only/);
  assert.match(assessTarget('/dev/tty0', SYS).errors.join(), /neither a directory, an image file nor a block device/);
});

test('on THIS machine: its root directory and the disk behind / are refused (read-only check)', () => {
  const live = liveSystemView();
  assert.ok(assessTarget('/', live).refusals.length > 0);
  const rootMount = live.mounts.find((m) => m.mountPoint === '/')!;
  if (rootMount.source.startsWith('/dev/')) {
    assert.equal(devString(statSync(rootMount.source).rdev), rootMount.device);
    const a = assessTarget(rootMount.source, live);
    assert.equal(a.kind, 'device');
    assert.match(a.refusals.join(), /backs the mounted filesystem \//);
  }
  assert.ok(readFileSync('/proc/self/mountinfo', 'utf8').length > 0);
});

test('dev_t decoding', () => {
  assert.equal(devString(0xfe00), '254:0');
  assert.equal(devString(0x811), '8:17');
  assert.equal(devString(259 * 256 + 1), '259:1');
});
