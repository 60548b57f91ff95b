// A fake I2C bus with register models of the relay expanders, for unit tests
// of drivers and commands. Errors have the shapes the real i2c-bus addon
// produces (no ACK: errno 121 with an empty code), and faults can be injected.

import type { I2cBus } from '../i2c-relay';

export interface I2cDeviceModel {
  sendByte(byte: number): void;
  receiveByte(): number;
  writeByte(reg: number, v: number): void;
  readByte(reg: number): number;
}

/** Quasi-bidirectional latch: a pin reads low if the latch drives it low or something pulls it low. */
export class Pcf8574Model implements I2cDeviceModel {
  latch = 0xff;
  /** Pins pulled low from outside (bit = 1), e.g. a shorted relay driver. */
  externalLow = 0;

  sendByte(byte: number): void {
    this.latch = byte & 0xff;
  }

  receiveByte(): number {
    return this.latch & ~this.externalLow & 0xff;
  }

  writeByte(): void {
    throw Object.assign(new Error(', Input/output error'), { errno: 5, code: 'EIO', syscall: 'writeByteSync' });
  }

  readByte(): number {
    throw Object.assign(new Error(', Input/output error'), { errno: 5, code: 'EIO', syscall: 'readByteSync' });
  }
}

/** MCP23017 register file, IOCON.BANK = 0: IODIR powers up 0xff, GPIO reads mix OLAT (outputs) and inputs. */
export class Mcp23017Model implements I2cDeviceModel {
  readonly regs = new Uint8Array(0x16);
  /** Levels seen on input pins (16 bits, port B high). */
  inputs = 0xffff;
  /** Output bits that read back opposite to their latch (a broken driver): bit = 1. */
  inverted = 0;
  private pointer = 0;

  constructor() {
    this.regs[0x00] = 0xff;
    this.regs[0x01] = 0xff;
  }

  sendByte(byte: number): void {
    this.pointer = byte;
  }

  receiveByte(): number {
    return this.readByte(this.pointer);
  }

  writeByte(reg: number, v: number): void {
    // Writing GPIOx writes the latch, as on the chip.
    const r = reg === 0x12 || reg === 0x13 ? reg + 2 : reg;
    if (r < this.regs.length) this.regs[r] = v & 0xff;
  }

  readByte(reg: number): number {
    if (reg === 0x12 || reg === 0x13) {
      const p = reg - 0x12;
      const dir = this.regs[p]!; // 1 = input
      const olat = this.regs[0x14 + p]!;
      const inp = (this.inputs >> (8 * p)) & 0xff;
      const out = olat ^ ((this.inverted >> (8 * p)) & 0xff);
      return ((out & ~dir) | (inp & dir)) & 0xff;
    }
    return reg < this.regs.length ? this.regs[reg]! : 0;
  }
}

export interface I2cTransaction {
  op: 'sendByte' | 'receiveByte' | 'writeByte' | 'readByte';
  addr: number;
  reg?: number;
  value: number;
}

const noAck = (syscall: string): Error => Object.assign(new Error(', Remote I/O error'), { errno: 121, code: '', syscall });

export class FakeI2cBus implements I2cBus {
  readonly devices = new Map<number, I2cDeviceModel>();
  readonly log: I2cTransaction[] = [];
  /** Address -> number of upcoming transfers that fail with no ACK. */
  readonly failNext = new Map<number, number>();
  closed = false;

  constructor(devices: Record<number, I2cDeviceModel> = {}) {
    for (const [a, d] of Object.entries(devices)) this.devices.set(Number(a), d);
  }

  private dev(addr: number, syscall: string): I2cDeviceModel {
    if (this.closed) throw new Error('bus is closed');
    const n = this.failNext.get(addr) ?? 0;
    if (n > 0) {
      this.failNext.set(addr, n - 1);
      throw noAck(syscall);
    }
    const d = this.devices.get(addr);
    if (!d) throw noAck(syscall);
    return d;
  }

  sendByteSync(addr: number, byte: number): void {
    this.dev(addr, 'sendByteSync').sendByte(byte);
    this.log.push({ op: 'sendByte', addr, value: byte });
  }

  receiveByteSync(addr: number): number {
    const v = this.dev(addr, 'receiveByteSync').receiveByte();
    this.log.push({ op: 'receiveByte', addr, value: v });
    return v;
  }

  writeByteSync(addr: number, reg: number, byte: number): void {
    this.dev(addr, 'writeByteSync').writeByte(reg, byte);
    this.log.push({ op: 'writeByte', addr, reg, value: byte });
  }

  readByteSync(addr: number, reg: number): number {
    const v = this.dev(addr, 'readByteSync').readByte(reg);
    this.log.push({ op: 'readByte', addr, reg, value: v });
    return v;
  }

  closeSync(): void {
    this.closed = true;
  }
}
