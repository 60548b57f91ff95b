// Locates the shared spec checkout (captures, authkeys) for tests.
// $RINGBEAT_SHARED wins; otherwise CI checks `shared` out beside the repo.
// A missing directory is an error, never a reason to skip: the capture tests
// are the proof of wire compatibility.

import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Repository root (this file lives in firmware/wire/testing/). */
const REPO_ROOT = resolve(__dirname, '..', '..', '..');

export function sharedDir(): string {
  const fromEnv = process.env['RINGBEAT_SHARED'];
  return fromEnv !== undefined && fromEnv !== '' ? resolve(fromEnv) : resolve(REPO_ROOT, '..', 'shared');
}

/** The Heartbeat lab captures directory; throws with a clear message if absent. */
export function capturesDir(): string {
  const dir = join(sharedDir(), 'spec', 'heartbeat', 'harness', 'captures');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(
      `Heartbeat captures not found at ${dir}. Check out the shared spec repository beside this ` +
        `repo (../shared) or set RINGBEAT_SHARED to its path.`,
    );
  }
  return dir;
}
