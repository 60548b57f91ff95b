// The executables in dist/ are what BUILDINFO.json says: right CPU, right
// hashes, glibc floor <= the recorded limit (checked again here with objdump,
// independently of the build), addons embedded, and they run: natively for
// x64, under qemu-user for arm64. `version` needs no native addon at all.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileElfArch } from '../firmware/core/elf';
import { buildInfo, distExecutable, requireTools, type Arch } from './lib/dist';
import { run } from './lib/procs';

const QEMU = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'];

function highestGlibc(objdump: string): string {
  const vs = [...objdump.matchAll(/\(GLIBC_([0-9.]+)\)/g)].map((m) => m[1]!);
  return vs.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1)!;
}

test('dist/ executables: CPU, hashes, glibc floor, and they start', { timeout: 120_000 }, async () => {
  requireTools({ objdump: 'binutils', 'qemu-aarch64-static': 'qemu-user-static' }, 'image tests');
  const info = buildInfo();
  assert.equal(info.node, process.version.slice(1));
  assert.equal(info.bundle.sha256, createHash('sha256').update(readFileSync(`${__dirname}/../dist/ringbeat.cjs`)).digest('hex'), 'executables made from the current bundle');
  for (const arch of ['x64', 'arm64'] as Arch[]) {
    const exe = distExecutable(arch);
    const t = info.targets[arch];
    assert.ok(t, `BUILDINFO has ${arch}`);
    assert.equal(t.bundleSha256, info.bundle.sha256, `dist/ringbeat-${arch} was made from an older bundle: run npm run build:all`);
    assert.equal(fileElfArch(exe), arch);
    assert.equal(createHash('sha256').update(readFileSync(exe)).digest('hex'), t.sha256, `${arch}: sha256 as recorded`);
    const od = await run(['objdump', '-T', exe], { timeoutMs: 60_000 });
    const floor = highestGlibc(od.stdout);
    assert.ok(floor.localeCompare(info.glibcFloorLimit, 'en', { numeric: true }) <= 0, `${arch} needs GLIBC_${floor} > ${info.glibcFloorLimit}`);
    assert.equal(t.glibc, info.glibcFloorLimit, `${arch}: recorded floor`);
    for (const [name, a] of Object.entries(t.addons)) {
      assert.ok(a.glibc.localeCompare(info.glibcFloorLimit, 'en', { numeric: true }) <= 0, `${arch} ${name} addon needs GLIBC_${a.glibc}`);
    }
    const blob = readFileSync(exe);
    for (const name of ['bindings-cpp', 'epoll', 'i2c']) assert.ok(blob.includes(`native/${name}.node`), `${arch}: ${name} embedded`);
    const v = await run([...(arch === 'arm64' ? QEMU : []), exe, 'version'], { timeoutMs: 60_000, env: { RINGBEAT_NATIVE_DIR: '/nonexistent' } });
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `ringbeat ${info.version}\n`);
  }
});
