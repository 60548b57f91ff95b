// The netstring format (spec 1.2): what Heartbeat 3.0.6 sends on UDP.
//
//   "###\n"  { len ":" "(" T ")" name "=" raw-value "," }  "%%%\n"  [ len ":" "<n> <hex>" "," ]
//
// Values are raw bytes (no escaping); a struct value is a nested netstring
// message without trailer. The `(T)` prefix is mandatory, also for strings: a
// field without it makes real Heartbeat abort, so it is refused here
// ('no-type-prefix') and always written.

import { ByteWriter } from './byte-writer';
import {
  MAX_DEPTH,
  checkName,
  checkStringValue,
  checkWireName,
  packList,
  readNetstring,
  readTypePrefix,
  typePrefix,
  unpackList,
} from './fields';
import { FT, HaMessage, WireError, type Field } from './message';

const HEAD = Buffer.from('###\n', 'latin1');
const END = Buffer.from('%%%\n', 'latin1');
const EQ = 0x3d;
const NUL = 0x00;
const COLON = 0x3a;
const COMMA = 0x2c;

export interface NetstringEncodeOptions {
  /** Leave out every field with this name (used to drop the inner `auth`). */
  skipField?: string;
  /** Computes the trailer auth string "<n> <hex>" over the bytes `###\n`..`%%%\n`.
   *  Without it no trailer is written (nested messages, tests). */
  sign?: (signed: Buffer) => string;
}

/** Encodes msg; throws WireError if a field cannot be represented. */
export function encodeNetstring(msg: HaMessage, opts: NetstringEncodeOptions = {}): Buffer {
  const w = new ByteWriter();
  writeMessage(w, msg, 0, opts.skipField);
  if (opts.sign) {
    // The writer's view is signed in place; nothing is written before sign returns.
    const trailer = Buffer.from(opts.sign(w.view()), 'latin1');
    w.netstring(trailer);
  }
  return w.finish();
}

function writeMessage(w: ByteWriter, msg: HaMessage, depth: number, skip: string | undefined): void {
  w.bytes(HEAD);
  for (const f of msg.fields) {
    if (f.name === skip) continue;
    writeField(w, f, depth);
  }
  w.bytes(END);
}

function writeField(w: ByteWriter, f: Field, depth: number): void {
  checkName(f.name);
  // The length prefix needs the field's size up front: build the value first
  // (only structs and lists need a scratch buffer; the rest have known sizes).
  let value: Uint8Array | string;
  switch (f.type) {
    case FT.STRING:
      checkStringValue(f.name, f.value);
      value = f.value;
      break;
    case FT.BINARY:
    case FT.COMPRESS:
      value = f.value;
      break;
    case FT.STRUCT: {
      if (depth >= MAX_DEPTH) throw new WireError('malformed', `struct field ${f.name} nested too deep`);
      const inner = new ByteWriter();
      writeMessage(inner, f.value, depth + 1, undefined);
      value = inner.view();
      break;
    }
    case FT.LIST: {
      const inner = new ByteWriter(64);
      packList(inner, f.value);
      value = inner.view();
      break;
    }
  }
  const prefix = typePrefix(f.type);
  const len = prefix.length + f.name.length + 1 + value.length;
  w.latin1(String(len)).byte(COLON).latin1(prefix).latin1(f.name).byte(EQ);
  if (typeof value === 'string') w.latin1(value);
  else w.bytes(value);
  w.byte(COMMA);
}

export interface DecodedNetstring {
  msg: HaMessage;
  /** The signed part: bytes `###\n` .. `%%%\n` inclusive (a view into the input). */
  signed: Buffer;
  /** Trailer payload "<n> <hex>" (latin1), or undefined when there is no trailer. */
  auth: string | undefined;
}

/**
 * Parses a netstring datagram (throws WireError): lengths are checked against
 * the buffer, a frame cut short is 'truncated', anything else that does not
 * fit the grammar 'malformed'. Bytes after the trailer are refused.
 */
export function decodeNetstring(buf: Buffer): DecodedNetstring {
  const { msg, next } = parseMessage(buf, 0, buf.length, 0);
  const signed = buf.subarray(0, next);
  if (next === buf.length) return { msg, signed, auth: undefined };
  const t = readNetstring(buf, next, buf.length);
  if (t.next !== buf.length) throw new WireError('malformed', `${buf.length - t.next} bytes after the auth trailer`);
  return { msg, signed, auth: buf.toString('latin1', t.start, t.end) };
}

/** Parses `###\n`..`%%%\n` starting at `start`; returns the offset after `%%%\n`. */
function parseMessage(buf: Buffer, start: number, limit: number, depth: number): { msg: HaMessage; next: number } {
  expectMarker(buf, start, limit, HEAD, '###');
  const msg = new HaMessage();
  let pos = start + HEAD.length;
  for (;;) {
    if (pos >= limit) throw new WireError('truncated', 'netstring message ends before "%%%\\n"');
    if (buf[pos] === 0x25) {
      expectMarker(buf, pos, limit, END, '%%%');
      return { msg, next: pos + END.length };
    }
    const s = readNetstring(buf, pos, limit);
    msg.fields.push(parseField(buf, s.start, s.end, depth));
    pos = s.next;
  }
}

function expectMarker(buf: Buffer, pos: number, limit: number, marker: Buffer, what: string): void {
  const avail = Math.min(marker.length, limit - pos);
  if (!buf.subarray(pos, pos + avail).equals(marker.subarray(0, avail))) {
    throw new WireError('malformed', `expected "${what}\\n" at offset ${pos}`);
  }
  if (avail < marker.length) throw new WireError('truncated', `"${what}\\n" cut short at offset ${pos}`);
}

function parseField(buf: Buffer, start: number, end: number, depth: number): Field {
  const type = readTypePrefix(buf, start, end);
  if (type === undefined) throw new WireError('no-type-prefix', `netstring field without (T) prefix at offset ${start}`);
  const nameStart = start + 3;
  const eqRel = buf.subarray(nameStart, end).indexOf(EQ);
  if (eqRel < 0) throw new WireError('malformed', `netstring field without '=' at offset ${start}`);
  const eq = nameStart + eqRel;
  checkWireName(buf, nameStart, eq);
  const name = buf.toString('latin1', nameStart, eq);
  const vStart = eq + 1;
  switch (type) {
    case FT.STRING:
      if (buf.subarray(vStart, end).indexOf(NUL) >= 0) throw new WireError('malformed', `NUL in string field ${name}`);
      return { name, type: FT.STRING, value: buf.toString('latin1', vStart, end) };
    case FT.BINARY:
      // Own copies: decoded messages must not pin (or alias) the datagram.
      return { name, type: FT.BINARY, value: Buffer.from(buf.subarray(vStart, end)) };
    case FT.COMPRESS:
      return { name, type: FT.COMPRESS, value: Buffer.from(buf.subarray(vStart, end)) };
    case FT.LIST:
      return { name, type: FT.LIST, value: unpackList(buf, vStart, end) };
    default: {
      if (depth >= MAX_DEPTH) throw new WireError('malformed', `struct field ${name} nested too deep`);
      try {
        const inner = parseMessage(buf, vStart, end, depth + 1);
        if (inner.next !== end) throw new WireError('malformed', 'bytes after the nested "%%%\\n"');
        return { name, type: FT.STRUCT, value: inner.msg };
      } catch (e) {
        // Bounds come from the enclosing netstring: a short nested message is a bad field.
        if (e instanceof WireError) {
          const reason = e.reason === 'truncated' ? 'malformed' : e.reason;
          throw new WireError(reason, `struct field ${name}: ${e.message}`);
        }
        throw e;
      }
    }
  }
}
