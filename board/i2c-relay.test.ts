import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RelayBoardSpec } from './board-def';
import { createRelayBoard, I2cError, I2cNoAckError, isNoAck, MCP23017 } from './i2c-relay';
import { FakeI2cBus, Mcp23017Model, Pcf8574Model } from './testing/fake-i2c';

const pcfSpec: RelayBoardSpec = { name: 'k8', type: 'pcf8574', address: 0x20, channels: 6, activeLow: true };
const mcpSpec: RelayBoardSpec = { name: 'k16', type: 'mcp23017', address: 0x27, channels: 12, activeLow: false };

test('PCF8574, active low: init drives all relays off (pins high, unused pins high), set/get per channel', () => {
  const pcf = new Pcf8574Model();
  pcf.latch = 0x00; // whatever the board held before
  const bus = new FakeI2cBus({ 0x20: pcf });
  const b = createRelayBoard(pcfSpec, bus, 1);
  b.init();
  assert.equal(pcf.latch, 0xff);
  b.set(2, true);
  assert.equal(pcf.latch, 0xfb);
  assert.equal(b.get(2), true);
  assert.equal(b.get(1), false);
  b.set(5, true);
  b.set(2, false);
  assert.equal(pcf.latch, 0xdf);
  b.allOff();
  assert.equal(pcf.latch, 0xff);
  assert.throws(() => b.set(6, true), RangeError);
});

test('PCF8574 read-back sees a pin pulled low from outside (a stuck relay driver)', () => {
  const pcf = new Pcf8574Model();
  const b = createRelayBoard(pcfSpec, new FakeI2cBus({ 0x20: pcf }), 1);
  b.init();
  pcf.externalLow = 0x01;
  assert.equal(b.get(0), true, 'reads as energised although it was switched off');
});

test('MCP23017, active high: latches are set off BEFORE the pins become outputs; ports A and B', () => {
  const mcp = new Mcp23017Model();
  const bus = new FakeI2cBus({ 0x27: mcp });
  const b = createRelayBoard(mcpSpec, bus, 1);
  b.init();
  const writes = bus.log.filter((x) => x.op === 'writeByte').map((x) => [x.reg, x.value]);
  assert.deepEqual(writes, [
    [MCP23017.OLATA, 0x00],
    [MCP23017.OLATB, 0x00],
    [MCP23017.IODIRA, 0x00],
    [MCP23017.IODIRB, 0xf0],
  ]);
  b.set(0, true);
  b.set(9, true);
  assert.equal(mcp.regs[MCP23017.OLATA], 0x01);
  assert.equal(mcp.regs[MCP23017.OLATB], 0x02);
  assert.equal(b.get(9), true);
  assert.equal(b.get(8), false);
  mcp.inverted = 1 << 3;
  assert.equal(b.get(3), true, 'a stuck output reads back wrong');
});

test('a missing device is I2cNoAckError (errno 121, empty code) naming type, address and bus', () => {
  const b = createRelayBoard(pcfSpec, new FakeI2cBus({}), 1);
  assert.throws(
    () => b.init(),
    (e: Error) => e instanceof I2cNoAckError && /pcf8574 'k8' at 0x20 on \/dev\/i2c-1: no device answers \(no ACK, errno 121\) during init/.test(e.message),
  );
  assert.ok(isNoAck({ errno: 121, code: '' }));
  assert.ok(isNoAck({ errno: 6 }), 'ENXIO from some adapters');
  assert.ok(!isNoAck({ errno: 5 }));
});

test('other bus errors are I2cError with the driver message; a transient NACK recovers', () => {
  const pcf = new Pcf8574Model();
  const bus = new FakeI2cBus({ 0x20: pcf });
  const b = createRelayBoard({ ...pcfSpec, type: 'mcp23017' }, bus, 1); // wrong type: byte-data on a PCF8574
  assert.throws(() => b.init(), (e: Error) => e instanceof I2cError && !(e instanceof I2cNoAckError) && /Input\/output error/.test(e.message));
  const ok = createRelayBoard(pcfSpec, bus, 1);
  bus.failNext.set(0x20, 1);
  assert.throws(() => ok.init(), I2cNoAckError);
  ok.init();
  assert.equal(pcf.latch, 0xff);
});
