// Signing and verifying auth strings "<n> <hexdigest>" (the classic `auth`
// field value and the netstring trailer payload have the same shape).

import { timingSafeEqual } from 'node:crypto';
import type { AuthConfig, AuthMethod } from '../config/config-data';
import { digest } from './digest';

/** Heartbeat's MAXAUTH: key indexes are 0..15. */
const MAX_AUTH_INDEX = 15;

interface Key {
  method: AuthMethod;
  /** Key bytes (latin1 of the authkeys token); empty for crc. */
  key: Buffer;
}

export class Authenticator {
  /** Method of the key used for outgoing messages (`auth N`). */
  readonly outboundMethod: AuthMethod;
  readonly outboundIndex: number;
  private readonly keys: ReadonlyMap<number, Key>;

  /** Throws when the outbound index has no key: a config error, caught at load. */
  constructor(config: AuthConfig) {
    const keys = new Map<number, Key>();
    for (const e of config.keys) {
      keys.set(e.index, { method: e.method, key: Buffer.from(e.key ?? '', 'latin1') });
    }
    const out = keys.get(config.outbound);
    if (!out) throw new Error(`auth ${config.outbound}: no such key in authkeys`);
    this.keys = keys;
    this.outboundIndex = config.outbound;
    this.outboundMethod = out.method;
  }

  /** "<outbound index> <hex digest of data>". */
  sign(data: Uint8Array): string {
    const k = this.keys.get(this.outboundIndex)!;
    return `${this.outboundIndex} ${digest(k.method, k.key, data)}`;
  }

  /**
   * Checks "<n> <hex>" against data with key index n (any configured index is
   * accepted, as Heartbeat's isauthentic() does). Unknown index, malformed
   * string or mismatch -> false. The hex is compared exactly (Heartbeat uses
   * strcmp, so upper-case hex is a mismatch) and in constant time.
   */
  verify(authString: string, data: Uint8Array): boolean {
    const m = /^(\d{1,2}) ([0-9a-f]{1,128})$/.exec(authString);
    if (!m) return false;
    const index = Number(m[1]);
    if (index > MAX_AUTH_INDEX) return false;
    const k = this.keys.get(index);
    if (!k) return false;
    const want = Buffer.from(digest(k.method, k.key, data), 'latin1');
    const got = Buffer.from(m[2]!, 'latin1');
    // Lengths are public (they follow from the method); only contents are secret.
    return got.length === want.length && timingSafeEqual(got, want);
  }
}
