// The environment Heartbeat 3.0.6 gives resource scripts, so existing
// resource.d / init.d scripts (and the OCF wrappers they source through
// $HA_FUNCS -> ocf-shellfuncs) behave as under Heartbeat.
//
// heartbeat.c sets HA_DIR, HA_DATEFMT, HA_FUNCS; config.c HA_CURHOST,
// HA_LOGFACILITY; main() HA_LOGFILE, HA_DEBUGLOG; hb_resource.c
// HA_NICEFAILBACK and HA_DEBUG. ResourceManager/ocf-directories then default
// HA_RCDIR, HA_RESOURCEDIR, HA_RSCTMP etc. from HA_DIR; we set them
// explicitly so scripts that do not source shellfuncs see them too.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AutoFailback, LogConfig } from '../config/config-data';

export interface ScriptEnvOptions {
  /** ringbeat's configuration directory (Heartbeat: /etc/ha.d). */
  configDir: string;
  /** This node's name (HA_CURHOST). */
  localNode: string;
  log?: Partial<LogConfig>;
  autoFailback?: AutoFailback;
  /** Scratch dir for scripts' state files (default /run/resource-agents, as resource-agents uses). */
  rscTmpDir?: string;
  /** Base environment (default process.env). */
  base?: NodeJS.ProcessEnv;
  exists?: (p: string) => boolean;
}

/** Standard PATH dirs appended when missing (daemons under systemd may have a short PATH). */
const SYSTEM_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export const DEFAULT_RSCTMP = '/run/resource-agents';

/** Heartbeat's compiled-in HA_DATEFMT. */
export const HA_DATEFMT = '%Y/%m/%d_%T ';

export function heartbeatScriptEnv(o: ScriptEnvOptions): NodeJS.ProcessEnv {
  const exists = o.exists ?? existsSync;
  const env: NodeJS.ProcessEnv = { ...(o.base ?? process.env) };
  // Our own runtime knobs mean nothing to a shell script.
  for (const k of Object.keys(env)) if (k.startsWith('NODE_') || k === 'RINGBEAT_ANNOUNCE') delete env[k];
  // ResourceManager unsets these ("make ifconfig work in France").
  delete env.LC_ALL;
  delete env.LANGUAGE;

  // HA_FUNCS must name a real shellfuncs: most resource.d scripts source it.
  // A private config dir (lab, tests) usually has none; use the system one.
  const ownFuncs = join(o.configDir, 'shellfuncs');
  const funcs = exists(ownFuncs) ? ownFuncs : exists('/etc/ha.d/shellfuncs') ? '/etc/ha.d/shellfuncs' : undefined;

  Object.assign(env, {
    HA_DIR: o.configDir,
    HA_CF: join(o.configDir, 'ha.cf'),
    HA_RCDIR: join(o.configDir, 'rc.d'),
    HA_RESOURCEDIR: join(o.configDir, 'resource.d'),
    HA_CURHOST: o.localNode,
    HA_DATEFMT,
    HA_RSCTMP: o.rscTmpDir ?? DEFAULT_RSCTMP,
    HA_LOGFACILITY: o.log?.facility ?? 'none',
    HA_LOGD: 'no',
    HA_NICEFAILBACK: o.autoFailback === undefined || o.autoFailback === 'legacy' ? 'no' : 'yes',
  });
  if (funcs) env.HA_FUNCS = funcs;
  if (o.log?.logfile) env.HA_LOGFILE = o.log.logfile;
  if (o.log?.debugfile) env.HA_DEBUGLOG = o.log.debugfile;
  if (o.log?.debugLevel) env.HA_DEBUG = String(o.log.debugLevel);

  const have = (env.PATH ?? '').split(':').filter(Boolean);
  env.PATH = [...have, ...SYSTEM_PATH.filter((p) => !have.includes(p))].join(':');
  return env;
}
