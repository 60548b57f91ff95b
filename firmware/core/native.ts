// Loads the native addons (serialport's bindings, onoff's epoll, i2c-bus)
// when ringbeat runs as a bundle or as a single executable, where `require`
// cannot find .node files. The build replaces `require('bindings')` and
// `require('node-gyp-build')` inside those packages with loadNative(name).
//
// Search order:
//  1. $RINGBEAT_NATIVE_DIR/<name>.node
//  2. native/<name>.node beside the executable (SEA) or the bundle
//  3. the SEA asset native/<name>.node, written once to an exec-allowed cache
//     directory ($RINGBEAT_NATIVE_CACHE, $CACHE_DIRECTORY from systemd's
//     CacheDirectory=, else /var/cache/ringbeat) and dlopen()ed from there.
// dlopen needs a file on a filesystem mounted without noexec; a failure names
// the directory and the fix instead of a bare ERR_DLOPEN_FAILED.

import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';

interface SeaModule {
  isSea(): boolean;
  getRawAsset(key: string): ArrayBuffer;
}

function sea(): SeaModule | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require('node:sea') as SeaModule;
    return m.isSea() ? m : undefined;
  } catch {
    return undefined;
  }
}

function dlopen(file: string, from: string): unknown {
  const mod = { exports: {} as unknown };
  try {
    process.dlopen(mod as unknown as NodeJS.Module, file, constants.dlopen.RTLD_NOW);
  } catch (e) {
    const msg = (e as Error).message;
    if (/failed to map segment|operation not permitted/i.test(msg)) {
      throw new Error(
        `cannot load native addon ${file} (${from}): its directory is on a noexec mount. ` +
          `Point RINGBEAT_NATIVE_CACHE (or systemd CacheDirectory=) at an exec-allowed directory, or install the native/ folder beside the binary. (${msg})`,
      );
    }
    throw new Error(`cannot load native addon ${file} (${from}): ${msg}`);
  }
  return mod.exports;
}

function cacheDir(): string {
  return process.env.RINGBEAT_NATIVE_CACHE || process.env.CACHE_DIRECTORY?.split(':')[0] || '/var/cache/ringbeat';
}

function extractAsset(s: SeaModule, name: string): string {
  const bytes = Buffer.from(s.getRawAsset(`native/${name}.node`));
  const base = cacheDir();
  const dir = join(base, `native-${process.getuid?.() ?? 0}`, createHash('sha256').update(bytes).digest('hex').slice(0, 16));
  const file = join(dir, `${name}.node`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (st.isSymbolicLink() || (process.getuid && st.uid !== process.getuid())) {
      throw new Error(`${dir} is a symlink or owned by another user`);
    }
    if (!existsSync(file) || statSync(file).size !== bytes.length) {
      // Write to a temporary name and rename: concurrent starts never see a half file.
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, bytes, { mode: 0o500 });
      renameSync(tmp, file);
    }
  } catch (e) {
    throw new Error(
      `cannot write native addon cache in ${base}: ${(e as Error).message}. ` +
        `Set RINGBEAT_NATIVE_CACHE to a writable, exec-allowed directory (systemd: CacheDirectory=ringbeat).`,
    );
  }
  return file;
}

export function loadNative(name: string): unknown {
  const env = process.env.RINGBEAT_NATIVE_DIR;
  if (env) return dlopen(join(env, `${name}.node`), 'RINGBEAT_NATIVE_DIR');
  const s = sea();
  const beside = join(s ? dirname(process.execPath) : __dirname, 'native', `${name}.node`);
  if (existsSync(beside)) return dlopen(beside, 'native/ beside the program');
  if (s) return dlopen(extractAsset(s, name), 'embedded asset');
  // Plain bundle without a native/ folder: nothing else to try.
  throw new Error(`native addon ${name}.node not found (looked in ${beside}); run npm run build`);
}
