// This node's persistent identity on the wire:
// - `srcuuid`: 16 random bytes created once (Heartbeat caches name->uuid and
//   logs when it changes, so keep it stable);
// - `hg`, the generation: MUST grow at every start. A Heartbeat peer drops
//   everything from a lower generation as a replay, and treats the same
//   generation after a death as "returning after partition" and restarts
//   itself (spec 4.2, 13 send path 2).
// Both live in the state directory and are written atomically (temp + fsync +
// rename) before the first frame is sent.

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface Identity {
  uuid: Buffer;
  generation: number;
}

export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): void {
  const tmp = `${path}.tmp${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Loads (or creates) the uuid and takes the next generation.
 * @param method `file`: stored counter + 1 (first start: the wall-clock second,
 *   so it exceeds whatever an earlier, lost state directory held);
 *   `time`: the wall-clock second, but never less than stored + 1.
 * @throws with a message naming the file when the state dir is unusable.
 */
export function takeIdentity(stateDir: string, method: 'file' | 'time', wallMs: number): Identity {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new Error(`cannot create state directory ${stateDir}: ${(e as Error).message}`);
  }
  const uuidFile = join(stateDir, 'hb_uuid');
  const genFile = join(stateDir, 'hb_generation');
  try {
    let uuid = readOptional(uuidFile);
    if (!uuid || uuid.length !== 16) {
      uuid = randomBytes(16);
      writeFileAtomic(uuidFile, uuid);
    }
    const stored = readOptional(genFile);
    const prev = stored ? Number.parseInt(stored.toString('latin1').trim(), 10) : NaN;
    const now = Math.floor(wallMs / 1000);
    let generation: number;
    if (!Number.isFinite(prev)) generation = now;
    else if (method === 'time') generation = Math.max(now, prev + 1);
    else generation = prev + 1;
    writeFileAtomic(genFile, `${generation}\n`);
    return { uuid, generation };
  } catch (e) {
    throw new Error(`state directory ${stateDir} is not usable: ${(e as Error).message}`);
  }
}
