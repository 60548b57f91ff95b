import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';
import type { AuthConfig } from '../config/config-data';
import { Authenticator } from './auth';
import { crc32Posix, digest } from './digest';
import {
  CRC_SERIAL_STATUS_SEQ7,
  MD5_UDP_NS_REXMIT,
  SHA1_UDP_STATUS_SEQ1,
  WORKED_DIGESTS,
} from './testing/fixtures';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const AT = { file: 'test', line: 0 };

/** Bytes up to and including the first occurrence of `marker`. */
function through(buf: Buffer, marker: string): Buffer {
  return buf.subarray(0, buf.indexOf(marker, 0, 'latin1') + marker.length);
}

test('spec 11: HMAC-SHA1 over the classic field lines of seq=1', () => {
  const data = b(
    't=status\nst=init\ndt=1388\nprotocol=1\nsrc=nodea\n' +
      '(1)srcuuid=o02Gl+X+Q2mUVK+raJnqOQ==\nseq=1\nhg=6b049583\nts=6b049582\n' +
      'ld=1.12 0.98 0.52 4/121 17662\nttl=3\n',
  );
  assert.equal(digest('sha1', 'HBstudy-secret-2024', data), WORKED_DIGESTS.sha1Inner);
});

test('spec 11: HMAC-SHA1 over the 263 signed bytes of the seq=1 datagram', () => {
  const signed = through(SHA1_UDP_STATUS_SEQ1, '%%%\n');
  assert.equal(signed.length, 263);
  assert.equal(digest('sha1', 'HBstudy-secret-2024', signed), WORKED_DIGESTS.sha1Trailer);
});

test('spec 11: crc over the 150 bytes of field lines of the crc serial status', () => {
  const start = 4; // after ">>>\n"
  const end = CRC_SERIAL_STATUS_SEQ7.indexOf('auth=', 0, 'latin1');
  const data = CRC_SERIAL_STATUS_SEQ7.subarray(start, end);
  assert.equal(data.length, 150);
  assert.equal(digest('crc', '', data), WORKED_DIGESTS.crcSerial);
});

test('spec 11: HMAC-MD5 trailer and inner field of the NS_rexmit', () => {
  assert.equal(digest('md5', 'HBstudy-md5-key', through(MD5_UDP_NS_REXMIT, '%%%\n')), WORKED_DIGESTS.md5Trailer);
  const inner = b(
    't=NS_rexmit\ndest=nodea\nfirstseq=30\nlastseq=30\n(1)destuuid=d4V5ChdsQxWfo8aVR5IT5A==\n' +
      'src=nodeb\n(1)srcuuid=hCZroyrjSk69w5BjzLxOXw==\nhg=6b04961e\nts=6b04962f\nttl=3\n',
  );
  assert.equal(digest('md5', 'HBstudy-md5-key', inner), WORKED_DIGESTS.md5Inner);
});

test('crc is CRC-32/POSIX without length suffix (check value 765e7680)', () => {
  assert.equal(crc32Posix(b('123456789')), 0x765e7680);
  assert.equal(digest('crc', '', b('')), 'ffffffff');
});

test('crc hex is %lx: no zero padding', () => {
  assert.equal(crc32Posix(b('msg10')), 0x0035a0a3);
  assert.equal(digest('crc', '', b('msg10')), '35a0a3');
});

test('crc ignores the key', () => {
  assert.equal(digest('crc', 'whatever', b('123456789')), '765e7680');
});

test('HMACs match RFC 2202 / RFC 4231 test case 2', () => {
  const data = b('what do ya want for nothing?');
  assert.equal(digest('md5', 'Jefe', data), '750c783e6ab0b503eaa86e310a5db738');
  assert.equal(digest('sha1', 'Jefe', data), 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
  assert.equal(digest('sha256', 'Jefe', data), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
});

test('keys are latin1 bytes, not UTF-8', () => {
  const key = 'cl\xe9'; // "clé" as written in a latin1 authkeys file
  const data = b('x');
  assert.equal(digest('sha1', key, data), createHmac('sha1', Buffer.from([0x63, 0x6c, 0xe9])).update(data).digest('hex'));
  assert.notEqual(digest('sha1', key, data), createHmac('sha1', key).update(data).digest('hex'));
});

test('keys longer than the block size are hashed first (RFC 2104, like glue)', () => {
  const key = 'k'.repeat(100);
  const data = b('data');
  for (const alg of ['md5', 'sha1'] as const) {
    const shortKey = createHash(alg).update(key, 'latin1').digest();
    assert.equal(digest(alg, key, data), createHmac(alg, shortKey).update(data).digest('hex'));
  }
});

const cfg = (outbound: number, ...keys: [number, AuthConfig['keys'][number]['method'], string?][]): AuthConfig => ({
  outbound,
  keys: keys.map(([index, method, key]) => ({ index, method, ...(key === undefined ? {} : { key }), at: AT })),
});

test('Authenticator signs with the outbound index', () => {
  const a = new Authenticator(cfg(2, [1, 'md5', 'one'], [2, 'sha1', 'HBstudy-secret-2024']));
  assert.equal(a.outboundMethod, 'sha1');
  assert.equal(a.outboundIndex, 2);
  const signed = through(SHA1_UDP_STATUS_SEQ1, '%%%\n');
  assert.equal(a.sign(signed), `2 ${WORKED_DIGESTS.sha1Trailer}`);
});

test('Authenticator verifies with the index named in the string', () => {
  const a = new Authenticator(cfg(1, [1, 'md5', 'one'], [2, 'sha1', 'two'], [3, 'crc']));
  const data = b('payload');
  assert.equal(a.verify(`1 ${digest('md5', 'one', data)}`, data), true);
  assert.equal(a.verify(`2 ${digest('sha1', 'two', data)}`, data), true);
  assert.equal(a.verify(`3 ${digest('crc', '', data)}`, data), true);
  assert.equal(a.verify(`2 ${digest('md5', 'one', data)}`, data), false); // right digest, wrong index
  assert.equal(a.verify(`4 ${digest('md5', 'one', data)}`, data), false); // unknown index
  assert.equal(a.verify(`1 ${digest('md5', 'one', b('other'))}`, data), false);
});

test('Authenticator rejects malformed auth strings', () => {
  const a = new Authenticator(cfg(1, [1, 'sha1', 'k']));
  const data = b('payload');
  const hex = digest('sha1', 'k', data);
  for (const s of ['', '1', `1  ${hex}`, ` 1 ${hex}`, `1 ${hex} `, `x ${hex}`, `1 ${hex.toUpperCase()}`, `1\t${hex}`, `16 ${hex}`, `1 ${hex}00`, `1 ${hex.slice(1)}`]) {
    assert.equal(a.verify(s, data), false, JSON.stringify(s));
  }
  assert.equal(a.verify(`1 ${hex}`, data), true);
});

test('Authenticator refuses an outbound index without key', () => {
  assert.throws(() => new Authenticator(cfg(2, [1, 'sha1', 'k'])), /auth 2/);
});

test('sha256 is available as a ringbeat-native method', () => {
  const a = new Authenticator(cfg(5, [5, 'sha256', 'secret']));
  const data = b('x');
  const s = a.sign(data);
  assert.match(s, /^5 [0-9a-f]{64}$/);
  assert.equal(a.verify(s, data), true);
});
