// Where the gratuitous ARP / unsolicited NA sender lives.
//
// Search order for the native tool (firmware/native/announce.c):
//   1. $RINGBEAT_ANNOUNCE
//   2. <dir of the program>/native/ringbeat-announce   (the bundle: dist/native/)
//   3. <dir of this code>/native/ringbeat-announce      (also dist/ when bundled)
//   4. <repo>/dist/native/ringbeat-announce            (`node scripts/build-announce.mjs`)
// Without it, Debian's tools do the job (and the log says so): iputils
// `arping` (-U request, -A reply) for IPv4, resource-agents' `send_ua` for
// IPv6 (which cannot set the Router flag).

import { accessSync, constants, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const ANNOUNCE_TOOL_NAME = 'ringbeat-announce';
export const SEND_UA_PATH = '/usr/libexec/heartbeat/send_ua';
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export interface AnnounceTool {
  /** The native tool, if found. */
  native?: string;
  /** iputils arping (IPv4 fallback). */
  arping?: string;
  /** resource-agents send_ua (IPv6 fallback). */
  sendUa?: string;
  /** Where the native tool was looked for (for messages). */
  searched: string[];
}

export interface LocateOptions {
  env?: NodeJS.ProcessEnv;
  /** The running program's script (process.argv[1]) or executable (SEA). */
  programPath?: string;
  /** Repository root (for the build output); default: two levels above this file. */
  repoRoot?: string;
  isExecutable?: (path: string) => boolean;
}

export function isExecutableFile(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The candidate paths of the native tool, in search order. */
export function announceToolCandidates(opts: LocateOptions = {}): string[] {
  const env = opts.env ?? process.env;
  const out: string[] = [];
  if (env.RINGBEAT_ANNOUNCE) out.push(resolve(env.RINGBEAT_ANNOUNCE));
  // A single executable has no script path: then the executable's directory counts.
  const program = opts.programPath ?? process.argv[1] ?? process.execPath;
  out.push(join(dirname(resolve(program)), 'native', ANNOUNCE_TOOL_NAME));
  // Installed from the .deb / rootfs overlay: /usr/sbin/ringbeat + /usr/lib/ringbeat/native/.
  out.push(join(dirname(resolve(program)), '..', 'lib', 'ringbeat', 'native', ANNOUNCE_TOOL_NAME));
  // Bundled (dist/ringbeat.cjs): this code's own directory is dist/.
  if (typeof __dirname === 'string') out.push(join(__dirname, 'native', ANNOUNCE_TOOL_NAME));
  const root = opts.repoRoot ?? (typeof __dirname === 'string' ? resolve(__dirname, '..', '..') : process.cwd());
  out.push(join(root, 'dist', 'native', ANNOUNCE_TOOL_NAME));
  return [...new Set(out)];
}

/** Finds a command in PATH plus the standard sbin/bin directories. */
export function findInPath(cmd: string, env: NodeJS.ProcessEnv = process.env, isExec = isExecutableFile): string | undefined {
  const dirs = [...(env.PATH ?? '').split(':'), ...SYSTEM_DIRS].filter(Boolean);
  for (const d of new Set(dirs)) {
    const p = join(d, cmd);
    if (isExec(p)) return p;
  }
  return undefined;
}

export function locateAnnounceTool(opts: LocateOptions = {}): AnnounceTool {
  const isExec = opts.isExecutable ?? isExecutableFile;
  const env = opts.env ?? process.env;
  const searched = announceToolCandidates(opts);
  // $RINGBEAT_ANNOUNCE, when set, is the only native candidate that counts:
  // pointing it at a missing file must not silently pick another build.
  const candidates = env.RINGBEAT_ANNOUNCE ? searched.slice(0, 1) : searched;
  return {
    native: candidates.find(isExec),
    arping: findInPath('arping', env, isExec),
    sendUa: isExec(SEND_UA_PATH) ? SEND_UA_PATH : undefined,
    searched: candidates,
  };
}
