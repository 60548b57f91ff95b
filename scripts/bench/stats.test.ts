import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatTable, median, quantile, summarize, summaryRow } from './stats';

test('nearest-rank quantile and median', () => {
  const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(quantile(v, 0.9), 9);
  assert.equal(quantile(v, 1), 10);
  assert.equal(quantile([5], 0.9), 5);
  assert.equal(quantile([1, 2, 3], 0.9), 3);
  assert.equal(median(v), 5.5);
  assert.equal(median([3, 1, 2].sort()), 2);
  assert.throws(() => quantile([], 0.5));
});

test('summarize skips missing values and sorts', () => {
  assert.deepEqual(summarize([3, undefined, 1, 2, Number.NaN]), { n: 3, median: 2, p90: 3, min: 1, max: 3 });
  assert.equal(summarize([undefined]), undefined);
});

test('table columns line up, numbers right-aligned', () => {
  const t = formatTable(['impl', 'n', 'median'], [summaryRow(['ringbeat'], summarize([1, 2])).slice(0, 3), ['hb', '10', '123.4']]);
  const lines = t.split('\n');
  assert.equal(lines.length, 4);
  assert.equal(new Set(lines.map((l) => l.length)).size <= 2, true);
  assert.match(lines[3]!, /^hb\s+10\s+123\.4$/);
  assert.match(lines[2]!, /^ringbeat\s+2\s+1\.5$/);
});
