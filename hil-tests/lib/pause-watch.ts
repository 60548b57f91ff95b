// Notices machine-wide pauses from inside a test. Under CI load the whole
// machine was seen frozen for ~2 s at once (every process, real-time ones
// included: Heartbeat logged its own heartbeat late). Timing bounds measured
// across such a pause say nothing about the code under test, so a test asks
// this watch whether one happened in its measuring window and, if so, measures
// again or leaves that one bound unjudged (saying so). Everything else stands.
//
// A timer ticks every 20 ms in the test process; a gap far beyond the tick
// (default 500 ms) is recorded with its end time (performance.now() ms). The
// test process runs at normal priority, so heavy load alone can open a gap too:
// then a bound goes unjudged once, never a wrong result accepted.

export interface Gap {
  /** When the gap ended (performance.now() ms). */
  endMs: number;
  /** Its length (ms). */
  ms: number;
}

export class PauseWatch {
  private last = performance.now();
  private readonly gaps: Gap[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(readonly thresholdMs = 500, tickMs = 20) {
    this.timer = setInterval(() => {
      const now = performance.now();
      if (now - this.last > thresholdMs) this.gaps.push({ endMs: now, ms: now - this.last });
      this.last = now;
    }, tickMs);
    this.timer.unref();
  }

  /** The longest gap overlapping [fromMs, toMs] (performance.now() ms), 0 if none. */
  worstBetween(fromMs: number, toMs = performance.now()): number {
    let worst = 0;
    for (const g of this.gaps) if (g.endMs >= fromMs && g.endMs - g.ms <= toMs) worst = Math.max(worst, g.ms);
    // a gap still open (the timer has not run since `last`)
    const open = performance.now() - this.last;
    if (open > this.thresholdMs && this.last <= toMs) worst = Math.max(worst, open);
    return worst;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
