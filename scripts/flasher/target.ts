// What the flash target is, and whether writing to it could hit the machine
// we are running on. Pure: it decides from a SystemView (mount table, stat,
// block device topology), so the refusals are unit-tested against this
// host's real disk without ever touching it.

import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { mountOf, parseMountInfo, type MountEntry } from '../../firmware/core/mountinfo';

export type TargetKind = 'directory' | 'image' | 'device';

export interface PathInfo {
  kind: 'directory' | 'file' | 'block' | 'other' | 'missing';
  /** For block devices: the device number "major:minor". */
  rdev?: string;
}

export interface SystemView {
  mounts: readonly MountEntry[];
  realpath(p: string): string;
  stat(p: string): PathInfo;
  /** Every "major:minor" on the same physical disk as this block device (the disk and all its partitions). */
  sameDisk(majorMinor: string): string[];
  /** "major:minor" of active swap devices. */
  swaps: readonly string[];
  /** Loop devices ("major:minor") whose backing file is this file (real path). */
  loopsOf(file: string): string[];
  /** The real path of a loop device's backing file (undefined if not a loop device). */
  loopBacking(majorMinor: string): string | undefined;
}

export interface Assessment {
  kind?: TargetKind;
  /** The resolved path. */
  path: string;
  /** Hard errors: the target cannot be used at all. */
  errors: string[];
  /** Safety refusals: the target looks like this machine's own system (--force overrides). */
  refusals: string[];
}

/** Splits a Linux dev_t into "major:minor" (glibc's gnu_dev_major/minor encoding). */
export function devString(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

export function assessTarget(target: string, sys: SystemView): Assessment {
  const errors: string[] = [];
  const refusals: string[] = [];
  const info = sys.stat(target);
  if (info.kind === 'missing') return { path: target, errors: [`${target} does not exist`], refusals };
  const path = sys.realpath(target);
  const root = mountOf('/', sys.mounts);
  if (info.kind === 'directory') {
    const m = mountOf(path, sys.mounts);
    if (path === '/') refusals.push('/ is the root of the running system');
    else if (!m || m.mountPoint !== path) {
      refusals.push(`${path} is not a mount point (is the SD card mounted there?): writing would go into the filesystem of ${m?.mountPoint ?? '/'}`);
    } else if (root && m.device === root.device) {
      refusals.push(`${path} is on the running system's root filesystem (${root.source}, device ${root.device})`);
    }
    if (m && (m.options.includes('ro') || m.superOptions.includes('ro'))) errors.push(`${path} is mounted read-only`);
    return { kind: 'directory', path, errors, refusals };
  }
  if (info.kind === 'file') {
    // An image that is mounted right now (through any loop device) would be corrupted.
    const loops = new Set(sys.loopsOf(path));
    for (const m of sys.mounts) if (loops.has(m.device)) refusals.push(`${path} is attached to a loop device that backs the mounted filesystem ${m.mountPoint}`);
    return { kind: 'image', path, errors, refusals };
  }
  if (info.kind === 'block' && info.rdev) {
    const disk = new Set(sys.sameDisk(info.rdev));
    disk.add(info.rdev);
    // A loop device: every other loop device on the same backing file is the same disk.
    const backing = sys.loopBacking(info.rdev);
    if (backing) for (const l of sys.loopsOf(backing)) disk.add(l);
    for (const m of sys.mounts) {
      if (disk.has(m.device)) refusals.push(`${path} (or another partition of its disk) backs the mounted filesystem ${m.mountPoint} (${m.source})`);
    }
    for (const s of sys.swaps) if (disk.has(s)) refusals.push(`${path} (or another partition of its disk) is in use as swap`);
    return { kind: 'device', path, errors, refusals: [...new Set(refusals)] };
  }
  return { path, errors: [`${path} is neither a directory, an image file nor a block device`], refusals };
}

/** The real system: /proc/self/mountinfo, /proc/swaps, /sys/dev/block. */
export function liveSystemView(): SystemView {
  const swaps = (() => {
    try {
      return readFileSync('/proc/swaps', 'utf8')
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/)[0])
        .filter((p): p is string => !!p)
        .flatMap((p) => {
          try {
            const st = statSync(p);
            return st.isBlockDevice() ? [devString(st.rdev)] : [];
          } catch {
            return [];
          }
        });
    } catch {
      return [];
    }
  })();
  return {
    mounts: parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')),
    realpath: (p) => realpathSync(p),
    stat: (p) => {
      try {
        lstatSync(p);
        const st = statSync(p);
        if (st.isDirectory()) return { kind: 'directory' };
        if (st.isFile()) return { kind: 'file' };
        if (st.isBlockDevice()) return { kind: 'block', rdev: devString(st.rdev) };
        return { kind: 'other' };
      } catch {
        return { kind: 'missing' };
      }
    },
    sameDisk: (mm) => {
      try {
        let dir = realpathSync(`/sys/dev/block/${mm}`);
        if (readdirSync(dir).includes('partition')) dir = dirname(dir);
        const out = [readFileSync(join(dir, 'dev'), 'utf8').trim()];
        for (const e of readdirSync(dir)) {
          if (e.startsWith(basename(dir)) && readdirSync(join(dir, e)).includes('partition')) out.push(readFileSync(join(dir, e, 'dev'), 'utf8').trim());
        }
        return out;
      } catch {
        return [mm];
      }
    },
    swaps,
    loopsOf: (file) => loopDevices().filter((l) => l.backing === file).map((l) => l.dev),
    loopBacking: (mm) => loopDevices().find((l) => l.dev === mm)?.backing,
  };
}

/** Attached loop devices and their backing files (from sysfs). */
function loopDevices(): { dev: string; backing: string }[] {
  const out: { dev: string; backing: string }[] = [];
  let names: string[] = [];
  try {
    names = readdirSync('/sys/block').filter((n) => n.startsWith('loop'));
  } catch {
    return out;
  }
  for (const n of names) {
    try {
      const raw = readFileSync(`/sys/block/${n}/loop/backing_file`, 'utf8').trim().replace(/ \(deleted\)$/, '');
      let backing = raw;
      try {
        backing = realpathSync(raw);
      } catch {
        /* deleted file */
      }
      out.push({ dev: readFileSync(`/sys/block/${n}/dev`, 'utf8').trim(), backing });
    } catch {
      /* not attached */
    }
  }
  return out;
}
