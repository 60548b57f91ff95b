import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { NativeLoadError, resolveNative, type NativeHost, type SeaAssets } from './native';

const MACHINE: Record<string, number> = { x64: 62, arm64: 183 };

/** A file that looks like an ELF object for `arch` (enough for the loader's checks; never dlopen()ed here). */
function fakeElf(file: string, arch = process.arch, filler = 'x'): Buffer {
  const b = Buffer.alloc(64, filler);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1], 0);
  b.writeUInt16LE(MACHINE[arch]!, 18);
  if (file) {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, b);
  }
  return b;
}

function scratch(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'rb-native-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const ROOT_MOUNT = '1 0 254:0 / / rw,relatime - ext4 /dev/vda rw';

function host(dir: string, o: Partial<NativeHost> & { mounts?: string[]; assets?: Record<string, Buffer> } = {}): NativeHost & { traced: string[] } {
  const traced: string[] = [];
  const assets = o.assets;
  const sea: SeaAssets | undefined = assets
    ? {
        getRawAsset: (key) => {
          const b = assets[key];
          if (!b) throw new Error(`no asset ${key}`);
          return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
        },
      }
    : undefined;
  return {
    env: {},
    arch: process.arch,
    execPath: join(dir, 'bin', 'ringbeat'),
    scriptDir: join(dir, 'bundle'),
    sea,
    uid: process.getuid?.() ?? 0,
    mountInfo: () => [ROOT_MOUNT, ...(o.mounts ?? [])].join('\n'),
    trace: (m) => traced.push(m),
    traced,
    ...o,
  };
}

test('RINGBEAT_NATIVE_DIR is used alone: no fallback when its file is missing', (t) => {
  const d = scratch(t);
  fakeElf(join(d, 'explicit', 'epoll.node'));
  const h = host(d, { env: { RINGBEAT_NATIVE_DIR: join(d, 'explicit') } });
  assert.deepEqual(resolveNative('epoll', h), { file: join(d, 'explicit', 'epoll.node'), source: 'RINGBEAT_NATIVE_DIR' });
  assert.throws(() => resolveNative('i2c', h), (e: Error) => e instanceof NativeLoadError && e.message.includes(join(d, 'explicit', 'i2c.node')));
});

test('a bundle loads native/ beside itself, and says how to build when it is missing', (t) => {
  const d = scratch(t);
  fakeElf(join(d, 'bundle', 'native', 'epoll.node'));
  const h = host(d);
  assert.equal(resolveNative('epoll', h).file, join(d, 'bundle', 'native', 'epoll.node'));
  assert.throws(() => resolveNative('i2c', h), /i2c\.node not found.*npm run build/);
});

test('an executable passes over a native/ folder for another CPU and uses the package folder', (t) => {
  const d = scratch(t);
  const other = process.arch === 'x64' ? 'arm64' : 'x64';
  fakeElf(join(d, 'bin', 'native', 'epoll.node'), other);
  fakeElf(join(d, 'lib', 'ringbeat', 'native', 'epoll.node'));
  const h = host(d, { assets: {} });
  assert.deepEqual(resolveNative('epoll', h), { file: join(d, 'lib', 'ringbeat', 'native', 'epoll.node'), source: 'native/ folder' });
  assert.match(h.traced.join('\n'), new RegExp(`passing over .*bin/native/epoll.node: built for ${other}`));
});

test('embedded addons are written once into the cache (mode 0500, content-addressed) and rewritten if changed', (t) => {
  const d = scratch(t);
  const cache = join(d, 'cache');
  mkdirSync(cache);
  const bytes = fakeElf('');
  const h = host(d, { env: { RINGBEAT_NATIVE_CACHE: cache }, assets: { 'native/epoll.node': bytes } });
  const r = resolveNative('epoll', h);
  assert.equal(r.source, 'embedded asset');
  assert.ok(r.file.startsWith(join(cache, `native-${h.uid}`)));
  assert.deepEqual(readFileSync(r.file), bytes);
  assert.equal(statSync(r.file).mode & 0o777, 0o500);
  assert.equal(statSync(join(cache, `native-${h.uid}`)).mode & 0o777, 0o700);
  const mtime = statSync(r.file).mtimeMs;
  assert.equal(resolveNative('epoll', h).file, r.file);
  assert.equal(statSync(r.file).mtimeMs, mtime, 'not rewritten');
  writeFileSync(r.file, Buffer.alloc(bytes.length, 1)); // same size, other content
  resolveNative('epoll', h);
  assert.deepEqual(readFileSync(r.file), bytes, 'restored');
  assert.deepEqual(readdirSync(join(r.file, '..')), ['epoll.node'], 'no temporary files left');
});

test('systemd CacheDirectory= is used when RINGBEAT_NATIVE_CACHE is not set', (t) => {
  const d = scratch(t);
  mkdirSync(join(d, 'sd'));
  const h = host(d, { env: { CACHE_DIRECTORY: `${join(d, 'sd')}:/other` }, assets: { 'native/i2c.node': fakeElf('') } });
  assert.ok(resolveNative('i2c', h).file.startsWith(join(d, 'sd', 'native-')));
});

test('a noexec cache directory is refused BEFORE anything is written, naming it and the fix', (t) => {
  const d = scratch(t);
  const cache = join(d, 'noexec');
  mkdirSync(cache);
  const h = host(d, {
    env: { RINGBEAT_NATIVE_CACHE: cache },
    assets: { 'native/epoll.node': fakeElf('') },
    mounts: [`2 1 0:9 / ${cache} rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw`],
  });
  assert.throws(
    () => resolveNative('epoll', h),
    (e: Error) => e instanceof NativeLoadError && e.message.includes(`${cache} ($RINGBEAT_NATIVE_CACHE) is on a noexec mount`) && /CacheDirectory=/.test(e.message),
  );
  assert.deepEqual(readdirSync(cache), [], 'nothing written');
});

test('missing, read-only and non-directory cache locations are errors naming the directory', (t) => {
  const d = scratch(t);
  const assets = { 'native/epoll.node': fakeElf('') };
  const missing = join(d, 'missing');
  assert.throws(() => resolveNative('epoll', host(d, { env: { RINGBEAT_NATIVE_CACHE: missing }, assets })), new RegExp(`${missing} \\(\\$RINGBEAT_NATIVE_CACHE\\) does not exist`));
  assert.ok(!existsSync(missing), 'an explicit cache directory is never created');
  const ro = join(d, 'ro');
  mkdirSync(ro);
  assert.throws(
    () => resolveNative('epoll', host(d, { env: { RINGBEAT_NATIVE_CACHE: ro }, assets, mounts: [`2 1 0:9 / ${ro} ro,relatime - ext4 /dev/x ro`] })),
    new RegExp(`${ro} .* is on a read-only mount`),
  );
  const file = join(d, 'file');
  writeFileSync(file, '');
  assert.throws(() => resolveNative('epoll', host(d, { env: { RINGBEAT_NATIVE_CACHE: file }, assets })), new RegExp(`${file} .* is not a directory`));
  assert.throws(() => resolveNative('epoll', host(d, { env: { RINGBEAT_NATIVE_CACHE: 'relative/dir' }, assets })), /not an absolute path/);
});

test('a symlinked private cache directory is refused', (t) => {
  const d = scratch(t);
  const cache = join(d, 'cache');
  mkdirSync(join(d, 'elsewhere'), { recursive: true });
  mkdirSync(cache);
  symlinkSync(join(d, 'elsewhere'), join(cache, `native-${process.getuid?.() ?? 0}`));
  const h = host(d, { env: { RINGBEAT_NATIVE_CACHE: cache }, assets: { 'native/epoll.node': fakeElf('') } });
  assert.throws(() => resolveNative('epoll', h), /cannot write native addon epoll\.node into the cache directory .*symlink/);
});

test('a shipped native/ folder on a noexec mount is passed over for the embedded copy', (t) => {
  const d = scratch(t);
  fakeElf(join(d, 'bin', 'native', 'epoll.node'));
  mkdirSync(join(d, 'cache'));
  const h = host(d, {
    env: { RINGBEAT_NATIVE_CACHE: join(d, 'cache') },
    assets: { 'native/epoll.node': fakeElf('') },
    mounts: [`2 1 0:9 / ${join(d, 'bin')} rw,noexec - tmpfs tmpfs rw`],
  });
  assert.equal(resolveNative('epoll', h).source, 'embedded asset');
  assert.match(h.traced.join('\n'), /on a noexec mount/);
});
