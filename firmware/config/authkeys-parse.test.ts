import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkAuthkeysMode, parseAuthkeys, readAuthkeys, type AuthkeysResult } from './authkeys-parse';
import { formatDiagnostic } from './config-data';

const F = '/etc/ha.d/authkeys';

function parse(...lines: string[]): AuthkeysResult {
  return parseAuthkeys(lines.join('\n'), F);
}

function msgs(r: AuthkeysResult): string[] {
  return r.diagnostics.map(formatDiagnostic);
}

test('the three lab variants (spec 9.1) parse', () => {
  let r = parse('auth 1', '1 sha1 HBstudy-secret-2024');
  assert.deepEqual(msgs(r), []);
  assert.deepEqual(r.auth, {
    outbound: 1,
    keys: [{ index: 1, method: 'sha1', key: 'HBstudy-secret-2024', at: { file: F, line: 2 } }],
    file: F,
    outboundAt: { file: F, line: 1 },
  });
  r = parse('auth 1', '1 md5 HBstudy-md5-key');
  assert.deepEqual(msgs(r), []);
  assert.equal(r.auth?.keys[0]?.method, 'md5');
  r = parse('auth 1', '1 crc');
  assert.deepEqual(msgs(r), [`${F}:2: warning: key 1: crc only detects corruption; anyone on the network can forge messages (use sha1)`]);
  assert.deepEqual(r.auth?.keys[0], { index: 1, method: 'crc', at: { file: F, line: 2 } });
});

test('comments, blank lines, tabs, CRLF, trailing comments; auth may follow the keys', () => {
  const r = parse('# header', '', '\t3   sha1\tKey#with#hashes   # trailing comment\r', '  auth 3 # the outbound key', '');
  assert.deepEqual(msgs(r), []);
  assert.equal(r.auth?.outbound, 3);
  assert.equal(r.auth?.keys[0]?.key, 'Key#with#hashes');
  assert.deepEqual(msgs(parse('auth 0', '0 crc # no key')).filter((m) => !m.includes('warning')), []);
});

test('sha256 is accepted with a ringbeat-only warning when used outbound', () => {
  const r = parse('auth 2', '2 sha256 s3cret');
  assert.equal(r.auth?.keys[0]?.method, 'sha256');
  assert.deepEqual(msgs(r), [`${F}:2: warning: key 2: sha256 is ringbeat-only; Heartbeat 3.0.6 nodes cannot check it (use sha1 in mixed clusters)`]);
});

test('more than one key warns (Heartbeat checks trailers with the outbound key only)', () => {
  const r = parse('auth 1', '1 sha1 a', '2 md5 b');
  assert.equal(r.auth?.keys.length, 2);
  assert.deepEqual(msgs(r), [
    `${F}:3: warning: more than one key: Heartbeat 3.0.6 checks UDP netstring trailers with the 'auth' key only, so peers signing with another index are dropped; keep a single key once all nodes use it`,
  ]);
});

test('auth line errors', () => {
  assert.deepEqual(msgs(parse('1 sha1 k')), [`${F}: missing 'auth <index>' line choosing the key for outgoing messages (e.g. 'auth 1')`]);
  assert.deepEqual(msgs(parse('')), [`${F}: missing 'auth <index>' line choosing the key for outgoing messages (e.g. 'auth 1')`]);
  assert.deepEqual(msgs(parse('auth', '1 sha1 k')), [`${F}:1: auth: missing key index (e.g. 'auth 1')`]);
  assert.deepEqual(msgs(parse('auth # one', '1 sha1 k')), [`${F}:1: auth: missing key index (e.g. 'auth 1')`]);
  assert.deepEqual(msgs(parse('auth 16', '1 sha1 k')), [`${F}:1: auth: '16' is not a key index (0..15)`]);
  assert.deepEqual(msgs(parse('auth one', '1 sha1 k')), [`${F}:1: auth: 'one' is not a key index (0..15)`]);
  assert.deepEqual(msgs(parse('auth 1 2', '1 sha1 k')), [`${F}:1: auth: unexpected text after the index (syntax: auth <index>)`]);
  assert.deepEqual(msgs(parse('auth 1', 'auth 1', '1 sha1 k')), [`${F}:2: auth is given twice (lines 1 and 2); keep one`]);
  assert.deepEqual(msgs(parse('auth 2', '1 sha1 k')), [`${F}:1: auth 2: no key with index 2 is defined (add a line like '2 sha1 <secret>')`]);
  assert.equal(parse('auth 2', '1 sha1 k').auth, undefined);
});

test('key line errors (never quoting key material)', () => {
  const e = (...lines: string[]): string[] => msgs(parse('auth 1', ...lines)).filter((m) => !m.includes('warning'));
  assert.deepEqual(e('1 sha1 k', '16 sha1 k'), [`${F}:3: '16' is not a key index (0..15)`]);
  assert.deepEqual(e('1'), [`${F}:2: key 1: missing method (syntax: 1 sha1|md5|crc|sha256 [key])`, `${F}:1: auth 1: no key with index 1 is defined (add a line like '1 sha1 <secret>')`]);
  assert.deepEqual(e('1 sha512 k'), [
    `${F}:2: key 1: unknown method (use sha1, md5, crc or sha256)`,
    `${F}:1: auth 1: no key with index 1 is defined (add a line like '1 sha1 <secret>')`,
  ]);
  assert.deepEqual(e('1 SHA1 k').slice(0, 1), [`${F}:2: key 1: unknown method 'SHA1' (method names are lower-case: sha1, md5, crc, sha256)`]);
  assert.deepEqual(e('1 crc secret').slice(0, 1), [`${F}:2: key 1: method crc takes no key; remove it (or use sha1 with the key)`]);
  assert.deepEqual(e('1 sha1').slice(0, 1), [`${F}:2: key 1: method sha1 needs a key (syntax: 1 sha1 <secret>)`]);
  assert.deepEqual(e('1 md5').slice(0, 1), [`${F}:2: key 1: method md5 needs a key (syntax: 1 md5 <secret>)`]);
  assert.deepEqual(e('1 sha1 #secret').slice(0, 1), [`${F}:2: key 1: the key may not start with '#' (it reads like a comment)`]);
  assert.deepEqual(e('1 sha1 two words').slice(0, 1), [`${F}:2: key 1: extra text after the key; a key is one word without blanks`]);
  assert.deepEqual(e('1 sha1 a', '1 md5 b'), [`${F}:3: key 1 is defined twice (lines 2 and 3); keep one`]);
  assert.deepEqual(e('1 sha1 k', 'sha1 secret'), [`${F}:3: unrecognized line; expected 'auth <index>' or '<index> <method> [key]'`]);
  assert.deepEqual(e('1 sha1 k', 'authentication 1'), [`${F}:3: unrecognized line; expected 'auth <index>' or '<index> <method> [key]'`]);
  for (const m of msgs(parse('auth 1', '1 crc topsecret', '2 sha1 topsecret more', 'topsecret', '3 topsecret', '4 sha1 #topsecret'))) {
    assert.ok(!m.includes('topsecret'), `message leaks a key: ${m}`);
  }
});

test('checkAuthkeysMode: group/other readable is an error, writable a warning', () => {
  assert.deepEqual(checkAuthkeysMode(0o100600, F), []);
  assert.deepEqual(checkAuthkeysMode(0o100400, F), []);
  const fmt = (mode: number): string[] => checkAuthkeysMode(mode, F).map(formatDiagnostic);
  assert.deepEqual(fmt(0o100644), [`${F}: readable by group/others (mode 0644); run: chmod 600 ${F}`]);
  assert.deepEqual(fmt(0o100640), [`${F}: readable by group/others (mode 0640); run: chmod 600 ${F}`]);
  assert.deepEqual(fmt(0o100604), [`${F}: readable by group/others (mode 0604); run: chmod 600 ${F}`]);
  assert.deepEqual(fmt(0o100620), [`${F}: warning: writable by group/others (mode 0620); run: chmod 600 ${F}`]);
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ringbeat-authkeys-'));
}

test('readAuthkeys: real files and modes', () => {
  const dir = tmp();
  try {
    const file = join(dir, 'authkeys');
    writeFileSync(file, 'auth 1\n1 sha1 k\n');
    chmodSync(file, 0o600);
    assert.deepEqual(msgs(readAuthkeys(file)), []);
    assert.equal(readAuthkeys(file).auth?.outbound, 1);

    chmodSync(file, 0o644);
    const r = readAuthkeys(file);
    assert.deepEqual(msgs(r), [`${file}: readable by group/others (mode 0644); run: chmod 600 ${file}`]);

    chmodSync(file, 0o640);
    writeFileSync(file, 'auth 1\n1 sha1\n');
    assert.deepEqual(msgs(readAuthkeys(file)), [
      `${file}: readable by group/others (mode 0640); run: chmod 600 ${file}`,
      `${file}:2: key 1: method sha1 needs a key (syntax: 1 sha1 <secret>)`,
      `${file}:1: auth 1: no key with index 1 is defined (add a line like '1 sha1 <secret>')`,
    ], 'mode and content errors are all reported');

    // A symlink is judged by its target, like Heartbeat's fstat() after fopen().
    chmodSync(file, 0o600);
    writeFileSync(file, 'auth 1\n1 sha1 k\n');
    const link = join(dir, 'link');
    symlinkSync(file, link);
    assert.deepEqual(msgs(readAuthkeys(link)), []);

    // Keys are raw bytes (latin1 in, latin1 out).
    writeFileSync(file, Buffer.concat([Buffer.from('auth 1\n1 md5 k'), Buffer.from([0xe9, 0xff]), Buffer.from('\n')]));
    assert.equal(readAuthkeys(file).auth?.keys[0]?.key, 'k\u00e9\u00ff');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readAuthkeys: missing file, directory', () => {
  const dir = tmp();
  try {
    const file = join(dir, 'authkeys');
    assert.deepEqual(msgs(readAuthkeys(file)), [
      `${file}: file not found; create it with the lines 'auth 1' and '1 sha1 <secret>', then run: chmod 600 ${file}`,
    ]);
    mkdirSync(file);
    assert.deepEqual(msgs(readAuthkeys(file)), [`${file}: not a regular file; authkeys must be a file with mode 600`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
