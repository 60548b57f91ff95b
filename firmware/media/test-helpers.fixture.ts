// Test fixtures shared by the media tests: polling waits, and a socat pty pair
// standing in for a null-modem cable (ttyA <-> ttyB). Each test starts its own
// socat and kills it by PID afterwards.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms; throws naming `what` after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A socat pty pair; links `ttyA`/`ttyB` in `dir`. */
export class PtyPair {
  proc?: ChildProcess;
  readonly a: string;
  readonly b: string;
  constructor(readonly dir: string) {
    this.a = join(dir, 'ttyA');
    this.b = join(dir, 'ttyB');
  }
  async start(): Promise<void> {
    // SIGKILL leaves the links dangling; a new socat would fail to create them.
    for (const l of [this.a, this.b]) rmSync(l, { force: true });
    // Output goes to files: a socat holding our stdout pipe would keep the test runner waiting.
    const log = openSync(join(this.dir, 'socat.log'), 'a');
    this.proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`], {
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    await until(() => existsSync(this.a) && existsSync(this.b), 'socat links');
  }
  signal(sig: NodeJS.Signals): void {
    if (this.proc?.pid !== undefined && this.proc.exitCode === null && this.proc.signalCode === null) {
      process.kill(this.proc.pid, sig);
    }
  }
  async kill(sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    this.signal('SIGCONT');
    this.signal(sig);
    await gone;
  }
}
