// Board definitions: which GPIO lines and I2C relay boards a hardware model
// has, as data (board/boards/<name>.json, or <config dir>/boards/<name>.json
// for a site's own board). parseBoardDefinition() validates a parsed JSON
// value and reports EVERY problem with its JSON path, like `ringbeat check`
// does for ha.cf; unknown keys are errors, so a typo never silently drops a
// relay.

export type Edge = 'none' | 'rising' | 'falling' | 'both';
export type RelayBoardType = 'pcf8574' | 'mcp23017';

/** Outputs and inputs are numbered like the kernel's sysfs GPIO: chipBase + line. */
export interface GpioLineSpec {
  name: string;
  /** Offset on the GPIO chip (e.g. the BCM GPIO number on a Raspberry Pi). */
  line: number;
  /** The line is active (on) when electrically low. */
  activeLow: boolean;
}

export interface GpioInputSpec extends GpioLineSpec {
  /** Which transitions wake a watcher (sysfs `edge`). */
  edge: Edge;
}

export interface GpioSpec {
  /** sysfs number of the chip's line 0 (`/sys/class/gpio/gpiochipN/base`: 0, or 512 on newer Raspberry Pi kernels). */
  chipBase: number;
  /** Output pulsed to keep an external hardware watchdog from resetting the board. */
  watchdogKick?: GpioLineSpec;
  statusLed?: GpioLineSpec;
  /** Relay outputs driven directly by GPIO lines. */
  relays: GpioLineSpec[];
  inputs: GpioInputSpec[];
}

export interface RelayBoardSpec {
  name: string;
  type: RelayBoardType;
  /** 7-bit I2C address. */
  address: number;
  channels: number;
  /** Relay energised when its expander pin is low (most relay modules). */
  activeLow: boolean;
}

export interface I2cSpec {
  /** /dev/i2c-<bus>. */
  bus: number;
  relayBoards: RelayBoardSpec[];
}

export interface BoardDefinition {
  name: string;
  description: string;
  /** Where it was read from (for messages). */
  source: string;
  gpio?: GpioSpec;
  i2c?: I2cSpec;
}

/** Channels each expander type can drive. */
export const MAX_CHANNELS: Readonly<Record<RelayBoardType, number>> = { pcf8574: 8, mcp23017: 16 };
/** Highest sysfs GPIO number accepted (the kernel's ARCH_NR_GPIOS is at most a few thousand). */
export const MAX_GPIO = 4095;

export type ParseResult = { ok: true; board: BoardDefinition } | { ok: false; errors: string[] };

const EDGES: readonly Edge[] = ['none', 'rising', 'falling', 'both'];
const NAME = /^[a-z0-9][a-z0-9._-]{0,39}$/;

type Obj = Record<string, unknown>;

/** Collects problems as `<source>: <path>: <message>` while walking one JSON value. */
class Checker {
  readonly errors: string[] = [];
  constructor(private readonly source: string) {}

  fail(path: string, msg: string): undefined {
    this.errors.push(`${this.source}: ${path ? `${path}: ` : ''}${msg}`);
    return undefined;
  }

  object(v: unknown, path: string, allowed: readonly string[]): Obj | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return this.fail(path, 'must be an object');
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) this.fail(path ? `${path}.${k}` : k, `unknown key (allowed: ${allowed.join(', ')})`);
    }
    return v as Obj;
  }

  array(v: unknown, path: string): unknown[] | undefined {
    if (v === undefined) return [];
    return Array.isArray(v) ? v : this.fail(path, 'must be an array');
  }

  int(v: unknown, path: string, min: number, max: number): number | undefined {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return this.fail(path, `must be an integer ${min}..${max}`);
    return v;
  }

  /** I2C addresses are usually written in hex: accept "0x20" as well as 32. */
  address(v: unknown, path: string): number | undefined {
    const n = typeof v === 'string' && /^0x[0-9a-f]{1,2}$/i.test(v) ? parseInt(v, 16) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0x03 || n > 0x77) {
      return this.fail(path, 'must be a 7-bit I2C address 0x03..0x77 (a number or a "0x.." string)');
    }
    return n;
  }

  bool(v: unknown, path: string, dflt: boolean): boolean {
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') this.fail(path, 'must be true or false');
    return v === true;
  }

  name(v: unknown, path: string): string | undefined {
    if (typeof v !== 'string' || !NAME.test(v)) return this.fail(path, 'must be a name of lower-case letters, digits, . _ - (at most 40)');
    return v;
  }

  text(v: unknown, path: string): string | undefined {
    if (typeof v !== 'string' || v.trim() === '') return this.fail(path, 'must be a non-empty string');
    return v;
  }
}

function line(c: Checker, v: unknown, path: string, dfltName?: string, input = false): GpioInputSpec | undefined {
  const o = c.object(v, path, input ? ['name', 'line', 'activeLow', 'edge'] : ['name', 'line', 'activeLow']);
  if (!o) return undefined;
  const name = o.name === undefined && dfltName ? dfltName : c.name(o.name, `${path}.name`);
  const ln = c.int(o.line, `${path}.line`, 0, MAX_GPIO);
  const activeLow = c.bool(o.activeLow, `${path}.activeLow`, false);
  let edge: Edge = 'none';
  if (input && o.edge !== undefined) {
    if (EDGES.includes(o.edge as Edge)) edge = o.edge as Edge;
    else c.fail(`${path}.edge`, `must be one of ${EDGES.join(', ')}`);
  }
  if (name === undefined || ln === undefined) return undefined;
  return { name, line: ln, activeLow, edge };
}

function gpio(c: Checker, v: unknown): GpioSpec | undefined {
  const o = c.object(v, 'gpio', ['chipBase', 'watchdogKick', 'statusLed', 'relays', 'inputs']);
  if (!o) return undefined;
  const chipBase = c.int(o.chipBase, 'gpio.chipBase', 0, MAX_GPIO) ?? 0;
  const strip = (s: GpioInputSpec | undefined): GpioLineSpec | undefined => s && { name: s.name, line: s.line, activeLow: s.activeLow };
  const spec: GpioSpec = {
    chipBase,
    watchdogKick: o.watchdogKick === undefined ? undefined : strip(line(c, o.watchdogKick, 'gpio.watchdogKick', 'watchdog-kick')),
    statusLed: o.statusLed === undefined ? undefined : strip(line(c, o.statusLed, 'gpio.statusLed', 'status-led')),
    relays: (c.array(o.relays, 'gpio.relays') ?? []).map((r, i) => strip(line(c, r, `gpio.relays[${i}]`))).filter((r) => r !== undefined),
    inputs: (c.array(o.inputs, 'gpio.inputs') ?? []).map((r, i) => line(c, r, `gpio.inputs[${i}]`, undefined, true)).filter((r) => r !== undefined),
  };
  const all = gpioLines(spec);
  const seenLine = new Map<number, string>();
  const seenName = new Set<string>();
  for (const l of all) {
    if (chipBase + l.line > MAX_GPIO) c.fail('gpio', `${l.name}: chipBase + line = ${chipBase + l.line} is above ${MAX_GPIO}`);
    const other = seenLine.get(l.line);
    if (other !== undefined) c.fail('gpio', `line ${l.line} is used twice (${other} and ${l.name})`);
    seenLine.set(l.line, l.name);
    if (seenName.has(l.name)) c.fail('gpio', `name '${l.name}' is used twice`);
    seenName.add(l.name);
  }
  return spec;
}

function relayBoard(c: Checker, v: unknown, path: string): RelayBoardSpec | undefined {
  const o = c.object(v, path, ['name', 'type', 'address', 'channels', 'activeLow']);
  if (!o) return undefined;
  const name = c.name(o.name, `${path}.name`);
  const type = o.type === 'pcf8574' || o.type === 'mcp23017' ? o.type : c.fail(`${path}.type`, 'must be pcf8574 or mcp23017');
  const address = c.address(o.address, `${path}.address`);
  const channels = type ? c.int(o.channels, `${path}.channels`, 1, MAX_CHANNELS[type]) : undefined;
  const activeLow = c.bool(o.activeLow, `${path}.activeLow`, true);
  if (name === undefined || type === undefined || address === undefined || channels === undefined) return undefined;
  return { name, type, address, channels, activeLow };
}

function i2c(c: Checker, v: unknown): I2cSpec | undefined {
  const o = c.object(v, 'i2c', ['bus', 'relayBoards']);
  if (!o) return undefined;
  const bus = c.int(o.bus, 'i2c.bus', 0, 255) ?? 0;
  const relayBoards = (c.array(o.relayBoards, 'i2c.relayBoards') ?? [])
    .map((r, i) => relayBoard(c, r, `i2c.relayBoards[${i}]`))
    .filter((r) => r !== undefined);
  const seenAddr = new Map<number, string>();
  for (const r of relayBoards) {
    const other = seenAddr.get(r.address);
    if (other !== undefined) c.fail('i2c', `address 0x${r.address.toString(16)} is used twice (${other} and ${r.name})`);
    seenAddr.set(r.address, r.name);
  }
  return { bus, relayBoards };
}

/** Every GPIO line of a board: outputs (watchdog kick, status LED, relays) first, then inputs. */
export function gpioLines(g: GpioSpec): (GpioLineSpec & { role: 'watchdog-kick' | 'status-led' | 'relay' | 'input'; edge?: Edge })[] {
  return [
    ...(g.watchdogKick ? [{ ...g.watchdogKick, role: 'watchdog-kick' as const }] : []),
    ...(g.statusLed ? [{ ...g.statusLed, role: 'status-led' as const }] : []),
    ...g.relays.map((r) => ({ ...r, role: 'relay' as const })),
    ...g.inputs.map((r) => ({ ...r, role: 'input' as const })),
  ];
}

/** Validates one parsed board file; `source` names it in messages and `expectName` must match its `name`. */
export function parseBoardDefinition(value: unknown, source: string, expectName?: string): ParseResult {
  const c = new Checker(source);
  const o = c.object(value, '', ['name', 'description', 'gpio', 'i2c']);
  if (!o) return { ok: false, errors: c.errors };
  const name = c.name(o.name, 'name');
  if (name !== undefined && expectName !== undefined && name !== expectName) c.fail('name', `is '${name}' but the file is named for '${expectName}'`);
  const description = c.text(o.description, 'description');
  const g = o.gpio === undefined ? undefined : gpio(c, o.gpio);
  const i = o.i2c === undefined ? undefined : i2c(c, o.i2c);
  if (o.gpio === undefined && o.i2c === undefined) c.fail('', 'a board needs a gpio or an i2c section');
  if (c.errors.length || name === undefined || description === undefined) return { ok: false, errors: c.errors };
  return { ok: true, board: { name, description, source, gpio: g, i2c: i } };
}
