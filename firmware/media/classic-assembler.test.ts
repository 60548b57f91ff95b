import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClassicAssembler } from './classic-assembler';

function lines(text: string): Buffer[] {
  return (text.match(/[^\n]*\n/g) ?? []).map((l) => Buffer.from(l, 'latin1'));
}

function harness(opts: { maxFrame?: number; maxLine?: number } = {}) {
  const frames: string[] = [];
  const drops: [string, string][] = [];
  const asm = new ClassicAssembler({
    ...opts,
    onFrame: (f) => frames.push(f.toString('latin1')),
    onDrop: (r, d) => drops.push([r, d]),
  });
  const feed = (text: string) => lines(text).forEach((l) => asm.push(l));
  return { asm, frames, drops, feed, reasons: () => drops.map((d) => d[0]) };
}

const F1 = '>>>\nt=status\nst=active\n<<<\n';
const F2 = '>>>\nt=NS_ackmsg\nauth=1 abc\n<<<\n';

test('emits whole frames, markers included', () => {
  const h = harness();
  h.feed(F1 + F2);
  assert.deepEqual(h.frames, [F1, F2]);
  assert.deepEqual(h.drops, []);
  assert.equal(h.asm.inFrame, false);
});

test('a frame split across pushes is emitted once complete', () => {
  const h = harness();
  const ls = lines(F1);
  ls.slice(0, 2).forEach((l) => h.asm.push(l));
  assert.equal(h.asm.inFrame, true);
  assert.deepEqual(h.frames, []);
  ls.slice(2).forEach((l) => h.asm.push(l));
  assert.deepEqual(h.frames, [F1]);
});

test('a garbage run between frames is reported once; frames still pass', () => {
  const h = harness();
  h.feed('noise\nmore noise\n\x13\x00junk\n' + F1 + 'again\nand again\n' + F2);
  assert.deepEqual(h.frames, [F1, F2]);
  assert.deepEqual(h.reasons(), ['malformed', 'malformed']);
  assert.match(h.drops[0][1], /noise/);
});

test('empty lines between frames are ignored silently', () => {
  const h = harness();
  h.feed('\n\n' + F1 + '\n' + F2 + '\n');
  assert.deepEqual(h.frames, [F1, F2]);
  assert.deepEqual(h.drops, []);
});

test('start marker must be exactly ">>>\\n" (CRLF, prefixes, trailing text are garbage)', () => {
  const h = harness();
  h.feed('>>>\r\nt=x\n<<<\r\n>>>>\n>>> \n');
  assert.deepEqual(h.frames, []);
  assert.deepEqual(h.reasons(), ['malformed']);
});

test('a new ">>>" before "<<<" drops the partial frame as truncated', () => {
  const h = harness();
  h.feed('>>>\nt=status\n' + F1);
  assert.deepEqual(h.frames, [F1]);
  assert.deepEqual(h.reasons(), ['truncated']);
});

test('a frame over maxFrame is dropped as oversized, its tail is skipped silently', () => {
  const h = harness({ maxFrame: 64 });
  const big = '>>>\n' + 'f=' + 'x'.repeat(40) + '\n' + 'g=' + 'y'.repeat(40) + '\nh=1\n<<<\n';
  h.feed(big + F1);
  assert.deepEqual(h.frames, [F1]);
  assert.deepEqual(h.reasons(), ['oversized']);
  assert.equal(h.asm.heldBytes, 0);
});

test('oversized frame followed directly by a new frame start', () => {
  const h = harness({ maxFrame: 32 });
  h.feed('>>>\n' + 'a='.padEnd(40, 'z') + '\nb=1\n' + F2.replace('auth=1 abc\n', ''));
  assert.deepEqual(h.frames, ['>>>\nt=NS_ackmsg\n<<<\n']);
  assert.deepEqual(h.reasons(), ['oversized']);
});

test('a frame exactly maxFrame long passes', () => {
  const h = harness({ maxFrame: F1.length });
  h.feed(F1);
  assert.deepEqual(h.frames, [F1]);
  const h2 = harness({ maxFrame: F1.length - 1 });
  h2.feed(F1);
  assert.deepEqual(h2.frames, []);
  assert.deepEqual(h2.reasons(), ['oversized']);
});

test('a cut line (longer than maxLine) spoils its frame silently and is neutral between frames', () => {
  const h2 = harness({ maxLine: 16 });
  const cut2 = 'c'.repeat(16) + '\n';
  h2.feed('>>>\nt=1\n' + cut2 + 'u=2\n<<<\n' + cut2 + F1);
  assert.deepEqual(h2.frames, [F1]);
  assert.deepEqual(h2.drops, []);
});

test('reset() in the middle of a frame reports truncated and starts over', () => {
  const h = harness();
  h.feed('>>>\nt=status\n');
  h.asm.reset();
  h.feed('st=active\n<<<\n' + F2);
  assert.deepEqual(h.frames, [F2]);
  assert.deepEqual(h.reasons(), ['truncated', 'malformed']);
  h.asm.reset();
  assert.equal(h.drops.length, 2);
});

test('frames are copies, not views into the input lines', () => {
  const ls = lines(F1);
  let got: Buffer | undefined;
  const asm = new ClassicAssembler({ onFrame: (f) => (got = f), onDrop: () => {} });
  ls.forEach((l) => asm.push(l));
  ls[1].fill(0x21);
  assert.equal(got?.toString(), F1);
});
