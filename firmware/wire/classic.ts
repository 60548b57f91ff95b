// The classic ("string") text format (spec 1.1): used on serial lines, and the
// byte string the classic `auth` field signs.
//
//   ">>>\n"  { ["(" T ")"] name "=" encoded-value "\n" }  "<<<\n"
//
// Value encodings: strings raw with '\n' -> 0x13; binary and compressed as
// padded base64; lists `len:elem,`; structs as a nested classic message whose
// newlines are replaced by a per-depth symbol (0x14 at depth 0, 0x15 at 1, ...).

import { ByteWriter } from './byte-writer';
import {
  MAX_DEPTH,
  checkName,
  checkStringValue,
  checkWireName,
  packList,
  readTypePrefix,
  typePrefix,
  unpackList,
} from './fields';
import { FT, HaMessage, WireError, type Field } from './message';

const HEAD = Buffer.from('>>>\n', 'latin1');
const END = Buffer.from('<<<\n', 'latin1');
const LF = 0x0a;
const EQ = 0x3d;
const NUL = 0x00;
/** glue's SPECIAL_SYM: stands for '\n' inside string values. */
const STRING_NL = 0x13;
/** glue's SPECIAL_SYMS[depth]: stands for '\n' inside a struct value at that depth. */
const STRUCT_NL: readonly number[] = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 15, 16, 17, 18];

/** Name of the field carrying the classic digest. */
export const AUTH_FIELD = 'auth';

/** Complete classic message `>>>\n...<<<\n` (no trailing NUL). Throws WireError
 *  if a field cannot be represented (see fields.ts). */
export function encodeClassic(msg: HaMessage): Buffer {
  const w = new ByteWriter();
  writeMessage(w, msg, 0, true, false);
  return w.finish();
}

/**
 * What the classic `auth` field signs (spec 3.1): every field except those
 * named `auth`, as classic lines, without the `>>>`/`<<<` lines.
 */
export function classicAuthData(msg: HaMessage): Buffer {
  const w = new ByteWriter();
  writeMessage(w, msg, 0, false, true);
  return w.finish();
}

function writeMessage(w: ByteWriter, msg: HaMessage, depth: number, head: boolean, skipAuth: boolean): void {
  if (head) w.bytes(HEAD);
  for (const f of msg.fields) {
    if (skipAuth && f.name === AUTH_FIELD) continue;
    writeField(w, f, depth);
  }
  if (head) w.bytes(END);
}

function writeField(w: ByteWriter, f: Field, depth: number): void {
  checkName(f.name);
  if (f.type !== FT.STRING) w.latin1(typePrefix(f.type));
  w.latin1(f.name).byte(EQ);
  switch (f.type) {
    case FT.STRING: {
      checkStringValue(f.name, f.value);
      const start = w.length;
      w.latin1(f.value);
      w.substitute(start, w.length, LF, STRING_NL);
      break;
    }
    case FT.BINARY:
    case FT.COMPRESS:
      w.latin1(f.value.toString('base64'));
      break;
    case FT.STRUCT: {
      if (depth >= MAX_DEPTH) throw new WireError('malformed', `struct field ${f.name} nested too deep`);
      const sym = STRUCT_NL[depth]!;
      const start = w.length;
      writeMessage(w, f.value, depth + 1, true, false);
      // glue refuses a nested text that already contains its newline symbol:
      // it could not be told apart from an escaped newline.
      if (w.contains(start, w.length, sym)) {
        throw new WireError('malformed', `struct field ${f.name} contains byte 0x${sym.toString(16)}`);
      }
      w.substitute(start, w.length, LF, sym);
      break;
    }
    case FT.LIST:
      packList(w, f.value);
      break;
  }
  w.byte(LF);
}

/**
 * Parses a classic message (throws WireError). Rules of glue's string2msg_ll():
 * must start with exactly `>>>\n`; empty lines are skipped; parsing stops at
 * `<<<\n`, at a NUL or at the end of the buffer (a missing `<<<` is therefore
 * accepted); a line without `=` rejects the message; CR is data, so a CRLF
 * message fails (its `>>>\r\n` head does not match).
 */
export function decodeClassic(buf: Buffer): HaMessage {
  const nul = buf.indexOf(NUL);
  return parseMessage(nul < 0 ? buf : buf.subarray(0, nul), 0);
}

function parseMessage(b: Buffer, depth: number): HaMessage {
  if (b.length < HEAD.length) {
    const isPrefix = b.equals(HEAD.subarray(0, b.length));
    throw new WireError(isPrefix ? 'truncated' : 'malformed', 'classic message shorter than its >>> head');
  }
  if (!b.subarray(0, HEAD.length).equals(HEAD)) throw new WireError('malformed', 'classic message does not start with ">>>\\n"');
  const msg = new HaMessage();
  const end = b.length;
  let pos = HEAD.length;
  for (;;) {
    while (pos < end && b[pos] === LF) pos++;
    if (pos >= end) break;
    if (end - pos >= END.length && b[pos] === 0x3c && b.subarray(pos, pos + END.length).equals(END)) break;
    let lineEnd = b.indexOf(LF, pos);
    if (lineEnd < 0) lineEnd = end;
    msg.fields.push(parseLine(b, pos, lineEnd, depth));
    pos = lineEnd + 1;
  }
  return msg;
}

function parseLine(b: Buffer, pos: number, lineEnd: number, depth: number): Field {
  // The `=` search is bounded by the line (a subarray view), so a frame full of
  // `=`-less lines cannot make parsing quadratic.
  const eqRel = b.subarray(pos, lineEnd).indexOf(EQ);
  if (eqRel < 0) throw new WireError('malformed', `classic line without '=' at offset ${pos}`);
  const eq = pos + eqRel;
  let type: number = FT.STRING;
  let nameStart = pos;
  const t = readTypePrefix(b, pos, eq);
  if (t !== undefined) {
    // An explicit (0) is "wrong type" for glue: strings carry no prefix.
    if (t === FT.STRING) throw new WireError('malformed', `explicit (0) type prefix at offset ${pos}`);
    type = t;
    nameStart = pos + 3;
  }
  checkWireName(b, nameStart, eq);
  const name = b.toString('latin1', nameStart, eq);
  const vStart = eq + 1;
  switch (type) {
    case FT.STRING: {
      let value = b.toString('latin1', vStart, lineEnd);
      if (value.includes('\x13')) value = value.replaceAll('\x13', '\n');
      return { name, type: FT.STRING, value };
    }
    case FT.BINARY:
      return { name, type: FT.BINARY, value: decodeBase64(b, vStart, lineEnd, name) };
    case FT.COMPRESS:
      return { name, type: FT.COMPRESS, value: decodeBase64(b, vStart, lineEnd, name) };
    case FT.LIST:
      return { name, type: FT.LIST, value: unpackList(b, vStart, lineEnd) };
    default:
      return { name, type: FT.STRUCT, value: parseStruct(b, vStart, lineEnd, depth, name) };
  }
}

function parseStruct(b: Buffer, start: number, end: number, depth: number, name: string): HaMessage {
  if (depth >= MAX_DEPTH) throw new WireError('malformed', `struct field ${name} nested too deep`);
  const text = Buffer.from(b.subarray(start, end)); // own copy: converted in place
  const sym = STRUCT_NL[depth]!;
  for (let i = text.indexOf(sym); i >= 0; i = text.indexOf(sym, i + 1)) text[i] = LF;
  try {
    return parseMessage(text, depth + 1);
  } catch (e) {
    // A nested message cut short is a bad field, not a truncated frame.
    if (e instanceof WireError) {
      const reason = e.reason === 'truncated' ? 'malformed' : e.reason;
      throw new WireError(reason, `struct field ${name}: ${e.message}`);
    }
    throw e;
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64: canonical padded form only, so re-encoding gives the same text
 *  (the classic auth digest is computed over the re-encoded value). */
function decodeBase64(b: Buffer, start: number, end: number, name: string): Buffer {
  const s = b.toString('latin1', start, end);
  if (s.length % 4 !== 0 || !BASE64.test(s)) throw new WireError('malformed', `field ${name}: invalid base64`);
  const out = Buffer.from(s, 'base64');
  if (out.toString('base64') !== s) throw new WireError('malformed', `field ${name}: non-canonical base64`);
  return out;
}
