import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { VERSION } from './version';

test('VERSION matches package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', `file://${__filename}`), 'utf8')) as { version: string };
  assert.equal(VERSION, pkg.version);
});
