import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DelimiterParser } from '@serialport/parser-delimiter';
import { LineGuard, isCutLine } from './line-guard';

/** Runs chunks through a guard (and optionally a splitter), collecting output and drops. */
async function run(chunks: Buffer[], maxLine: number, split = false) {
  const drops: string[] = [];
  const guard = new LineGuard({ maxLine, onDrop: (r) => drops.push(r) });
  const out: Buffer[] = [];
  const tail = split ? guard.pipe(new DelimiterParser({ delimiter: '\n', includeDelimiter: true })) : guard;
  tail.on('data', (b: Buffer) => out.push(Buffer.from(b)));
  const done = new Promise<void>((r) => tail.on('end', () => r()));
  for (const c of chunks) guard.write(c);
  guard.end();
  await done;
  return { out, drops, guard };
}

const b = (s: string) => Buffer.from(s, 'latin1');

test('passes short lines through unchanged, whatever the chunking', async () => {
  const text = 'abc\n>>>\nt=status\n<<<\n\npartial';
  for (const size of [1, 2, 3, 7, 100]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < text.length; i += size) chunks.push(b(text.slice(i, i + size)));
    const { out, drops } = await run(chunks, 16);
    assert.equal(Buffer.concat(out).toString('latin1'), text);
    assert.deepEqual(drops, []);
  }
});

test('a line of exactly maxLine bytes (with its newline) is intact', async () => {
  const line = 'x'.repeat(7) + '\n';
  const { out, drops } = await run([b(line + 'ok\n')], 8, true);
  assert.deepEqual(out.map((x) => x.toString()), [line, 'ok\n']);
  assert.deepEqual(drops, []);
  assert.equal(isCutLine(out[0], 8), false);
});

test('an overlong line becomes one cut line of maxLine+1 bytes and is reported once', async () => {
  const long = 'y'.repeat(100);
  for (const size of [1, 5, 13, 1000]) {
    const text = `a\n${long}\nb\n`;
    const chunks: Buffer[] = [];
    for (let i = 0; i < text.length; i += size) chunks.push(b(text.slice(i, i + size)));
    const { out, drops, guard } = await run(chunks, 8, true);
    assert.deepEqual(out.map((x) => x.toString()), ['a\n', 'yyyyyyyy\n', 'b\n'], `chunk size ${size}`);
    assert.equal(isCutLine(out[1], 8), true);
    assert.deepEqual(drops, ['oversized']);
    assert.equal(guard.cutLines, 1);
    assert.equal(guard.discardedBytes, 100 - 8 + 1);
  }
});

test('a line one byte too long is cut, and its own newline is not doubled', async () => {
  const { out, drops } = await run([b('12345678\nz\n')], 8, true);
  assert.deepEqual(out.map((x) => x.toString()), ['12345678\n', 'z\n']);
  assert.deepEqual(drops, ['oversized']);
});

test('each overlong line is reported separately; a line that never ends is reported once', async () => {
  const chunks = [b('q'.repeat(20) + '\n' + 'r'.repeat(20) + '\n')];
  for (let i = 0; i < 50; i++) chunks.push(b('s'.repeat(1000)));
  const { out, drops } = await run(chunks, 8);
  assert.deepEqual(drops, ['oversized', 'oversized', 'oversized']);
  assert.equal(Buffer.concat(out).toString(), 'qqqqqqqq\nrrrrrrrr\nssssssss\n');
});

test('memory stays bounded: 8 MB without a newline is not buffered by the splitter', async () => {
  const guard = new LineGuard({ onDrop: () => {} });
  const parser = guard.pipe(new DelimiterParser({ delimiter: '\n', includeDelimiter: true }));
  const lines: number[] = [];
  parser.on('data', (l: Buffer) => lines.push(l.length));
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  for (let i = 0; i < 128; i++) guard.write(chunk);
  guard.write(b('\n>>>\n'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(lines, [64 * 1024 + 1, 4]);
  // The splitter holds nothing: the cut line ended at the limit.
  assert.equal((parser as unknown as { buffer: Buffer }).buffer.length, 0);
  assert.equal(guard.discardedBytes, 8 * 1024 * 1024 - 64 * 1024 + 1);
});
