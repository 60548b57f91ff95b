import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthConfig } from '../config/config-data';
import { Authenticator } from './auth';
import { encodeClassic } from './classic';
import {
  MAX_SERIAL_FRAME,
  MAX_UDP_PAYLOAD,
  decodeSerialFrame,
  decodeUdp,
  encodeForSerial,
  encodeForUdp,
  signClassic,
  type DecodeResult,
} from './frame';
import { FT, HaMessage, type DropReason } from './message';
import { encodeNetstring } from './netstring';
import {
  CRC_AUTH,
  CRC_MCAST_STATUS_SEQ7,
  CRC_SERIAL_STATUS_SEQ7,
  MD5_AUTH,
  MD5_UDP_NS_REXMIT,
  SHA1_AUTH,
  SHA1_NODEA_UUID,
  SHA1_SERIAL_STATUS_SEQ1,
  SHA1_UDP_STATUS_SEQ1,
  WORKED_DIGESTS,
} from './testing/fixtures';
import { randomBytes, rng } from './testing/random';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const AT = { file: 'test', line: 0 };
const sha1 = new Authenticator(SHA1_AUTH);
const md5 = new Authenticator(MD5_AUTH);
const crc = new Authenticator(CRC_AUTH);
const otherKey = new Authenticator({ outbound: 1, keys: [{ index: 1, method: 'sha1', key: 'not-the-key', at: AT }] });

function dropped(r: DecodeResult, reason: DropReason): void {
  assert.equal(r.ok, false, 'expected a drop');
  if (!r.ok) assert.equal(r.reason, reason, r.detail);
}

function accepted(r: DecodeResult): HaMessage {
  if (!r.ok) assert.fail(`dropped: ${r.reason}: ${r.detail}`);
  return r.msg;
}

const UDP_FIXTURES = [
  { name: 'sha1 status seq=1 (10.2)', wire: SHA1_UDP_STATUS_SEQ1, auth: sha1 },
  { name: 'md5 NS_rexmit (10.4)', wire: MD5_UDP_NS_REXMIT, auth: md5 },
  { name: 'crc mcast status (10.5)', wire: CRC_MCAST_STATUS_SEQ7, auth: crc },
];
const SERIAL_FIXTURES = [
  { name: 'sha1 serial status seq=1 (10.1)', wire: SHA1_SERIAL_STATUS_SEQ1, auth: sha1 },
  { name: 'crc serial status seq=7 (10.5)', wire: CRC_SERIAL_STATUS_SEQ7, auth: crc },
];

for (const f of UDP_FIXTURES) {
  test(`UDP fixture ${f.name}: decodes, verifies, re-encodes byte for byte`, () => {
    const r = decodeUdp(f.wire, f.auth);
    assert.equal(r.ok && r.format, 'netstring');
    const msg = accepted(r);
    assert.deepEqual(encodeForUdp(msg, f.auth, { innerAuth: true }), f.wire);
  });
  test(`UDP fixture ${f.name}: wrong key is bad-auth`, () => {
    dropped(decodeUdp(f.wire, otherKey), 'bad-auth');
  });
}

for (const f of SERIAL_FIXTURES) {
  test(`serial fixture ${f.name}: decodes, verifies, re-encodes byte for byte`, () => {
    const r = decodeSerialFrame(f.wire, f.auth);
    assert.equal(r.ok && r.format, 'classic');
    assert.deepEqual(encodeForSerial(accepted(r), f.auth), f.wire);
  });
  test(`serial fixture ${f.name}: wrong key is bad-auth`, () => {
    dropped(decodeSerialFrame(f.wire, otherKey), 'bad-auth');
  });
}

test('serial and UDP carry the same inner auth value (spec 5.1)', () => {
  const serial = accepted(decodeSerialFrame(SHA1_SERIAL_STATUS_SEQ1, sha1));
  const udp = accepted(decodeUdp(SHA1_UDP_STATUS_SEQ1, sha1));
  assert.deepEqual(serial, udp);
  assert.equal(udp.get('auth'), `1 ${WORKED_DIGESTS.sha1Inner}`);
  // The UDP message re-encoded for serial is the captured serial frame.
  assert.deepEqual(encodeForSerial(udp, sha1), SHA1_SERIAL_STATUS_SEQ1);
});

test('building the spec 10.2 message from scratch reproduces the capture', () => {
  const m = HaMessage.of({ t: 'status', st: 'init', dt: '1388', protocol: '1', src: 'nodea' })
    .addBinary('srcuuid', SHA1_NODEA_UUID)
    .add('seq', '1')
    .add('hg', '6b049583')
    .add('ts', '6b049582')
    .add('ld', '1.12 0.98 0.52 4/121 17662')
    .add('ttl', '3');
  assert.deepEqual(encodeForUdp(m.clone(), sha1, { innerAuth: true }), SHA1_UDP_STATUS_SEQ1);
  assert.deepEqual(encodeForSerial(m.clone(), sha1), SHA1_SERIAL_STATUS_SEQ1);
});

test('signClassic replaces an existing auth field in place, else appends', () => {
  const m = HaMessage.of({ t: 'x', auth: 'stale', u: 'y' });
  signClassic(m, sha1);
  assert.deepEqual(
    m.fields.map((f) => f.name),
    ['t', 'auth', 'u'],
  );
  assert.match(m.get('auth')!, /^1 [0-9a-f]{40}$/);
  const n = HaMessage.of({ t: 'x', u: 'y' });
  signClassic(n, sha1);
  assert.deepEqual(
    n.fields.map((f) => f.name),
    ['t', 'u', 'auth'],
  );
  assert.equal(m.get('auth'), n.get('auth')); // position does not change the digest
});

test('encodeForUdp without inner auth drops the auth field but keeps the trailer', () => {
  const m = accepted(decodeUdp(SHA1_UDP_STATUS_SEQ1, sha1));
  const before = m.clone();
  const wire = encodeForUdp(m, sha1, { innerAuth: false });
  assert.deepEqual(m, before, 'the message itself is not modified');
  assert.equal(wire.includes('auth=', 0, 'latin1'), false);
  const back = accepted(decodeUdp(wire, sha1));
  assert.equal(back.has('auth'), false);
  assert.equal(back.fields.length, 11);
});

test('classic text is accepted on UDP, with or without its trailing NUL', () => {
  const m = HaMessage.of({ t: 'status', src: 'nodeb' });
  signClassic(m, md5);
  const text = encodeClassic(m);
  for (const wire of [text, Buffer.concat([text, b('\0')])]) {
    const r = decodeUdp(wire, md5);
    assert.equal(r.ok && r.format, 'classic');
    assert.deepEqual(accepted(r), m);
  }
  dropped(decodeUdp(Buffer.concat([text, b('\0')]), otherKey), 'bad-auth');
});

test('classic on UDP verifies the auth field, netstring only the trailer', () => {
  // Netstring with a garbage inner auth field but a valid trailer: accepted.
  const m = HaMessage.of({ t: 'status', auth: '1 00' });
  const wire = encodeNetstring(m, { sign: (s) => sha1.sign(s) });
  assert.equal(accepted(decodeUdp(wire, sha1)).get('auth'), '1 00');
  // Classic with a valid auth field: accepted regardless of trailers (there are none).
  const c = HaMessage.of({ t: 'status' });
  signClassic(c, sha1);
  accepted(decodeUdp(encodeClassic(c), sha1));
});

test('missing authentication is no-auth', () => {
  dropped(decodeUdp(encodeNetstring(HaMessage.of({ t: 'status' })), sha1), 'no-auth');
  dropped(decodeUdp(b('>>>\nt=status\n<<<\n\0'), sha1), 'no-auth');
  dropped(decodeSerialFrame(b('>>>\nt=status\n<<<\n'), sha1), 'no-auth');
  const noAuth = SHA1_SERIAL_STATUS_SEQ1.toString('latin1').replace(/auth=[^\n]*\n/, '');
  dropped(decodeSerialFrame(b(noAuth), sha1), 'no-auth');
});

test('a non-string auth field is bad-auth', () => {
  dropped(decodeSerialFrame(b('>>>\nt=status\n(1)auth=AAAA\n<<<\n'), sha1), 'bad-auth');
});

test('tampering with any signed byte is caught', () => {
  const next = rng(3);
  for (const f of [...UDP_FIXTURES, ...SERIAL_FIXTURES]) {
    const isUdp = UDP_FIXTURES.includes(f);
    for (let i = 0; i < 300; i++) {
      const m = Buffer.from(f.wire);
      const at = next() % m.length;
      m[at] = m[at]! ^ (1 + (next() % 255));
      const r = isUdp ? decodeUdp(m, f.auth) : decodeSerialFrame(m, f.auth);
      if (r.ok) {
        // Only edits that do not change the decoded, signed content may pass
        // (there are none for netstring; classic ones are impossible too).
        assert.fail(`byte ${at} of ${f.name} changed but the frame still verified`);
      }
    }
  }
});

test('truncation at every offset never throws and never yields a different message', () => {
  const classicUdp = Buffer.concat([SHA1_SERIAL_STATUS_SEQ1, b('\0')]);
  const cases = [
    ...UDP_FIXTURES.map((f) => ({ wire: f.wire, decode: (x: Buffer) => decodeUdp(x, f.auth) })),
    { wire: classicUdp, decode: (x: Buffer) => decodeUdp(x, sha1) },
    ...SERIAL_FIXTURES.map((f) => ({ wire: f.wire, decode: (x: Buffer) => decodeSerialFrame(x, f.auth) })),
  ];
  let acceptedCuts = 0;
  for (const c of cases) {
    const full = accepted(c.decode(c.wire));
    for (let cut = 0; cut < c.wire.length; cut++) {
      const r = c.decode(c.wire.subarray(0, cut));
      if (r.ok) {
        acceptedCuts++;
        assert.deepEqual(r.msg, full, `cut at ${cut} accepted with different content`);
      }
    }
  }
  // Classic text without its `<<<` still parses (glue stops at the end of the
  // buffer), so three cuts of the classic UDP datagram are complete messages:
  // right after the auth value, after its newline, and after `<<<\n` (only the
  // NUL dropped). Serial frames need their `<<<\n`; netstring needs everything.
  assert.equal(acceptedCuts, 3);
});

test('netstring truncation reasons', () => {
  const w = SHA1_UDP_STATUS_SEQ1;
  const reasons = new Set<DropReason>();
  for (let cut = 0; cut < w.length; cut++) {
    const r = decodeUdp(w.subarray(0, cut), sha1);
    if (!r.ok) reasons.add(r.reason);
  }
  // 0..3 bytes: not a recognisable head; afterwards: truncated until the
  // trailer starts; a cut exactly at "%%%\n" is a frame without trailer.
  assert.deepEqual([...reasons].sort(), ['malformed', 'no-auth', 'truncated']);
  dropped(decodeUdp(w.subarray(0, 263), sha1), 'no-auth');
  dropped(decodeUdp(w.subarray(0, 200), sha1), 'truncated');
});

test('random bytes are dropped, never thrown', () => {
  const next = rng(99);
  for (let i = 0; i < 5000; i++) {
    const body = randomBytes(next, next() % 200);
    const heads = ['', '###\n', '>>>\n'];
    const wire = Buffer.concat([b(heads[i % 3]!), body]);
    const r1 = decodeUdp(wire, sha1);
    const r2 = decodeSerialFrame(wire, crc);
    assert.equal(r1.ok, false);
    assert.equal(r2.ok, false);
  }
});

test('anything but ### / >>> is malformed', () => {
  dropped(decodeUdp(b(''), sha1), 'malformed');
  dropped(decodeUdp(b('hello'), sha1), 'malformed');
  dropped(decodeUdp(b('\0###\n'), sha1), 'malformed');
  dropped(decodeSerialFrame(b('###\n%%%\n'), sha1), 'malformed');
});

test('CRLF classic is rejected on both media', () => {
  const crlf = b(SHA1_SERIAL_STATUS_SEQ1.toString('latin1').replaceAll('\n', '\r\n'));
  dropped(decodeUdp(crlf, sha1), 'malformed');
  dropped(decodeSerialFrame(crlf, sha1), 'malformed');
});

test('a netstring field without (T) prefix is no-type-prefix, even when correctly signed', () => {
  const body = b('###\n8:t=status,%%%\n');
  const wire = Buffer.concat([body, b(`${sha1.sign(body).length}:${sha1.sign(body)},`)]);
  dropped(decodeUdp(wire, sha1), 'no-type-prefix');
});

test('huge length prefixes are dropped', () => {
  dropped(decodeUdp(b('###\n999999999:(0)t=x,%%%\n'), sha1), 'truncated');
  dropped(decodeUdp(b('###\n18446744073709551617:(0)t=x,%%%\n'), sha1), 'malformed');
  dropped(decodeUdp(b('###\n6:(0)t=x,%%%\n99999999:1 00,'), sha1), 'truncated');
});

test('serial frames must end with <<<\\n', () => {
  dropped(decodeSerialFrame(SHA1_SERIAL_STATUS_SEQ1.subarray(0, SHA1_SERIAL_STATUS_SEQ1.length - 4), sha1), 'truncated');
});

test('size limits: UDP 65507 bytes, serial 256 KiB', () => {
  const big = (n: number): Buffer => Buffer.concat([b('###\n'), Buffer.alloc(n - 4, 0x30)]);
  dropped(decodeUdp(big(MAX_UDP_PAYLOAD + 1), sha1), 'oversized');
  dropped(decodeUdp(big(MAX_UDP_PAYLOAD), sha1), 'malformed'); // at the limit it is parsed
  const frame = (n: number): Buffer => Buffer.concat([b('>>>\n'), Buffer.alloc(n - 8, 0x0a), b('<<<\n')]);
  dropped(decodeSerialFrame(frame(MAX_SERIAL_FRAME + 1), sha1), 'oversized');
  dropped(decodeSerialFrame(frame(MAX_SERIAL_FRAME), sha1), 'no-auth');
});

test('multiple keys: classic fields signed with any configured index verify', () => {
  const cfg: AuthConfig = {
    outbound: 1,
    keys: [
      { index: 1, method: 'sha1', key: 'HBstudy-secret-2024', at: AT },
      { index: 2, method: 'md5', key: 'second', at: AT },
    ],
  };
  const both = new Authenticator(cfg);
  const onlySecond = new Authenticator({ outbound: 2, keys: [cfg.keys[1]!] });
  const m = HaMessage.of({ t: 'status' });
  const frame = encodeForSerial(m, onlySecond);
  assert.match(m.get('auth')!, /^2 /);
  accepted(decodeSerialFrame(frame, both));
  accepted(decodeSerialFrame(SHA1_SERIAL_STATUS_SEQ1, both));
});

test('struct fields survive the UDP and serial paths with valid auth', () => {
  const inner = HaMessage.of({ a: 'x\ny' }).addBinary('u', Buffer.from([0x14, 0x0a]));
  const m = HaMessage.of({ t: 'cib' });
  m.fields.push({ name: 'payload', type: FT.STRUCT, value: inner });
  m.fields.push({ name: 'list', type: FT.LIST, value: ['nodea', 'nodeb'] });
  const udp = encodeForUdp(m.clone(), sha1, { innerAuth: true });
  const fromUdp = accepted(decodeUdp(udp, sha1));
  const serial = encodeForSerial(fromUdp.clone(), sha1);
  const fromSerial = accepted(decodeSerialFrame(serial, sha1));
  assert.deepEqual(fromSerial, fromUdp);
  assert.deepEqual(encodeForUdp(fromSerial, sha1, { innerAuth: true }), udp);
});
