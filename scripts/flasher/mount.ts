// Getting a mounted root filesystem out of an image file or an SD-card block
// device: read its partition table, pick the Linux partition, loop-attach it
// by offset, mount it on a private temporary directory. Every step registers
// its undo; Undo.run() runs them in reverse order.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LINUX_FS = new Set(['ext2', 'ext3', 'ext4', 'btrfs', 'xfs', 'f2fs']);

export class Undo {
  private readonly steps: [string, () => void][] = [];

  push(what: string, f: () => void): void {
    this.steps.push([what, f]);
  }

  /** Runs every undo step (last first); returns the failures. */
  run(): string[] {
    const failed: string[] = [];
    while (this.steps.length) {
      const [what, f] = this.steps.pop()!;
      try {
        f();
      } catch (e) {
        failed.push(`${what}: ${(e as Error).message}`);
      }
    }
    return failed;
  }
}

function cmd(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; code?: string; message: string };
    if (err.code === 'ENOENT') throw new Error(`${argv[0]} is missing: apt-get install -y ${argv[0] === 'sfdisk' ? 'fdisk' : argv[0] === 'mount' ? 'mount' : 'util-linux'}`);
    throw new Error(`${argv.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
  }
}

/** Filesystem type of a block device ('' if none). */
export function fsType(dev: string): string {
  try {
    return cmd(['blkid', '-o', 'value', '-s', 'TYPE', dev]).trim();
  } catch {
    return '';
  }
}

export interface Partition {
  /** 1-based, as in the device name (sdb1, mmcblk0p2). */
  number: number;
  /** Byte offset and length in the image or device. */
  offset: number;
  size: number;
  type: string;
}

/** MBR type 83 and the GPT "Linux filesystem" / "Linux root (x86-64, arm64)" type GUIDs. */
const LINUX_TYPES = new Set(['83', '0FC63DAF-8483-4772-8E79-3D69D8477DE4', '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE']);

/** The partition table of an image file or a disk, read in user space (sfdisk); [] if it has none. */
export function partitionTable(path: string): Partition[] {
  let text: string;
  try {
    text = cmd(['sfdisk', '--json', path]);
  } catch (e) {
    if (/missing/.test((e as Error).message)) throw new Error('sfdisk is missing: apt-get install -y fdisk');
    return []; // no partition table: a bare filesystem image
  }
  const t = (JSON.parse(text) as { partitiontable: { sectorsize?: number; partitions?: { node: string; start: number; size: number; type: string }[] } }).partitiontable;
  const ss = t.sectorsize ?? 512;
  return (t.partitions ?? []).map((p) => ({
    number: Number(/(\d+)$/.exec(p.node)?.[1] ?? 0),
    offset: p.start * ss,
    size: p.size * ss,
    type: p.type.toUpperCase(),
  }));
}

/**
 * The partition to write: `explicit` (1-based), else the only partition of a
 * Linux type, else the whole image/device when it has no partition table.
 */
export function choosePartition(table: readonly Partition[], what: string, explicit?: number): Partition | undefined {
  if (explicit !== undefined) {
    const p = table.find((x) => x.number === explicit);
    if (!p) throw new Error(`${what} has no partition ${explicit} (partitions: ${table.map((x) => x.number).join(', ') || 'none'})`);
    return p;
  }
  if (table.length === 0) return undefined;
  const linux = table.filter((p) => LINUX_TYPES.has(p.type));
  if (linux.length === 1) return linux[0];
  throw new Error(
    `${what}: ${linux.length ? 'several' : 'no'} Linux partitions (${table.map((p) => `${p.number}: type ${p.type}`).join(', ')}): pass --partition N`,
  );
}

/**
 * Attaches the partition (or the whole file/device) to a loop device by byte
 * offset. Not `losetup --partscan`: that needs the kernel's partition table
 * parsers (absent in some kernels, e.g. this CI VM's) and device nodes from
 * udev; an offset works everywhere.
 */
export function attachPartition(path: string, part: Partition | undefined, undo: Undo): string {
  const range = part ? ['--offset', String(part.offset), '--sizelimit', String(part.size)] : [];
  const dev = cmd(['losetup', '--find', '--show', ...range, path]).trim();
  undo.push(`detach ${dev}`, () => cmd(['losetup', '--detach', dev]));
  const type = fsType(dev);
  if (!LINUX_FS.has(type)) throw new Error(`${path}${part ? ` partition ${part.number}` : ''} holds ${type ? `a ${type} filesystem` : 'no filesystem'}, not a Linux root filesystem (${[...LINUX_FS].join('/')})`);
  return dev;
}

/** Mounts a block device on a new temporary directory; returns the directory. */
export function mountOnTemp(dev: string, undo: Undo): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringbeat-flash-'));
  undo.push(`remove ${dir}`, () => rmdirSync(dir));
  cmd(['mount', dev, dir]);
  undo.push(`unmount ${dir}`, () => cmd(['umount', dir]));
  return dir;
}
