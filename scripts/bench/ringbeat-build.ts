// Which ringbeat a benchmark measures: the built program (dist/), as the HIL
// tests run it. Builds first when asked; warns when the build is older than
// the sources, because measuring a stale build is easy to miss.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hilLog } from '../../hil-tests/lib/procs';
import { ringbeatCommand } from '../../hil-tests/lib/ringbeat-node';

const ROOT = path.resolve(__dirname, '..', '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds ringbeat if `build`; throws if there is no build; returns the command line it will run. */
export function prepareRingbeat(build: boolean): string[] {
  if (build) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: ROOT });
    if (r.status !== 0) throw new Error('npm run build failed');
  }
  const cmd = ringbeatCommand(); // throws when not built
  const bundle = path.join(ROOT, 'dist', 'ringbeat.cjs');
  if (!process.env.RINGBEAT_BIN && fs.existsSync(bundle) && fs.statSync(bundle).mtimeMs < newestMtime(path.join(ROOT, 'firmware'))) {
    hilLog(`WARNING: ${bundle} is older than firmware/ sources: measuring a stale build (pass --build)`);
  }
  hilLog(`ringbeat: ${cmd.join(' ')}`);
  return cmd;
}
