import assert from 'node:assert/strict';
import { test } from 'node:test';
import { elfArch, fileElfArch } from './elf';

function header(machine: number, little = true): Uint8Array {
  const h = new Uint8Array(20);
  h.set([0x7f, 0x45, 0x4c, 0x46, 2, little ? 1 : 2], 0);
  if (little) h.set([machine & 0xff, machine >> 8], 18);
  else h.set([machine >> 8, machine & 0xff], 18);
  return h;
}

test('ELF machine names follow process.arch', () => {
  assert.equal(elfArch(header(62)), 'x64');
  assert.equal(elfArch(header(183)), 'arm64');
  assert.equal(elfArch(header(40)), 'arm');
  assert.equal(elfArch(header(40, false)), 'arm', 'big-endian header');
  assert.equal(elfArch(header(243)), 'unknown-243');
  assert.equal(elfArch(new Uint8Array(20)), undefined, 'not ELF');
  assert.equal(elfArch(header(62).subarray(0, 10)), undefined, 'too short');
});

test('the running node binary is ELF for this architecture; a missing file is undefined', () => {
  assert.equal(fileElfArch(process.execPath), process.arch);
  assert.equal(fileElfArch('/nonexistent/x.node'), undefined);
  assert.equal(fileElfArch(__filename), undefined);
});
