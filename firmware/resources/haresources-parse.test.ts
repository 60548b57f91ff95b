import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDiagnostic } from '../config/config-data';
import { isBareAddress, loadHaresources, parseHaresources, splitResource } from './haresources-parse';

const opts = { file: '/etc/ha.d/haresources', nodes: ['nodea', 'NodeB'] };
const errors = (r: ReturnType<typeof parseHaresources>) => r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
const warnings = (r: ReturnType<typeof parseHaresources>) => r.diagnostics.filter((d) => d.severity === 'warning').map(formatDiagnostic);

test('the spec example: one group, key as written', () => {
  const r = parseHaresources('nodea IPaddr2::10.99.0.100/24/eth0/10.99.0.255\n', opts);
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.groups.length, 1);
  const g = r.groups[0]!;
  assert.equal(g.node, 'nodea');
  assert.equal(g.key, 'IPaddr2::10.99.0.100/24/eth0/10.99.0.255');
  assert.deepEqual(g.at, { file: '/etc/ha.d/haresources', line: 1 });
  assert.deepEqual(g.resources.map((x) => [x.raw, x.agent, x.args]), [
    ['IPaddr2::10.99.0.100/24/eth0/10.99.0.255', 'IPaddr2', ['10.99.0.100/24/eth0/10.99.0.255']],
  ]);
});

test('comments, blank lines, tabs, upper-case node, several groups with line numbers', () => {
  const text = [
    '# haresources',
    '',
    'NODEA\t10.0.0.10  httpd   # web service',
    '   # indented comment',
    'nodeb 10.0.0.11/24/eth1 Filesystem::/dev/sda1::/data1::ext2 mysql',
  ].join('\n');
  const r = parseHaresources(text, opts);
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(
    r.groups.map((g) => [g.node, g.key, g.at.line]),
    [
      ['nodea', '10.0.0.10', 3],
      ['nodeb', '10.0.0.11/24/eth1', 5],
    ],
  );
  const fs = r.groups[1]!.resources[1]!;
  assert.equal(fs.agent, 'Filesystem');
  assert.deepEqual(fs.args, ['/dev/sda1', '/data1', 'ext2']);
  // bare address = IPaddr::<it>, key keeps the written text
  assert.deepEqual(r.groups[0]!.resources[0], { raw: '10.0.0.10', agent: 'IPaddr', args: ['10.0.0.10'], at: { file: opts.file, line: 3 } });
  assert.equal(r.groups[0]!.resources[1]!.agent, 'httpd');
  assert.deepEqual(r.groups[0]!.resources[1]!.args, []);
});

test('backslash continuation joins lines (nothing inserted); group keeps the first line number', () => {
  const text = 'nodea 10.0.0.10 \\\n   httpd \\\n  Delay::1::2\nnodeb 10.0.0.20\n';
  const r = parseHaresources(text, opts);
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.groups.map((g) => [g.key, g.at.line, g.resources.map((x) => x.raw)]), [
    ['10.0.0.10', 1, ['10.0.0.10', 'httpd', 'Delay::1::2']],
    ['10.0.0.20', 4, ['10.0.0.20']],
  ]);
  // as sed does it: "a\" + "b" = "ab"
  const glued = parseHaresources('nodea 10.0.0.10 ht\\\ntpd\n', opts);
  assert.deepEqual(glued.groups[0]!.resources.map((x) => x.raw), ['10.0.0.10', 'httpd']);
});

test('a comment on a continuation line is stripped but warned about (Heartbeat would read its words)', () => {
  const r = parseHaresources('nodea 10.0.0.10 \\\n  httpd # the web\n', opts);
  assert.deepEqual(r.groups[0]!.resources.map((x) => x.raw), ['10.0.0.10', 'httpd']);
  assert.match(warnings(r).join('\n'), /haresources:2: warning: comment on a continuation line/);
});

test('unknown node, missing resources, bad agent names are errors with file:line', () => {
  const text = ['nodec 10.0.0.1', 'nodea', 'nodeb ../../bin/sh::x', 'nodeb .hidden', 'nodea good::1'].join('\n');
  const r = parseHaresources(text, opts);
  const e = errors(r);
  assert.match(e[0]!, /^\/etc\/ha\.d\/haresources:1: node 'nodec' is not a cluster node \(ha\.cf node: nodea, nodeb\)$/);
  assert.match(e[1]!, /haresources:2: no resources for node 'nodea'/);
  assert.match(e[2]!, /haresources:3: bad resource '\.\.\/\.\.\/bin\/sh::x'/);
  assert.match(e[3]!, /haresources:4: bad resource '\.hidden'/);
  assert.equal(e.length, 4);
  assert.deepEqual(r.groups.map((g) => g.key), ['10.0.0.1', 'good::1']);
});

test('duplicates across groups: same resource, same key via shorthand, same address', () => {
  const text = [
    'nodea 10.0.0.10 httpd',
    'nodeb IPaddr::10.0.0.10', // same as the shorthand above
    'nodeb httpd',
    'nodeb IPaddr2::10.0.0.10/24/eth0',
  ].join('\n');
  const e = errors(parseHaresources(text, opts));
  assert.equal(e.length, 4, e.join('\n'));
  assert.match(e[0]!, /:2: address 10\.0\.0\.10 is managed twice \(also \/etc\/ha\.d\/haresources:1\)/);
  assert.match(e[1]!, /:2: resource 'IPaddr::10\.0\.0\.10' appears twice \(also .*:1\)/);
  assert.match(e[2]!, /:3: resource 'httpd' appears twice/);
  assert.match(e[3]!, /:4: address 10\.0\.0\.10 is managed twice/);
});

test('bad IP arguments are reported at parse time', () => {
  const e = errors(parseHaresources('nodea IPaddr2::10.0.0.300/24\nnodeb 10.0.0.5/33\nnodeb IPaddr::10.0.0.6/24/eth0:0:1\n', opts));
  assert.match(e[0]!, /:1: bad address in 'IPaddr2::10\.0\.0\.300\/24': '10\.0\.0\.300' is not an IPv4 or IPv6 address/);
  assert.match(e[1]!, /:2: bad address in '10\.0\.0\.5\/33': netmask bits 33 out of range 1\.\.32/);
  assert.match(e[2]!, /:3: bad address .*bad interface name/);
});

test('IPv6: IPaddr2::fd00::100/64/eth0 keeps the address whole; Heartbeat incompatibility is a warning', () => {
  const r = parseHaresources('nodea IPaddr2::fd00::100/64/eth0\nnodeb fd00::200/64\n', opts);
  assert.deepEqual(errors(r), []);
  assert.deepEqual(r.groups[0]!.resources[0]!.args, ['fd00', '100/64/eth0']);
  assert.deepEqual(r.groups[1]!.resources[0]!, { raw: 'fd00::200/64', agent: 'IPaddr', args: ['fd00::200/64'], at: { file: opts.file, line: 2 } });
  const w = warnings(r);
  assert.match(w[0]!, /:1: warning: .*splits IPv6 addresses at '::'/);
  assert.match(w[1]!, /:2: warning: .*bare IPv6/);
});

test('bare-address detection: IPv4, IPv6 with a digit in the first group; hex-word scripts stay scripts', () => {
  assert.equal(isBareAddress('10.0.0.1'), true);
  assert.equal(isBareAddress('10.0.0.1/24/eth0/10.0.0.255'), true);
  assert.equal(isBareAddress('fd00::1'), true);
  assert.equal(isBareAddress('2001:db8::1/64'), true);
  assert.equal(isBareAddress('::1'), true);
  assert.equal(isBareAddress('dead::1'), false);
  assert.equal(isBareAddress('httpd'), false);
  assert.equal(isBareAddress('10.0.0'), false);
  assert.deepEqual(splitResource('dead::1'), { agent: 'dead', args: ['1'], shorthand: false });
  assert.deepEqual(splitResource('Delay::5::0'), { agent: 'Delay', args: ['5', '0'], shorthand: false });
});

test('CRLF line ends and a trailing backslash on the last line', () => {
  const r = parseHaresources('nodea 10.0.0.1 httpd\r\nnodeb 10.0.0.2 \\', opts);
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.groups.map((g) => g.resources.map((x) => x.raw)), [['10.0.0.1', 'httpd'], ['10.0.0.2']]);
});

test('loadHaresources: missing file is an error diagnostic at line 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hares-'));
  try {
    const missing = await loadHaresources(join(dir, 'haresources'), ['nodea']);
    assert.equal(formatDiagnostic(missing.diagnostics[0]!), `${join(dir, 'haresources')}: file not found`);
    writeFileSync(join(dir, 'haresources'), 'nodea 10.0.0.1\n');
    const r = await loadHaresources(join(dir, 'haresources'), ['nodea']);
    assert.equal(r.groups[0]!.at.file, join(dir, 'haresources'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
