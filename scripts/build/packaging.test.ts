// The files the packages install: the man page covers every command and
// option, the shipped ha.cf and authkeys template are valid once the node names
// are filled in (and clearly invalid before), the unit has what systemd needs,
// and the maintainer scripts are valid sh.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { USAGE } from '../../firmware/cli/args';
import { formatDiagnostic } from '../../firmware/config/config-data';
import { loadConfig } from '../../firmware/config/load';

const PKG = join(__dirname, '..', '..', 'packaging');
const read = (f: string): string => readFileSync(join(PKG, f), 'utf8');

test('the man page documents every command and option of the usage text', () => {
  const man = read('ringbeat.8').replace(/\\-/g, '-').replace(/\\fI|\\fR|\\fB/g, '');
  const commands = [...USAGE.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!);
  assert.ok(commands.includes('hwtest') && commands.includes('run'), USAGE);
  for (const c of commands) assert.match(man, new RegExp(`^\\.(B|BR) ${c}\\b`, 'm'), `man page lacks command ${c}`);
  const options = [...USAGE.matchAll(/(--[a-z-]+)/g)].map((m) => m[1]!);
  for (const o of new Set(options)) assert.ok(man.includes(o), `man page lacks option ${o}`);
});

test('ha.cf as shipped names no nodes (check fails on that alone); with node names it is valid', (t) => {
  const d = mkdtempSync(join(tmpdir(), 'rb-pkgconf-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  copyFileSync(join(PKG, 'ha.cf'), join(d, 'ha.cf'));
  writeFileSync(join(d, 'authkeys'), read('authkeys.template').replace('@KEY@', 'a'.repeat(64)));
  chmodSync(join(d, 'authkeys'), 0o600);
  writeFileSync(join(d, 'nodeinfo'), 'nodea\n');
  const shipped = loadConfig(d);
  assert.ok(!shipped.ok, 'no node names: invalid');
  assert.ok(shipped.errors.length > 0 && shipped.errors.every((e) => /node/i.test(e.message)), shipped.errors.map(formatDiagnostic).join('\n'));
  writeFileSync(join(d, 'ha.cf'), read('ha.cf').replace('#node nodea nodeb', 'node nodea nodeb'));
  const filled = loadConfig(d);
  assert.ok(filled.ok, filled.ok ? '' : filled.errors.map(formatDiagnostic).join('\n'));
  assert.deepEqual(filled.warnings.map(formatDiagnostic), [], 'no warnings either');
});

test('the systemd unit: Type=simple, ExecStart, restart on failure, cache directory', () => {
  const unit = read('ringbeat.service');
  for (const line of ['Type=simple', 'ExecStart=/usr/sbin/ringbeat run', 'Restart=on-failure', 'CacheDirectory=ringbeat', 'WantedBy=multi-user.target']) {
    assert.match(unit, new RegExp(`^${line}$`, 'm'));
  }
});

test('maintainer scripts are valid sh', () => {
  for (const s of ['postinst', 'prerm', 'postrm']) {
    const r = spawnSync('sh', ['-n', join(PKG, 'debian', s)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${s}: ${r.stderr}`);
  }
});
