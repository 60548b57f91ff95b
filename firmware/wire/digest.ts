// The DIGEST() of Heartbeat's auth plugins (spec 3.3), plus ringbeat's sha256.
// Output is what goes on the wire after "<n> ": lower-case hex.

import { createHmac } from 'node:crypto';
import type { AuthMethod } from '../config/config-data';

const HMAC_ALGORITHM: Record<Exclude<AuthMethod, 'crc'>, string> = {
  md5: 'md5',
  sha1: 'sha1',
  sha256: 'sha256',
};

/** CRC-32 table for poly 0x04C11DB7, MSB first (non-reflected). Computed once;
 *  never written after module load. */
const CRC_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/**
 * Heartbeat's `crc` method: CRC-32 with init 0, no reflection, final NOT
 * (CRC-32/POSIX without cksum's length suffix). Returned as a number.
 */
export function crc32Posix(data: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < data.length; i++) {
    crc = (crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ data[i]!) & 0xff]!;
  }
  return ~crc >>> 0;
}

/**
 * DIGEST(method, key, data) as lower-case hex.
 * - crc: printed like C's `%lx`, i.e. WITHOUT zero padding (7 hex digits happen
 *   on the wire); the key is ignored.
 * - md5/sha1/sha256: RFC 2104 HMAC keyed with the raw authkeys token.
 * A string key is taken as latin1 (one byte per char): node's createHmac would
 * otherwise UTF-8 encode it, which differs from Heartbeat for bytes >= 0x80.
 */
export function digest(method: AuthMethod, key: string | Buffer, data: Uint8Array): string {
  if (method === 'crc') return crc32Posix(data).toString(16);
  const algorithm = HMAC_ALGORITHM[method];
  if (algorithm === undefined) throw new Error(`unknown auth method ${String(method)}`);
  const k = typeof key === 'string' ? Buffer.from(key, 'latin1') : key;
  return createHmac(algorithm, k).update(data).digest('hex');
}
