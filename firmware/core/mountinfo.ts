// Which mount a path lives on, and with which flags, from /proc/self/mountinfo.
// Used to refuse a noexec or read-only directory BEFORE writing executable
// code into it (Node has no statvfs; the kernel's own table is the truth and
// reflects the caller's mount namespace).

import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';

export interface MountEntry {
  mountId: number;
  parentId: number;
  /** st_dev of the filesystem, "major:minor" (e.g. "254:0"; 0:N for virtual ones). */
  device: string;
  /** Where it is mounted (escapes like \040 decoded). */
  mountPoint: string;
  /** Per-mount options: rw/ro, noexec, nosuid, nodev, relatime, ... */
  options: readonly string[];
  fsType: string;
  source: string;
  /** Per-superblock options (a read-only superblock is `ro` here). */
  superOptions: readonly string[];
}

/** Decodes the octal escapes the kernel uses for blanks and backslashes in paths. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses the text of /proc/<pid>/mountinfo (see proc(5)); malformed lines are skipped. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 10 || sep < 0 || sep + 3 > f.length) continue;
    out.push({
      mountId: Number(f[0]),
      parentId: Number(f[1]),
      device: f[2]!,
      mountPoint: unescape(f[4]!),
      options: f[5]!.split(','),
      fsType: f[sep + 1]!,
      source: unescape(f[sep + 2]!),
      superOptions: (f[sep + 3] ?? '').split(','),
    });
  }
  return out;
}

function isUnder(path: string, mountPoint: string): boolean {
  if (mountPoint === '/') return path.startsWith('/');
  return path === mountPoint || path.startsWith(`${mountPoint}/`);
}

/**
 * The mount that holds an absolute, symlink-free path: the longest matching
 * mount point; of several mounts on the same point, the last one (it hides
 * the others).
 */
export function mountOf(path: string, mounts: readonly MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    if (!isUnder(path, m.mountPoint)) continue;
    if (!best || m.mountPoint.length >= best.mountPoint.length) best = m;
  }
  return best;
}

/** The real path of `path`, or of its nearest existing ancestor (for a directory still to be created). */
export function realPathOrAncestor(path: string): string {
  let p = path;
  for (;;) {
    try {
      return realpathSync(p);
    } catch {
      const up = dirname(p);
      if (up === p) return p;
      p = up;
    }
  }
}

export const isNoexec = (m: MountEntry): boolean => m.options.includes('noexec');
export const isReadOnly = (m: MountEntry): boolean => m.options.includes('ro') || m.superOptions.includes('ro');
