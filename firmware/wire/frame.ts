// The wire API the engine uses: one function per direction and medium, with
// authentication folded in (spec 1.3, 3, 13):
//
//   UDP out    netstring + trailer; by default (msgfmt classic) the message also
//              carries the classic `auth` field, exactly as Heartbeat 3.0.6 sends.
//   UDP in     either format, dispatched on the first 4 bytes; a netstring frame
//              is checked by its trailer only, a classic frame by its `auth` field.
//   serial     classic text only, `auth` field recomputed before writing.
//
// Decoders never throw: every failure is a DecodeResult with a DropReason.

import type { Authenticator } from './auth';
import { AUTH_FIELD, classicAuthData, decodeClassic, encodeClassic } from './classic';
import { FT, WireError, type DropReason, type HaMessage } from './message';
import { decodeNetstring, encodeNetstring } from './netstring';

export type WireFormat = 'classic' | 'netstring';

export type DecodeResult =
  | { ok: true; msg: HaMessage; format: WireFormat }
  | { ok: false; reason: DropReason; detail: string };

/** Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP). */
export const MAX_UDP_PAYLOAD = 65507;
/** Heartbeat's MAXMSG: the largest message on any medium. */
export const MAX_SERIAL_FRAME = 256 * 1024;

const NETSTRING_HEAD = Buffer.from('###\n', 'latin1');
const CLASSIC_HEAD = Buffer.from('>>>\n', 'latin1');
const CLASSIC_END = Buffer.from('<<<\n', 'latin1');

/**
 * Sets the classic `auth` field with ha_msg_mod() semantics: an existing field
 * is replaced in place (so a re-signed message keeps its layout), otherwise it
 * is appended. The digest covers every other field.
 */
export function signClassic(msg: HaMessage, auth: Authenticator): void {
  msg.set(AUTH_FIELD, auth.sign(classicAuthData(msg)));
}

/**
 * A UDP datagram: netstring fields + auth trailer over `###\n`..`%%%\n`.
 * innerAuth (Heartbeat's default `msgfmt classic`): msg is first signed with
 * signClassic() — msg is modified. Without it (`msgfmt netstring`) any `auth`
 * field is left out of the datagram (msg itself is not modified).
 * Throws WireError only if msg holds something no format can represent.
 */
export function encodeForUdp(msg: HaMessage, auth: Authenticator, opts: { innerAuth: boolean }): Buffer {
  const sign = (signed: Buffer): string => auth.sign(signed);
  if (opts.innerAuth) {
    signClassic(msg, auth);
    return encodeNetstring(msg, { sign });
  }
  return encodeNetstring(msg, { sign, skipField: AUTH_FIELD });
}

/** A serial frame: classic text with a fresh `auth` field (msg is modified), no NUL. */
export function encodeForSerial(msg: HaMessage, auth: Authenticator): Buffer {
  signClassic(msg, auth);
  return encodeClassic(msg);
}

/** Decodes and authenticates one UDP payload. Never throws. */
export function decodeUdp(datagram: Buffer, auth: Authenticator): DecodeResult {
  if (datagram.length > MAX_UDP_PAYLOAD) {
    return drop('oversized', `datagram of ${datagram.length} bytes exceeds ${MAX_UDP_PAYLOAD}`);
  }
  return guarded(() => {
    if (startsWith(datagram, NETSTRING_HEAD)) {
      const d = decodeNetstring(datagram);
      if (d.auth === undefined) return drop('no-auth', 'netstring frame without auth trailer');
      if (!auth.verify(d.auth, d.signed)) return drop('bad-auth', `trailer "${clip(d.auth)}" does not verify`);
      return { ok: true, msg: d.msg, format: 'netstring' };
    }
    if (startsWith(datagram, CLASSIC_HEAD)) {
      // Classic text sent through msg2wirefmt() carries its C string NUL.
      const n = datagram.length;
      return verifyClassic(decodeClassic(datagram[n - 1] === 0 ? datagram.subarray(0, n - 1) : datagram), auth);
    }
    return drop('malformed', 'datagram starts with neither "###\\n" nor ">>>\\n"');
  });
}

/** Decodes and authenticates one serial frame (`>>>\n`..`<<<\n`). Never throws. */
export function decodeSerialFrame(frame: Buffer, auth: Authenticator): DecodeResult {
  if (frame.length > MAX_SERIAL_FRAME) {
    return drop('oversized', `serial frame of ${frame.length} bytes exceeds ${MAX_SERIAL_FRAME}`);
  }
  return guarded(() => {
    if (!startsWith(frame, CLASSIC_HEAD)) return drop('malformed', 'serial frame does not start with ">>>\\n"');
    // The serial reader only completes a frame at its `<<<` line.
    if (!endsWith(frame, CLASSIC_END)) return drop('truncated', 'serial frame does not end with "<<<\\n"');
    return verifyClassic(decodeClassic(frame), auth);
  });
}

/** Heartbeat's isauthentic(): the first `auth` field against the re-serialised message. */
function verifyClassic(msg: HaMessage, auth: Authenticator): DecodeResult {
  const f = msg.field(AUTH_FIELD);
  if (!f) return drop('no-auth', 'classic frame without auth field');
  if (f.type !== FT.STRING) return drop('bad-auth', 'auth field is not a string');
  if (!auth.verify(f.value, classicAuthData(msg))) return drop('bad-auth', `auth field "${clip(f.value)}" does not verify`);
  return { ok: true, msg, format: 'classic' };
}

function guarded(decode: () => DecodeResult): DecodeResult {
  try {
    return decode();
  } catch (e) {
    if (e instanceof WireError) return drop(e.reason, e.message);
    // A decoder bug must still not take the receive path down.
    return drop('malformed', `decoder error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Keeps peer-controlled text in log details short. */
function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}

function drop(reason: DropReason, detail: string): DecodeResult {
  return { ok: false, reason, detail };
}

function startsWith(b: Buffer, prefix: Buffer): boolean {
  return b.length >= prefix.length && b.subarray(0, prefix.length).equals(prefix);
}

function endsWith(b: Buffer, suffix: Buffer): boolean {
  return b.length >= suffix.length && b.subarray(b.length - suffix.length).equals(suffix);
}
