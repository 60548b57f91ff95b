// A medium moves already-encoded frames. It knows framing (serial: classic
// `>>>`..`<<<` text; UDP: one datagram = one frame) but nothing about fields,
// digests or sequencing: the engine in comm/ does that once for all media.
//
// Contract (every implementation):
// - `start()` opens the port/sockets and never throws: failures are reported
//   through `onState('down', reason)` and retried with backoff until `stop()`.
//   One medium failing (pty gone, interface deleted) never disturbs another.
// - `send()` never throws and never blocks: if the medium is down, the frame is
//   counted as `txDropped` and discarded (heartbeats are periodic, stale ones
//   are worthless).
// - `onFrame` gets exactly one complete candidate frame per call; bytes that
//   cannot be a frame (garbage between frames, overlong lines) are reported
//   through `onDrop` with the reason and never accumulate without bound.

import type { DropReason } from '../wire/message';

export type MediumKind = 'serial' | 'bcast' | 'ucast' | 'mcast';
export type MediumState = 'starting' | 'up' | 'down' | 'stopped';

export interface FrameOrigin {
  /** UDP: sender address and port. Serial: undefined. */
  address?: string;
  port?: number;
}

export interface MediumHandlers {
  onFrame(frame: Buffer, origin: FrameOrigin): void;
  onDrop(reason: DropReason, detail: string): void;
  onState(state: MediumState, detail: string): void;
}

export interface MediumStats {
  name: string;
  kind: MediumKind;
  state: MediumState;
  /** Last failure, if any (for `ringbeat status`). */
  lastError?: string;
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Frames discarded on send because the medium was down or the write failed. */
  txDropped: number;
  /** How many times the medium was (re)opened successfully. */
  opens: number;
  /** Serial only: frames of other nodes relayed out of this port (ring relay). */
  relayed?: number;
  /** Serial only: relayed frames dropped (queue full or too old to be useful). */
  relayDropped?: number;
  /** Serial only: share of the line rate used over the last 10 s (0..1). */
  lineUtilisation?: number;
}

export interface SendOptions {
  /** A frame of another node being relayed: lower priority than our own frames. */
  relay?: boolean;
}

export interface Medium {
  /** Link name as Heartbeat reports it: the device path for serial, the interface for UDP. */
  readonly name: string;
  readonly kind: MediumKind;
  /** Which frame encoding this medium carries. */
  readonly format: 'classic' | 'netstring';
  start(handlers: MediumHandlers): void;
  send(frame: Buffer, opts?: SendOptions): void;
  stop(): Promise<void>;
  stats(): MediumStats;
}

/** Reopen delays: 100 ms doubling to 5 s, reset after a successful open. */
export class Backoff {
  private delay: number;
  constructor(
    private readonly firstMs = 100,
    private readonly maxMs = 5000,
  ) {
    this.delay = firstMs;
  }
  next(): number {
    const d = this.delay;
    this.delay = Math.min(this.maxMs, this.delay * 2);
    return d;
  }
  reset(): void {
    this.delay = this.firstMs;
  }
}
