// Field-level rules shared by the classic and the netstring format: which names
// are representable, the `(T)` type prefix, the `len:bytes,` primitive and the
// FT_LIST packing built on it.
//
// Principle: a decoder only accepts what the encoders can reproduce byte for
// byte. Heartbeat's classic `auth` field is verified by re-serialising the
// parsed message, and serial relays re-encode, so "parses but re-encodes
// differently" would turn into spurious auth failures later.

import type { ByteWriter } from './byte-writer';
import { FT, WireError, type FieldType } from './message';

/** glue's MAXDEPTH: struct fields nest at most this deep (depth 0..15). */
export const MAX_DEPTH = 16;

/** The highest type digit this codec carries (FT_UNCOMPRESS, 5, never goes on the wire). */
const MAX_TYPE = FT.COMPRESS;

/** Longest accepted decimal length prefix: 9 digits (< 1 GB) is far above any
 *  frame limit and keeps the value an exact small integer. */
const MAX_LEN_DIGITS = 9;

const NUL = 0x00;
const LF = 0x0a;
const COLON = 0x3a;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN = 0x28; // '('
const CLOSE = 0x29; // ')'

/**
 * Encoder-side check of a field name. Heartbeat splits `name=value` at the first
 * `=` and reads a leading `(d)` as a type prefix, so names with `=`, line breaks,
 * NUL or a leading `(` cannot survive a round trip; glue also rejects empty names.
 */
export function checkName(name: string): void {
  if (name.length === 0) throw new WireError('malformed', 'empty field name');
  if (name.charCodeAt(0) === OPEN) throw new WireError('malformed', `field name starts with '(': ${JSON.stringify(name)}`);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x3d || c === LF || c === NUL || c > 0xff) {
      throw new WireError('malformed', `unencodable field name ${JSON.stringify(name)}`);
    }
  }
}

/** Decoder-side check of a name taken from the wire (already cut at `=`):
 *  the same rules as checkName, so every decoded name can be re-encoded. */
export function checkWireName(buf: Buffer, start: number, end: number): void {
  if (end <= start) throw new WireError('malformed', 'empty field name');
  if (buf[start] === OPEN) throw new WireError('malformed', 'field name starts with "("');
  const name = buf.subarray(start, end);
  if (name.indexOf(NUL) >= 0 || name.indexOf(LF) >= 0) throw new WireError('malformed', 'NUL or newline in field name');
}

/**
 * Reads a `(d)` type prefix at `pos`. Returns the type, or undefined when the
 * bytes there are not `(`digit`)`; throws for a digit outside 0..4.
 */
export function readTypePrefix(buf: Buffer, pos: number, end: number): FieldType | undefined {
  if (end - pos < 3 || buf[pos] !== OPEN || buf[pos + 2] !== CLOSE) return undefined;
  const d = buf[pos + 1]! - ZERO;
  if (d < 0 || d > 9) return undefined;
  if (d > MAX_TYPE) throw new WireError('malformed', `unsupported field type (${d})`);
  return d as FieldType;
}

/** The `(T)` prefix text for a type. */
export function typePrefix(type: FieldType): string {
  return `(${type})`;
}

export interface NetstringSpan {
  /** Offset of the first payload byte. */
  start: number;
  /** Offset just past the payload (the `,` is at `end`). */
  end: number;
  /** Offset just past the `,`. */
  next: number;
}

/**
 * Reads one `len:payload,` at `pos` (nothing beyond `limit` is touched).
 * Running out of bytes is `truncatedAs` (a frame cut short on the wire is
 * 'truncated'; inside a field value it is simply 'malformed').
 */
export function readNetstring(
  buf: Buffer,
  pos: number,
  limit: number,
  truncatedAs: 'truncated' | 'malformed' = 'truncated',
): NetstringSpan {
  let i = pos;
  let len = 0;
  while (i < limit && buf[i]! >= ZERO && buf[i]! <= NINE) {
    if (i - pos >= MAX_LEN_DIGITS) throw new WireError('malformed', `netstring length too long at offset ${pos}`);
    len = len * 10 + (buf[i]! - ZERO);
    i++;
  }
  if (i === limit) throw new WireError(truncatedAs, `netstring length cut short at offset ${pos}`);
  if (i === pos) throw new WireError('malformed', `expected netstring length at offset ${pos}`);
  if (buf[pos] === ZERO && i - pos > 1) throw new WireError('malformed', `netstring length with leading zero at offset ${pos}`);
  if (buf[i] !== COLON) throw new WireError('malformed', `expected ':' after netstring length at offset ${i}`);
  const start = i + 1;
  const end = start + len;
  if (end >= limit) throw new WireError(truncatedAs, `netstring of ${len} bytes at offset ${pos} runs past the end`);
  if (buf[end] !== COMMA) throw new WireError('malformed', `expected ',' after netstring at offset ${end}`);
  return { start, end, next: end + 1 };
}

/**
 * FT_LIST value: `len:elem,len:elem,`. glue rejects zero-length elements and
 * elements are C strings; they must also stay on one classic line.
 */
export function packList(w: ByteWriter, list: readonly string[]): void {
  for (const el of list) {
    if (el.length === 0) throw new WireError('malformed', 'empty list element');
    if (/[^\x01-\x09\x0b-\xff]/.test(el)) throw new WireError('malformed', 'unencodable list element');
    w.latin1(String(el.length)).byte(COLON).latin1(el).byte(COMMA);
  }
}

export function unpackList(buf: Buffer, start: number, end: number): string[] {
  const out: string[] = [];
  let pos = start;
  while (pos < end) {
    const s = readNetstring(buf, pos, end, 'malformed');
    if (s.end === s.start) throw new WireError('malformed', 'empty list element');
    const el = buf.subarray(s.start, s.end);
    if (el.indexOf(NUL) >= 0 || el.indexOf(LF) >= 0) throw new WireError('malformed', 'NUL or newline in list element');
    out.push(el.toString('latin1'));
    pos = s.next;
  }
  return out;
}

/** Encoder-side check of a string value: C strings cannot hold NUL, and the
 *  model is latin1 (one char per byte). */
export function checkStringValue(name: string, value: string): void {
  if (/[^\x01-\xff]/.test(value)) throw new WireError('malformed', `unencodable value for field ${JSON.stringify(name)}`);
}
