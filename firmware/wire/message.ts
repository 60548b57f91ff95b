// The Heartbeat message model (`struct ha_msg`): an ordered list of typed
// (name, value) fields. Order is part of what gets signed, duplicate names are
// legal and kept; lookups return the first occurrence, exactly as libplumb does.
//
// Strings are handled as latin1 ("binary") JS strings so that every byte on the
// wire maps to exactly one char and back: digests are computed over bytes, and a
// relayed or re-encoded message must reproduce them bit for bit.

/** Field types of glue's `enum cl_netstring_type` (the `(T)` prefix on the wire). */
export const FT = {
  STRING: 0,
  BINARY: 1,
  STRUCT: 2,
  LIST: 3,
  COMPRESS: 4,
} as const;
export type FieldType = (typeof FT)[keyof typeof FT];

export type Field =
  | { name: string; type: typeof FT.STRING; value: string }
  | { name: string; type: typeof FT.BINARY; value: Buffer }
  | { name: string; type: typeof FT.STRUCT; value: HaMessage }
  | { name: string; type: typeof FT.LIST; value: string[] }
  /** Compressed struct (Pacemaker payloads): carried opaquely, never inflated. */
  | { name: string; type: typeof FT.COMPRESS; value: Buffer };

export class HaMessage {
  readonly fields: Field[];

  constructor(fields: Field[] = []) {
    this.fields = fields;
  }

  /** Builds a message of string fields, in the given order. */
  static of(pairs: Record<string, string | number>): HaMessage {
    const m = new HaMessage();
    for (const [k, v] of Object.entries(pairs)) m.add(k, String(v));
    return m;
  }

  /** First string value of `name` (binary values are returned as latin1). */
  get(name: string): string | undefined {
    const f = this.field(name);
    if (!f) return undefined;
    if (f.type === FT.STRING) return f.value;
    if (f.type === FT.BINARY) return f.value.toString('latin1');
    return undefined;
  }

  getBinary(name: string): Buffer | undefined {
    const f = this.field(name);
    return f && f.type === FT.BINARY ? f.value : undefined;
  }

  field(name: string): Field | undefined {
    return this.fields.find((f) => f.name === name);
  }

  has(name: string): boolean {
    return this.fields.some((f) => f.name === name);
  }

  /** Appends a string field (keeps an existing one: duplicates are legal). */
  add(name: string, value: string): this {
    this.fields.push({ name, type: FT.STRING, value });
    return this;
  }

  addBinary(name: string, value: Buffer): this {
    this.fields.push({ name, type: FT.BINARY, value });
    return this;
  }

  /** `ha_msg_mod()`: replaces the first field of that name in place, else appends. */
  set(name: string, value: string): this {
    return this.setField({ name, type: FT.STRING, value });
  }

  setBinary(name: string, value: Buffer): this {
    return this.setField({ name, type: FT.BINARY, value });
  }

  setField(field: Field): this {
    const i = this.fields.findIndex((f) => f.name === field.name);
    if (i >= 0) this.fields[i] = field;
    else this.fields.push(field);
    return this;
  }

  /** Removes every field of that name. */
  delete(name: string): this {
    for (let i = this.fields.length - 1; i >= 0; i--) {
      if (this.fields[i]!.name === name) this.fields.splice(i, 1);
    }
    return this;
  }

  /** Deep copy (values are copied; buffers too, so a copy can be mutated safely). */
  clone(): HaMessage {
    return new HaMessage(this.fields.map(cloneField));
  }

  /** Compact one-line rendering for logs: `t=status st=up seq=1e ...` (binary as hex). */
  toString(): string {
    return this.fields
      .filter((f) => f.name !== 'auth')
      .map((f) => `${f.name}=${renderValue(f)}`)
      .join(' ');
  }
}

function cloneField(f: Field): Field {
  switch (f.type) {
    case FT.STRING:
      return { ...f };
    case FT.BINARY:
    case FT.COMPRESS:
      return { ...f, value: Buffer.from(f.value) };
    case FT.STRUCT:
      return { ...f, value: f.value.clone() };
    case FT.LIST:
      return { ...f, value: [...f.value] };
  }
}

function renderValue(f: Field): string {
  switch (f.type) {
    case FT.STRING:
      return /\s/.test(f.value) ? JSON.stringify(f.value) : f.value;
    case FT.BINARY:
    case FT.COMPRESS:
      return f.value.toString('hex');
    case FT.STRUCT:
      return `{${f.value.toString()}}`;
    case FT.LIST:
      return `[${f.value.join(',')}]`;
  }
}

/** Why a frame was dropped. Every drop is counted under one of these. */
export const DROP_REASONS = [
  'malformed', // not a parseable classic/netstring frame
  'truncated', // frame ended before its terminator / declared length
  'oversized', // longer than the medium's limit (line or datagram)
  'no-type-prefix', // netstring field without its `(T)` prefix (crashes real Heartbeat)
  'no-auth', // no auth field / trailer
  'bad-auth', // digest mismatch, unknown auth index or method
  'replay', // older generation, or (sha256 mode) outside the anti-replay window
  'duplicate', // already seen (same origin, generation, seq)
  'unknown-node', // src not in the configured node list
  'bad-seq', // seq missing/unparsable, or old seq that was not missing
  'bad-field', // a required field is missing or unparsable (hg, ts, t)
  'not-for-us', // dest/destuuid names another node
  'ttl-expired', // relay: TTL exhausted (ring relay)
  'overrun', // serial: bytes lost or garbled in the line
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Thrown by the codecs; `reason` is what the drop is counted under. */
export class WireError extends Error {
  constructor(
    readonly reason: DropReason,
    message: string,
  ) {
    super(message);
    this.name = 'WireError';
  }
}
