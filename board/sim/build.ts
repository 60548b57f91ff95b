// Builds the simulated board's two programs:
//   gpio-sysfs-fuse        FUSE emulator of /sys/class/gpio (runs on the build
//                          machine whatever the target: the kernel serves it)
//   i2c-sim-preload.so     LD_PRELOAD /dev/i2c-N simulator, for the target's
//                          architecture (it is loaded INTO ringbeat: arm64 for
//                          the arm64 executable under qemu)
// Results are cached by source hash under node_modules/.cache/ringbeat/sim/,
// so tests call buildSimulators() freely. Missing tools fail with the
// apt-get line that installs them.
//
//   node --import tsx board/sim/build.ts [x64|arm64 ...]   (default: x64 arm64)

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type SimArch = 'x64' | 'arm64';

export interface SimBinaries {
  gpioFuse: string;
  i2cPreload: string;
}

const ROOT = resolve(__dirname, '..', '..');
const SRC = __dirname;
const CACHE = join(ROOT, 'node_modules', '.cache', 'ringbeat', 'sim');

const CC: Readonly<Record<SimArch, { cc: string; apt: string }>> = {
  x64: { cc: 'gcc', apt: 'gcc' },
  arm64: { cc: 'aarch64-linux-gnu-gcc', apt: 'gcc-aarch64-linux-gnu' },
};

export class SimBuildError extends Error {
  override name = 'SimBuildError';
}

function run(argv: string[], what: string, apt: string): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new SimBuildError(`building ${what} needs ${argv[0]}: apt-get install -y ${apt}`);
  }
  if (r.status !== 0) throw new SimBuildError(`building ${what} failed (${argv.join(' ')}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function fuseFlags(): string[] {
  const apt = 'libfuse3-dev pkg-config';
  const flags = run(['pkg-config', '--cflags', '--libs', 'fuse3'], 'gpio-sysfs-fuse', apt).trim();
  if (!flags) throw new SimBuildError(`pkg-config knows no fuse3: apt-get install -y ${apt}`);
  return flags.split(/\s+/);
}

/** Compiles into a fresh directory, then renames it into place (concurrent callers never see half a build). */
function cached(key: string, build: (dir: string) => void): string {
  const dir = join(CACHE, key);
  if (existsSync(join(dir, '.done'))) return dir;
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    build(tmp);
    run(['touch', join(tmp, '.done')], 'the simulator cache', 'coreutils');
    try {
      renameSync(tmp, dir);
    } catch (e) {
      if (!existsSync(join(dir, '.done'))) throw e; // else another process won the race
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

function hash(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

export function buildGpioFuse(): string {
  const src = join(SRC, 'gpio-sysfs-fuse.c');
  const flags = fuseFlags();
  const dir = cached(`gpio-fuse-${hash(readFileSync(src, 'utf8'), flags.join(' '))}`, (d) => {
    run(['gcc', '-O2', '-Wall', '-Wextra', '-Werror', src, ...flags, '-o', join(d, 'gpio-sysfs-fuse')], 'gpio-sysfs-fuse', 'gcc libfuse3-dev');
  });
  return join(dir, 'gpio-sysfs-fuse');
}

export function buildI2cPreload(arch: SimArch): string {
  const src = join(SRC, 'i2c-sim-preload.c');
  const { cc, apt } = CC[arch];
  const dir = cached(`i2c-preload-${arch}-${hash(readFileSync(src, 'utf8'), cc)}`, (d) => {
    run([cc, '-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', src, '-o', join(d, 'i2c-sim-preload.so'), '-ldl'], `i2c-sim-preload.so for ${arch}`, apt);
  });
  return join(dir, 'i2c-sim-preload.so');
}

export function buildSimulators(arch: SimArch): SimBinaries {
  return { gpioFuse: buildGpioFuse(), i2cPreload: buildI2cPreload(arch) };
}

if (require.main === module) {
  const arches = (process.argv.slice(2).length ? process.argv.slice(2) : ['x64', 'arm64']) as SimArch[];
  for (const a of arches) {
    if (!(a in CC)) throw new Error(`unknown architecture ${a} (x64, arm64)`);
    const b = buildSimulators(a);
    console.log(`${a}: ${b.gpioFuse}\n${a}: ${b.i2cPreload}`);
  }
}
