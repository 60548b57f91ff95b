import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classicAuthData, decodeClassic, encodeClassic } from './classic';
import { FT, HaMessage, WireError, type DropReason } from './message';
import { SHA1_NODEA_UUID, SHA1_SERIAL_STATUS_SEQ1 } from './testing/fixtures';
import { randomBytes, randomMessage, rng } from './testing/random';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function rejects(input: Buffer, reason: DropReason): void {
  assert.throws(
    () => decodeClassic(input),
    (e: unknown) => e instanceof WireError && e.reason === reason,
    `expected WireError(${reason}) for ${JSON.stringify(input.toString('latin1'))}`,
  );
}

test('encodes fields in order, type prefix only for non-strings', () => {
  const m = HaMessage.of({ t: 'status', st: 'up' }).addBinary('srcuuid', SHA1_NODEA_UUID).add('seq', '1');
  assert.equal(
    encodeClassic(m).toString('latin1'),
    '>>>\nt=status\nst=up\n(1)srcuuid=o02Gl+X+Q2mUVK+raJnqOQ==\nseq=1\n<<<\n',
  );
});

test('decodes the spec 10.1 serial frame', () => {
  const m = decodeClassic(SHA1_SERIAL_STATUS_SEQ1);
  assert.equal(m.fields.length, 12);
  assert.equal(m.get('t'), 'status');
  assert.equal(m.get('ld'), '1.12 0.98 0.52 4/121 17662');
  assert.deepEqual(m.getBinary('srcuuid'), SHA1_NODEA_UUID);
  assert.equal(m.get('auth'), '1 404755abe583032b5dac8a2cab87a62330770411');
  assert.deepEqual(encodeClassic(m), SHA1_SERIAL_STATUS_SEQ1);
});

test('newline in a string value travels as 0x13 and comes back', () => {
  const m = HaMessage.of({ info: 'a\nb\n' });
  const wire = encodeClassic(m);
  assert.equal(wire.toString('latin1'), '>>>\ninfo=a\x13b\x13\n<<<\n');
  assert.equal(decodeClassic(wire).get('info'), 'a\nb\n');
});

test('empty values are accepted, also empty binary', () => {
  const m = decodeClassic(b('>>>\nt=status\nempty=\n(1)u=\n<<<\n'));
  assert.equal(m.get('empty'), '');
  assert.deepEqual(m.getBinary('u'), Buffer.alloc(0));
  assert.equal(encodeClassic(m).toString('latin1'), '>>>\nt=status\nempty=\n(1)u=\n<<<\n');
});

test('duplicate names are kept in order; the first wins on lookup', () => {
  const m = decodeClassic(b('>>>\nt=a\nt=b\n<<<\n'));
  assert.deepEqual(
    m.fields.map((f) => f.value),
    ['a', 'b'],
  );
  assert.equal(m.get('t'), 'a');
});

test('value keeps everything after the first "="', () => {
  assert.equal(decodeClassic(b('>>>\nx=a=b==\n<<<\n')).get('x'), 'a=b==');
});

test('empty lines are skipped, parsing stops at <<<, NUL or the end', () => {
  assert.equal(decodeClassic(b('>>>\n\n\nt=x\n\n\nu=y\n<<<\n')).fields.length, 2);
  assert.equal(decodeClassic(b('>>>\nt=x\n<<<\nignored line\n')).fields.length, 1);
  assert.equal(decodeClassic(b('>>>\nt=x\n\0garbage without equals\n')).fields.length, 1);
  assert.equal(decodeClassic(b('>>>\nt=x\nu=y')).get('u'), 'y'); // no terminator: accepted like glue
  assert.equal(decodeClassic(b('>>>\n<<<\n')).fields.length, 0);
});

test('a line without "=" rejects the message', () => {
  rejects(b('>>>\nt=status\nnonsense\n<<<\n'), 'malformed');
  rejects(b('>>>\nt=status\n<<\n'), 'malformed'); // cut terminator is just a bad line
});

test('head must be exactly ">>>\\n"', () => {
  rejects(b('>>> \nt=x\n<<<\n'), 'malformed');
  rejects(b('\n>>>\nt=x\n<<<\n'), 'malformed');
  rejects(b('>>'), 'truncated');
  rejects(b(''), 'truncated');
  rejects(b('x'), 'malformed');
});

test('explicit (0) prefix is rejected, (1)..(4) are types, others malformed', () => {
  rejects(b('>>>\n(0)t=status\n<<<\n'), 'malformed');
  rejects(b('>>>\n(5)t=x\n<<<\n'), 'malformed');
  rejects(b('>>>\n(x)t=x\n<<<\n'), 'malformed');
  rejects(b('>>>\n(1)=AAAA\n<<<\n'), 'malformed'); // empty name after the prefix
  rejects(b('>>>\n=value\n<<<\n'), 'malformed'); // empty name
});

test('CRLF messages are rejected, but a CR inside a value is data', () => {
  rejects(b('>>>\r\nt=status\r\n<<<\r\n'), 'malformed');
  rejects(b('>>>\nt=status\r\n<<<\r\n'), 'malformed');
  const m = decodeClassic(b('>>>\nt=status\r\n<<<\n'));
  assert.equal(m.get('t'), 'status\r');
  assert.equal(encodeClassic(m).toString('latin1'), '>>>\nt=status\r\n<<<\n');
});

test('binary must be canonical padded base64', () => {
  rejects(b('>>>\n(1)u=o02Gl+X+Q2mUVK+raJnqOQ\n<<<\n'), 'malformed'); // unpadded
  rejects(b('>>>\n(1)u=o02Gl+X+Q2mUVK+raJnqOR==\n<<<\n'), 'malformed'); // stray low bits
  rejects(b('>>>\n(1)u=o02Gl-X_Q2mUVK+raJnqOQ==\n<<<\n'), 'malformed'); // url alphabet
  rejects(b('>>>\n(1)u=AA=A\n<<<\n'), 'malformed');
});

test('FT_LIST is len:elem, and round-trips', () => {
  const m = new HaMessage([{ name: 'l', type: FT.LIST, value: ['abc', 'defg', 'a b'] }]);
  const wire = encodeClassic(m);
  assert.equal(wire.toString('latin1'), '>>>\n(3)l=3:abc,4:defg,3:a b,\n<<<\n');
  assert.deepEqual(decodeClassic(wire), m);
  assert.deepEqual(decodeClassic(b('>>>\n(3)l=\n<<<\n')).fields[0]!.value, []);
  rejects(b('>>>\n(3)l=0:,\n<<<\n'), 'malformed');
  rejects(b('>>>\n(3)l=3:ab,\n<<<\n'), 'malformed');
  rejects(b('>>>\n(3)l=2:abc,\n<<<\n'), 'malformed');
  rejects(b('>>>\n(3)l=x\n<<<\n'), 'malformed');
  assert.throws(() => encodeClassic(new HaMessage([{ name: 'l', type: FT.LIST, value: [''] }])), WireError);
  assert.throws(() => encodeClassic(new HaMessage([{ name: 'l', type: FT.LIST, value: ['a\nb'] }])), WireError);
});

test('FT_COMPRESS is carried opaquely as base64', () => {
  const m = new HaMessage([{ name: 'z', type: FT.COMPRESS, value: Buffer.from([0, 1, 2, 0xff, 0x0a]) }]);
  const wire = encodeClassic(m);
  assert.equal(wire.toString('latin1'), '>>>\n(4)z=AAEC/wo=\n<<<\n');
  assert.deepEqual(decodeClassic(wire), m);
});

test('FT_STRUCT nests a classic message with per-depth newline symbols', () => {
  const inner = HaMessage.of({ c: '3' });
  const mid = HaMessage.of({ b: 'x\ny' }).setField({ name: 'in', type: FT.STRUCT, value: inner });
  const top = HaMessage.of({ a: '1' }).setField({ name: 's', type: FT.STRUCT, value: mid });
  const wire = encodeClassic(top);
  assert.equal(
    wire.toString('latin1'),
    '>>>\na=1\n(2)s=>>>\x14b=x\x13y\x14(2)in=>>>\x15c=3\x15<<<\x15\x14<<<\x14\n<<<\n',
  );
  assert.deepEqual(decodeClassic(wire), top);
});

test('struct nesting is limited to glue MAXDEPTH (16)', () => {
  const nest = (levels: number): HaMessage => {
    let m = HaMessage.of({ leaf: 'x' });
    for (let i = 0; i < levels; i++) m = new HaMessage([{ name: `s${i}`, type: FT.STRUCT, value: m }]);
    return m;
  };
  const deepest = nest(16);
  assert.deepEqual(decodeClassic(encodeClassic(deepest)), deepest);
  assert.throws(() => encodeClassic(nest(17)), WireError);
});

test('a struct whose text already holds its newline symbol cannot be encoded', () => {
  const m = new HaMessage([{ name: 's', type: FT.STRUCT, value: HaMessage.of({ v: 'a\x14b' }) }]);
  assert.throws(() => encodeClassic(m), WireError);
});

test('nested parse errors are field errors', () => {
  rejects(b('>>>\n(2)s=>>\n<<<\n'), 'malformed');
  rejects(b('>>>\n(2)s=>>>\x14junk\x14<<<\x14\n<<<\n'), 'malformed');
});

test('encoder refuses names and values that cannot round-trip', () => {
  for (const name of ['', 'a=b', 'a\nb', 'a\0b', '(1)x', 'caf\u20ac']) {
    assert.throws(() => encodeClassic(HaMessage.of({ [name]: 'v' })), WireError, JSON.stringify(name));
  }
  assert.throws(() => encodeClassic(HaMessage.of({ v: 'a\0b' })), WireError);
  assert.throws(() => encodeClassic(HaMessage.of({ v: '\u20ac' })), WireError);
});

test('classicAuthData: every non-auth field, no >>> / <<<', () => {
  const m = HaMessage.of({ auth: '1 old', t: 'status' }).addBinary('u', Buffer.from([1, 2, 3])).add('auth', '2 dup');
  assert.equal(classicAuthData(m).toString('latin1'), 't=status\n(1)u=AQID\n');
  // Nested messages keep their auth fields: only the top level is skipped.
  const n = new HaMessage([{ name: 's', type: FT.STRUCT, value: HaMessage.of({ auth: 'x' }) }]);
  assert.equal(classicAuthData(n).toString('latin1'), '(2)s=>>>\x14auth=x\x14<<<\x14\n');
});

test('decoder throws nothing but WireError on random input', () => {
  const next = rng(0xc1a551c);
  const heads = [Buffer.alloc(0), b('>>>\n'), b('>>>\n(2)s=>>>\x14'), b('>>>\n(3)l=')];
  let decoded = 0;
  for (let i = 0; i < 20000; i++) {
    const body = randomBytes(next, next() % 64);
    // Bias toward the grammar's own bytes so the fuzz gets past the head.
    for (let k = 0; k < body.length; k++) if ((next() & 3) === 0) body[k] = b('\n=()123:,<>\x14\x13')[next() % 14]!;
    const input = Buffer.concat([heads[i % heads.length]!, body]);
    let m: HaMessage;
    try {
      m = decodeClassic(input);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      continue;
    }
    decoded++;
    assert.deepEqual(decodeClassic(encodeClassic(m)), m, 'whatever decodes must re-encode to the same message');
  }
  assert.ok(decoded > 1000, `fuzz should also produce valid frames (got ${decoded})`);
});

test('random messages round-trip byte for byte', () => {
  const next = rng(11);
  for (let i = 0; i < 2000; i++) {
    const m = randomMessage(next);
    const wire = encodeClassic(m);
    const back = decodeClassic(wire);
    assert.deepEqual(back, m);
    assert.deepEqual(encodeClassic(back), wire);
  }
});

test('decoding is linear in the input size', () => {
  const time = (input: Buffer): number => {
    const t0 = process.hrtime.bigint();
    try {
      decodeClassic(input);
    } catch {
      /* only the time matters */
    }
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const n = 256 * 1024;
  const cases = [
    Buffer.concat([b('>>>\n'), Buffer.from('a=b\n'.repeat(n / 4))]),
    Buffer.concat([b('>>>\n'), Buffer.alloc(n, 0x0a), b('x')]),
    Buffer.concat([b('>>>\n'), Buffer.alloc(n, 0x61)]), // one huge line without '='
    Buffer.concat([b('>>>\n(3)l='), Buffer.from('1:a,'.repeat(n / 4))]),
  ];
  for (const c of cases) assert.ok(time(c) < 500, 'a 256 KiB frame must decode in well under a second');
});
