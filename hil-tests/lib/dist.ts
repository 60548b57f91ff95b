// The build output the image tests exercise: the single executables, the
// packages and BUILDINFO.json in dist/, plus small helpers to run an
// executable the way a board does (alone in a directory, so its embedded
// addons are used) and to write a node's configuration.
//
// Missing artefacts FAIL with the command that makes them.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { findCommand, PrerequisiteError } from './require';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DIST = path.join(ROOT, 'dist');
export type Arch = 'x64' | 'arm64';

export interface TargetInfo {
  executable: string;
  bytes: number;
  sha256: string;
  glibc: string;
  glibcxx: string;
  /** sha256 of the bundle it was made from (equal to BuildInfo.bundle.sha256 unless it is left from an earlier build). */
  bundleSha256: string;
  deb?: string;
  rootfs?: string;
  addons: Record<string, { glibc: string }>;
}

export interface BuildInfo {
  version: string;
  node: string;
  glibcFloor: string;
  glibcFloorLimit: string;
  bundle: { sha256: string };
  targets: Partial<Record<Arch, TargetInfo>>;
}

export function buildInfo(): BuildInfo {
  const f = path.join(DIST, 'BUILDINFO.json');
  if (!fs.existsSync(f)) throw new PrerequisiteError(`${f} is missing: run npm run build:all`);
  return JSON.parse(fs.readFileSync(f, 'utf8')) as BuildInfo;
}

export function distExecutable(arch: Arch): string {
  const f = path.join(DIST, `ringbeat-${arch}`);
  if (!fs.existsSync(f)) throw new PrerequisiteError(`${f} is missing: run npm run build:all (npm test builds it)`);
  return f;
}

export function distPackage(kind: 'deb' | 'rootfs', arch: Arch): string {
  const t = buildInfo().targets[arch];
  const name = kind === 'deb' ? t?.deb : t?.rootfs;
  if (!name || !fs.existsSync(path.join(DIST, name))) throw new PrerequisiteError(`the ${arch} ${kind} package is not in dist/: run npm run build:all`);
  return path.join(DIST, name);
}

/**
 * The executable alone in <dir>/bin/ (a hard link, or a copy across
 * filesystems): no native/ folder beside it, so it must use its embedded
 * addons, exactly like a bare binary copied onto a board.
 */
export function loneExecutable(arch: Arch, dir: string): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true, mode: 0o755 });
  const dest = path.join(bin, 'ringbeat');
  try {
    fs.linkSync(distExecutable(arch), dest);
  } catch {
    fs.copyFileSync(distExecutable(arch), dest);
    fs.chmodSync(dest, 0o755);
  }
  return dest;
}

/** Throws naming the Debian packages of missing commands. */
export function requireTools(tools: Readonly<Record<string, string>>, purpose: string): void {
  const missing = Object.entries(tools).filter(([cmd]) => findCommand(cmd) === undefined);
  if (missing.length) {
    throw new PrerequisiteError(`${purpose} need ${missing.map(([c]) => c).join(', ')}: apt-get install -y ${[...new Set(missing.map(([, p]) => p))].join(' ')}`);
  }
}

export interface NodeConfig {
  name: string;
  nodes: readonly string[];
  media: readonly string[];
  keepalive?: string;
  deadtime?: string;
  warntime?: string;
  initdead?: string;
}

/** A node's ha.cf / authkeys (0600) / nodeinfo in <dir>; returns the config dir. */
export function writeNodeConfig(dir: string, c: NodeConfig): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const lines = [
    `logfile ${path.join(dir, 'ha-log')}`,
    `keepalive ${c.keepalive ?? '200ms'}`,
    `deadtime ${c.deadtime ?? '2'}`,
    ...(c.warntime ? [`warntime ${c.warntime}`] : []),
    `initdead ${c.initdead ?? '10'}`,
    ...c.media,
    `node ${c.nodes.join(' ')}`,
    'auto_failback off',
  ];
  fs.writeFileSync(path.join(dir, 'ha.cf'), `${lines.join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'authkeys'), 'auth 1\n1 sha1 ringbeat-image-test\n', { mode: 0o600 });
  fs.chmodSync(path.join(dir, 'authkeys'), 0o600);
  fs.writeFileSync(path.join(dir, 'nodeinfo'), `${c.name}\n`);
  return dir;
}
