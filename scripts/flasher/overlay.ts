// The rootfs overlay tarball: its manifest, extraction onto a root directory
// (with a progress bar over the compressed bytes read) and the verification
// pass (every file's sha256, mode and root ownership against the manifest).

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ProgressBar } from './progress';

export const MANIFEST = 'usr/share/ringbeat/rootfs.sha256';

export interface ManifestEntry {
  sha256: string;
  mode: number;
  path: string;
}

export function parseManifest(text: string): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    const m = /^([0-9a-f]{64}) {2}([0-7]{4}) {2}(\S.*)$/.exec(line);
    if (!m || m[3]!.startsWith('/') || m[3]!.split('/').includes('..')) throw new Error(`manifest line ${i + 1} is malformed: ${line}`);
    out.push({ sha256: m[1]!, mode: parseInt(m[2]!, 8), path: m[3]! });
  }
  if (out.length === 0) throw new Error('the manifest lists no files');
  return out;
}

function tarArgsFor(file: string): string[] {
  return file.endsWith('.xz') ? ['-J'] : file.endsWith('.gz') ? ['-z'] : [];
}

/** The manifest inside the tarball (read before anything is written). */
export function readTarballManifest(tarball: string): Promise<ManifestEntry[]> {
  return new Promise((resolve, reject) => {
    const p = spawn('tar', [...tarArgsFor(tarball), '-xOf', tarball, MANIFEST], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${tarball} has no ${MANIFEST} (is it a ringbeat rootfs overlay?): ${err.trim()}`));
      try {
        resolve(parseManifest(out));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/**
 * Extracts the overlay onto `rootDir` as root: numeric owners, modes as
 * archived; existing directories keep their metadata and symlinks to
 * directories (a usr-merged /lib) are followed, never replaced.
 */
export function extractOverlay(tarball: string, rootDir: string, bar: ProgressBar): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn(
      'tar',
      [...tarArgsFor(tarball), '-xf', '-', '-C', rootDir, '--numeric-owner', '--same-owner', '--same-permissions', '--no-overwrite-dir', '--keep-directory-symlink'],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let err = '';
    tar.stderr.on('data', (d) => (err += d));
    const input = createReadStream(tarball);
    input.on('data', (d) => bar.add(d.length));
    input.on('error', (e) => {
      tar.kill();
      reject(e);
    });
    input.pipe(tar.stdin);
    tar.on('error', reject);
    tar.on('close', (code) => {
      if (code !== 0) return reject(new Error(`tar could not extract ${tarball} onto ${rootDir}: ${err.trim()}`));
      bar.finish();
      resolve();
    });
  });
}

function sha256Of(file: string, bar: ProgressBar): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => {
        h.update(d);
        bar.add(d.length);
      })
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Checks every manifest entry under rootDir; returns the problems (empty = verified). */
export async function verifyTree(rootDir: string, entries: readonly ManifestEntry[], bar: ProgressBar): Promise<string[]> {
  const problems: string[] = [];
  for (const e of entries) {
    const file = join(rootDir, e.path);
    let st;
    try {
      st = lstatSync(file);
    } catch {
      problems.push(`/${e.path}: missing`);
      continue;
    }
    if (!st.isFile()) {
      problems.push(`/${e.path}: not a regular file`);
      continue;
    }
    const got = await sha256Of(file, bar);
    if (got !== e.sha256) problems.push(`/${e.path}: content differs (sha256 ${got.slice(0, 12)}…, expected ${e.sha256.slice(0, 12)}…)`);
    const mode = statSync(file).mode & 0o7777;
    if (mode !== e.mode) problems.push(`/${e.path}: mode ${mode.toString(8).padStart(4, '0')}, expected ${e.mode.toString(8).padStart(4, '0')}`);
    if (st.uid !== 0 || st.gid !== 0) problems.push(`/${e.path}: owned by ${st.uid}:${st.gid}, expected 0:0`);
  }
  bar.finish();
  return problems;
}

/** Total bytes the verification pass will read (for its progress bar). */
export function manifestBytes(rootDir: string, entries: readonly ManifestEntry[]): number {
  let n = 0;
  for (const e of entries) {
    try {
      n += statSync(join(rootDir, e.path)).size;
    } catch {
      /* reported by verifyTree */
    }
  }
  return n;
}
