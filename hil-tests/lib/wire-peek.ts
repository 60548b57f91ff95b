// Reads the fields of a Heartbeat message off the wire, for observers
// (benchmarks, probes) that must not depend on the firmware's own codec: a
// bug there must not hide in the measurement. Only what an observer needs:
// no authentication, no types, first occurrence of each name wins (as
// Heartbeat's getters do).
//
//   UDP:    netstring  "###\n" { <len>:"(T)name=value", } "%%%\n" <auth trailer>
//           or classic ">>>\n" { name=value\n } "<<<\n" (+ NUL)
//   serial: classic

export type WireFormat = 'netstring' | 'classic';

export interface PeekedMessage {
  format: WireFormat;
  fields: Map<string, string>;
}

/** Strips a "(T)" type prefix from a field name. */
function fieldName(raw: string): string {
  const m = /^\(\d+\)(.*)$/.exec(raw);
  return m ? m[1]! : raw;
}

function put(fields: Map<string, string>, nameValue: string): boolean {
  const eq = nameValue.indexOf('=');
  if (eq <= 0) return false;
  const name = fieldName(nameValue.slice(0, eq));
  if (!fields.has(name)) fields.set(name, nameValue.slice(eq + 1));
  return true;
}

function peekNetstring(buf: Buffer): PeekedMessage | undefined {
  const fields = new Map<string, string>();
  let pos = 4;
  for (;;) {
    if (buf.subarray(pos, pos + 4).toString('latin1') === '%%%\n') return { format: 'netstring', fields };
    const colon = buf.indexOf(0x3a, pos); // ':'
    if (colon < 0 || colon - pos > 9) return undefined;
    const len = Number(buf.subarray(pos, colon).toString('latin1'));
    if (!Number.isInteger(len) || len < 0) return undefined;
    const start = colon + 1;
    if (start + len + 1 > buf.length || buf[start + len] !== 0x2c) return undefined; // ','
    put(fields, buf.subarray(start, start + len).toString('latin1'));
    pos = start + len + 1;
  }
}

function peekClassic(buf: Buffer): PeekedMessage | undefined {
  const text = buf.toString('latin1');
  const end = text.indexOf('\n<<<\n');
  if (end < 0) return undefined;
  const fields = new Map<string, string>();
  for (const line of text.slice(4, end).split('\n')) {
    if (line !== '') put(fields, line);
  }
  return { format: 'classic', fields };
}

/** Fields of one datagram / serial frame, or undefined if it is neither format. */
export function peekMessage(buf: Buffer): PeekedMessage | undefined {
  const head = buf.subarray(0, 4).toString('latin1');
  if (head === '###\n') return peekNetstring(buf);
  if (head === '>>>\n') return peekClassic(buf);
  return undefined;
}
