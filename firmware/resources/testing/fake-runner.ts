// A scripted CommandRunner for unit tests: records every argv and answers
// from a handler, so tests can check exactly which commands ran, in order.

import type { CommandResult, CommandRunner, RunOptions, RunningCommand, StartOptions } from '../command-runner';

export interface FakeAnswer {
  code?: number | null;
  stdout?: string;
  stderr?: string;
  signal?: NodeJS.Signals | null;
  timedOut?: boolean;
  spawnError?: string;
  /** start(): stdout lines delivered to onLine (asynchronously, in order) before the exit. */
  lines?: string[];
  /** start(): do not exit until kill() (a long burst). */
  hang?: boolean;
}

export type FakeHandler = (argv: readonly string[], opts: RunOptions) => FakeAnswer | undefined;

export interface FakeCall {
  argv: string[];
  opts: RunOptions;
  killed?: NodeJS.Signals;
}

export class FakeRunner implements CommandRunner {
  readonly calls: FakeCall[] = [];

  constructor(private handler: FakeHandler = () => ({ code: 0 })) {}

  setHandler(h: FakeHandler): void {
    this.handler = h;
  }

  /** The recorded argvs joined with spaces (easy to compare). */
  get commands(): string[] {
    return this.calls.map((c) => c.argv.join(' '));
  }

  run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    return this.start(argv, opts).exited;
  }

  start(argv: readonly string[], opts: StartOptions = {}): RunningCommand {
    const call: FakeCall = { argv: [...argv], opts };
    this.calls.push(call);
    const a = this.handler(argv, opts) ?? { code: 0 };
    let release: (sig: NodeJS.Signals) => void = () => undefined;
    let done = false;
    const result = (over: Partial<CommandResult> = {}): CommandResult => ({
      argv: [...argv],
      code: a.code === undefined ? 0 : a.code,
      signal: a.signal ?? null,
      stdout: a.stdout ?? (a.lines ? a.lines.map((l) => `${l}\n`).join('') : ''),
      stderr: a.stderr ?? '',
      timedOut: a.timedOut ?? false,
      durationMs: 1,
      spawnError: a.spawnError,
      ...over,
    });
    const exited = new Promise<CommandResult>((resolve) => {
      release = (sig) => resolve(result({ code: null, signal: sig }));
      void (async () => {
        for (const l of a.lines ?? []) {
          await Promise.resolve();
          opts.onLine?.(l);
        }
        if (!a.hang) resolve(result());
      })();
    }).then((r) => {
      done = true;
      return r;
    });
    return {
      argv,
      pid: 4242,
      exited,
      kill: (sig: NodeJS.Signals = 'SIGTERM') => {
        if (done) return;
        call.killed = sig;
        release(sig);
      },
    };
  }
}

/** `ip -j addr show` JSON for tests. */
export function ipJson(
  links: {
    name: string;
    up?: boolean;
    mac?: string;
    addrs?: { family: 4 | 6; local: string; prefixlen: number; broadcast?: string; label?: string; scope?: string; tentative?: boolean; dadfailed?: boolean }[];
  }[],
): string {
  return JSON.stringify(
    links.map((l, i) => ({
      ifindex: i + 1,
      ifname: l.name,
      flags: l.up === false ? ['BROADCAST', 'MULTICAST'] : ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      address: l.mac ?? `02:00:00:00:00:0${i + 1}`,
      link_type: 'ether',
      addr_info: (l.addrs ?? []).map((a) => ({
        family: a.family === 4 ? 'inet' : 'inet6',
        local: a.local,
        prefixlen: a.prefixlen,
        ...(a.broadcast ? { broadcast: a.broadcast } : {}),
        scope: a.scope ?? 'global',
        ...(a.label ? { label: a.label } : {}),
        ...(a.tentative ? { tentative: true } : {}),
        ...(a.dadfailed ? { dadfailed: true } : {}),
      })),
    })),
  );
}
