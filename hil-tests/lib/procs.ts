// Child processes and cleanup for hardware-in-loop tests.
//
// * `Scope`: a per-test registry of cleanups, run last-in-first-out, always
//   (test passed, failed, threw, timed out, or the run was interrupted).
//   Bind it to a node:test test with `testScope(t)` or use `withScope()`.
// * `startProcess()`: a long-running child with stdout+stderr appended to a log
//   file, stopped by PID (SIGTERM, then SIGKILL after a grace period).
// * `run()`/`runOk()`: a short command with captured output and a timeout.
// * `waitForLog()`: wait until a line matching a regex appears in a log file.
// * `ProcRef`: a PID plus its kernel start time, so that processes we did not
//   spawn directly (e.g. heartbeat's children inside a PID namespace) are only
//   ever signalled while they are still the same process.
//
// Safety net for interrupted runs: SIGINT/SIGTERM/SIGHUP run every open
// scope's cleanups and then exit; the 'exit' event runs synchronous emergency
// actions (SIGKILL by PID, `ip netns del`, ...) for whatever is still
// registered. Long-running children are started through
// `setpriv --pdeathsig KILL`, so even a SIGKILL of the test process takes them
// down with it. Nothing here ever signals a process it did not start: there is
// no pkill/killall anywhere.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Standard PATH for the commands we run (root's PATH may be minimal under sudo/CI). */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Environment for children: ours plus `extra`, PATH completed with the sbin/bin
 * dirs, without NODE_OPTIONS / NODE_EXTRA_CA_CERTS / NODE_TEST_CONTEXT (so the
 * test runner's flags never leak into helpers; pass them in `extra` if wanted).
 */
export function childEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  Object.assign(env, extra);
  const have = new Set((env.PATH ?? '').split(':').filter(Boolean));
  env.PATH = [...have, ...SYSTEM_PATH.split(':').filter((p) => !have.has(p))].join(':');
  return env;
}

/** Diagnostics to stderr (never throws, e.g. when the parent test runner's pipe is gone). */
export function hilLog(msg: string): void {
  try {
    process.stderr.write(`[hil ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
  } catch {
    /* stderr gone */
  }
}

const debug = (): boolean => process.env.HIL_DEBUG === '1';

// ---------------------------------------------------------------------------
// Emergency (synchronous) cleanup and signal handling

type EmergencyFn = () => void;
const emergency = new Map<number, { label: string; fn: EmergencyFn }>();
let nextEmergencyToken = 1;

/** Children spawned by this module that have not exited yet (SIGKILLed on process exit). */
const liveChildren = new Set<ChildProcess>();
const activeScopes = new Set<Scope>();
let handlersInstalled = false;
let interrupted = false;

/**
 * Registers a synchronous last-resort action, run from process.on('exit') if it
 * is still registered then (the normal async cleanup unregisters it). Returns
 * the unregister function.
 */
export function registerEmergency(label: string, fn: EmergencyFn): () => void {
  installHandlers();
  const token = nextEmergencyToken++;
  emergency.set(token, { label, fn });
  return () => {
    emergency.delete(token);
  };
}

function runEmergencySync(): void {
  for (const child of liveChildren) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  liveChildren.clear();
  const entries = [...emergency.values()].reverse();
  emergency.clear();
  for (const { label, fn } of entries) {
    try {
      fn();
    } catch (e) {
      hilLog(`emergency cleanup '${label}' failed: ${String(e)}`);
    }
  }
}

const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => runEmergencySync());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => void onSignal(sig));
  }
}

async function onSignal(sig: NodeJS.Signals): Promise<void> {
  const code = SIGNAL_EXIT[sig] ?? 1;
  if (interrupted) {
    hilLog(`${sig} again: emergency cleanup and exit`);
    process.exit(code); // 'exit' handler does the synchronous cleanup
  }
  interrupted = true;
  // The parent test runner may already be gone: never die on EPIPE while cleaning up.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  hilLog(`${sig}: cleaning up ${activeScopes.size} open scope(s) before exiting`);
  const hard = setTimeout(() => {
    hilLog('cleanup took too long: emergency cleanup and exit');
    process.exit(code);
  }, 30_000);
  await Promise.allSettled([...activeScopes].reverse().map((s) => s.close()));
  clearTimeout(hard);
  process.exit(code);
}

// ---------------------------------------------------------------------------
// Scope

export interface DeferOptions {
  /** Per-cleanup time limit (default 30 s); a cleanup that hangs is reported, the others still run. */
  timeoutMs?: number;
}

interface Cleanup {
  label: string;
  fn: () => unknown;
  timeoutMs: number;
}

/**
 * LIFO cleanup registry. `close()` runs every cleanup exactly once, even when
 * earlier ones fail or hang, and then throws an AggregateError listing the
 * failures (so a broken teardown fails the test instead of leaking silently).
 */
export class Scope {
  readonly name: string;
  private readonly cleanups: Cleanup[] = [];
  private closing?: Promise<void>;
  private readonly abort = new AbortController();

  private readonly quiet: boolean;

  /** `quiet`: do not log cleanup failures to stderr (they are still thrown by close()). */
  constructor(name: string, opts: { quiet?: boolean } = {}) {
    this.name = name;
    this.quiet = opts.quiet ?? false;
    installHandlers();
    activeScopes.add(this);
  }

  /** Aborted when the scope starts closing (waits can use it to give up early). */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Registers a cleanup; cleanups run in reverse order of registration. */
  defer(label: string, fn: () => unknown, opts: DeferOptions = {}): void {
    if (this.closing) {
      // Too late to register: run it now so nothing leaks, and tell the caller.
      void Promise.resolve()
        .then(fn)
        .catch((e) => hilLog(`late cleanup '${label}' failed: ${String(e)}`));
      throw new Error(`scope '${this.name}' is already closed (cleanup '${label}' was run immediately)`);
    }
    this.cleanups.push({ label, fn, timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  /** Runs all cleanups (LIFO). Idempotent: later calls return the same promise. */
  close(): Promise<void> {
    this.closing ??= this.runCleanups();
    return this.closing;
  }

  private async runCleanups(): Promise<void> {
    this.abort.abort(new Error(`scope '${this.name}' closed`));
    const errors: Error[] = [];
    while (this.cleanups.length > 0) {
      const c = this.cleanups.pop()!;
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(c.fn),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${c.timeoutMs} ms`)), c.timeoutMs);
          }),
        ]);
        if (debug()) hilLog(`[${this.name}] cleanup '${c.label}' ok (${Math.round(performance.now() - t0)} ms)`);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        errors.push(new Error(`cleanup '${c.label}' failed: ${err.message}`, { cause: err }));
        if (!this.quiet) hilLog(`[${this.name}] cleanup '${c.label}' FAILED: ${err.message}`);
      } finally {
        clearTimeout(timer);
      }
    }
    activeScopes.delete(this);
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `scope '${this.name}': ${errors.length} cleanups failed`);
  }
}

/** Minimal structural type of node:test's TestContext (only what we use). */
export interface TestContextLike {
  readonly name: string;
  after(fn: () => unknown, options?: { timeout?: number }): void;
}

/** A scope closed by the test's `after` hook (runs also when the test fails or throws). */
export function testScope(t: TestContextLike, name: string = t.name): Scope {
  const scope = new Scope(name);
  t.after(() => scope.close(), { timeout: 120_000 });
  return scope;
}

/**
 * try/finally helper: runs `fn` with a fresh scope and always closes it. If
 * both `fn` and the cleanup fail, the test error is thrown and the cleanup
 * error is attached as its `cause` (and logged).
 */
export async function withScope<T>(
  name: string,
  fn: (scope: Scope) => Promise<T>,
  opts: { quiet?: boolean } = {},
): Promise<T> {
  const scope = new Scope(name, opts);
  let result: T;
  try {
    result = await fn(scope);
  } catch (e) {
    try {
      await scope.close();
    } catch (closeErr) {
      if (!opts.quiet) hilLog(`[${name}] cleanup after failure also failed: ${String(closeErr)}`);
      if (e instanceof Error && e.cause === undefined) (e as { cause?: unknown }).cause = closeErr;
    }
    throw e;
  }
  await scope.close();
  return result;
}

// ---------------------------------------------------------------------------
// Files / logs

export function readTextSafe(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Last `lines` lines of a text file ('' if it does not exist). */
export function tailFile(path: string, lines = 40): string {
  return tailText(readTextSafe(path), lines);
}

export function tailText(text: string, lines = 40): string {
  const all = text.split('\n');
  if (all.length > 0 && all[all.length - 1] === '') all.pop();
  return all.slice(-lines).join('\n');
}

/** Current size of a file in bytes (0 if missing): pass as `fromOffset` to wait only for new lines. */
export function fileSize(path: string): number {
  try {
    return fs.statSync(path).size;
  } catch {
    return 0;
  }
}

export interface LogMatch {
  line: string;
  match: RegExpExecArray;
  /** Byte offset just after the matching line (use as the next `fromOffset`). */
  offset: number;
  elapsedMs: number;
}

export interface WaitForLogOptions {
  timeoutMs: number;
  /** Only look at bytes from this offset on (see fileSize()). */
  fromOffset?: number;
  /** Fail early if this process exits before the line appears. */
  proc?: Proc;
  intervalMs?: number;
  /** Abort the wait (e.g. scope.signal). */
  signal?: AbortSignal;
  /** Extra text for the error message. */
  what?: string;
  /** Additional log files whose tails go into the error message. */
  alsoShow?: string[];
}

/** Waits until a line matching `re` appears in `file` (polling). */
export async function waitForLog(file: string, re: RegExp, opts: WaitForLogOptions): Promise<LogMatch> {
  const t0 = performance.now();
  const from = opts.fromOffset ?? 0;
  const interval = opts.intervalMs ?? 50;
  const find = async (): Promise<LogMatch | undefined> => {
    let buf: Buffer;
    try {
      buf = await fsp.readFile(file);
    } catch {
      return undefined;
    }
    if (buf.length <= from) return undefined;
    let pos = from;
    const text = buf.subarray(from).toString('utf8');
    for (const line of text.split('\n')) {
      pos += Buffer.byteLength(line) + 1;
      re.lastIndex = 0;
      const m = re.exec(line);
      if (m) return { line, match: m, offset: Math.min(pos, buf.length), elapsedMs: performance.now() - t0 };
    }
    return undefined;
  };
  const describe = (why: string): Error => {
    const extra = (opts.alsoShow ?? [])
      .filter((p) => p !== file)
      .map((p) => `\n--- tail of ${p} ---\n${tailFile(p, 25)}`)
      .join('');
    return new Error(
      `${why}: waiting for ${re} in ${file}${opts.what ? ` (${opts.what})` : ''}` +
        `\n--- tail of ${file} ---\n${tailFile(file, 40)}${extra}`,
    );
  };
  for (;;) {
    const m = await find();
    if (m) return m;
    if (opts.signal?.aborted) throw describe('aborted');
    if (opts.proc && !opts.proc.running) {
      const last = await find();
      if (last) return last;
      throw describe(`${opts.proc.describe()} exited (${formatExit(opts.proc.exitInfo)})`);
    }
    if (performance.now() - t0 > opts.timeoutMs) throw describe(`timeout after ${opts.timeoutMs} ms`);
    await sleep(interval);
  }
}

/** Polls `probe` until it returns a value other than undefined, or throws on timeout. */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal; details?: () => string },
): Promise<T> {
  const t0 = performance.now();
  let lastErr: unknown;
  for (;;) {
    try {
      // undefined, null and false all mean "not yet": boolean probes read naturally.
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    const late = performance.now() - t0 > opts.timeoutMs;
    if (late || opts.signal?.aborted) {
      const d = opts.details ? `\n${opts.details()}` : '';
      const le = lastErr ? ` (last error: ${lastErr instanceof Error ? lastErr.message : String(lastErr)})` : '';
      throw new Error(`${late ? `timeout after ${opts.timeoutMs} ms` : 'aborted'}: ${what}${le}${d}`);
    }
    await sleep(opts.intervalMs ?? 50);
  }
}

// ---------------------------------------------------------------------------
// Short commands

export interface RunResult {
  argv: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Throw if the exit code is not 0 (runOk sets this). */
  check?: boolean;
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly result: RunResult,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

export function quoteArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Runs a short command, capturing stdout/stderr; SIGKILLed after `timeoutMs` (default 30 s). */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  installHandlers();
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const t0 = performance.now();
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: childEnv(opts.env),
      cwd: opts.cwd,
    });
    liveChildren.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input);
    }
    let timedOut = false;
    let settled = false;
    let exitInfo: ExitInfo | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const result = (code: number | null, signal: NodeJS.Signals | null): RunResult => ({
      argv: [...argv],
      code,
      signal,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
      durationMs: performance.now() - t0,
    });
    const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      liveChildren.delete(child);
      child.stdout?.destroy();
      child.stderr?.destroy();
      const r = result(code, signal);
      if (timedOut) {
        reject(
          new CommandError(
            `timeout after ${timeoutMs} ms: ${quoteArgv(argv)}\nstdout: ${tailText(r.stdout, 10)}\nstderr: ${tailText(r.stderr, 10)}`,
            r,
          ),
        );
      } else if (opts.check && code !== 0) {
        reject(
          new CommandError(
            `command failed (${formatExit({ code, signal })}): ${quoteArgv(argv)}\n${tailText(r.stderr || r.stdout, 20)}`,
            r,
          ),
        );
      } else {
        resolve(r);
      }
    };
    child.on('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      liveChildren.delete(child);
      reject(new Error(`cannot run ${quoteArgv(argv)}: ${e.message}`, { cause: e }));
    });
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      liveChildren.delete(child);
      // Normally 'close' follows at once. A grandchild that inherited our pipes
      // (orphaned by a timeout kill, or a daemon) must not keep us waiting.
      if (timedOut) settle(code, signal);
      else graceTimer = setTimeout(() => settle(exitInfo!.code, exitInfo!.signal), 2000);
    });
    child.on('close', (code, signal) => settle(code, signal));
  });
}

/** run() that throws CommandError unless the exit code is 0. */
export function runOk(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(argv, { ...opts, check: true });
}

/** Synchronous best-effort command for emergency cleanup (never throws). */
export function runSyncQuiet(argv: readonly string[], timeoutMs = 5000): string {
  try {
    const r = spawnSync(argv[0]!, argv.slice(1), { env: childEnv(), timeout: timeoutMs, encoding: 'utf8' });
    return r.stdout ?? '';
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------
// Long-running processes

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function formatExit(e: ExitInfo | undefined): string {
  if (!e) return 'still running';
  return e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;
}

export interface StartProcessOptions {
  /** Short name for messages. */
  name: string;
  argv: string[];
  /** stdout and stderr are appended here (created if missing). */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Run through `setpriv --pdeathsig KILL` so the process dies with the test
   * process even if that is SIGKILLed (default true). The PID stays the same
   * (setpriv execs the command).
   */
  dieWithParent?: boolean;
  /** Grace period between SIGTERM and SIGKILL in stop() (default 3000 ms). */
  stopGraceMs?: number;
  /** Signal used by stop() first (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** First line written to the log (default: the command line). */
  logHeader?: string;
}

/** A long-running child process we started (signalled only while it has not exited). */
export class Proc {
  readonly name: string;
  readonly pid: number;
  readonly argv: readonly string[];
  readonly logFile: string;
  readonly startedAt: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  private exitInfoValue?: ExitInfo;
  private readonly child: ChildProcess;
  private readonly opts: StartProcessOptions;
  private unregisterEmergency: () => void = () => {};

  /** Use startProcess(). */
  constructor(child: ChildProcess, opts: StartProcessOptions) {
    this.child = child;
    this.opts = opts;
    this.name = opts.name;
    this.pid = child.pid!;
    this.argv = opts.argv;
    this.logFile = opts.logFile;
    this.startedAt = performance.now();
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfoValue = { code, signal };
        liveChildren.delete(child);
        this.unregisterEmergency();
        resolve(this.exitInfoValue);
      });
    });
  }

  /** @internal */
  setEmergency(unregister: () => void): void {
    this.unregisterEmergency = unregister;
  }

  get running(): boolean {
    return this.exitInfoValue === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.exitInfoValue;
  }

  describe(): string {
    return `${this.name} (pid ${this.pid})`;
  }

  /** Sends a signal if (and only if) the process is still running. */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.running) return false;
    try {
      return this.child.kill(sig);
    } catch {
      return false;
    }
  }

  /** Waits for exit up to `timeoutMs`; returns undefined on timeout. */
  async waitExit(timeoutMs: number): Promise<ExitInfo | undefined> {
    if (!this.running) return this.exitInfoValue ?? (await this.exited);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.exited,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return r;
  }

  /** SIGTERM (or stopSignal), then SIGKILL after the grace period; resolves when it has exited. */
  async stop(graceMs: number = this.opts.stopGraceMs ?? 3000): Promise<ExitInfo> {
    if (!this.running) return this.exitInfoValue ?? (await this.exited);
    this.signal(this.opts.stopSignal ?? 'SIGTERM');
    const e = await this.waitExit(graceMs);
    if (e) return e;
    return this.kill();
  }

  /** SIGKILL and wait (throws if it is still there after 10 s, e.g. stuck in D state). */
  async kill(): Promise<ExitInfo> {
    if (!this.running) return this.exitInfoValue ?? (await this.exited);
    this.signal('SIGKILL');
    const e = await this.waitExit(10_000);
    if (!e) throw new Error(`${this.describe()} did not exit 10 s after SIGKILL`);
    return e;
  }

  /** Last lines of its log file. */
  tail(lines = 40): string {
    return tailFile(this.logFile, lines);
  }

  /** Waits for a line in this process's log; fails early if the process exits. */
  waitForLog(re: RegExp, opts: Omit<WaitForLogOptions, 'proc'>): Promise<LogMatch> {
    return waitForLog(this.logFile, re, { ...opts, proc: this, what: opts.what ?? this.describe() });
  }
}

/**
 * Starts a long-running process with stdout+stderr appended to `logFile`.
 * If a scope is given, stop() is registered as its cleanup. The process is
 * put in its own session (Ctrl-C reaches only the test process, which then
 * cleans up in order).
 */
export async function startProcess(scope: Scope | undefined, opts: StartProcessOptions): Promise<Proc> {
  installHandlers();
  const argv = opts.dieWithParent === false ? opts.argv : ['setpriv', '--pdeathsig', 'KILL', '--', ...opts.argv];
  fs.appendFileSync(
    opts.logFile,
    `# [${new Date().toISOString()}] start ${opts.name}: ${opts.logHeader ?? quoteArgv(opts.argv)}\n`,
  );
  const fd = fs.openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', fd, fd],
      env: childEnv(opts.env),
      cwd: opts.cwd,
      detached: true,
    });
  } finally {
    fs.closeSync(fd);
  }
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) => reject(new Error(`cannot start ${opts.name} (${quoteArgv(opts.argv)}): ${e.message}`)));
  });
  if (child.pid === undefined) {
    await spawned; // rejects with the spawn error
    throw new Error(`cannot start ${opts.name}: no pid`);
  }
  liveChildren.add(child);
  const proc = new Proc(child, opts); // attaches the exit listener synchronously
  await spawned;
  proc.setEmergency(
    registerEmergency(`kill ${proc.describe()}`, () => {
      proc.signal('SIGKILL');
    }),
  );
  if (debug()) hilLog(`started ${proc.describe()}: ${quoteArgv(opts.argv)}`);
  scope?.defer(`stop ${proc.describe()}`, async () => {
    const e = await proc.stop();
    if (debug()) hilLog(`stopped ${proc.describe()}: ${formatExit(e)}`);
  });
  return proc;
}

// ---------------------------------------------------------------------------
// Processes we did not spawn directly (identified by PID + start time)

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
  /** Start time in clock ticks since boot (field 22 of /proc/PID/stat). */
  startTime: string;
}

/** Parses /proc/PID/stat (undefined if the process does not exist). */
export function procInfo(pid: number): ProcInfo | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < 0) return undefined;
  const rest = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // rest[0] = state (field 3), rest[1] = ppid (field 4), rest[19] = starttime (field 22)
  return {
    pid,
    comm: stat.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: Number(rest[1]),
    startTime: rest[19] ?? '',
  };
}

/** Every process currently visible in /proc. */
export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const info = procInfo(Number(n));
    if (info) out.push(info);
  }
  return out;
}

export interface ProcRef {
  pid: number;
  startTime: string;
  comm: string;
}

export function procRef(pid: number): ProcRef | undefined {
  const i = procInfo(pid);
  return i ? { pid, startTime: i.startTime, comm: i.comm } : undefined;
}

/** True if the process still exists, is the same one (start time), and is not a zombie. */
export function isAlive(ref: ProcRef): boolean {
  const i = procInfo(ref.pid);
  return i !== undefined && i.startTime === ref.startTime && i.state !== 'Z' && i.state !== 'X';
}

/** Signals the process only if it is still the same process. Returns true if a signal was sent. */
export function signalRef(ref: ProcRef, sig: NodeJS.Signals): boolean {
  if (!isAlive(ref)) return false;
  try {
    process.kill(ref.pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Waits until none of `refs` is alive; returns those still alive at the timeout. */
export async function waitGone(refs: readonly ProcRef[], timeoutMs: number): Promise<ProcRef[]> {
  const t0 = performance.now();
  for (;;) {
    const alive = refs.filter(isAlive);
    if (alive.length === 0 || performance.now() - t0 > timeoutMs) return alive;
    await sleep(20);
  }
}

/** The namespace link of a process, e.g. `pid:[4026532301]` (undefined if gone). */
export function namespaceOf(pid: number, kind: 'pid' | 'net' | 'mnt' | 'uts'): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/** Processes that are members of the given PID namespace (`pid:[inode]`), excluding zombies. */
export function processesInPidNamespace(nsLink: string): ProcInfo[] {
  return listProcesses().filter((p) => p.state !== 'Z' && namespaceOf(p.pid, 'pid') === nsLink);
}

/** Direct children of `pid` (excluding zombies). */
export function childrenOf(pid: number): ProcInfo[] {
  return listProcesses().filter((p) => p.ppid === pid && p.state !== 'Z');
}

/** True if `ancestor` is `pid` itself or one of its ancestors (walks PPid links). */
export function isDescendantOf(pid: number, ancestor: number): boolean {
  let cur = pid;
  for (let i = 0; i < 64 && cur > 1; i++) {
    if (cur === ancestor) return true;
    const info = procInfo(cur);
    if (!info) return false;
    cur = info.ppid;
  }
  return cur === ancestor;
}
