// Deterministic pseudo-random bytes and messages for fuzz tests (xorshift32):
// a failing case can be replayed from its seed. Each call site owns its generator.

import { FT, HaMessage, type Field } from '../message';

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

export function randomBytes(next: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = next() & 0xff;
  return b;
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyz_-.0123456789';

function randomText(next: () => number, max: number, min = 0, alphabet?: string): string {
  const n = min + (next() % (max - min + 1));
  let s = '';
  for (let i = 0; i < n; i++) {
    // Printable latin1 plus awkward bytes (newline, CR, tab, high bytes). No raw
    // 0x13: classic text uses it for '\n', so it would come back as a newline.
    s += alphabet ? alphabet[next() % alphabet.length] : String.fromCharCode([0x0a, 0x0d, 0x09, 0xe9, 0x20 + (next() % 95)][next() % 5]!);
  }
  return s;
}

/**
 * A random message every format can represent (names without `=`/`(`, no NUL,
 * list elements non-empty and single-line, bounded nesting, no struct text
 * holding the newline symbol of its depth: strings avoid 0x0f..0x1f).
 */
export function randomMessage(next: () => number, depth = 0): HaMessage {
  const fields: Field[] = [];
  const count = next() % 8;
  for (let i = 0; i < count; i++) {
    const name = randomText(next, 8, 1, NAME_CHARS);
    const kind = next() % (depth < 3 ? 5 : 4);
    if (kind === 0) fields.push({ name, type: FT.STRING, value: randomText(next, 20) });
    else if (kind === 1) fields.push({ name, type: FT.BINARY, value: randomBytes(next, next() % 20) });
    else if (kind === 2) fields.push({ name, type: FT.COMPRESS, value: randomBytes(next, next() % 20) });
    else if (kind === 3) {
      const value: string[] = [];
      for (let k = next() % 4; k > 0; k--) value.push(randomText(next, 6, 1, NAME_CHARS + ' '));
      fields.push({ name, type: FT.LIST, value });
    } else fields.push({ name, type: FT.STRUCT, value: randomMessage(next, depth + 1) });
  }
  return new HaMessage(fields);
}
