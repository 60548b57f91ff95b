import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FT, HaMessage, WireError, type DropReason } from './message';
import { decodeNetstring, encodeNetstring } from './netstring';
import { CRC_MCAST_STATUS_SEQ7, MD5_UDP_NS_REXMIT, SHA1_NODEA_UUID, SHA1_UDP_STATUS_SEQ1 } from './testing/fixtures';
import { randomBytes, randomMessage, rng } from './testing/random';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function rejects(input: Buffer, reason: DropReason): void {
  assert.throws(
    () => decodeNetstring(input),
    (e: unknown) => e instanceof WireError && e.reason === reason,
    `expected WireError(${reason}) for ${JSON.stringify(input.toString('latin1'))}`,
  );
}

test('encodes every field as len:(T)name=value, including strings', () => {
  const m = HaMessage.of({ t: 'status', st: 'up' }).addBinary('u', Buffer.from([0x0a, 0x00, 0xff]));
  assert.deepEqual(encodeNetstring(m), b('###\n11:(0)t=status,8:(0)st=up,8:(1)u=\n\0\xff,%%%\n'));
});

test('trailer signs exactly ###\\n..%%%\\n', () => {
  let seen: Buffer | undefined;
  const wire = encodeNetstring(HaMessage.of({ t: 'x' }), {
    sign: (signed) => {
      seen = Buffer.from(signed);
      return '1 abc';
    },
  });
  assert.deepEqual(seen, b('###\n6:(0)t=x,%%%\n'));
  assert.deepEqual(wire, b('###\n6:(0)t=x,%%%\n5:1 abc,'));
});

test('skipField leaves out every field of that name', () => {
  const m = HaMessage.of({ t: 'x', auth: '1 a' }).add('auth', '2 b');
  assert.deepEqual(encodeNetstring(m, { skipField: 'auth' }), b('###\n6:(0)t=x,%%%\n'));
});

test('decodes the spec 10.2 datagram: fields, signed part, trailer', () => {
  const d = decodeNetstring(SHA1_UDP_STATUS_SEQ1);
  assert.equal(d.signed.length, 263);
  assert.equal(d.auth, '1 89977fa2e552c3779ecddca8296d53ac3ed4c97a');
  assert.equal(d.msg.fields.length, 12);
  assert.deepEqual(
    d.msg.fields.map((f) => f.name),
    ['t', 'st', 'dt', 'protocol', 'src', 'srcuuid', 'seq', 'hg', 'ts', 'ld', 'ttl', 'auth'],
  );
  assert.deepEqual(d.msg.getBinary('srcuuid'), SHA1_NODEA_UUID);
  assert.deepEqual(encodeNetstring(d.msg, { sign: () => d.auth! }), SHA1_UDP_STATUS_SEQ1);
});

test('raw binary may hold newlines and 0x13 (spec 10.4 destuuid)', () => {
  const d = decodeNetstring(MD5_UDP_NS_REXMIT);
  const uuid = d.msg.getBinary('destuuid')!;
  assert.equal(uuid.length, 16);
  assert.ok(uuid.includes(0x0a) && uuid.includes(0x13));
  assert.equal(d.msg.get('firstseq'), '30');
  assert.equal(d.msg.has('seq'), false);
});

test('a netstring message without trailer has auth undefined', () => {
  const d = decodeNetstring(b('###\n11:(0)t=status,%%%\n'));
  assert.equal(d.auth, undefined);
  assert.equal(d.msg.get('t'), 'status');
});

test('string values keep raw newlines and may be empty', () => {
  const d = decodeNetstring(b('###\n10:(0)i=a\nb\x13c,5:(0)e=,%%%\n'));
  assert.equal(d.msg.get('i'), 'a\nb\x13c');
  assert.equal(d.msg.get('e'), '');
});

test('a field without its (T) prefix is refused (it aborts real Heartbeat)', () => {
  rejects(b('###\n8:t=status,%%%\n'), 'no-type-prefix');
  rejects(b('###\n11:(0)t=status,5:st=up,%%%\n'), 'no-type-prefix');
  rejects(b('###\n0:,%%%\n'), 'no-type-prefix');
  rejects(b('###\n2:(0,%%%\n'), 'no-type-prefix');
  rejects(b('###\n6:[0]t=x,%%%\n'), 'no-type-prefix');
});

test('type digits beyond FT_COMPRESS and bad names are malformed', () => {
  rejects(b('###\n6:(5)t=x,%%%\n'), 'malformed');
  rejects(b('###\n5:(0)tx,%%%\n'), 'malformed'); // no '='
  rejects(b('###\n5:(0)=x,%%%\n'), 'malformed'); // empty name
  rejects(b('###\n9:(0)(1)t=x,%%%\n'), 'malformed');
  rejects(b('###\n7:(0)a\nb=x,%%%\n'), 'malformed'); // newline in a name: not classic-encodable
  rejects(b('###\n7:(0)t=x\0y,%%%\n'.replace('7:', '8:')), 'malformed'); // NUL in a string
});

test('lengths are validated: cut short is truncated, garbage is malformed', () => {
  rejects(b('###\n11:(0)t=stat'), 'truncated');
  rejects(b('###\n11:(0)t=status'), 'truncated');
  rejects(b('###\n1'), 'truncated');
  rejects(b('###\n'), 'truncated');
  rejects(b('###\n11:(0)t=status,%%'), 'truncated');
  rejects(b('##'), 'truncated');
  rejects(b('###\n11:(0)t=status,%%%\n42:1 89'), 'truncated');
  rejects(b('###\n12:(0)t=status,%%%\n'), 'malformed'); // ',' not where the length says
  rejects(b('###\n10:(0)t=status,%%%\n'), 'malformed');
  rejects(b('###\n011:(0)t=status,%%%\n'), 'malformed'); // leading zero
  rejects(b('###\nx11:(0)t=status,%%%\n'), 'malformed');
  rejects(b('###\n11;(0)t=status,%%%\n'), 'malformed');
  rejects(b('###\n-1:(0)t=status,%%%\n'), 'malformed');
  rejects(b('###\n11:(0)t=status,%%%x'), 'malformed');
  rejects(b('>>>\nt=status\n<<<\n'), 'malformed');
});

test('huge length prefixes never allocate or hang', () => {
  rejects(b('###\n999999999:(0)t=status,%%%\n'), 'truncated');
  rejects(b('###\n4294967306:(0)t=status,%%%\n'), 'malformed'); // > 9 digits
  rejects(b(`###\n${'9'.repeat(5000)}:x,%%%\n`), 'malformed');
  rejects(b('###\n11:(0)t=status,%%%\n99999999999999999999:1 x,'), 'malformed');
});

test('bytes after the trailer are refused', () => {
  rejects(Buffer.concat([SHA1_UDP_STATUS_SEQ1, b('\0')]), 'malformed');
  rejects(Buffer.concat([CRC_MCAST_STATUS_SEQ7, b('3:abc,')]), 'malformed');
});

test('FT_STRUCT nests a netstring message without trailer', () => {
  const inner = HaMessage.of({ c: '3' }).addBinary('u', Buffer.from([0x25, 0x25, 0x25, 0x0a]));
  const m = HaMessage.of({ a: '1' }).setField({ name: 's', type: FT.STRUCT, value: inner });
  const wire = encodeNetstring(m);
  assert.deepEqual(wire, b('###\n6:(0)a=1,34:(2)s=###\n6:(0)c=3,9:(1)u=%%%\n,%%%\n,%%%\n'));
  assert.deepEqual(decodeNetstring(wire).msg, m);
  rejects(b('###\n22:(2)s=###\n6:(0)c=3,%%%\nx,%%%\n'), 'malformed'); // junk after nested end
  rejects(b('###\n14:(2)s=###\n6:(0)c,%%%\n'), 'malformed'); // nested cut short
});

test('FT_LIST and FT_COMPRESS round-trip', () => {
  const m = new HaMessage([
    { name: 'l', type: FT.LIST, value: ['nodea', 'nodeb'] },
    { name: 'z', type: FT.COMPRESS, value: Buffer.from([0, 1, 2]) },
  ]);
  const wire = encodeNetstring(m);
  assert.deepEqual(wire, b('###\n21:(3)l=5:nodea,5:nodeb,,8:(4)z=\0\x01\x02,%%%\n'));
  assert.deepEqual(decodeNetstring(wire).msg, m);
  rejects(b('###\n8:(3)l=0:,,%%%\n'), 'malformed');
});

test('decoded binary values are copies, not views of the datagram', () => {
  const wire = Buffer.from(SHA1_UDP_STATUS_SEQ1);
  const uuid = decodeNetstring(wire).msg.getBinary('srcuuid')!;
  wire.fill(0);
  assert.deepEqual(uuid, SHA1_NODEA_UUID);
});

test('decoder throws nothing but WireError on random input', () => {
  const next = rng(0x5eed);
  const alphabet = b('0123456789:,(0)(1)(2)(3)=%%%\n###\n');
  for (let i = 0; i < 20000; i++) {
    const body = randomBytes(next, next() % 80);
    for (let k = 0; k < body.length; k++) if ((next() & 1) === 0) body[k] = alphabet[next() % alphabet.length]!;
    try {
      decodeNetstring(Buffer.concat([b('###\n'), body]));
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
    }
  }
});

test('random messages round-trip byte for byte', () => {
  const next = rng(7);
  for (let i = 0; i < 2000; i++) {
    const m = randomMessage(next);
    const wire = encodeNetstring(m, { sign: () => '1 00' });
    const d = decodeNetstring(wire);
    assert.deepEqual(d.msg, m);
    assert.equal(d.auth, '1 00');
    assert.deepEqual(encodeNetstring(d.msg, { sign: () => '1 00' }), wire);
  }
});

test('mutating valid datagrams never throws anything but WireError', () => {
  const next = rng(42);
  for (const base of [SHA1_UDP_STATUS_SEQ1, MD5_UDP_NS_REXMIT, CRC_MCAST_STATUS_SEQ7]) {
    for (let i = 0; i < 3000; i++) {
      const m = Buffer.from(base);
      for (let k = 1 + (next() % 3); k > 0; k--) m[next() % m.length] = next() & 0xff;
      try {
        decodeNetstring(m);
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
      }
    }
  }
});
