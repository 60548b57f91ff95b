// Paces writes on a serial line to its line rate, with two priorities.
//
// A UART (or a paced cable) holds only a few bytes; writing a burst faster
// than the line drains it overruns something on the way. So frames are handed
// to the port one at a time, each no earlier than the previous one has had
// time to leave the wire. This node's own frames always go before relayed
// ones: relaying other nodes' heartbeats must never delay ours. Relayed
// frames are dropped rather than sent late (a stale heartbeat is worthless);
// own frames queue up to a small bound.
//
// Pure scheduling on an injected clock; the actual write is a callback.

import type { Clock, TimerHandle } from '../core/clock';

export interface PacerOptions {
  baud: number;
  /** Bits on the wire per byte: start + data + parity + stop (8N1 = 10). */
  bitsPerChar?: number;
  /** Relayed frames older than this are dropped instead of sent (default 1000 ms). */
  maxRelayAgeMs?: number;
  /** At most this many frames of each kind wait (default 32 relayed, 16 own). */
  maxRelayQueue?: number;
  maxOwnQueue?: number;
  /** Window of the line utilisation figure (default 10 s). */
  utilisationWindowMs?: number;
}

export interface PacerStats {
  queuedOwn: number;
  queuedRelay: number;
  ownDropped: number;
  relayDropped: number;
  relayedSent: number;
  /** Share of the line's capacity used over the last window, 0..1. */
  utilisation: number;
}

interface Item {
  frame: Buffer;
  at: number;
}

export class TxPacer {
  private readonly own: Item[] = [];
  private readonly relay: Item[] = [];
  private readonly msPerByte: number;
  private freeAt = 0;
  private timer?: TimerHandle;
  private readonly sent: { at: number; bytes: number }[] = [];
  private counters = { ownDropped: 0, relayDropped: 0, relayedSent: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly write: (frame: Buffer, relay: boolean) => void,
    private readonly opts: PacerOptions,
  ) {
    this.msPerByte = ((opts.bitsPerChar ?? 10) * 1000) / opts.baud;
  }

  /** Time one frame occupies the wire. */
  wireTimeMs(bytes: number): number {
    return bytes * this.msPerByte;
  }

  push(frame: Buffer, relay = false): void {
    const now = this.clock.now();
    if (relay) {
      if (this.relay.length >= (this.opts.maxRelayQueue ?? 32)) {
        this.relay.shift();
        this.counters.relayDropped++;
      }
      this.relay.push({ frame, at: now });
    } else {
      if (this.own.length >= (this.opts.maxOwnQueue ?? 16)) {
        this.own.shift();
        this.counters.ownDropped++;
      }
      this.own.push({ frame, at: now });
    }
    this.pump();
  }

  /** Forget everything queued (port closed). */
  clear(): void {
    this.own.length = 0;
    this.relay.length = 0;
    this.timer?.cancel();
    this.timer = undefined;
  }

  stats(): PacerStats {
    const now = this.clock.now();
    const window = this.opts.utilisationWindowMs ?? 10_000;
    this.trim(now, window);
    const bytes = this.sent.reduce((n, s) => n + s.bytes, 0);
    return {
      queuedOwn: this.own.length,
      queuedRelay: this.relay.length,
      ...this.counters,
      utilisation: Math.min(1, (bytes * this.msPerByte) / window),
    };
  }

  private pump(): void {
    if (this.timer) return;
    const now = this.clock.now();
    if (now < this.freeAt) {
      this.timer = this.clock.after(this.freeAt - now, () => {
        this.timer = undefined;
        this.pump();
      });
      return;
    }
    const maxAge = this.opts.maxRelayAgeMs ?? 1000;
    while (this.relay.length && now - this.relay[0]!.at > maxAge) {
      this.relay.shift();
      this.counters.relayDropped++;
    }
    const relay = this.own.length === 0;
    const item = relay ? this.relay.shift() : this.own.shift();
    if (!item) return;
    this.freeAt = now + this.wireTimeMs(item.frame.length);
    this.sent.push({ at: now, bytes: item.frame.length });
    this.trim(now, this.opts.utilisationWindowMs ?? 10_000);
    if (relay) this.counters.relayedSent++;
    this.write(item.frame, relay);
    if (this.own.length || this.relay.length) this.pump();
  }

  private trim(now: number, window: number): void {
    while (this.sent.length && now - this.sent[0]!.at > window) this.sent.shift();
  }
}
