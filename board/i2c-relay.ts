// Relay boards on I2C port expanders: PCF8574 (8 quasi-bidirectional pins,
// one latch byte) and MCP23017 (16 pins in two 8-bit ports, register
// addressed, IOCON.BANK=0 layout). Drivers are written against I2cBus, the
// subset of i2c-bus's synchronous API they use, so unit tests pass a fake bus
// (board/testing/fake-i2c.ts) and production passes i2c-bus (native addon,
// loaded on first use).
//
// i2c-bus reports a device that does not acknowledge as errno 121 (EREMOTEIO)
// with an EMPTY `code` (Node's errno table has no name for it); some adapters
// say ENXIO (6) instead. Both become I2cNoAckError.

import type { RelayBoardSpec } from './board-def';

/** The part of i2c-bus's synchronous API the drivers use. */
export interface I2cBus {
  sendByteSync(addr: number, byte: number): void;
  receiveByteSync(addr: number): number;
  writeByteSync(addr: number, cmd: number, byte: number): void;
  readByteSync(addr: number, cmd: number): number;
  closeSync(): void;
}

export type I2cBusFactory = (bus: number) => I2cBus;

export class I2cError extends Error {
  override name = 'I2cError';
}

/** Nothing acknowledged the address: the board is missing, unpowered or mis-addressed. */
export class I2cNoAckError extends I2cError {
  override name = 'I2cNoAckError';
}

const EREMOTEIO = 121;
const ENXIO = 6;

export function isNoAck(e: unknown): boolean {
  const errno = (e as { errno?: unknown } | null)?.errno;
  return errno === EREMOTEIO || errno === -EREMOTEIO || errno === ENXIO || errno === -ENXIO;
}

export const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

/** Opens /dev/i2c-<bus> through i2c-bus (loaded on first use). */
export function i2cBusFactory(): I2cBusFactory {
  let mod: { openSync(bus: number): I2cBus } | undefined;
  return (bus) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod ??= require('i2c-bus') as { openSync(bus: number): I2cBus };
    try {
      return mod.openSync(bus);
    } catch (e) {
      throw new I2cError(`cannot open /dev/i2c-${bus}: ${(e as Error).message} (is the I2C bus enabled, e.g. dtparam=i2c_arm=on?)`);
    }
  };
}

export interface RelayBoard {
  readonly spec: RelayBoardSpec;
  /** Drives every relay off and makes the relay pins outputs. */
  init(): void;
  /** Switches one relay (0-based channel). */
  set(channel: number, on: boolean): void;
  /** Reads the relay pin back from the expander (true = energised). */
  get(channel: number): boolean;
  /** Every relay off. */
  allOff(): void;
}

abstract class ExpanderBoard implements RelayBoard {
  /** Bit pattern last written, bit i = pin i (electrical level). */
  protected latch = 0;

  constructor(
    readonly spec: RelayBoardSpec,
    protected readonly bus: I2cBus,
    protected readonly busNumber: number,
  ) {}

  /** Runs one transfer, turning i2c-bus errors into messages naming the device. */
  protected io<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      const where = `${this.spec.type} '${this.spec.name}' at ${hex(this.spec.address)} on /dev/i2c-${this.busNumber}`;
      if (isNoAck(e)) throw new I2cNoAckError(`${where}: no device answers (no ACK, errno ${(e as { errno: number }).errno}) during ${what}`);
      throw new I2cError(`${where}: ${what} failed: ${(e as Error).message || String(e)}`);
    }
  }

  protected check(channel: number): void {
    if (!Number.isInteger(channel) || channel < 0 || channel >= this.spec.channels) {
      throw new RangeError(`${this.spec.name}: channel ${channel} out of range 0..${this.spec.channels - 1}`);
    }
  }

  /** The electrical level of a pin for a relay state. */
  protected level(on: boolean): 0 | 1 {
    return on !== this.spec.activeLow ? 1 : 0;
  }

  protected withBit(channel: number, on: boolean): number {
    const bit = 1 << channel;
    return this.level(on) ? this.latch | bit : this.latch & ~bit;
  }

  protected offPattern(): number {
    let p = 0;
    for (let ch = 0; ch < this.spec.channels; ch++) if (this.level(false)) p |= 1 << ch;
    return p;
  }

  abstract init(): void;
  abstract set(channel: number, on: boolean): void;
  abstract get(channel: number): boolean;

  allOff(): void {
    for (let ch = 0; ch < this.spec.channels; ch++) this.set(ch, false);
  }
}

/**
 * PCF8574: writing one byte sets the latch; a pin whose latch bit is 1 is
 * weakly pulled high (and usable as input), 0 drives it low. Reading returns
 * the pin levels. Pins beyond `channels` stay 1 (inputs).
 */
export class Pcf8574RelayBoard extends ExpanderBoard {
  init(): void {
    const unused = 0xff & ~((1 << this.spec.channels) - 1);
    this.latch = this.offPattern() | unused;
    this.io('init', () => this.bus.sendByteSync(this.spec.address, this.latch));
  }

  set(channel: number, on: boolean): void {
    this.check(channel);
    const next = this.withBit(channel, on);
    this.io(`set relay ${channel}`, () => this.bus.sendByteSync(this.spec.address, next));
    this.latch = next;
  }

  get(channel: number): boolean {
    this.check(channel);
    const pins = this.io(`read relay ${channel}`, () => this.bus.receiveByteSync(this.spec.address));
    return ((pins >> channel) & 1) === this.level(true);
  }
}

/** MCP23017 registers (IOCON.BANK = 0, the power-on layout). */
export const MCP23017 = { IODIRA: 0x00, IODIRB: 0x01, GPIOA: 0x12, GPIOB: 0x13, OLATA: 0x14, OLATB: 0x15 } as const;

/**
 * MCP23017: channels 0-7 on port A, 8-15 on port B. Output latches are set to
 * "all off" BEFORE the pins become outputs (IODIR powers up as all inputs), so
 * initialising never clicks a relay. Read-back is from GPIOx, the pin levels.
 */
export class Mcp23017RelayBoard extends ExpanderBoard {
  private port(channel: number): { olat: number; gpio: number; shift: number } {
    return channel < 8 ? { olat: MCP23017.OLATA, gpio: MCP23017.GPIOA, shift: 0 } : { olat: MCP23017.OLATB, gpio: MCP23017.GPIOB, shift: 8 };
  }

  init(): void {
    const a = this.spec.address;
    this.latch = this.offPattern();
    const outputs = (1 << this.spec.channels) - 1; // 1 = output here; IODIR uses 0 = output
    this.io('init', () => {
      this.bus.writeByteSync(a, MCP23017.OLATA, this.latch & 0xff);
      this.bus.writeByteSync(a, MCP23017.OLATB, (this.latch >> 8) & 0xff);
      this.bus.writeByteSync(a, MCP23017.IODIRA, ~outputs & 0xff);
      this.bus.writeByteSync(a, MCP23017.IODIRB, (~outputs >> 8) & 0xff);
    });
  }

  set(channel: number, on: boolean): void {
    this.check(channel);
    const next = this.withBit(channel, on);
    const p = this.port(channel);
    this.io(`set relay ${channel}`, () => this.bus.writeByteSync(this.spec.address, p.olat, (next >> p.shift) & 0xff));
    this.latch = next;
  }

  get(channel: number): boolean {
    this.check(channel);
    const p = this.port(channel);
    const pins = this.io(`read relay ${channel}`, () => this.bus.readByteSync(this.spec.address, p.gpio));
    return ((pins >> (channel - p.shift)) & 1) === this.level(true);
  }
}

export function createRelayBoard(spec: RelayBoardSpec, bus: I2cBus, busNumber: number): RelayBoard {
  switch (spec.type) {
    case 'pcf8574':
      return new Pcf8574RelayBoard(spec, bus, busNumber);
    case 'mcp23017':
      return new Mcp23017RelayBoard(spec, bus, busNumber);
  }
}
