#!/usr/bin/env node
// Builds firmware/native/announce.c into `ringbeat-announce` (gratuitous ARP /
// unsolicited NA sender used by the IP takeover agent).
//
//   import { buildAnnounce } from './build-announce.mjs';
//   await buildAnnounce({ arch: 'x64', outDir: 'dist/native' });   // -> dist/native/ringbeat-announce
//
//   node scripts/build-announce.mjs [--arch x64|arm64] [--out DIR]  (default: this machine, dist/native)
//
// The binary is linked statically (glibc's static libc is fine here: the tool
// uses no NSS, iconv or dlopen), so one file runs on any board of that
// architecture whatever its libc version. arm64 needs Debian's cross compiler.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
export const ANNOUNCE_SOURCE = join(root, 'firmware', 'native', 'announce.c');
export const ANNOUNCE_NAME = 'ringbeat-announce';

/** Compiler and the Debian package that provides it, per target architecture. */
const COMPILERS = {
  x64: { cc: 'gcc', pkg: 'gcc (and libc6-dev for the static libc)' },
  arm64: { cc: 'aarch64-linux-gnu-gcc', pkg: 'gcc-aarch64-linux-gnu (or g++-aarch64-linux-gnu)' },
};

function which(cmd) {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/local/bin'])) {
    if (d && existsSync(join(d, cmd))) return join(d, cmd);
  }
  return undefined;
}

/**
 * Compiles the tool for `arch` into `<outDir>/ringbeat-announce` and returns
 * that path. Throws naming the Debian package when the compiler is missing.
 * The host compiler builds x64 only when the host is x64 (no multilib games).
 */
export function buildAnnounce({ arch = process.arch, outDir = join(root, 'dist', 'native'), cflags = [] } = {}) {
  const c = COMPILERS[arch];
  if (!c) throw new Error(`buildAnnounce: unsupported arch '${arch}' (x64 or arm64)`);
  if (arch === 'x64' && process.arch !== 'x64') {
    throw new Error(`buildAnnounce: building x64 on ${process.arch} needs a cross compiler; build on an x64 host`);
  }
  const cc = arch === 'arm64' && process.arch === 'arm64' ? 'gcc' : c.cc;
  if (!which(cc)) throw new Error(`buildAnnounce: ${cc} not found: apt-get install ${c.pkg}`);
  const dir = resolve(outDir);
  mkdirSync(dir, { recursive: true });
  const out = join(dir, ANNOUNCE_NAME);
  // Up to date (built after the last change of the source, same flags): keep it.
  const stamp = `${out}.${arch}.flags`;
  const flags = JSON.stringify([cc, cflags]);
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === flags && statSync(out).mtimeMs >= statSync(ANNOUNCE_SOURCE).mtimeMs) {
    return out;
  }
  const tmp = `${out}.tmp-${process.pid}`;
  const args = ['-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu11', '-static', '-s', ...cflags, '-o', tmp, ANNOUNCE_SOURCE];
  try {
    execFileSync(cc, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const stderr = e.stderr ? String(e.stderr) : '';
    if (/cannot find -lc|crt1\.o|No such file or directory.*\.h/.test(stderr)) {
      throw new Error(`buildAnnounce: ${cc} cannot link statically (missing C library): apt-get install ${c.pkg}\n${stderr}`);
    }
    throw new Error(`buildAnnounce: ${cc} ${args.join(' ')} failed:\n${stderr || e.message}`);
  }
  renameSync(tmp, out); // atomic: a running agent never sees a half-written binary
  writeFileSync(stamp, flags);
  if (!(statSync(out).mode & 0o111)) throw new Error(`buildAnnounce: ${out} is not executable`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const opt = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const t0 = Date.now();
  const out = buildAnnounce({ arch: opt('--arch') ?? process.arch, outDir: opt('--out') ?? join(root, 'dist', 'native') });
  console.log(`built ${out} in ${Date.now() - t0} ms`);
}
