// An in-memory medium for engine unit tests driven by a ManualClock: frames
// written by one end are delivered to the others synchronously. HIL tests use
// the real serial and UDP media; this only isolates the protocol logic.

import type { Medium, MediumHandlers, MediumStats, SendOptions } from '../../media/medium';

export class TestWire {
  readonly ends: TestMedium[] = [];
  /** When false, the wire is cut (frames vanish). */
  connected = true;
  /** Optional filter: return false to lose a frame in transit. */
  filter?: (frame: Buffer, from: TestMedium, to: TestMedium) => boolean;

  end(name: string, format: 'classic' | 'netstring'): TestMedium {
    const m = new TestMedium(name, format, this, format === 'classic' ? 'serial' : 'bcast');
    this.ends.push(m);
    return m;
  }
}

export class TestMedium implements Medium {
  private handlers?: MediumHandlers;
  readonly sent: Buffer[] = [];
  relayed = 0;
  up = true;
  private counters = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, txDropped: 0 };

  constructor(
    readonly name: string,
    readonly format: 'classic' | 'netstring',
    private readonly wire: TestWire,
    readonly kind: 'serial' | 'bcast',
  ) {}

  start(handlers: MediumHandlers): void {
    this.handlers = handlers;
  }

  send(frame: Buffer, opts?: SendOptions): void {
    if (opts?.relay) this.relayed++;
    if (!this.up) {
      this.counters.txDropped++;
      return;
    }
    this.sent.push(frame);
    this.counters.framesOut++;
    this.counters.bytesOut += frame.length;
    if (!this.wire.connected) return;
    for (const other of this.wire.ends) {
      if (other === this || !other.up) continue;
      if (this.wire.filter && !this.wire.filter(frame, this, other)) continue;
      other.inject(frame);
    }
  }

  /** Delivers raw bytes as if they arrived on this medium. */
  inject(frame: Buffer): void {
    this.counters.framesIn++;
    this.counters.bytesIn += frame.length;
    this.handlers?.onFrame(frame, {});
  }

  async stop(): Promise<void> {
    this.up = false;
  }

  stats(): MediumStats {
    return { name: this.name, kind: this.kind, state: this.up ? 'up' : 'down', opens: 1, relayed: this.relayed, ...this.counters };
  }
}
