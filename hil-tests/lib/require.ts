// Prerequisite checks for HIL tests. They THROW (so the test fails, never
// silently skips) with a message that names the Debian package to install.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { SYSTEM_PATH } from './procs';

export const HEARTBEAT_BIN = '/usr/libexec/heartbeat/heartbeat';
export const CL_STATUS_BIN = '/usr/bin/cl_status';

/** Command (name or absolute path) -> Debian package that provides it. */
export const PACKAGE_OF: Readonly<Record<string, string>> = {
  [HEARTBEAT_BIN]: 'heartbeat',
  heartbeat: 'heartbeat',
  cl_status: 'heartbeat',
  [CL_STATUS_BIN]: 'heartbeat',
  '/usr/share/heartbeat/hb_standby': 'heartbeat',
  '/usr/share/heartbeat/hb_takeover': 'heartbeat',
  '/usr/share/heartbeat/ResourceManager': 'heartbeat',
  '/usr/lib/ocf/resource.d/heartbeat/IPaddr2': 'resource-agents',
  socat: 'socat',
  ip: 'iproute2',
  bridge: 'iproute2',
  tc: 'iproute2',
  arping: 'iputils-arping',
  ping: 'iputils-ping',
  tcpdump: 'tcpdump',
  nft: 'nftables',
  nsenter: 'util-linux',
  unshare: 'util-linux',
  setpriv: 'util-linux',
  mount: 'mount',
  bash: 'bash',
  sh: 'dash',
  cp: 'coreutils',
  timeout: 'coreutils',
  head: 'coreutils',
  ps: 'procps',
  sysctl: 'procps',
  python3: 'python3',
};

/** The commands the lab library itself needs (netns + serial + process control). */
export const LAB_COMMANDS: readonly string[] = ['ip', 'socat', 'nsenter', 'unshare', 'setpriv', 'bash', 'sh', 'cp', 'mount', 'timeout'];

/** Everything needed to run real Heartbeat 3.0.6 nodes. */
export const HEARTBEAT_COMMANDS: readonly string[] = [...LAB_COMMANDS, HEARTBEAT_BIN, CL_STATUS_BIN];

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Absolute path of a command (searched in PATH plus the standard sbin/bin dirs), or undefined. */
export function findCommand(cmd: string): string | undefined {
  if (cmd.includes('/')) return isExecutable(cmd) ? cmd : undefined;
  const dirs = [...(process.env.PATH ?? '').split(':'), ...SYSTEM_PATH.split(':')].filter(Boolean);
  for (const d of new Set(dirs)) {
    const p = path.join(d, cmd);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

export class PrerequisiteError extends Error {
  override name = 'PrerequisiteError';
}

/** Throws unless running as root (namespaces, mounts, ptys for other users). */
export function requireRoot(purpose = 'HIL tests'): void {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  if (uid !== 0) {
    throw new PrerequisiteError(
      `${purpose} need root (network/mount/PID namespaces, bind mounts): uid is ${uid}; ` +
        `run as root, e.g. sudo -E npm run test:hil`,
    );
  }
}

/**
 * Throws if any of the commands is missing, naming each missing command and
 * its Debian package, e.g.
 * "heartbeat tests need /usr/libexec/heartbeat/heartbeat: apt-get install heartbeat".
 */
export function requireCommands(cmds: readonly string[], purpose = 'HIL tests'): void {
  const missing = cmds.filter((c) => findCommand(c) === undefined);
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((c) => PACKAGE_OF[c] ?? PACKAGE_OF[path.basename(c)] ?? '?'))];
  const lines = missing.map((c) => {
    const pkg = PACKAGE_OF[c] ?? PACKAGE_OF[path.basename(c)];
    return `${purpose} need ${c}: ${pkg ? `apt-get install ${pkg}` : 'not found in PATH (unknown package)'}`;
  });
  const known = pkgs.filter((p) => p !== '?');
  if (missing.length > 1 && known.length > 0) lines.push(`(all at once: apt-get install -y ${known.join(' ')})`);
  throw new PrerequisiteError(lines.join('\n'));
}

/** A file (not a command) that must exist, e.g. the stock /etc/ha.d. */
export function requirePath(p: string, pkg: string, purpose = 'HIL tests'): void {
  if (!fs.existsSync(p)) throw new PrerequisiteError(`${purpose} need ${p}: apt-get install ${pkg}`);
}

/** Root + namespaces/serial tooling. */
export function requireLab(): void {
  requireRoot();
  requireCommands(LAB_COMMANDS, 'HIL lab tests');
}

/** Root + tooling + the Debian heartbeat package (binary, cl_status, stock /etc/ha.d, users). */
export function requireHeartbeat(): void {
  requireRoot('heartbeat tests');
  requireCommands(HEARTBEAT_COMMANDS, 'heartbeat tests');
  requirePath('/etc/ha.d/shellfuncs', 'heartbeat', 'heartbeat tests');
  requirePath('/var/lib/heartbeat', 'heartbeat', 'heartbeat tests');
  const passwd = fs.readFileSync('/etc/passwd', 'utf8');
  const group = fs.readFileSync('/etc/group', 'utf8');
  if (!/^hacluster:/m.test(passwd) || !/^haclient:/m.test(group)) {
    throw new PrerequisiteError(
      'heartbeat tests need the hacluster user and haclient group: apt-get install --reinstall heartbeat',
    );
  }
}
