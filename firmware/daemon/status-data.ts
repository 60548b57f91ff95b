// The shape of `ringbeat status --json` (documented in the README; keep it
// stable: operators' scripts and the lab read it). Additive changes only.

import type { EngineSnapshot } from '../comm/engine';
import type { R1Snapshot } from '../resources/r1-manager';

export interface StatusReport {
  /** Format version of this object. */
  format: 1;
  node: string;
  cluster: string;
  version: string;
  pid: number;
  /** PID of the heartbeat path process (null if it is not running). */
  commPid: number | null;
  configDir: string;
  timing: { keepaliveMs: number; deadtimeMs: number; warntimeMs: number; initdeadMs: number };
  /** The heartbeat path's view; null when it does not answer. */
  comm: EngineSnapshot | null;
  /** Resource management (haresources, R1 protocol); null before it started. */
  resources: R1Snapshot | null;
}
