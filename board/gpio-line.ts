// One GPIO line, behind a small interface so drivers and commands can be unit
// tested with a fake (board/testing/fake-gpio.ts), the way serialport takes a
// binding. Production lines use onoff over the kernel's sysfs GPIO ABI
// (/sys/class/gpio; the kernel needs CONFIG_GPIO_SYSFS). onoff and its epoll
// addon are required only when the first line is opened, so commands that
// never touch GPIO never load native code.

import type { Edge } from './board-def';

export type Level = 0 | 1;

export interface GpioLineOptions {
  /** sysfs GPIO number (chip base + line). */
  gpio: number;
  /** For messages, e.g. 'watchdog-kick'. */
  label: string;
  direction: 'in' | 'out';
  /** Inputs: which transitions a watcher sees (default none). */
  edge?: Edge;
  /** Logical 1 is electrically low. */
  activeLow?: boolean;
}

export interface GpioLine {
  readonly gpio: number;
  readonly label: string;
  /** The logical level (outputs: what is driven). */
  read(): Level;
  /** Outputs only. */
  write(v: Level): void;
  /** Calls `cb` on each configured edge (inputs with edge != none); returns the unsubscribe function. */
  watch(cb: (v: Level) => void, onError: (e: Error) => void): () => void;
  /** Stops watching and releases (unexports) the line. */
  close(): void;
}

export type GpioFactory = (o: GpioLineOptions) => GpioLine;

export class GpioError extends Error {
  override name = 'GpioError';
}

type Onoff = typeof import('onoff');

const SYSFS = '/sys/class/gpio';

class OnoffLine implements GpioLine {
  private closed = false;

  constructor(
    private readonly pin: InstanceType<Onoff['Gpio']>,
    readonly gpio: number,
    readonly label: string,
  ) {}

  private wrap<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw new GpioError(`${this.label} (gpio${this.gpio}): ${what}: ${(e as Error).message}`);
    }
  }

  read(): Level {
    return this.wrap('read', () => this.pin.readSync());
  }

  write(v: Level): void {
    this.wrap('write', () => this.pin.writeSync(v));
  }

  watch(cb: (v: Level) => void, onError: (e: Error) => void): () => void {
    const h = (err: Error | null | undefined, v: Level): void => {
      if (err) onError(new GpioError(`${this.label} (gpio${this.gpio}): watch: ${err.message}`));
      else cb(v);
    };
    this.wrap('watch', () => this.pin.watch(h));
    return () => this.pin.unwatch(h);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wrap('unexport', () => {
      this.pin.unwatchAll();
      this.pin.unexport();
    });
  }
}

/** Lines over the kernel's sysfs GPIO ABI, through onoff (loaded on first use). */
export function sysfsGpioFactory(): GpioFactory {
  let onoff: Onoff | undefined;
  return (o) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    onoff ??= require('onoff') as Onoff;
    const { Gpio } = onoff;
    if (!Gpio.accessible) {
      throw new GpioError(`${o.label} (gpio${o.gpio}): sysfs GPIO is not available (${SYSFS}/export is missing or not writable; the kernel needs CONFIG_GPIO_SYSFS)`);
    }
    // Outputs start at their inactive level, set atomically with the
    // direction so a relay or the watchdog line never glitches. The kernel's
    // 'high'/'low' are raw electrical levels (active_low is not applied), so
    // an active-low line starts 'high'.
    const direction = o.direction === 'in' ? 'in' : o.activeLow ? 'high' : 'low';
    try {
      const pin = new Gpio(o.gpio, direction, o.direction === 'in' ? (o.edge ?? 'none') : undefined, { activeLow: o.activeLow ?? false });
      return new OnoffLine(pin, o.gpio, o.label);
    } catch (e) {
      throw new GpioError(`${o.label} (gpio${o.gpio}): cannot export as ${o.direction}: ${(e as Error).message}`);
    }
  };
}
