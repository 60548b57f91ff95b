// The messages between the daemon (parent) and the heartbeat path process
// (child). Structured-clone ("advanced") serialization over Node's IPC
// channel: Buffers arrive as Uint8Array and class instances as plain
// objects, so only plain data crosses, and helpers restore Buffers.

import type { ClusterConfig } from '../config/config-data';
import type { Field } from '../wire/message';
import { FT, HaMessage } from '../wire/message';
import type { EngineSnapshot } from './engine';
import type { ClusterMessage, MembershipEvent } from './events';

export interface CommInit {
  config: ClusterConfig;
  uuid: Uint8Array;
  generation: number;
  stateDir: string;
  /** Identifies log lines, e.g. `ringbeat[1234]`. */
  logIdent: string;
}

export type ToComm =
  | { type: 'init'; init: CommInit }
  | { type: 'send'; fields: Field[] }
  | { type: 'snapshot'; id: number }
  /** Graceful stop: send `shutdone`, close media, exit 0. */
  | { type: 'stop' };

export type FromComm =
  | { type: 'ready' }
  | { type: 'event'; event: MembershipEvent }
  | { type: 'message'; message: ClusterMessage }
  | { type: 'snapshot'; id: number; snapshot: EngineSnapshot }
  | { type: 'fatal'; error: string };

/** Restores Buffers (and nested messages) in fields that crossed the IPC channel. */
export function reviveFields(fields: Field[]): Field[] {
  return fields.map((f): Field => {
    switch (f.type) {
      case FT.BINARY:
      case FT.COMPRESS:
        return { ...f, value: Buffer.from(f.value) };
      case FT.STRUCT:
        return { ...f, value: new HaMessage(reviveFields((f.value as unknown as { fields: Field[] }).fields)) };
      default:
        return f;
    }
  });
}
