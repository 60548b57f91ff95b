import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseManifest, verifyTree } from './overlay';
import { ProgressBar } from './progress';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

test('manifest lines parse; malformed or escaping paths are refused', () => {
  const m = parseManifest(`${sha('a')}  0755  usr/sbin/ringbeat\n${sha('b')}  0644  etc/ha.d/ha.cf\n`);
  assert.deepEqual(m.map((e) => [e.path, e.mode]), [['usr/sbin/ringbeat', 0o755], ['etc/ha.d/ha.cf', 0o644]]);
  assert.throws(() => parseManifest(`${sha('a')}  0644  ../etc/passwd\n`), /line 1 is malformed/);
  assert.throws(() => parseManifest(`${sha('a')}  0644  /etc/passwd\n`), /malformed/);
  assert.throws(() => parseManifest('\n'), /lists no files/);
});

test('verification finds missing files, changed content and wrong modes', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'rb-verify-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  mkdirSync(join(d, 'etc'));
  writeFileSync(join(d, 'etc', 'ok'), 'ok');
  writeFileSync(join(d, 'etc', 'changed'), 'new');
  writeFileSync(join(d, 'etc', 'mode'), 'm');
  chmodSync(join(d, 'etc', 'ok'), 0o644);
  chmodSync(join(d, 'etc', 'changed'), 0o644);
  chmodSync(join(d, 'etc', 'mode'), 0o666);
  const entries = parseManifest(
    [`${sha('ok')}  0644  etc/ok`, `${sha('old')}  0644  etc/changed`, `${sha('m')}  0644  etc/mode`, `${sha('x')}  0644  etc/missing`].join('\n'),
  );
  const quiet = new ProgressBar('verify', 1, () => undefined, false);
  const problems = await verifyTree(d, entries, quiet);
  const uid = process.getuid?.() ?? 0;
  const ownerProblems = uid === 0 ? 0 : 3;
  assert.equal(problems.length, 3 + ownerProblems, problems.join('\n'));
  assert.match(problems.join('\n'), /\/etc\/changed: content differs/);
  assert.match(problems.join('\n'), /\/etc\/mode: mode 0666, expected 0644/);
  assert.match(problems.join('\n'), /\/etc\/missing: missing/);
});

test('the progress bar prints quarters off a terminal and redraws on one', () => {
  let out = '';
  const bar = new ProgressBar('write ', 100, (s) => void (out += s), false);
  for (let i = 0; i < 10; i++) bar.add(10);
  bar.finish();
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 5, 'one line per quarter started, plus the final one');
  assert.match(lines[0]!, /^write  \[#{3}\.+\] {2}10% 0\.0\/0\.0 MB$/);
  assert.match(lines.at(-1)!, /\[#{30}\] 100%/);
  let tty = '';
  const t = new ProgressBar('x', 10, (s) => void (tty += s), true);
  t.add(5);
  t.finish();
  assert.ok(tty.startsWith('\rx [') && tty.endsWith('100% 0.0/0.0 MB\n'));
});
