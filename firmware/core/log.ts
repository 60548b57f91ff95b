// Logging: one line per event, to stderr (the journal under systemd), plus the
// ha.cf `logfile` / `debugfile`, plus syslog when `logfacility` is set.
//
// Nothing here may block the caller: files are written through append streams
// and syslog goes through one long-lived `logger --prio-prefix` child (Node has
// no AF_UNIX datagram sockets to talk to /dev/log directly).

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export type Level = 'error' | 'warn' | 'info' | 'debug';

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  /** Debug output at `level` (ha.cf `debug N`; 0 = off). */
  debug(level: number, msg: string): void;
  /** A logger that prefixes every line with `component: `. */
  child(component: string): Logger;
}

export interface LogSinkOptions {
  /** Prefix of every line, e.g. `ringbeat[1234]`. */
  ident: string;
  stderr?: boolean;
  logfile?: string;
  debugfile?: string;
  facility?: string;
  debugLevel?: number;
  /** Wall clock for timestamps (injected for tests). */
  wallMs?: () => number;
}

const SYSLOG_FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};
const SYSLOG_SEVERITY: Record<Level, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/** The shared output side: one per process, owned by the process's main module. */
export class LogSink {
  private readonly out: WriteStream[] = [];
  private readonly debugOut?: WriteStream;
  private syslog?: ChildProcess;
  private readonly facilityCode?: number;
  private readonly wallMs: () => number;
  readonly debugLevel: number;

  constructor(private readonly opts: LogSinkOptions) {
    this.wallMs = opts.wallMs ?? Date.now;
    this.debugLevel = opts.debugLevel ?? 0;
    if (opts.logfile) this.out.push(this.open(opts.logfile));
    if (opts.debugfile) this.debugOut = this.open(opts.debugfile);
    if (opts.facility && opts.facility !== 'none') this.facilityCode = SYSLOG_FACILITIES[opts.facility];
  }

  private open(path: string): WriteStream {
    const s = createWriteStream(path, { flags: 'a' });
    // A full disk or a removed directory must not take the daemon down.
    s.on('error', (e) => process.stderr.write(`${this.opts.ident}: cannot write ${path}: ${e.message}\n`));
    return s;
  }

  write(level: Level, text: string): void {
    const line = `${new Date(this.wallMs()).toISOString()} ${this.opts.ident}: ${level.toUpperCase()}: ${text}\n`;
    if (level !== 'debug') {
      if (this.opts.stderr !== false) process.stderr.write(line);
      for (const s of this.out) s.write(line);
    }
    this.debugOut?.write(line);
    if (this.facilityCode !== undefined && level !== 'debug') this.toSyslog(level, text);
  }

  private toSyslog(level: Level, text: string): void {
    if (!this.syslog) {
      this.syslog = spawn('logger', ['--prio-prefix', '-t', this.opts.ident.replace(/\[.*$/, '')], {
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      this.syslog.on('error', () => undefined);
      this.syslog.stdin?.on('error', () => undefined);
    }
    const pri = (this.facilityCode ?? 3) * 8 + SYSLOG_SEVERITY[level];
    this.syslog.stdin?.write(`<${pri}>${text.replace(/\n/g, ' ')}\n`);
  }

  logger(component = ''): Logger {
    return makeLogger(this, component);
  }

  async close(): Promise<void> {
    const streams = [...this.out, ...(this.debugOut ? [this.debugOut] : [])];
    await Promise.all(streams.map((s) => new Promise<void>((r) => s.end(r))));
    this.syslog?.stdin?.end();
  }
}

function makeLogger(sink: LogSink, component: string): Logger {
  const p = component ? `${component}: ` : '';
  return {
    error: (m) => sink.write('error', p + m),
    warn: (m) => sink.write('warn', p + m),
    info: (m) => sink.write('info', p + m),
    debug: (level, m) => {
      if (level <= sink.debugLevel) sink.write('debug', p + m);
    },
    child: (c) => makeLogger(sink, component ? `${component}: ${c}` : c),
  };
}

/** A logger that collects lines in memory (tests). */
export function memoryLogger(lines: string[] = []): Logger & { lines: string[] } {
  const mk = (prefix: string): Logger => ({
    error: (m) => void lines.push(`ERROR: ${prefix}${m}`),
    warn: (m) => void lines.push(`WARN: ${prefix}${m}`),
    info: (m) => void lines.push(`INFO: ${prefix}${m}`),
    debug: (l, m) => void lines.push(`DEBUG${l}: ${prefix}${m}`),
    child: (c) => mk(`${prefix}${c}: `),
  });
  return Object.assign(mk(''), { lines });
}
