// A fake GPIO controller for unit tests: a GpioFactory whose lines keep their
// state in memory, with sysfs-like rules (one export per number, no writes to
// inputs) and hooks to drive inputs and break outputs.

import { GpioError, type GpioFactory, type GpioLine, type GpioLineOptions, type Level } from '../gpio-line';

interface PinState {
  opts: GpioLineOptions;
  /** Electrical level. */
  phys: Level;
  watchers: Set<(v: Level) => void>;
}

export class FakeGpioChip {
  private readonly pins = new Map<number, PinState>();
  /** Every logical write: [gpio, value]. */
  readonly writes: [number, Level][] = [];
  /** Numbers that cannot be exported (EBUSY, as when another driver owns the line). */
  readonly busy = new Set<number>();
  /** Outputs whose electrical level never changes (a broken driver): gpio -> stuck level. */
  readonly stuck = new Map<number, Level>();
  /** Inputs' electrical levels, settable before or after export. */
  readonly inputLevels = new Map<number, Level>();

  exported(): number[] {
    return [...this.pins.keys()].sort((a, b) => a - b);
  }

  /** Drives an input's electrical level; watchers see the logical value on matching edges. */
  drive(gpio: number, phys: Level): void {
    this.inputLevels.set(gpio, phys);
    const p = this.pins.get(gpio);
    if (!p || p.opts.direction !== 'in') return;
    const before = this.logical(p);
    p.phys = phys;
    const after = this.logical(p);
    const edge = p.opts.edge ?? 'none';
    if (before !== after && (edge === 'both' || (edge === 'rising' && after === 1) || (edge === 'falling' && after === 0))) {
      for (const w of p.watchers) w(after);
    }
  }

  private logical(p: PinState): Level {
    return (p.phys ^ (p.opts.activeLow ? 1 : 0)) as Level;
  }

  readonly factory: GpioFactory = (opts) => {
    if (this.busy.has(opts.gpio) || this.pins.has(opts.gpio)) {
      throw new GpioError(`${opts.label} (gpio${opts.gpio}): cannot export as ${opts.direction}: EBUSY, Device or resource busy`);
    }
    const inactive: Level = opts.activeLow ? 1 : 0;
    const p: PinState = { opts, phys: opts.direction === 'in' ? (this.inputLevels.get(opts.gpio) ?? 0) : inactive, watchers: new Set() };
    this.pins.set(opts.gpio, p);
    const chip = this;
    const line: GpioLine = {
      gpio: opts.gpio,
      label: opts.label,
      read: () => {
        if (opts.direction === 'out' && chip.stuck.has(opts.gpio)) p.phys = chip.stuck.get(opts.gpio)!;
        return chip.logical(p);
      },
      write: (v) => {
        if (opts.direction !== 'out') throw new GpioError(`${opts.label} (gpio${opts.gpio}): write: EPERM, operation not permitted`);
        chip.writes.push([opts.gpio, v]);
        p.phys = chip.stuck.get(opts.gpio) ?? ((v ^ (opts.activeLow ? 1 : 0)) as Level);
      },
      watch: (cb) => {
        p.watchers.add(cb);
        return () => p.watchers.delete(cb);
      },
      close: () => {
        p.watchers.clear();
        chip.pins.delete(opts.gpio);
      },
    };
    return line;
  };
}
