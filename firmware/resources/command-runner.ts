// Runs external commands (ip, the announce tool, resource scripts) without a
// shell. Injected everywhere so unit tests can record argv and script answers.
//
// Why not plain execFile: a resource script that starts a daemon in the
// background often leaves it holding our stdout pipe, and execFile would wait
// for that pipe to close (forever). We finish when the process EXITS and
// collect what output arrived. For resource scripts (`outputToFiles`) the
// output goes to files instead of pipes, as under Heartbeat (which sends it
// to its debug log): a daemon that inherited stdout can keep writing without
// blocking us or dying of SIGPIPE once we stop reading. Each command runs in
// its own process group (detached) so a timeout can stop the script together
// with whatever it started in the foreground (`sleep`, a hung `mount`).

import { spawn, type StdioOptions } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface RunOptions {
  /** Kill (SIGTERM, then SIGKILL after killGraceMs) after this long. Default 30 s. */
  timeoutMs?: number;
  killGraceMs?: number;
  /** Complete environment of the child (default: ours). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Text written to stdin (stdin is /dev/null otherwise). */
  input?: string;
  /**
   * Capture stdout/stderr through temporary files instead of pipes (resource
   * scripts: background daemons may inherit them). onLine is not called.
   */
  outputToFiles?: boolean;
}

export interface StartOptions extends RunOptions {
  /** Called for every complete stdout line, as it arrives. */
  onLine?: (line: string) => void;
}

export interface CommandResult {
  argv: string[];
  /** Exit code; null when killed by a signal or not started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
  /** Set when the command could not be started at all (e.g. ENOENT). */
  spawnError?: string;
}

export interface RunningCommand {
  readonly argv: readonly string[];
  readonly pid: number | undefined;
  readonly exited: Promise<CommandResult>;
  /** Signals the command's process group (only while it is running). */
  kill(signal?: NodeJS.Signals): void;
}

export interface CommandRunner {
  run(argv: readonly string[], opts?: RunOptions): Promise<CommandResult>;
  start(argv: readonly string[], opts?: StartOptions): RunningCommand;
}

/** The real runner: child_process.spawn, no shell. */
export class SystemCommandRunner implements CommandRunner {
  run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    return this.start(argv, opts).exited;
  }

  start(argv: readonly string[], opts: StartOptions = {}): RunningCommand {
    const t0 = performance.now();
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const graceMs = opts.killGraceMs ?? 2_000;
    const files = opts.outputToFiles ? outputFiles() : undefined;
    const stdio: StdioOptions = [opts.input === undefined ? 'ignore' : 'pipe', files?.outFd ?? 'pipe', files?.errFd ?? 'pipe'];
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        stdio,
        env: opts.env,
        cwd: opts.cwd,
        detached: true, // own process group: timeouts reach the whole script
      });
    } finally {
      files?.closeFds(); // the child has its own copies
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let partial = '';
    let exited = false;
    let timedOut = false;
    let spawnError: string | undefined;
    const signalGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        /* group gone */
      }
    };
    child.stdout?.on('data', (d: Buffer) => {
      out.push(d);
      if (!opts.onLine) return;
      partial += d.toString('utf8');
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        opts.onLine(line);
      }
    });
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(opts.input);
    }
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
    }, timeoutMs);

    const exitedP = new Promise<CommandResult>((resolve) => {
      let code: number | null = null;
      let signal: NodeJS.Signals | null = null;
      let settled = false;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // A timed-out group gets its SIGKILL even if the leader already left.
        if (!timedOut) clearTimeout(killTimer);
        child.stdout?.destroy();
        child.stderr?.destroy();
        if (partial && opts.onLine) opts.onLine(partial);
        if (files) {
          out.push(files.read('out'));
          err.push(files.read('err'));
          files.remove();
        }
        resolve({
          argv: [...argv],
          code,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          timedOut,
          durationMs: performance.now() - t0,
          spawnError,
        });
      };
      child.once('error', (e) => {
        spawnError = e.message;
        exited = true;
        finish();
      });
      child.once('exit', (c, s) => {
        exited = true;
        code = c;
        signal = s;
        if (files) return finish();
        // Output still in the pipe arrives before 'close'; a background
        // daemon holding the pipe must not keep us waiting, hence the cap.
        const cap = setTimeout(finish, 100);
        child.once('close', () => {
          clearTimeout(cap);
          finish();
        });
      });
    });
    return {
      argv,
      pid: child.pid,
      exited: exitedP,
      kill: (sig: NodeJS.Signals = 'SIGTERM') => {
        if (!exited) signalGroup(sig);
      },
    };
  }
}

/** Two temporary files for a command's stdout and stderr (unlinked after reading). */
function outputFiles(): { outFd: number; errFd: number; closeFds(): void; read(which: 'out' | 'err'): Buffer; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ringbeat-cmd-'));
  const outFd = openSync(join(dir, 'out'), 'w', 0o600);
  const errFd = openSync(join(dir, 'err'), 'w', 0o600);
  let closed = false;
  return {
    outFd,
    errFd,
    closeFds: () => {
      if (closed) return;
      closed = true;
      closeSync(outFd);
      closeSync(errFd);
    },
    read: (which) => {
      try {
        return readFileSync(join(dir, which));
      } catch {
        return Buffer.alloc(0);
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** "exit 2", "killed by SIGKILL", "timed out after ...", "cannot start: ..." */
export function describeExit(r: CommandResult, timeoutMs?: number): string {
  if (r.spawnError) return `cannot start ${r.argv[0]}: ${r.spawnError}`;
  if (r.timedOut) return `timed out${timeoutMs !== undefined ? ` after ${timeoutMs} ms` : ''}`;
  if (r.signal) return `killed by ${r.signal}`;
  return `exit ${r.code}`;
}

/** Last `lines` non-empty lines of stdout+stderr, for error messages. */
export function outputTail(r: Pick<CommandResult, 'stdout' | 'stderr'>, lines = 8): string {
  const all = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
  return all.slice(-lines).join('\n');
}

export function ok(r: CommandResult): boolean {
  return r.code === 0 && !r.timedOut && !r.spawnError;
}
