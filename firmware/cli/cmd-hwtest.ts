// `ringbeat hwtest [-c DIR] [--board NAME] [--json]`: the commissioning
// self-test an operator runs on a freshly wired board. Every GPIO output of
// the board definition is pulsed and read back, every input is read (and its
// edge interrupt armed), every relay of every I2C relay board is switched on
// and off and read back from the expander. Prints one row per check and exits
// 1 if any failed. Everything is left off and released at the end.
//
// Do not run it while `ringbeat run` drives the same lines.

import type { BoardDefinition } from '../../board/board-def';
import { gpioLines } from '../../board/board-def';
import { BoardError, loadBoard, selectBoardName } from '../../board/board-registry';
import { sysfsGpioFactory, type GpioFactory, type GpioLine, type Level } from '../../board/gpio-line';
import { createRelayBoard, hex, i2cBusFactory, type I2cBus, type I2cBusFactory } from '../../board/i2c-relay';
import type { CommonOptions } from './args';

export interface HwtestRow {
  part: 'gpio' | 'i2c';
  item: string;
  check: string;
  ok: boolean;
  detail: string;
}

export interface HwtestDeps {
  gpio: GpioFactory;
  i2c: I2cBusFactory;
  sleep(ms: number): Promise<void>;
}

/** How long an output stays on: long enough to see an LED blink or hear a relay. */
export const PULSE_MS = 100;
/** Settling time of a relay before its pin is read back. */
export const RELAY_SETTLE_MS = 30;

const message = (e: unknown): string => (e as Error)?.message ?? String(e);

async function testOutput(deps: HwtestDeps, gpio: number, label: string, activeLow: boolean): Promise<Pick<HwtestRow, 'ok' | 'detail'>> {
  let line: GpioLine | undefined;
  const seen: Level[] = [];
  try {
    line = deps.gpio({ gpio, label, direction: 'out', activeLow });
    seen.push(line.read());
    line.write(1);
    await deps.sleep(PULSE_MS);
    seen.push(line.read());
    line.write(0);
    await deps.sleep(PULSE_MS);
    seen.push(line.read());
  } catch (e) {
    return { ok: false, detail: message(e) };
  } finally {
    try {
      line?.write(0);
      line?.close();
    } catch {
      /* reported above if it matters */
    }
  }
  const ok = seen.join('') === '010';
  return { ok, detail: `read back ${seen.join(',')}${ok ? '' : ' (expected 0,1,0)'}` };
}

async function testInput(deps: HwtestDeps, gpio: number, label: string, activeLow: boolean, edge: NonNullable<ReturnType<typeof gpioLines>[number]['edge']>): Promise<Pick<HwtestRow, 'ok' | 'detail'>> {
  let line: GpioLine | undefined;
  try {
    line = deps.gpio({ gpio, label, direction: 'in', edge, activeLow });
    const v = line.read();
    if (edge !== 'none') {
      // Arming the watcher proves the edge interrupt path (epoll on `value`) works.
      const unwatch = line.watch(
        () => undefined,
        () => undefined,
      );
      unwatch();
    }
    return { ok: true, detail: `level ${v}${edge !== 'none' ? `, ${edge}-edge interrupt armed` : ''}` };
  } catch (e) {
    return { ok: false, detail: message(e) };
  } finally {
    try {
      line?.close();
    } catch {
      /* nothing more to do */
    }
  }
}

async function testGpio(board: BoardDefinition, deps: HwtestDeps, rows: HwtestRow[]): Promise<void> {
  const g = board.gpio;
  if (!g) return;
  for (const l of gpioLines(g)) {
    const gpio = g.chipBase + l.line;
    const item = `${l.name} gpio${gpio} (${l.role === l.name ? '' : `${l.role}, `}line ${l.line}${l.activeLow ? ', active low' : ''})`;
    if (l.role === 'input') rows.push({ part: 'gpio', item, check: 'read', ...(await testInput(deps, gpio, l.name, l.activeLow, l.edge ?? 'none')) });
    else rows.push({ part: 'gpio', item, check: 'pulse', ...(await testOutput(deps, gpio, l.name, l.activeLow)) });
  }
}

async function testI2c(board: BoardDefinition, deps: HwtestDeps, rows: HwtestRow[]): Promise<void> {
  const spec = board.i2c;
  if (!spec || spec.relayBoards.length === 0) return;
  let bus: I2cBus;
  try {
    bus = deps.i2c(spec.bus);
  } catch (e) {
    rows.push({ part: 'i2c', item: `/dev/i2c-${spec.bus}`, check: 'open', ok: false, detail: message(e) });
    return;
  }
  try {
    for (const rb of spec.relayBoards) {
      const name = `${rb.name} ${rb.type}@${hex(rb.address)}`;
      const relays = createRelayBoard(rb, bus, spec.bus);
      try {
        relays.init();
      } catch (e) {
        rows.push({ part: 'i2c', item: name, check: 'init', ok: false, detail: message(e) });
        continue;
      }
      for (let ch = 0; ch < rb.channels; ch++) {
        const item = `${name} relay ${ch}`;
        try {
          relays.set(ch, true);
          await deps.sleep(RELAY_SETTLE_MS);
          const on = relays.get(ch);
          relays.set(ch, false);
          await deps.sleep(RELAY_SETTLE_MS);
          const off = relays.get(ch);
          const ok = on && !off;
          rows.push({ part: 'i2c', item, check: 'on/off', ok, detail: ok ? 'read back on, off' : `read back ${on ? 'on' : 'OFF'}, ${off ? 'ON' : 'off'} (expected on, off)` });
        } catch (e) {
          rows.push({ part: 'i2c', item, check: 'on/off', ok: false, detail: message(e) });
        }
      }
      try {
        relays.allOff();
      } catch {
        /* a failing board was reported above */
      }
    }
  } finally {
    try {
      bus.closeSync();
    } catch {
      /* nothing more to do */
    }
  }
}

/** Runs every check of the board; never throws for hardware faults (they become failed rows). */
export async function runHwtest(board: BoardDefinition, deps: HwtestDeps): Promise<HwtestRow[]> {
  const rows: HwtestRow[] = [];
  await testGpio(board, deps, rows);
  await testI2c(board, deps, rows);
  return rows;
}

export function formatHwtest(board: BoardDefinition, rows: readonly HwtestRow[]): string {
  const head: [string, string, string, string, string] = ['PART', 'ITEM', 'CHECK', 'RESULT', 'DETAIL'];
  const body = rows.map((r): [string, string, string, string, string] => [r.part, r.item, r.check, r.ok ? 'ok' : 'FAIL', r.detail]);
  const w = [0, 1, 2, 3].map((i) => Math.max(head[i]!.length, ...body.map((b) => b[i]!.length)));
  const fmt = (c: string[]): string => `${c.slice(0, 4).map((x, i) => x.padEnd(w[i]!)).join('  ')}  ${c[4]}`.trimEnd();
  const failed = rows.filter((r) => !r.ok).length;
  return [
    `ringbeat hwtest: board ${board.name} (${board.source})`,
    fmt(head),
    ...body.map(fmt),
    `${rows.length} checks, ${failed} failed`,
    '',
  ].join('\n');
}

export interface HwtestOptions extends Pick<CommonOptions, 'configDir' | 'json'> {
  board?: string;
}

const defaultDeps = (): HwtestDeps => ({
  gpio: sysfsGpioFactory(),
  i2c: i2cBusFactory(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
});

export async function cmdHwtest(o: HwtestOptions, out: (s: string) => void, err: (s: string) => void, deps: HwtestDeps = defaultDeps()): Promise<number> {
  let board: BoardDefinition;
  try {
    board = loadBoard(selectBoardName(o.configDir, o.board), o.configDir);
  } catch (e) {
    if (e instanceof BoardError) {
      err(`ringbeat hwtest: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const rows = await runHwtest(board, deps);
  if (rows.length === 0) {
    err(`ringbeat hwtest: board ${board.name} defines no GPIO lines or relay boards\n`);
    return 1;
  }
  const failed = rows.some((r) => !r.ok);
  out(o.json ? `${JSON.stringify({ board: board.name, source: board.source, ok: !failed, rows })}\n` : formatHwtest(board, rows));
  return failed ? 1 : 0;
}
