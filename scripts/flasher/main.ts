// scripts/flash (this file is its implementation): writes the ringbeat rootfs overlay onto a board's root
// filesystem, then verifies every file against the overlay's manifest.
//
//   scripts/flash [options] TARGET
//     TARGET                a mounted SD-card root directory, an image file
//                           (its Linux partition is loop-mounted), or an SD card
//                           block device (/dev/sdX, /dev/mmcblkN)
//     --overlay FILE        the rootfs tarball (default: the one in dist/, see --arch)
//     --arch x64|arm64      picks dist/ringbeat-<version>-<arch>-rootfs.tar.xz
//     --partition N         the partition of an image/device (default: the only Linux one)
//     --force               write even where it looks like this machine's own
//                           system (its /, its disk): you almost never want this
//
// Refused unless --force: the running system's /, a directory that is not a
// mount point (an SD card that is not mounted: the files would land on this
// machine), a directory on the running root filesystem, a block device
// whose disk backs a mounted filesystem or swap (this machine's disk, or a
// card still mounted by the desktop).
//
// After extraction it runs the package's postinst against the target
// (DPKG_ROOT), which creates /etc/ha.d/authkeys (mode 0600, random key) if
// the image has none. Exit 0: written and verified; 1: failure; 2: usage.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assessTarget, liveSystemView } from './target';
import { attachPartition, choosePartition, mountOnTemp, partitionTable, Undo } from './mount';
import { extractOverlay, manifestBytes, readTarballManifest, verifyTree } from './overlay';
import { ProgressBar } from './progress';

const ROOT = resolve(__dirname, '..', '..');

interface Options {
  target: string;
  overlay?: string;
  arch?: string;
  partition?: number;
  force: boolean;
}

class UsageError extends Error {}

const USAGE = `usage: scripts/flash [--overlay FILE | --arch x64|arm64] [--partition N] [--force] TARGET
  TARGET: a mounted SD-card root directory, an image file, or an SD-card block device
`;

function parse(argv: string[]): Options {
  const o: Partial<Options> & { force: boolean } = { force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (!v) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--overlay') o.overlay = val();
    else if (a === '--arch') o.arch = val();
    else if (a === '--partition') {
      o.partition = Number(val());
      if (!Number.isInteger(o.partition) || o.partition < 1) throw new UsageError('--partition takes a number from 1');
    } else if (a === '--force') o.force = true;
    else if (a === '-h' || a === '--help') throw new UsageError('');
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else if (o.target) throw new UsageError('only one TARGET');
    else o.target = a;
  }
  if (!o.target) throw new UsageError('TARGET is missing');
  return o as Options;
}

function defaultOverlay(arch?: string): string {
  const dist = join(ROOT, 'dist');
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  if (arch) return join(dist, `ringbeat-${version}-${arch}-rootfs.tar.xz`);
  const found = existsSync(dist) ? readdirSync(dist).filter((f) => /^ringbeat-.*-rootfs\.tar\.xz$/.test(f)) : [];
  if (found.length === 1) return join(dist, found[0]!);
  throw new UsageError(found.length ? `several overlays in dist/ (${found.join(', ')}): pass --arch or --overlay` : 'no overlay in dist/: run npm run build:all, or pass --overlay');
}

const log = (s: string): void => void process.stderr.write(`flash: ${s}\n`);

async function flash(o: Options): Promise<number> {
  const overlay = resolve(o.overlay ?? defaultOverlay(o.arch));
  if (!existsSync(overlay) || !statSync(overlay).isFile()) throw new Error(`overlay ${overlay} does not exist (npm run build:all makes it)`);
  const a = assessTarget(o.target, liveSystemView());
  // Safety refusals first: they are what an operator most needs to read.
  if (a.refusals.length) {
    if (!o.force) {
      log(`refusing to write to ${a.path}:\n  ${a.refusals.join('\n  ')}\n(pass --force only if you are sure this is the board's filesystem)`);
      return 1;
    }
    log(`--force: writing although ${a.refusals.join('; ')}`);
  }
  if (a.errors.length) throw new Error(a.errors.join('; '));
  if (process.getuid?.() !== 0) throw new Error('flashing needs root (file owners, loop devices, mounts)');
  // Read (and so check) the manifest before anything is written.
  const manifest = await readTarballManifest(overlay);
  const undo = new Undo();
  try {
    let rootDir = a.path;
    if (a.kind !== 'directory') {
      const part = choosePartition(partitionTable(a.path), a.path, o.partition);
      const dev = attachPartition(a.path, part, undo);
      rootDir = mountOnTemp(dev, undo);
      log(`${a.path}: writing to ${part ? `partition ${part.number}` : 'the whole image'} (${dev})`);
    }
    await extractOverlay(overlay, rootDir, new ProgressBar('write ', statSync(overlay).size));
    const postinst = join(rootDir, 'usr/share/ringbeat/maintscripts/postinst');
    const r = spawnSync('sh', [postinst, 'configure', ''], { env: { ...process.env, DPKG_ROOT: rootDir }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`postinst failed: ${r.stderr}${r.stdout}`);
    if (r.stdout.trim()) log(r.stdout.trim().replace(/\n/g, '\nflash: '));
    spawnSync('sync', ['-f', rootDir]);
    const problems = await verifyTree(rootDir, manifest, new ProgressBar('verify', manifestBytes(rootDir, manifest)));
    const auth = join(rootDir, 'etc/ha.d/authkeys');
    if (!existsSync(auth)) problems.push('/etc/ha.d/authkeys: missing');
    else if ((statSync(auth).mode & 0o777) !== 0o600) problems.push(`/etc/ha.d/authkeys: mode ${(statSync(auth).mode & 0o777).toString(8)}, expected 600`);
    if (problems.length) {
      log(`verification FAILED (${problems.length} problems):\n  ${problems.join('\n  ')}`);
      return 1;
    }
    log(`verified ${manifest.length} files on ${a.path}`);
    return 0;
  } finally {
    const failed = undo.run();
    if (failed.length) log(`cleanup problems:\n  ${failed.join('\n  ')}`);
  }
}

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof UsageError && e.message ? `flash: ${e.message}\n` : ''}${USAGE}`);
    process.exit(2);
  }
  try {
    process.exit(await flash(o));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`flash: ${e.message}\n${USAGE}`);
      process.exit(2);
    }
    log(`error: ${(e as Error).message}`);
    process.exit(1);
  }
}

void main();
