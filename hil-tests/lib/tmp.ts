// Per-test scratch directories: mkdtemp under os.tmpdir(), removed at teardown
// unless HIL_KEEP=1 (then the path is printed so logs/captures can be inspected).
// Each directory carries an owner marker (PID + start time of the test
// process); directories of test processes that died without cleaning up
// (SIGKILL) are removed by the next run.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hilLog, isAlive, procRef, registerEmergency, type Scope } from './procs';

const PREFIX = 'ringbeat-';
const OWNER_FILE = '.ringbeat-hil-owner';
let swept = false;

/** Removes scratch dirs whose owning test process is gone (marker present, owner dead). Once per process. */
export function sweepStaleTmpDirs(): string[] {
  if (swept) return [];
  swept = true;
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(PREFIX));
  } catch {
    return removed;
  }
  for (const n of names) {
    const dir = path.join(os.tmpdir(), n);
    try {
      const o = JSON.parse(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8')) as { pid: number; startTime: string };
      if (isAlive({ pid: o.pid, startTime: o.startTime, comm: '' })) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      /* no marker (not ours, or kept with HIL_KEEP=1) */
    }
  }
  if (removed.length) hilLog(`removed scratch dirs of dead test processes: ${removed.join(' ')}`);
  return removed;
}

export const keepScratch = (): boolean => process.env.HIL_KEEP === '1';

/**
 * Creates a fresh scratch directory (mode 0755: heartbeat children that drop
 * privileges must be able to traverse it) and registers its removal in `scope`.
 * Path characters are limited to [A-Za-z0-9._-] so the path is safe in socat
 * addresses and config files.
 */
export function makeTmpDir(scope: Scope, label = 'hil'): string {
  sweepStaleTmpDirs();
  const safe = label.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 40) || 'hil';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${safe}-`));
  fs.chmodSync(dir, 0o755);
  const me = procRef(process.pid);
  fs.writeFileSync(path.join(dir, OWNER_FILE), JSON.stringify({ pid: process.pid, startTime: me?.startTime ?? '' }));
  const remove = (): void => {
    if (keepScratch()) {
      fs.rmSync(path.join(dir, OWNER_FILE), { force: true }); // kept on purpose: never swept
      hilLog(`HIL_KEEP=1: kept scratch dir ${dir}`);
      return;
    }
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  const unregister = registerEmergency(`remove ${dir}`, remove);
  scope.defer(`remove scratch dir ${dir}`, () => {
    unregister();
    remove();
  });
  return dir;
}

/** mkdir -p with mode 0755; returns the path. */
export function subDir(parent: string, ...parts: string[]): string {
  const dir = path.join(parent, ...parts);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}
