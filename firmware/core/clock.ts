// Time is injected everywhere. Timeouts use the monotonic clock only: a wall
// clock jump (NTP step, RTC set by an operator) must never look like a silent
// peer. Wall time is used only for the `ts` field Heartbeat puts on the wire.

import { performance } from 'node:perf_hooks';

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (fractional), arbitrary origin. */
  now(): number;
  /** Wall-clock milliseconds since the epoch (for `ts` fields and logs only). */
  wallMs(): number;
  /** Calls `fn` once, `ms` from now (monotonic). */
  after(ms: number, fn: () => void): TimerHandle;
  /** Calls `fn` every `ms` (monotonic), drift-free: ticks are scheduled against the start time. */
  every(ms: number, fn: (lateMs: number) => void): TimerHandle;
}

/** The real clock: performance.now() + Node timers. */
export class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }

  wallMs(): number {
    return Date.now();
  }

  after(ms: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  }

  every(ms: number, fn: (lateMs: number) => void): TimerHandle {
    // Schedule each tick against the ideal time so that a late tick does not
    // shift all later ones; report how late each tick ran.
    let next = this.now() + ms;
    let t: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = (): void => {
      t = setTimeout(tick, Math.max(0, next - this.now()));
    };
    const tick = (): void => {
      if (cancelled) return;
      const now = this.now();
      const late = now - next;
      // After a long stall, skip the missed ticks rather than firing a burst.
      next = late > ms ? now + ms : next + ms;
      fn(Math.max(0, late));
      if (!cancelled) arm();
    };
    arm();
    return {
      cancel: () => {
        cancelled = true;
        if (t) clearTimeout(t);
      },
    };
  }
}

/**
 * A manual clock for unit tests: time moves only when the test calls
 * `advance()`, and due timers run in time order.
 */
export class ManualClock implements Clock {
  private t = 0;
  private wallOrigin: number;
  private seq = 0;
  private timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];

  constructor(wallOriginMs = Date.UTC(2026, 0, 1)) {
    this.wallOrigin = wallOriginMs;
  }

  now(): number {
    return this.t;
  }

  wallMs(): number {
    return this.wallOrigin + this.t;
  }

  /** Moves only the wall clock (simulates an NTP step); monotonic time is unaffected. */
  jumpWall(deltaMs: number): void {
    this.wallOrigin += deltaMs;
  }

  after(ms: number, fn: () => void): TimerHandle {
    const entry = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, live: true };
    this.timers.push(entry);
    return { cancel: () => void (entry.live = false) };
  }

  every(ms: number, fn: (lateMs: number) => void): TimerHandle {
    let handle: TimerHandle;
    let cancelled = false;
    const arm = (): void => {
      handle = this.after(ms, () => {
        if (cancelled) return;
        fn(0);
        if (!cancelled) arm();
      });
    };
    arm();
    return {
      cancel: () => {
        cancelled = true;
        handle.cancel();
      },
    };
  }

  /**
   * Moves time forward WITHOUT running timers, as if the event loop were
   * blocked; the next advance() then runs the overdue timers late.
   */
  stall(ms: number): void {
    this.t += ms;
  }

  /** Advances time by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers
        .filter((e) => e.live && e.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      due.live = false;
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.timers = this.timers.filter((e) => e.live);
    this.t = end;
  }
}
