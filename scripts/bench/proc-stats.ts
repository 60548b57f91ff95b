// Memory and CPU of a process tree from /proc: what `bench:footprint` reports
// for the daemon plus its heartbeat path child.

import { readFileSync } from 'node:fs';

export interface MemStats {
  /** Resident set, kB. */
  rssKb: number;
  /** Pages only this process maps (Private_Clean + Private_Dirty), kB: what it really costs. */
  privateKb: number;
  /** Proportional share, kB. */
  pssKb: number;
}

/** The process and all its descendants (via /proc/PID/task/TID/children). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    try {
      for (const tid of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) out.push(Number(tid));
    } catch {
      /* gone */
    }
  }
  return out;
}

function field(text: string, name: string): number {
  return Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

export function memStats(pid: number): MemStats {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return {
    rssKb: field(rollup, 'Rss'),
    privateKb: field(rollup, 'Private_Clean') + field(rollup, 'Private_Dirty'),
    pssKb: field(rollup, 'Pss'),
  };
}

export function sumMem(pids: readonly number[]): MemStats {
  const t: MemStats = { rssKb: 0, privateKb: 0, pssKb: 0 };
  for (const p of pids) {
    const m = memStats(p);
    t.rssKb += m.rssKb;
    t.privateKb += m.privateKb;
    t.pssKb += m.pssKb;
  }
  return t;
}

/** utime + stime of a process in clock ticks (fields 14 and 15 of /proc/PID/stat). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

/** Clock ticks per second (USER_HZ; 100 on every Linux this runs on, read from getconf when possible). */
export function ticksPerSecond(getconf: () => string): number {
  const n = Number(getconf().trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
}
