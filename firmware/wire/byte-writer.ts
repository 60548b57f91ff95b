// A growable byte buffer for the encoders. Both wire formats are built field by
// field; writing into one buffer that doubles when full keeps encoding linear
// (no string concatenation, no per-field Buffer.concat) and lets the netstring
// encoder sign the finished body in place before appending the auth trailer.

const COLON = 0x3a;
const COMMA = 0x2c;

export class ByteWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialCapacity = 512) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  get length(): number {
    return this.len;
  }

  /** Appends a latin1 string: one byte per char, exactly the wire bytes. */
  latin1(s: string): this {
    this.ensure(s.length);
    this.len += this.buf.write(s, this.len, 'latin1');
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  byte(b: number): this {
    this.ensure(1);
    this.buf[this.len++] = b;
    return this;
  }

  /** `<len>:<payload>,` — one netstring (also the FT_LIST element format). */
  netstring(payload: Uint8Array): this {
    return this.latin1(String(payload.length)).byte(COLON).bytes(payload).byte(COMMA);
  }

  /** Replaces every byte `from` with `to` in [start, end) — used for the
   *  classic newline substitutions, done in place after writing a value. */
  substitute(start: number, end: number, from: number, to: number): void {
    // Search a bounded view: an unbounded indexOf could scan the unused
    // capacity on every call and make encoding quadratic.
    const v = this.buf.subarray(start, end);
    for (let i = v.indexOf(from); i >= 0; i = v.indexOf(from, i + 1)) v[i] = to;
  }

  /** Whether byte `b` occurs in [start, end) of what has been written. */
  contains(start: number, end: number, b: number): boolean {
    return this.buf.subarray(start, end).indexOf(b) >= 0;
  }

  /** View of the bytes written so far (shares memory with the writer). */
  view(start = 0, end = this.len): Buffer {
    return this.buf.subarray(start, end);
  }

  /** The finished encoding as an exactly sized Buffer of its own. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}
