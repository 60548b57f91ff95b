import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

test('README.md carries the current configuration reference (node scripts/sync-readme.mjs)', async () => {
  const { syncedReadme } = (await import(join(__dirname, 'sync-readme.mjs'))) as { syncedReadme(s: string): string };
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  assert.equal(readme, syncedReadme(readme));
});
