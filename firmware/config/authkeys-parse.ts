// The authkeys file (Heartbeat auth.c:parse_authfile(), spec section 2):
//
//   auth 1              # index used to sign OUTGOING messages
//   1 sha1 SomeKey      # <index 0..15> <method> [key]
//
// Methods: crc (no key; detects corruption only), md5 and sha1 (HMAC with the
// key token), and sha256: HMAC-SHA256, a ringbeat-native method that only
// ringbeat nodes understand (Heartbeat 3.0.6 has no sha256 plugin), so use it
// only in clusters made entirely of ringbeat nodes.
//
// Differences from Heartbeat, all stricter: `auth` may come before or after
// the key lines (Heartbeat needs it first, else "Auth Key not found"); a
// duplicate index or `auth` line is an error (Heartbeat: last wins); text
// after the key is an error unless it is a `#` comment (Heartbeat ignores it).
// Messages never quote key material.

import { readFileSync, statSync } from 'node:fs';
import type { AuthConfig, AuthKeyEntry, AuthMethod, ConfigDiagnostic, SourceRef } from './config-data';

export const AUTH_METHODS: readonly AuthMethod[] = ['sha1', 'md5', 'crc', 'sha256'];
export const MAX_AUTH_INDEX = 15;

export interface AuthkeysResult {
  /** Present when an outbound key could be determined (even if other lines had errors). */
  auth?: AuthConfig;
  diagnostics: ConfigDiagnostic[];
}

const SYNTAX = "'auth <index>' or '<index> <method> [key]'";

function parseIndex(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,3}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_AUTH_INDEX ? n : undefined;
}

const isComment = (token: string | undefined): boolean => token === undefined || token.startsWith('#');

/** Parses authkeys text; `file` is only used in diagnostics and SourceRefs. */
export function parseAuthkeys(text: string, file: string): AuthkeysResult {
  const diagnostics: ConfigDiagnostic[] = [];
  const report = (line: number, severity: ConfigDiagnostic['severity'], message: string): void => {
    diagnostics.push({ file, line, severity, message });
  };
  const keys: AuthKeyEntry[] = [];
  let outbound: { index: number; at: SourceRef } | undefined;
  let authLineSeen: number | undefined;

  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const body = raw.trim();
    if (body === '' || body.startsWith('#')) return;
    const tokens = body.split(/\s+/);
    const [first, second, third] = tokens;

    if (first === 'auth') {
      if (authLineSeen !== undefined) {
        return report(line, 'error', `auth is given twice (lines ${authLineSeen} and ${line}); keep one`);
      }
      authLineSeen = line;
      if (isComment(second)) return report(line, 'error', "auth: missing key index (e.g. 'auth 1')");
      const index = parseIndex(second);
      if (index === undefined) return report(line, 'error', `auth: '${second}' is not a key index (0..${MAX_AUTH_INDEX})`);
      if (!isComment(third)) return report(line, 'error', 'auth: unexpected text after the index (syntax: auth <index>)');
      outbound = { index, at: { file, line } };
      return;
    }

    if (first === undefined || !/^\d+$/.test(first)) {
      return report(line, 'error', `unrecognized line; expected ${SYNTAX}`);
    }
    const index = parseIndex(first);
    if (index === undefined) return report(line, 'error', `'${first}' is not a key index (0..${MAX_AUTH_INDEX})`);
    const entry = parseKeyLine(index, tokens.slice(1), (message) => report(line, 'error', `key ${index}: ${message}`));
    if (!entry) return;
    const prev = keys.find((k) => k.index === index);
    if (prev) {
      return report(line, 'error', `key ${index} is defined twice (lines ${prev.at.line} and ${line}); keep one`);
    }
    keys.push({ index, ...entry, at: { file, line } });
  });

  if (!outbound) {
    if (authLineSeen === undefined) {
      report(0, 'error', "missing 'auth <index>' line choosing the key for outgoing messages (e.g. 'auth 1')");
    }
    return { diagnostics };
  }
  const out = outbound;
  const chosen = keys.find((k) => k.index === out.index);
  if (!chosen) {
    report(out.at.line, 'error', `auth ${out.index}: no key with index ${out.index} is defined (add a line like '${out.index} sha1 <secret>')`);
    return { diagnostics };
  }
  const second = keys[1];
  if (second) {
    report(
      second.at.line,
      'warning',
      "more than one key: Heartbeat 3.0.6 checks UDP netstring trailers with the 'auth' key only, " +
        'so peers signing with another index are dropped; keep a single key once all nodes use it',
    );
  }
  if (chosen.method === 'crc') {
    report(chosen.at.line, 'warning', `key ${chosen.index}: crc only detects corruption; anyone on the network can forge messages (use sha1)`);
  } else if (chosen.method === 'sha256') {
    report(chosen.at.line, 'warning', `key ${chosen.index}: sha256 is ringbeat-only; Heartbeat 3.0.6 nodes cannot check it (use sha1 in mixed clusters)`);
  }
  return { auth: { outbound: out.index, keys, file, outboundAt: out.at }, diagnostics };
}

/** `<method> [key] [# comment]` after the index. */
function parseKeyLine(
  index: number,
  rest: string[],
  error: (message: string) => void,
): { method: AuthMethod; key?: string } | undefined {
  const [methodText, keyText, extra] = rest;
  if (isComment(methodText)) {
    error(`missing method (syntax: ${index} sha1|md5|crc|sha256 [key])`);
    return undefined;
  }
  const method = AUTH_METHODS.find((m) => m === methodText);
  if (!method) {
    // Only echo the word when it is a method name in the wrong case: a line
    // like `1 MySecret` (method forgotten) must not put the key into a log.
    const wrongCase = AUTH_METHODS.some((m) => m === methodText?.toLowerCase());
    error(wrongCase ? `unknown method '${methodText}' (method names are lower-case: sha1, md5, crc, sha256)` : 'unknown method (use sha1, md5, crc or sha256)');
    return undefined;
  }
  if (method === 'crc') {
    if (!isComment(keyText)) {
      error('method crc takes no key; remove it (or use sha1 with the key)');
      return undefined;
    }
    return { method };
  }
  if (keyText === undefined) {
    error(`method ${method} needs a key (syntax: ${index} ${method} <secret>)`);
    return undefined;
  }
  if (keyText.startsWith('#')) {
    // Heartbeat would take "#..." as the key; far more likely a mistake.
    error("the key may not start with '#' (it reads like a comment)");
    return undefined;
  }
  if (!isComment(extra)) {
    error('extra text after the key; a key is one word without blanks');
    return undefined;
  }
  return { method, key: keyText };
}

/** Heartbeat refuses a key file others can read; so do we. */
export function checkAuthkeysMode(mode: number, file: string): ConfigDiagnostic[] {
  const octal = (mode & 0o7777).toString(8).padStart(4, '0');
  if (mode & 0o044) {
    return [{ file, line: 0, severity: 'error', message: `readable by group/others (mode ${octal}); run: chmod 600 ${file}` }];
  }
  if (mode & 0o022) {
    return [{ file, line: 0, severity: 'warning', message: `writable by group/others (mode ${octal}); run: chmod 600 ${file}` }];
  }
  return [];
}

/** Reads, mode-checks and parses an authkeys file. Never throws. */
export function readAuthkeys(file: string): AuthkeysResult {
  let text: string;
  const diagnostics: ConfigDiagnostic[] = [];
  try {
    const st = statSync(file);
    if (!st.isFile()) {
      return { diagnostics: [{ file, line: 0, severity: 'error', message: 'not a regular file; authkeys must be a file with mode 600' }] };
    }
    diagnostics.push(...checkAuthkeysMode(st.mode, file));
    // Keys are raw bytes; latin1 maps each byte to one char and back.
    text = readFileSync(file, 'latin1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? `file not found; create it with the lines 'auth 1' and '1 sha1 <secret>', then run: chmod 600 ${file}`
        : `cannot read: ${describeIoError(err)}`;
    return { diagnostics: [{ file, line: 0, severity: 'error', message }] };
  }
  const parsed = parseAuthkeys(text, file);
  return { ...parsed, diagnostics: [...diagnostics, ...parsed.diagnostics] };
}

/** Short, fix-oriented text for a failed file operation. */
export function describeIoError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'file not found';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (run as root, or fix the permissions)';
    case 'EISDIR':
      return 'is a directory, expected a file';
    case 'ENOTDIR':
      return 'a path component is not a directory';
    default:
      return e?.code ? `${e.code} (${e.message})` : String(err);
  }
}
