// Loads the native addons (serialport's bindings, onoff's epoll, i2c-bus)
// when ringbeat runs as a bundle or as a single executable (SEA), where
// `require` cannot find .node files. The build replaces `require('bindings')`
// and `require('node-gyp-build')` inside those packages with loadNative(name).
//
// Search order (the first that exists and fits this CPU wins):
//  1. $RINGBEAT_NATIVE_DIR/<name>.node (explicit: no fallback)
//  2. a native/ folder shipped with the program: beside the executable
//     (dist/, an imaged board) or the package's /usr/lib/ringbeat/native
//     (= <exe>/../lib/ringbeat/native); for a plain bundle, beside the bundle.
//     A folder for another architecture or on a noexec mount is passed over.
//  3. the SEA asset native/<name>.node, written once into a cache directory
//     ($RINGBEAT_NATIVE_CACHE, else systemd's $CACHE_DIRECTORY, else
//     /var/cache/ringbeat) and dlopen()ed from there.
//
// dlopen() needs a file on a filesystem mounted without noexec. The cache
// directory is checked (mount flags from /proc/self/mountinfo, writability)
// BEFORE anything is written: ringbeat never writes executable code onto a
// noexec mount, and every refusal names the directory and the fix.
//
// RINGBEAT_NATIVE_TRACE=1 prints where each addon came from (stderr).

import { createHash } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileElfArch } from './elf';
import { isNoexec, isReadOnly, mountOf, parseMountInfo, realPathOrAncestor, type MountEntry } from './mountinfo';

/** What the loader needs from node:sea. */
export interface SeaAssets {
  getRawAsset(key: string): ArrayBuffer;
}

/** Everything the loader reads from its surroundings (injected in unit tests). */
export interface NativeHost {
  env: NodeJS.ProcessEnv;
  arch: string;
  execPath: string;
  /** Directory of the running bundle (used when not a single executable). */
  scriptDir: string;
  /** Present when running as a single executable. */
  sea?: SeaAssets;
  uid: number;
  mountInfo(): string;
  trace(msg: string): void;
}

export interface ResolvedNative {
  file: string;
  /** Human-readable origin: 'RINGBEAT_NATIVE_DIR', 'native/ folder', 'embedded asset'. */
  source: string;
}

export class NativeLoadError extends Error {
  override name = 'NativeLoadError';
}

export const DEFAULT_NATIVE_CACHE = '/var/cache/ringbeat';

function seaAssets(): SeaAssets | undefined {
  try {
    // node:sea exists from Node 20.12; outside a single executable isSea() is false.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require('node:sea') as SeaAssets & { isSea(): boolean };
    return m.isSea() ? m : undefined;
  } catch {
    return undefined;
  }
}

export function defaultNativeHost(): NativeHost {
  return {
    env: process.env,
    arch: process.arch,
    execPath: process.execPath,
    scriptDir: __dirname,
    sea: seaAssets(),
    uid: process.getuid?.() ?? 0,
    mountInfo: () => readFileSync('/proc/self/mountinfo', 'utf8'),
    trace: (msg) => {
      if (process.env.RINGBEAT_NATIVE_TRACE === '1') process.stderr.write(`ringbeat: native ${msg}\n`);
    },
  };
}

/** The native/ folders shipped with the program, in search order. */
export function shippedNativeDirs(host: NativeHost): string[] {
  if (!host.sea) return [join(host.scriptDir, 'native')];
  const exeDir = dirname(host.execPath);
  return [join(exeDir, 'native'), resolve(exeDir, '..', 'lib', 'ringbeat', 'native')];
}

function mountFor(host: NativeHost, path: string): MountEntry | undefined {
  try {
    return mountOf(realPathOrAncestor(path), parseMountInfo(host.mountInfo()));
  } catch {
    return undefined; // no /proc: dlopen will tell
  }
}

/** Why a candidate .node file cannot be used, or undefined if it can. */
function unusable(host: NativeHost, file: string): string | undefined {
  if (!existsSync(file)) return 'not there';
  const arch = fileElfArch(file);
  if (arch !== host.arch) return `built for ${arch ?? 'not an ELF file'}, this is ${host.arch}`;
  const m = mountFor(host, file);
  if (m && isNoexec(m)) return `on a noexec mount (${m.mountPoint})`;
  return undefined;
}

interface CacheBase {
  dir: string;
  origin: string;
  explicit: boolean;
}

export function cacheBase(env: NodeJS.ProcessEnv): CacheBase {
  if (env.RINGBEAT_NATIVE_CACHE) return { dir: env.RINGBEAT_NATIVE_CACHE, origin: '$RINGBEAT_NATIVE_CACHE', explicit: true };
  const systemd = env.CACHE_DIRECTORY?.split(':')[0];
  if (systemd) return { dir: systemd, origin: '$CACHE_DIRECTORY (systemd CacheDirectory=)', explicit: true };
  return { dir: DEFAULT_NATIVE_CACHE, origin: 'the default', explicit: false };
}

const FIX =
  'Point RINGBEAT_NATIVE_CACHE (under systemd: CacheDirectory=ringbeat) at a writable directory on a filesystem mounted without noexec, ' +
  'or install the native/ folder beside the ringbeat binary';

/**
 * Checks (and for the default location creates) the cache directory before
 * anything executable is written into it. Throws NativeLoadError naming it.
 */
export function prepareCacheDir(host: NativeHost): string {
  const base = cacheBase(host.env);
  const what = `native addon cache directory ${base.dir} (${base.origin})`;
  if (!base.dir.startsWith('/')) throw new NativeLoadError(`${what} is not an absolute path. ${FIX}.`);
  const m = mountFor(host, base.dir);
  if (m && isNoexec(m)) {
    throw new NativeLoadError(`${what} is on a noexec mount (${m.mountPoint}, ${m.fsType}): ringbeat never writes executable code there. ${FIX}.`);
  }
  if (m && isReadOnly(m)) throw new NativeLoadError(`${what} is on a read-only mount (${m.mountPoint}). ${FIX}.`);
  let st;
  try {
    st = statSync(base.dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new NativeLoadError(`${what}: ${(e as Error).message}. ${FIX}.`);
    if (base.explicit) throw new NativeLoadError(`${what} does not exist. ${FIX}.`);
    try {
      mkdirSync(base.dir, { mode: 0o700 });
    } catch (e2) {
      throw new NativeLoadError(`${what} does not exist and cannot be created: ${(e2 as Error).message}. ${FIX}.`);
    }
    st = statSync(base.dir);
  }
  if (!st.isDirectory()) throw new NativeLoadError(`${what} is not a directory. ${FIX}.`);
  try {
    accessSync(base.dir, fsConstants.W_OK | fsConstants.X_OK);
  } catch (e) {
    throw new NativeLoadError(`${what} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). ${FIX}.`);
  }
  return base.dir;
}

/** A private directory (ours, not a symlink), created with mode 0700 if missing. */
function privateDir(dir: string, uid: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory() || st.uid !== uid) {
    throw new Error(`${dir} is a symlink, not a directory, or owned by uid ${st.uid} (not ${uid})`);
  }
}

/** Writes the embedded addon into the checked cache directory (once per content) and returns its path. */
export function extractAsset(host: NativeHost, sea: SeaAssets, name: string): string {
  let bytes: Buffer;
  try {
    bytes = Buffer.from(sea.getRawAsset(`native/${name}.node`));
  } catch (e) {
    throw new NativeLoadError(`native addon ${name}.node is not embedded in this executable: ${(e as Error).message}`);
  }
  const base = prepareCacheDir(host);
  const owned = join(base, `native-${host.uid}`);
  const dir = join(owned, createHash('sha256').update(bytes).digest('hex').slice(0, 16));
  const file = join(dir, `${name}.node`);
  try {
    privateDir(owned, host.uid);
    privateDir(dir, host.uid);
    let same = false;
    try {
      same = readFileSync(file).equals(bytes);
    } catch {
      /* not extracted yet */
    }
    if (!same) {
      // Temporary name + rename: a concurrent start (the daemon and its
      // heartbeat path child) never dlopens a half-written file.
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, bytes, { mode: 0o500 });
        renameSync(tmp, file);
      } finally {
        rmSync(tmp, { force: true });
      }
    }
  } catch (e) {
    throw new NativeLoadError(`cannot write native addon ${name}.node into the cache directory ${base}: ${(e as Error).message}. ${FIX}.`);
  }
  return file;
}

/** Finds (extracting if needed) the file to dlopen for addon `name`. */
export function resolveNative(name: string, host: NativeHost): ResolvedNative {
  const explicit = host.env.RINGBEAT_NATIVE_DIR;
  if (explicit) {
    const file = join(explicit, `${name}.node`);
    const why = unusable(host, file);
    if (why) throw new NativeLoadError(`native addon ${file} (from $RINGBEAT_NATIVE_DIR) cannot be used: ${why}`);
    return { file, source: 'RINGBEAT_NATIVE_DIR' };
  }
  const passed: string[] = [];
  for (const dir of shippedNativeDirs(host)) {
    const file = join(dir, `${name}.node`);
    const why = unusable(host, file);
    if (!why) return { file, source: 'native/ folder' };
    if (why !== 'not there') host.trace(`${name}: passing over ${file}: ${why}`);
    passed.push(`${file}: ${why}`);
  }
  if (host.sea) return { file: extractAsset(host, host.sea, name), source: 'embedded asset' };
  throw new NativeLoadError(`native addon ${name}.node not found (${passed.join('; ')}); run npm run build`);
}

function dlopen(file: string, source: string): unknown {
  const mod = { exports: {} as unknown };
  try {
    process.dlopen(mod as unknown as NodeJS.Module, file, osConstants.dlopen.RTLD_NOW);
  } catch (e) {
    const msg = (e as Error).message;
    const hint = /failed to map segment|operation not permitted/i.test(msg)
      ? ` (its directory ${dirname(file)} is probably on a noexec mount. ${FIX})`
      : '';
    throw new NativeLoadError(`cannot load native addon ${file} (${source}): ${msg}${hint}`);
  }
  return mod.exports;
}

export function loadNative(name: string, host: NativeHost = defaultNativeHost()): unknown {
  const r = resolveNative(name, host);
  host.trace(`${name}: ${r.file} (${r.source})`);
  return dlopen(r.file, r.source);
}
