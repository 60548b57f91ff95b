#!/usr/bin/env node
// Copies the configuration reference (firmware/config/REFERENCE.md, kept
// next to the directive table and checked against it by unit tests) into the
// README's "Configuration reference" section, one heading level down.
//   node scripts/sync-readme.mjs          rewrite README.md
//   node scripts/sync-readme.mjs --check  exit 1 if README.md is out of date
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(new URL('.', import.meta.url).pathname, '..');
const MARK = '## Configuration reference';

export function referenceSection() {
  const ref = readFileSync(join(root, 'firmware/config/REFERENCE.md'), 'utf8');
  const body = ref.slice(ref.indexOf('\n') + 1).trimStart();
  return body.split('\n').map((l) => (l.startsWith('#') ? `#${l}` : l)).join('\n').trimEnd() + '\n';
}

export function syncedReadme(readme) {
  const i = readme.indexOf(MARK);
  if (i < 0) throw new Error(`README.md has no "${MARK}" section`);
  return `${readme.slice(0, i)}${MARK}\n\n${referenceSection()}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = join(root, 'README.md');
  const readme = readFileSync(path, 'utf8');
  const want = syncedReadme(readme);
  if (process.argv.includes('--check')) {
    if (want !== readme) {
      console.error('README.md configuration reference is out of date: run node scripts/sync-readme.mjs');
      process.exit(1);
    }
  } else writeFileSync(path, want);
}
