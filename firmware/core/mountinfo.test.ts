import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isNoexec, isReadOnly, mountOf, parseMountInfo, realPathOrAncestor } from './mountinfo';

const SAMPLE = [
  '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard',
  '60 26 0:50 / /tmp rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=1024k',
  '61 26 0:51 / /mnt/my\\040card rw,relatime - vfat /dev/sdb1 rw',
  '62 60 0:52 / /tmp/exec rw,relatime - tmpfs tmpfs rw',
  '63 26 254:0 /srv /srv ro,relatime - ext4 /dev/vda rw',
  '64 26 0:53 / /var/ro rw,relatime - squashfs /dev/loop0 ro',
  'garbage line',
].join('\n');

test('parses mountinfo, decoding escapes and optional fields', () => {
  const m = parseMountInfo(SAMPLE);
  assert.equal(m.length, 6);
  assert.deepEqual(
    m.map((e) => [e.mountPoint, e.fsType, e.source]),
    [
      ['/', 'ext4', '/dev/vda'],
      ['/tmp', 'tmpfs', 'tmpfs'],
      ['/mnt/my card', 'vfat', '/dev/sdb1'],
      ['/tmp/exec', 'tmpfs', 'tmpfs'],
      ['/srv', 'ext4', '/dev/vda'],
      ['/var/ro', 'squashfs', '/dev/loop0'],
    ],
  );
  assert.equal(m[0]!.device, '254:0');
});

test('finds the innermost mount of a path and its flags', () => {
  const m = parseMountInfo(SAMPLE);
  assert.equal(mountOf('/tmp/x/y', m)?.mountPoint, '/tmp');
  assert.ok(isNoexec(mountOf('/tmp/x', m)!));
  assert.equal(mountOf('/tmp/exec/a', m)?.mountPoint, '/tmp/exec');
  assert.ok(!isNoexec(mountOf('/tmp/exec/a', m)!));
  assert.equal(mountOf('/tmpfoo', m)?.mountPoint, '/', 'prefix must end at a path separator');
  assert.equal(mountOf('/mnt/my card/x', m)?.source, '/dev/sdb1');
  assert.ok(isReadOnly(mountOf('/srv/a', m)!), 'per-mount ro');
  assert.ok(isReadOnly(mountOf('/var/ro/a', m)!), 'read-only superblock');
  assert.ok(!isReadOnly(mountOf('/etc', m)!));
});

test('a later mount on the same point hides the earlier one', () => {
  const m = parseMountInfo(`${SAMPLE}\n70 26 0:60 / /tmp rw,relatime - tmpfs tmpfs rw`);
  assert.ok(!isNoexec(mountOf('/tmp/x', m)!));
});

test('the real table of this process resolves /', () => {
  const m = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  assert.ok(mountOf(realPathOrAncestor('/proc/self'), m));
  assert.equal(realPathOrAncestor('/nonexistent/a/b'), '/');
});
