import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DURATION_MS, formatDuration, formatHacfTime, parseDuration } from './duration';

function ms(text: string): number {
  const r = parseDuration(text);
  assert.ok(r.ok, `expected '${text}' to parse: ${r.ok ? '' : r.message}`);
  return r.ms;
}

function err(text: string): string {
  const r = parseDuration(text);
  assert.ok(!r.ok, `expected '${text}' to be rejected`);
  return r.message;
}

test('plain numbers are seconds, fractions allowed', () => {
  assert.equal(ms('1'), 1000);
  assert.equal(ms('30'), 30000);
  assert.equal(ms('1.5'), 1500);
  assert.equal(ms('.5'), 500);
  assert.equal(ms('2.'), 2000);
  assert.equal(ms('0'), 0);
  assert.equal(ms('0.001'), 1);
});

test('ms, msec, us, usec suffixes as in cl_get_msec(), case-insensitive', () => {
  assert.equal(ms('100ms'), 100);
  assert.equal(ms('100MS'), 100);
  assert.equal(ms('1500msec'), 1500);
  assert.equal(ms('1000000us'), 1000);
  assert.equal(ms('2000usec'), 2);
  assert.equal(ms('1.5ms'), 2);
});

test('s and sec suffixes (ringbeat extension; Heartbeat rejects them)', () => {
  assert.equal(ms('1.5s'), 1500);
  assert.equal(ms('2sec'), 2000);
  assert.equal(ms('3S'), 3000);
});

test('rounds to the nearest millisecond like Heartbeat (add 0.5, truncate)', () => {
  assert.equal(ms('499us'), 0);
  assert.equal(ms('500us'), 1);
  assert.equal(ms('501us'), 1);
  assert.equal(ms('1499us'), 1);
  assert.equal(ms('0.0004'), 0);
  assert.equal(ms('0.0005'), 1);
  assert.equal(ms(' 2 '), 2000, 'surrounding blanks are ignored');
});

test('garbage is rejected with an example of valid values', () => {
  assert.equal(err('1x'), "'1x' is not a time (use e.g. 1, 500ms, 1.5s)");
  assert.equal(err('abc'), "'abc' is not a time (use e.g. 1, 500ms, 1.5s)");
  assert.equal(err('1.2.3'), "'1.2.3' is not a time (use e.g. 1, 500ms, 1.5s)");
  assert.equal(err('1e3'), "'1e3' is not a time (use e.g. 1, 500ms, 1.5s)");
  assert.equal(err('ms'), "'ms' is not a time (use e.g. 1, 500ms, 1.5s)");
  assert.equal(err('1 ms'), "'1 ms' is not a time (use e.g. 1, 500ms, 1.5s)");
  assert.equal(err('1h'), "'1h' is not a time (use e.g. 1, 500ms, 1.5s)");
  assert.equal(err(''), 'missing time (use e.g. 1, 500ms, 1.5s)');
});

test('negative values are rejected', () => {
  assert.equal(err('-1'), "'-1' is not allowed: times cannot be negative (use e.g. 1, 500ms, 1.5s)");
  assert.equal(err('-100ms'), "'-100ms' is not allowed: times cannot be negative (use e.g. 1, 500ms, 1.5s)");
});

test('values a Node timer cannot hold are rejected', () => {
  assert.equal(ms(`${MAX_DURATION_MS}ms`), MAX_DURATION_MS);
  assert.equal(err('9999999'), "'9999999' is too long (at most 2147483s, about 24 days)");
});

test('formatDuration is for messages', () => {
  assert.equal(formatDuration(3000), '3s');
  assert.equal(formatDuration(1500), '1.5s');
  assert.equal(formatDuration(200), '200ms');
  assert.equal(formatDuration(1250), '1250ms');
  assert.equal(formatDuration(0), '0ms');
});

test('formatHacfTime writes what Heartbeat also reads', () => {
  assert.equal(formatHacfTime(3000), '3');
  assert.equal(formatHacfTime(1500), '1500ms');
  assert.equal(formatHacfTime(0), '0ms');
  for (const v of [0, 1, 250, 1000, 1500, 30000]) assert.equal(ms(formatHacfTime(v)), v);
});
