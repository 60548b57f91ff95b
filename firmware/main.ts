// ringbeat's single entry point: every subcommand, the daemon and the hidden
// heartbeat path process (`__comm`) live in this one program/binary.

import { join } from 'node:path';
import { parseArgs, USAGE, UsageError, type CommonOptions } from './cli/args';
import { cmdHwtest } from './cli/cmd-hwtest';
import { loadConfig } from './config/load';
import { printConfig } from './config/config-print';
import { formatDiagnostic, type ClusterConfig } from './config/config-data';
import { controlRequest, socketPath } from './daemon/control';
import { Daemon } from './daemon/daemon';
import type { StatusReport } from './daemon/status-data';
import { printStatus } from './daemon/status-print';
import { VERSION } from './version';

type Out = (s: string) => void;
const out: Out = (s) => void process.stdout.write(s);
const err: Out = (s) => void process.stderr.write(s);

/** Loads the configuration or prints every diagnostic and returns undefined. */
function load(o: CommonOptions, quietWarnings = false): ClusterConfig | undefined {
  const r = loadConfig(o.configDir);
  if (!quietWarnings) for (const w of r.warnings) err(`${formatDiagnostic(w)}\n`);
  if (!r.ok) {
    for (const e of r.errors) err(`${formatDiagnostic(e)}\n`);
    err(`ringbeat: configuration in ${o.configDir} has ${r.errors.length} error(s)\n`);
    return undefined;
  }
  return r.config;
}

function stateDirOf(o: CommonOptions, c: ClusterConfig): string {
  return o.stateDir ?? join('/var/lib/ringbeat', c.localNode);
}

async function cmdRun(o: CommonOptions): Promise<number> {
  const config = load(o);
  if (!config) return 1;
  const daemon = new Daemon({ config, stateDir: stateDirOf(o, config), runDir: o.runDir, version: VERSION });
  const onSignal = (): void => void daemon.stop();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // The control socket and the heartbeat path must not leak an EPIPE crash.
  process.on('SIGPIPE', () => undefined);
  try {
    await daemon.start();
  } catch (e) {
    err(`ringbeat: cannot start: ${(e as Error).message}\n`);
    await daemon.stop();
    return 1;
  }
  return daemon.finished;
}

function cmdCheck(o: CommonOptions): number {
  const config = load(o);
  if (!config) return 1;
  if (o.print) out(printConfig(config));
  else out(`${o.configDir}: configuration OK (node ${config.localNode}, ${config.nodes.length} nodes, ${config.media.length} media)\n`);
  return 0;
}

async function cmdStatus(o: CommonOptions): Promise<number> {
  const config = load(o, true);
  if (!config) return 1;
  const status = (await controlRequest(socketPath(o.runDir, config.localNode), { cmd: 'status' })) as StatusReport;
  out(o.json ? `${JSON.stringify(status)}\n` : printStatus(status));
  return 0;
}

/** `ringbeat standby|takeover [all|local|foreign(|failback)]`: the R1 standby protocol. */
async function cmdMove(o: CommonOptions, cmd: 'standby' | 'takeover'): Promise<number> {
  const config = load(o, true);
  if (!config) return 1;
  const what = o.rest[0] ?? 'all';
  const r = (await controlRequest(socketPath(o.runDir, config.localNode), { cmd, what })) as { message: string };
  out(`${r.message}\n`);
  return 0;
}

/** Hidden test hook: stall the daemon's main loop (see Daemon.onControl). */
async function cmdDebugStall(o: CommonOptions): Promise<number> {
  const config = load(o, true);
  if (!config) return 1;
  const ms = Number(o.rest[0]);
  out(`${JSON.stringify(await controlRequest(socketPath(o.runDir, config.localNode), { cmd: 'stall', ms }))}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '__comm') {
    // Loaded only here: the heartbeat path pulls in serialport and its native
    // addon, which no other command needs (version/check must run anywhere).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('./comm/comm-process') as typeof import('./comm/comm-process')).runCommProcess();
    return new Promise<number>(() => undefined); // lives until told to stop
  }
  let o: CommonOptions;
  try {
    o = parseArgs(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`ringbeat: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (o.help || cmd === 'help' || cmd === undefined) {
    (cmd === undefined ? err : out)(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  try {
    switch (cmd) {
      case 'run':
        return await cmdRun(o);
      case 'check':
        return cmdCheck(o);
      case 'status':
        return await cmdStatus(o);
      case 'standby':
      case 'takeover':
        return await cmdMove(o, cmd);
      case 'hwtest':
        return await cmdHwtest(o, out, err);
      case 'version':
        out(`ringbeat ${VERSION}\n`);
        return 0;
      case '__debug-stall':
        return await cmdDebugStall(o);
      default:
        err(`ringbeat: unknown command '${cmd}'\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    err(`ringbeat ${cmd}: ${(e as Error).message}\n`);
    return 1;
  }
}
