// A Heartbeat resource script (resource.d or init.d), run as ResourceManager
// runs it:
//
//   lookup   <configDir>/resource.d/<agent>, then /etc/init.d/<agent>
//            (the first that is a regular executable file)
//   call     <script> arg1 arg2 ... start|stop|status      (no shell)
//   start    skipped when status already says running (ResourceManager's
//            `we_own_resource || doscript start`); non-zero exit = failure
//   stop     non-zero exit = failure (the group runner retries)
//   status   Heartbeat ignores the exit code and reads stdout only:
//            "not ... running" -> stopped; "running" or "OK" -> running;
//            anything else -> stopped

import { statSync, accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import { ResourceError, type ResourceAgent, type ResourceOp, type ResourceState } from './agent';
import { describeExit, ok, outputTail, type CommandRunner } from './command-runner';
import type { ResourceSpec } from './haresources-parse';

export interface ScriptAgentOptions {
  /** Directories searched in order (default: <configDir>/resource.d, /etc/init.d). */
  searchPath: readonly string[];
  /** Complete environment of the scripts (see heartbeatScriptEnv()). */
  env: NodeJS.ProcessEnv;
  startTimeoutMs?: number; // default 60 s
  stopTimeoutMs?: number; // default 60 s
  statusTimeoutMs?: number; // default 10 s
  /** Ask status before start and skip start when running (Heartbeat does; default true). */
  statusBeforeStart?: boolean;
  /** Lines of output kept in error messages (default 8). */
  tailLines?: number;
}

export interface ScriptAgentDeps {
  runner: CommandRunner;
  clock: Clock;
  log: Logger;
  /** Test seam for the script lookup. */
  isExecutable?: (path: string) => boolean;
}

export function defaultSearchPath(configDir: string): string[] {
  return [join(configDir, 'resource.d'), '/etc/init.d'];
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Heartbeat's status rule (ResourceManager: we_own_resource), on the script's stdout. */
export function parseScriptStatus(stdout: string): ResourceState {
  // case `$spath $arg status` in *[Nn][Oo][Tt]\ *[Rr]unning*) 3;; *[Rr]unning*|*OK*) 0;; *) 3
  if (/[Nn][Oo][Tt] [^]*[Rr]unning/.test(stdout)) return 'stopped';
  if (/[Rr]unning|OK/.test(stdout)) return 'running';
  return 'stopped';
}

export class ScriptAgent implements ResourceAgent {
  readonly id: string;
  private readonly isExec: (p: string) => boolean;
  private last?: Record<string, number | string>;

  constructor(
    readonly spec: ResourceSpec,
    private readonly opts: ScriptAgentOptions,
    private readonly deps: ScriptAgentDeps,
  ) {
    this.id = spec.raw;
    this.isExec = deps.isExecutable ?? isExecutableFile;
  }

  detail(): Record<string, number | string> | undefined {
    return this.last;
  }

  /** The script that would run (undefined if none is found). */
  findScript(): string | undefined {
    for (const dir of this.opts.searchPath) {
      const p = join(dir, this.spec.agent);
      if (this.isExec(p)) return p;
    }
    return undefined;
  }

  async start(): Promise<void> {
    if (this.opts.statusBeforeStart !== false && this.findScript() && (await this.status()) === 'running') {
      this.deps.log.info(`${this.id}: already running (status), start skipped`);
      return;
    }
    await this.invoke('start', this.opts.startTimeoutMs ?? 60_000);
  }

  async stop(): Promise<void> {
    await this.invoke('stop', this.opts.stopTimeoutMs ?? 60_000);
  }

  async status(): Promise<ResourceState> {
    const script = this.findScript();
    if (!script) return 'stopped'; // as ResourceManager: no script, nothing owned
    const timeout = this.opts.statusTimeoutMs ?? 10_000;
    const r = await this.deps.runner.run([script, ...this.spec.args, 'status'], { timeoutMs: timeout, env: this.opts.env, outputToFiles: true });
    if (r.timedOut || r.spawnError) {
      this.deps.log.warn(`${this.id}: status: ${describeExit(r, timeout)}; counting it as stopped`);
    }
    return parseScriptStatus(r.stdout);
  }

  private async invoke(op: ResourceOp, timeoutMs: number): Promise<void> {
    const { clock, log, runner } = this.deps;
    const script = this.findScript();
    if (!script) {
      throw new ResourceError(
        `${this.id}: ${op}: cannot locate resource script ${this.spec.agent} (searched ${this.opts.searchPath.join(', ')})`,
        this.id,
        op,
      );
    }
    this.ensureRscTmp();
    const argv = [script, ...this.spec.args, op];
    const beganMs = clock.now();
    log.info(`Running ${argv.join(' ')}`);
    const r = await runner.run(argv, { timeoutMs, env: this.opts.env, outputToFiles: true });
    this.last = { op, beganMs, endedMs: clock.now(), exit: describeExit(r, timeoutMs) };
    const tail = outputTail(r, this.opts.tailLines ?? 8);
    if (tail) log.debug(1, `${argv.join(' ')} output:\n${tail}`);
    if (!ok(r)) {
      throw new ResourceError(
        `${this.id}: ${argv.join(' ')}: ${describeExit(r, timeoutMs)}${tail ? `; output:\n${tail}` : ' (no output)'}`,
        this.id,
        op,
        tail,
      );
    }
  }

  /** Scripts keep state files in $HA_RSCTMP (it lives on tmpfs and is gone after a reboot). */
  private ensureRscTmp(): void {
    const dir = this.opts.env.HA_RSCTMP;
    if (!dir) return;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      this.deps.log.warn(`${this.id}: cannot create HA_RSCTMP ${dir}: ${(e as Error).message}`);
    }
  }
}
