// Every message of the Heartbeat 3.0.6 lab captures (spec section 11) must
// decode, verify with the run's authkeys, and re-encode to the captured bytes.
// The captures live in the shared spec checkout (../shared or $RINGBEAT_SHARED);
// if it is missing these tests fail rather than skip.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AuthConfig, AuthMethod } from '../config/config-data';
import { Authenticator } from './auth';
import { classicAuthData } from './classic';
import { decodeSerialFrame, decodeUdp, encodeForSerial, encodeForUdp } from './frame';
import { FT } from './message';
import {
  CRC_MCAST_STATUS_SEQ7,
  CRC_SERIAL_STATUS_SEQ7,
  MD5_UDP_NS_REXMIT,
  SHA1_SERIAL_STATUS_SEQ1,
  SHA1_UDP_STATUS_SEQ1,
} from './testing/fixtures';
import { udpPayloads } from './testing/pcap';
import { capturesDir } from './testing/shared-dir';

/** Message counts per capture, from spec section 11. */
const EXPECTED: Record<string, number> = {
  'sha1-serial-a2b.raw': 212,
  'sha1-serial-b2a.raw': 190,
  'crc-serial-a2b.raw': 104,
  'crc-serial-b2a.raw': 104,
  'sha1-serial+bcast.pcap': 148,
  'sha1-standby-takeover.pcap': 67,
  'sha1-graceful-shutdown.pcap': 25,
  'md5-bcast-30pct-loss.pcap': 133,
  'crc-ucast+mcast.pcap': 134,
};

/** Minimal authkeys reader (`auth N` + `N method [key]` lines) for the test keys. */
function readAuthkeys(path: string): AuthConfig {
  const cfg: AuthConfig = { outbound: -1, keys: [] };
  readFileSync(path, 'latin1')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const words = line.split(/\s+/);
      if (words[0] === 'auth') cfg.outbound = Number(words[1]);
      else {
        const key = words[2];
        cfg.keys.push({
          index: Number(words[0]),
          method: words[1] as AuthMethod,
          ...(key === undefined ? {} : { key }),
          at: { file: path, line: i + 1 },
        });
      }
    });
  return cfg;
}

/** Capture file -> its run's authkeys (the file name starts with the method). */
function authFor(dir: string, file: string): Authenticator {
  const method = file.split('-')[0]!;
  return new Authenticator(readAuthkeys(join(dir, `authkeys-${method}`)));
}

/** Splits a raw tty stream into `>>>\n`..`<<<\n` frames; the stream must be
 *  nothing but frames (spec 5.1: "capture = 100 % message bytes"). */
function splitSerial(raw: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  let pos = 0;
  while (pos < raw.length) {
    assert.equal(raw.toString('latin1', pos, pos + 4), '>>>\n', `frame head expected at offset ${pos}`);
    const end = raw.indexOf('\n<<<\n', pos, 'latin1');
    assert.ok(end >= 0, `unterminated frame at offset ${pos}`);
    frames.push(raw.subarray(pos, end + 5));
    pos = end + 5;
  }
  return frames;
}

function dir(): string {
  return capturesDir(); // throws (fails the test) with a clear message when missing
}

test('the captures directory holds exactly the captures of spec section 11', () => {
  const files = readdirSync(dir()).filter((f) => f.endsWith('.raw') || f.endsWith('.pcap'));
  assert.deepEqual(files.sort(), Object.keys(EXPECTED).sort());
});

for (const [file, count] of Object.entries(EXPECTED).filter(([f]) => f.endsWith('.raw'))) {
  test(`serial capture ${file}: ${count} frames decode, verify and re-encode exactly`, (t) => {
    const d = dir();
    const auth = authFor(d, file);
    const frames = splitSerial(readFileSync(join(d, file)));
    let shortCrc = 0;
    for (const [i, frame] of frames.entries()) {
      const r = decodeSerialFrame(frame, auth);
      if (!r.ok) assert.fail(`${file} frame ${i}: ${r.reason}: ${r.detail}`);
      assert.equal(r.format, 'classic');
      const hex = r.msg.get('auth')!.split(' ')[1]!;
      if (auth.outboundMethod === 'crc' && hex.length < 8) shortCrc++;
      const again = encodeForSerial(r.msg, auth);
      assert.ok(again.equals(frame), `${file} frame ${i} re-encodes differently`);
    }
    t.diagnostic(`${file}: ${frames.length} frames ok (${auth.outboundMethod}${shortCrc ? `, ${shortCrc} crc digests shorter than 8 hex digits` : ''})`);
    assert.equal(frames.length, count);
  });
}

for (const [file, count] of Object.entries(EXPECTED).filter(([f]) => f.endsWith('.pcap'))) {
  test(`UDP capture ${file}: ${count} datagrams decode, verify (trailer and inner field) and re-encode exactly`, (t) => {
    const d = dir();
    const auth = authFor(d, file);
    const packets = udpPayloads(join(d, file));
    const seen = new Set<string>();
    let duplicates = 0;
    for (const [i, p] of packets.entries()) {
      const where = `${file} packet ${i} (${p.src}:${p.srcPort} > ${p.dst}:${p.dstPort})`;
      const r = decodeUdp(p.payload, auth);
      if (!r.ok) assert.fail(`${where}: ${r.reason}: ${r.detail}`);
      assert.equal(r.format, 'netstring', where);
      const inner = r.msg.field('auth');
      assert.ok(inner && inner.type === FT.STRING, `${where}: no inner auth field`);
      assert.ok(auth.verify(inner.value, classicAuthData(r.msg)), `${where}: inner auth field does not verify`);
      const again = encodeForUdp(r.msg, auth, { innerAuth: true });
      assert.ok(again.equals(p.payload), `${where} re-encodes differently`);
      const key = p.payload.toString('latin1');
      if (seen.has(key)) duplicates++;
      seen.add(key);
    }
    t.diagnostic(`${file}: ${packets.length} datagrams ok (${auth.outboundMethod}), ${duplicates} byte-identical repeats`);
    assert.equal(packets.length, count);
  });
}

test('the inline fixtures are verbatim capture bytes', () => {
  const d = dir();
  const payloads = (f: string): Buffer[] => udpPayloads(join(d, f)).map((p) => p.payload);
  const has = (list: Buffer[], x: Buffer): boolean => list.some((y) => y.equals(x));
  assert.deepEqual(readFileSync(join(d, 'sha1-udp-seq1-payload.bin')), SHA1_UDP_STATUS_SEQ1);
  assert.equal(SHA1_UDP_STATUS_SEQ1.length, 309);
  assert.ok(has(payloads('sha1-serial+bcast.pcap'), SHA1_UDP_STATUS_SEQ1));
  assert.ok(has(payloads('md5-bcast-30pct-loss.pcap'), MD5_UDP_NS_REXMIT));
  const mcast = udpPayloads(join(d, 'crc-ucast+mcast.pcap')).filter((p) => p.dst === '239.0.0.43');
  assert.ok(has(mcast.map((p) => p.payload), CRC_MCAST_STATUS_SEQ7));
  assert.deepEqual(splitSerial(readFileSync(join(d, 'sha1-serial-a2b.raw')))[0], SHA1_SERIAL_STATUS_SEQ1);
  assert.ok(has(splitSerial(readFileSync(join(d, 'crc-serial-b2a.raw'))), CRC_SERIAL_STATUS_SEQ7));
});
