// Heartbeat time values (keepalive, deadtime, warntime, initdead, ...).
//
// Heartbeat parses them with cluster-glue's cl_get_msec(): a plain number is
// seconds (fractions allowed), `ms`/`msec` means milliseconds, `us`/`usec`
// microseconds, units case-insensitive, and the result is rounded to the
// NEAREST whole millisecond (499us -> 0ms, 500us -> 1ms). We do the same so a
// value means exactly what it means to a Heartbeat peer (deadtime travels on
// the wire as whole ms in the `dt` field). Two differences, both stricter or
// additive: `s`/`sec` is accepted (Heartbeat rejects `1s`), and trailing junk
// is an error (Heartbeat also rejects it, but silently accepts e.g. `1.2.3`).

/** Largest value a Node timer can hold; larger delays fire immediately. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

export const TIME_EXAMPLES = 'use e.g. 1, 500ms, 1.5s';

export type DurationResult = { ok: true; ms: number } | { ok: false; message: string };

const TIME_RE = /^(\d+(?:\.\d*)?|\.\d+)(ms|msec|us|usec|s|sec)?$/i;

/**
 * Parses one time token. Errors are phrased to follow `<directive>: `,
 * e.g. `'1x' is not a time (use e.g. 1, 500ms, 1.5s)`.
 */
export function parseDuration(text: string): DurationResult {
  const t = text.trim();
  if (t === '') return { ok: false, message: `missing time (${TIME_EXAMPLES})` };
  if (/^[-+]/.test(t) && TIME_RE.test(t.slice(1))) {
    return { ok: false, message: `'${t}' is not allowed: times cannot be negative (${TIME_EXAMPLES})` };
  }
  const m = TIME_RE.exec(t);
  if (!m) return { ok: false, message: `'${t}' is not a time (${TIME_EXAMPLES})` };
  const unit = (m[2] ?? 's').toLowerCase();
  const perUnit = unit.startsWith('m') ? 1 : unit.startsWith('u') ? 0.001 : 1000;
  // Same rounding as cl_get_msec(): add 0.5 and truncate.
  const ms = Math.floor(Number(m[1]) * perUnit + 0.5);
  if (ms > MAX_DURATION_MS) {
    return { ok: false, message: `'${t}' is too long (at most ${Math.floor(MAX_DURATION_MS / 1000)}s, about 24 days)` };
  }
  return { ok: true, ms };
}

/** Human form for messages: `3s`, `1.5s`, `200ms`. */
export function formatDuration(ms: number): string {
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  if (ms >= 1000 && ms % 100 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** ha.cf form that Heartbeat itself also reads: whole seconds plain, else `ms`. */
export function formatHacfTime(ms: number): string {
  if (ms !== 0 && ms % 1000 === 0) return String(ms / 1000);
  return `${ms}ms`;
}
