// Every ha.cf directive Heartbeat 3.0.6 knows (config.c Directives[] and
// WLdirectives[], plus the HBcomm media plugins), each either implemented here
// or refused with a reason. Nothing is silently ignored: a directive that is
// not in this table is "unknown", one that is refused is an error.
//
// To implement a refused directive later: turn its entry into an
// ImplementedDirective (status 'implemented', a handler that stores the value
// in the draft) and extend HacfDraft / hacf-parse.ts finalize() as needed.
//
// Handlers only look at their own line and record values; everything that
// depends on other directives (baud for serial lines, udpport for bcast/ucast,
// deadtime vs keepalive, ...) is resolved after the whole file was read, so
// directive order never matters (unlike Heartbeat, where e.g. `baud` after
// `serial` is silently not applied to that line).

import { isIP, isIPv4 } from 'node:net';
import type { AutoFailback, McastMediumConfig, SourceRef } from './config-data';
import { formatDuration, parseDuration } from './duration';

export type DirectiveKind = 'option' | 'whole-line' | 'medium';

/** One ha.cf line, comment stripped and split into values. */
export interface DirectiveLine {
  name: string;
  values: string[];
  at: SourceRef;
}

export interface At<T> {
  value: T;
  at: SourceRef;
}

/** Single-valued settings as written in ha.cf (times already in ms). */
export interface ScalarSettings {
  cluster: string;
  keepaliveMs: number;
  deadtimeMs: number;
  warntimeMs: number;
  initdeadMs: number;
  hopfudge: number;
  udpport: number;
  baud: number;
  autoFailback: AutoFailback;
  /** What `nice_failback` maps to (merged with auto_failback after parsing). */
  niceFailback: AutoFailback;
  logfile: string;
  debugfile: string;
  /** Facility name, or null for `logfacility none`. */
  facility: string | null;
  debugLevel: number;
  useLogd: boolean;
  msgfmt: 'classic' | 'netstring';
  maxRexmitDelayMs: number;
  genMethod: 'file' | 'time';
  compression: string;
  compressionThresholdKb: number;
  traditionalCompression: boolean;
  logBadPackets: boolean;
  pacemaker: boolean;
  autojoin: 'none';
  uuidfrom: 'file';
  crossCheckWaitMs: number;
  garpCount: number;
  garpIntervalMs: number;
  garpMode: 'both' | 'request' | 'reply';
  garpRefreshMs: number;
  naRouter: boolean;
  realtime: boolean;
  rtPrio: number;
}

export type DraftMedium =
  | { kind: 'serial'; device: string; at: SourceRef }
  | { kind: 'bcast'; iface: string; at: SourceRef }
  | { kind: 'ucast'; iface: string; peer: string; at: SourceRef }
  | McastMediumConfig;

/** What the handlers collect while the file is read. */
export interface HacfDraft {
  scalars: { [K in keyof ScalarSettings]?: At<ScalarSettings[K]> };
  nodes: At<string>[];
  media: DraftMedium[];
  /** Directives with a rejected value: cross-checks needing them are skipped. */
  failed: Set<string>;
}

export function newDraft(): HacfDraft {
  return { scalars: {}, nodes: [], media: [], failed: new Set() };
}

export interface DirectiveContext {
  line: DirectiveLine;
  draft: HacfDraft;
  /** Reports `<directive>: <message>` as an error at this line. */
  error(message: string): void;
  /** Reports `<directive>: <message>` as a warning at this line. */
  warn(message: string): void;
}

interface DirectiveBase {
  name: string;
  kind: DirectiveKind;
  /** One-line description (REFERENCE.md, `ringbeat check`). */
  doc: string;
  /** Usage as written in ha.cf. */
  syntax: string;
}

export interface ImplementedDirective extends DirectiveBase {
  status: 'implemented';
  /** Default in ha.cf syntax, or a description when it is computed. */
  default?: string;
  /**
   * Directives with a key may appear once per file; directives sharing a key
   * exclude each other (crm/pacemaker). Undefined: may repeat (node, media).
   */
  onceKey?: string;
  /**
   * How values are separated: 'list' = blanks and commas (Heartbeat's option
   * directives and serial/bcast), 'words' = blanks only (whole-line media).
   */
  split: 'list' | 'words';
  /** Where ringbeat differs from Heartbeat 3.0.6 (REFERENCE.md). */
  heartbeatDiff?: string;
  /** A ringbeat-only directive (Heartbeat does not know it: keep it out of Heartbeat nodes' ha.cf). */
  extension?: boolean;
  handle(ctx: DirectiveContext): void;
}

export interface RefusedDirective extends DirectiveBase {
  status: 'refused';
  /** Shown as `unsupported directive 'X' (<reason>)`. */
  reason: string;
}

export type DirectiveSpec = ImplementedDirective | RefusedDirective;

// ---------------------------------------------------------------------------
// Defaults (Heartbeat 3.0.6 init_config() / Directives[] defaults)

export const HACF_DEFAULTS = {
  cluster: 'linux-ha',
  keepaliveMs: 1000,
  deadtimeMs: 30000,
  hopfudge: 1,
  // Heartbeat takes `ha-cluster` from /etc/services first; that is 694 too.
  udpport: 694,
  baud: 19200,
  autoFailback: 'legacy' as AutoFailback,
  msgfmt: 'classic' as const,
  maxRexmitDelayMs: 250,
  genMethod: 'file' as const,
  compression: 'zlib',
  compressionThresholdKb: 2,
  logBadPackets: true,
  debugLevel: 0,
  // IPaddr2's defaults: arp_count=5, arp_interval=200 ms, both ARP forms.
  garpCount: 5,
  garpIntervalMs: 200,
  garpMode: 'both' as const,
  garpRefreshMs: 0,
  naRouter: false,
  // Heartbeat runs realtime by default too.
  realtime: true,
  rtPrio: 10,
};

/** ringbeat's cross-check wait when `crosscheck_wait` is not given: 2 x keepalive, at least 200 ms, at most deadtime. */
export function defaultCrossCheckWait(keepaliveMs: number, deadtimeMs: number): number {
  return Math.min(deadtimeMs, Math.max(2 * keepaliveMs, 200));
}

/** Heartbeat's rule when `warntime` is not given. */
export function defaultWarntime(deadtimeMs: number): number {
  return Math.floor(deadtimeMs / 2);
}

/** Heartbeat's rule when `initdead` is not given. */
export function defaultInitdead(deadtimeMs: number): number {
  if (deadtimeMs > 10000) return deadtimeMs;
  if (deadtimeMs < 6000) return 12000;
  return 2 * deadtimeMs;
}

export const BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800] as const;

/** glibc's syslog facility names (cl_syslogfac_str2int(), case-sensitive). */
export const SYSLOG_FACILITIES = [
  'auth', 'authpriv', 'cron', 'daemon', 'ftp', 'lpr', 'mail', 'news', 'security',
  'syslog', 'user', 'uucp', 'local0', 'local1', 'local2', 'local3', 'local4',
  'local5', 'local6', 'local7',
] as const;

// ---------------------------------------------------------------------------
// Value parsers shared by the handlers

const TRUE_WORDS = ['true', 'on', 'yes', 'y', '1'];
const FALSE_WORDS = ['false', 'off', 'no', 'n', '0'];
const BOOL_HINT = 'use yes/no, on/off, true/false or 1/0';

/** Heartbeat's cl_str_to_boolean(): case-insensitive. */
export function parseBoolean(text: string): boolean | undefined {
  const t = text.toLowerCase();
  if (TRUE_WORDS.includes(t)) return true;
  if (FALSE_WORDS.includes(t)) return false;
  return undefined;
}

/** Quotes a value for a message, shortened so a runaway line cannot flood the log. */
export function quote(value: string): string {
  return `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;
}

function parseUint(text: string): number | undefined {
  return /^\d{1,10}$/.test(text) ? Number(text) : undefined;
}

const NODE_NAME_RE = /^[a-z0-9][a-z0-9._-]*$/i;
/** Heartbeat's HOSTLENG is 100 bytes including the NUL. */
const MAX_NODE_NAME = 99;
/** Linux IFNAMSIZ is 16 including the NUL. */
const IFACE_RE = /^[A-Za-z0-9_.:@-]{1,15}$/;
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

export function isMulticastIPv4(addr: string): boolean {
  if (!isIPv4(addr)) return false;
  const first = Number(addr.split('.')[0]);
  return first >= 224 && first <= 239;
}

function set<K extends keyof ScalarSettings>(ctx: DirectiveContext, key: K, value: ScalarSettings[K]): void {
  // The draft's mapped type cannot be indexed generically without a cast.
  (ctx.draft.scalars as Record<string, At<unknown>>)[key] = { value, at: ctx.line.at };
}

/** The single value of a single-valued directive, or undefined (error reported). */
function oneValue(ctx: DirectiveContext, syntax: string): string | undefined {
  const v = ctx.line.values;
  if (v.length === 1) return v[0];
  if (v.length === 0) ctx.error(`missing value (syntax: ${syntax})`);
  else ctx.error(`takes one value, got ${v.length} (${quote(v.join(' '))}) (syntax: ${syntax})`);
  return undefined;
}

/** At least one value for a list directive, or undefined (error reported). */
function someValues(ctx: DirectiveContext, syntax: string): string[] | undefined {
  if (ctx.line.values.length > 0) return ctx.line.values;
  ctx.error(`missing value (syntax: ${syntax})`);
  return undefined;
}

// ---------------------------------------------------------------------------
// Handler factories

type Handler = (ctx: DirectiveContext) => void;

function timeHandler(
  key: 'keepaliveMs' | 'deadtimeMs' | 'warntimeMs' | 'initdeadMs' | 'crossCheckWaitMs' | 'garpIntervalMs' | 'garpRefreshMs',
  syntax: string,
  minMs: number,
): Handler {
  return (ctx) => {
    const v = oneValue(ctx, syntax);
    if (v === undefined) return;
    const r = parseDuration(v);
    if (!r.ok) return ctx.error(r.message);
    if (r.ms < minMs) {
      return ctx.error(`'${v}' is ${formatDuration(r.ms)}; must be at least ${formatDuration(minMs)}`);
    }
    set(ctx, key, r.ms);
  };
}

function intHandler(key: 'hopfudge' | 'debugLevel' | 'compressionThresholdKb' | 'garpCount' | 'rtPrio', syntax: string, min: number, max: number): Handler {
  return (ctx) => {
    const v = oneValue(ctx, syntax);
    if (v === undefined) return;
    const n = parseUint(v);
    if (n === undefined) return ctx.error(`'${v}' is not a whole number (${min}..${max})`);
    if (n < min || n > max) return ctx.error(`'${v}' is out of range (${min}..${max})`);
    set(ctx, key, n);
  };
}

function boolHandler(key: 'logBadPackets' | 'naRouter' | 'realtime', syntax: string): Handler {
  return (ctx) => {
    const v = oneValue(ctx, syntax);
    if (v === undefined) return;
    const b = parseBoolean(v);
    if (b === undefined) return ctx.error(`'${v}' is not a boolean (${BOOL_HINT})`);
    set(ctx, key, b);
  };
}

const PACEMAKER_MODES = ['respawn', 'minimal', 'manual', 'valgrind', 'ccm-only'];

/** Booleans ringbeat accepts only as "off": the "on" feature does not exist here. */
function onlyFalseHandler(key: 'useLogd' | 'traditionalCompression' | 'pacemaker', syntax: string, whyNot: string): Handler {
  return (ctx) => {
    const v = oneValue(ctx, syntax);
    if (v === undefined) return;
    const b = parseBoolean(v);
    if (b === false) return set(ctx, key, false);
    // crm/pacemaker also take these words in Heartbeat; all of them start Pacemaker.
    const pacemakerWord = key === 'pacemaker' && PACEMAKER_MODES.includes(v.toLowerCase());
    if (b === undefined && !pacemakerWord) {
      return ctx.error(`'${v}' is not valid (write '${ctx.line.name} no' or remove the line)`);
    }
    ctx.error(`${whyNot} (remove the line or write '${ctx.line.name} no')`);
  };
}

function choiceHandler<K extends 'msgfmt' | 'genMethod' | 'compression' | 'garpMode'>(
  key: K,
  syntax: string,
  choices: readonly ScalarSettings[K][],
): Handler {
  return (ctx) => {
    const v = oneValue(ctx, syntax);
    if (v === undefined) return;
    const hit = choices.find((c) => c === v);
    if (hit === undefined) {
      // Heartbeat compares these case-sensitively (strcmp), so do we.
      return ctx.error(`'${v}' is not valid (use ${choices.join(' or ')})`);
    }
    set(ctx, key, hit);
  };
}

function pathHandler(key: 'logfile' | 'debugfile', syntax: string): Handler {
  return (ctx) => {
    const v = oneValue(ctx, syntax);
    if (v === undefined) return;
    // The daemon runs with cwd=/, so a relative name would land somewhere surprising.
    if (!v.startsWith('/')) return ctx.error(`${quote(v)} must be an absolute path (e.g. /var/log/ha-log)`);
    set(ctx, key, v);
  };
}

// ---------------------------------------------------------------------------
// Handlers with their own rules

const handleNode: Handler = (ctx) => {
  const values = someValues(ctx, 'node <name> [<name> ...]');
  if (!values) return;
  for (const raw of values) {
    if (!NODE_NAME_RE.test(raw) || raw.length > MAX_NODE_NAME) {
      ctx.error(`${quote(raw)} is not a valid node name (letters, digits, '.', '-', '_'; at most ${MAX_NODE_NAME} characters)`);
      continue;
    }
    // Heartbeat lower-cases node names (add_node()); so must we to match `src=`.
    const name = raw.toLowerCase();
    const prev = ctx.draft.nodes.find((n) => n.value === name);
    if (prev) {
      ctx.warn(`node '${name}' is listed twice (lines ${prev.at.line} and ${ctx.line.at.line}); it is counted once`);
      continue;
    }
    ctx.draft.nodes.push({ value: name, at: ctx.line.at });
  }
};

const handleBaud: Handler = (ctx) => {
  const v = oneValue(ctx, 'baud <rate>');
  if (v === undefined) return;
  const n = parseUint(v);
  const rate = BAUD_RATES.find((r) => r === n);
  if (rate === undefined) return ctx.error(`'${v}' is not a supported rate (use ${BAUD_RATES.join(', ')})`);
  set(ctx, 'baud', rate);
};

const handleUdpport: Handler = (ctx) => {
  const v = oneValue(ctx, 'udpport <port>');
  if (v === undefined) return;
  const n = parseUint(v);
  if (n === undefined || n < 1 || n > 65535) return ctx.error(`'${v}' is not a port number (1..65535)`);
  set(ctx, 'udpport', n);
};

const handleLogfacility: Handler = (ctx) => {
  const v = oneValue(ctx, 'logfacility <facility>|none');
  if (v === undefined) return;
  if (v === 'none') return set(ctx, 'facility', null);
  if (v === 'kern') {
    // LOG_KERN is 0, which Heartbeat treats as "no syslog"; programs cannot log as kern anyway.
    return ctx.error(`'kern' is reserved for the kernel (Heartbeat silently treats it as none); use daemon or local0..local7`);
  }
  const hit = SYSLOG_FACILITIES.find((f) => f === v);
  if (hit === undefined) return ctx.error(`'${v}' is not a syslog facility (use none, daemon, local0..local7, ${SYSLOG_FACILITIES.filter((f) => !f.startsWith('local') && f !== 'daemon').join(', ')})`);
  set(ctx, 'facility', hit);
};

function parseFailback(v: string): AutoFailback | undefined {
  if (v.toLowerCase() === 'legacy') return 'legacy';
  const b = parseBoolean(v);
  return b === undefined ? undefined : b ? 'on' : 'off';
}

const handleAutoFailback: Handler = (ctx) => {
  const v = oneValue(ctx, 'auto_failback on|off|legacy');
  if (v === undefined) return;
  const f = parseFailback(v);
  if (f === undefined) return ctx.error(`'${v}' is not valid (use on, off or legacy)`);
  set(ctx, 'autoFailback', f);
};

const handleNiceFailback: Handler = (ctx) => {
  const v = oneValue(ctx, 'nice_failback on|off');
  if (v === undefined) return;
  const b = parseBoolean(v);
  if (b === undefined) return ctx.error(`'${v}' is not a boolean (${BOOL_HINT})`);
  const mapped: AutoFailback = b ? 'off' : 'legacy';
  set(ctx, 'niceFailback', mapped);
  ctx.warn(
    `deprecated; write 'auto_failback ${mapped}' instead (ringbeat reads 'nice_failback ${v}' as that; ` +
      `Heartbeat 3.0.6 reads 'nice_failback on' as 'legacy' unless an auto_failback line comes before it, ` +
      `so set auto_failback explicitly on every node)`,
  );
};

const handleMaxRexmitDelay: Handler = (ctx) => {
  const syntax = 'max_rexmit_delay <milliseconds>';
  const v = oneValue(ctx, syntax);
  if (v === undefined) return;
  // Heartbeat reads this with atoi(): a plain number is MILLISECONDS, not
  // seconds like the other times. Keep that, or `max_rexmit_delay 250` would
  // mean 250 s here and 250 ms on a Heartbeat peer.
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v);
  else if (/^\d+(\.\d*)?$/.test(v)) {
    return ctx.error(`'${v}': a plain number here is milliseconds (as in Heartbeat); write a whole number such as 250`);
  } else {
    const r = parseDuration(v);
    if (!r.ok) return ctx.error(r.message.replace('use e.g. 1, 500ms, 1.5s', 'use e.g. 250 (milliseconds) or 250ms'));
    ms = r.ms;
  }
  if (ms < 1) return ctx.error(`'${v}' must be at least 1ms`);
  if (ms > 60000) return ctx.error(`'${v}' is more than 60s; retransmission requests would be useless by then`);
  set(ctx, 'maxRexmitDelayMs', ms);
};

const handleCluster: Handler = (ctx) => {
  const v = oneValue(ctx, 'cluster <name>');
  if (v === undefined) return;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(v)) return ctx.error(`'${v}' is not a valid cluster name (letters, digits, '.', '-', '_')`);
  set(ctx, 'cluster', v);
};

const handleUseLogd = onlyFalseHandler('useLogd', 'use_logd no', 'ringbeat has no logging daemon; use logfile/logfacility');

const handleAutojoin: Handler = (ctx) => {
  const v = oneValue(ctx, 'autojoin none');
  if (v === undefined) return;
  const l = v.toLowerCase();
  if (l === 'none') return set(ctx, 'autojoin', 'none');
  if (l === 'other' || l === 'any') {
    return ctx.error(`'${v}' is not supported; every node must be listed in a 'node' line (Heartbeat also rejects autojoin with haresources) (remove the line or write 'autojoin none')`);
  }
  ctx.error(`'${v}' is not valid (use none)`);
};

const handleUuidfrom: Handler = (ctx) => {
  const v = oneValue(ctx, 'uuidfrom file');
  if (v === undefined) return;
  if (v === 'file') return set(ctx, 'uuidfrom', 'file');
  if (v === 'nodename') {
    return ctx.error(`'nodename' is not supported; ringbeat always keeps a generated UUID on disk (remove the line or write 'uuidfrom file')`);
  }
  ctx.error(`'${v}' is not valid (use file)`);
};

function checkIface(ctx: DirectiveContext, iface: string): boolean {
  if (IFACE_RE.test(iface) && iface !== '.' && iface !== '..') return true;
  ctx.error(`${quote(iface)} is not a network interface name (e.g. eth0)`);
  return false;
}

function handleBcastLike(ctx: DirectiveContext): void {
  const values = someValues(ctx, `${ctx.line.name} <interface> [<interface> ...]`);
  if (!values) return;
  for (const iface of values) {
    if (!checkIface(ctx, iface)) continue;
    const prev = ctx.draft.media.find((m) => m.kind === 'bcast' && m.iface === iface);
    if (prev) ctx.warn(`interface ${iface} is already listed at line ${prev.at.line}; every heartbeat will be broadcast twice`);
    ctx.draft.media.push({ kind: 'bcast', iface, at: ctx.line.at });
  }
}

const handleUdpAlias: Handler = (ctx) => {
  ctx.warn(`'udp' is Heartbeat's old name for 'bcast'; write 'bcast'`);
  handleBcastLike(ctx);
};

const handleSerial: Handler = (ctx) => {
  const values = someValues(ctx, 'serial <device> [<device> ...]');
  if (!values) return;
  for (const device of values) {
    if (!device.startsWith('/')) {
      ctx.error(`${quote(device)} must be an absolute device path (e.g. /dev/ttyS0)`);
      continue;
    }
    const prev = ctx.draft.media.find((m) => m.kind === 'serial' && m.device === device);
    if (prev) {
      ctx.error(`device ${device} is already used at line ${prev.at.line}; a tty can carry only one link`);
      continue;
    }
    ctx.draft.media.push({ kind: 'serial', device, at: ctx.line.at });
  }
};

const handleUcast: Handler = (ctx) => {
  const syntax = 'ucast <interface> <peer-address>';
  const v = ctx.line.values;
  if (v.length !== 2) {
    return ctx.error(`expects 2 values, got ${v.length} (syntax: ${syntax}; one line per peer)`);
  }
  const [iface, peer] = v as [string, string];
  if (!checkIface(ctx, iface)) return;
  if (isIP(peer) === 6) return ctx.error(`'${peer}' is an IPv6 address; ucast is IPv4 only (ucast6 is not supported)`);
  if (!isIPv4(peer) && (/^[\d.]+$/.test(peer) || !HOSTNAME_RE.test(peer))) {
    return ctx.error(`${quote(peer)} is not an IPv4 address or host name`);
  }
  if (isMulticastIPv4(peer)) return ctx.error(`'${peer}' is a multicast group; use 'mcast' for it`);
  const prev = ctx.draft.media.find((m) => m.kind === 'ucast' && m.iface === iface && m.peer === peer);
  if (prev) ctx.warn(`ucast ${iface} ${peer} is already listed at line ${prev.at.line}; every heartbeat will be sent twice`);
  ctx.draft.media.push({ kind: 'ucast', iface, peer, at: ctx.line.at });
};

const handleMcast: Handler = (ctx) => {
  const syntax = 'mcast <interface> <group> <port> <ttl 0..4> <loop 0|1>';
  const v = ctx.line.values;
  if (v.length !== 5) return ctx.error(`expects 5 values, got ${v.length} (syntax: ${syntax})`);
  const [iface, group, portText, ttlText, loopText] = v as [string, string, string, string, string];
  let ok = checkIface(ctx, iface);
  if (!isMulticastIPv4(group)) {
    ctx.error(`'${group}' is not an IPv4 multicast group (use 224.0.0.0..239.255.255.255, e.g. 239.0.0.43)`);
    ok = false;
  }
  const port = parseUint(portText);
  if (port === undefined || port < 1 || port > 65535) {
    ctx.error(`port '${portText}' is not a port number (1..65535)`);
    ok = false;
  }
  const ttl = parseUint(ttlText);
  if (ttl === undefined || ttl > 4) {
    ctx.error(`ttl '${ttlText}' is out of range (0..4; 1 keeps packets on the local subnet)`);
    ok = false;
  }
  if (loopText !== '0' && loopText !== '1') {
    ctx.error(`loop '${loopText}' must be 0 or 1 (0 recommended)`);
    ok = false;
  }
  if (!ok || port === undefined || ttl === undefined) return;
  const prev = ctx.draft.media.find((m) => m.kind === 'mcast' && m.iface === iface && m.group === group && m.port === port);
  if (prev) ctx.warn(`mcast ${iface} ${group} ${port} is already listed at line ${prev.at.line}; every heartbeat will be sent twice`);
  ctx.draft.media.push({ kind: 'mcast', iface, group, port, ttl, loop: loopText === '1', at: ctx.line.at });
};

// ---------------------------------------------------------------------------
// The table

function impl(d: Omit<ImplementedDirective, 'status'>): ImplementedDirective {
  return { status: 'implemented', ...d };
}

function refused(name: string, kind: DirectiveKind, syntax: string, doc: string, reason: string): RefusedDirective {
  return { status: 'refused', name, kind, syntax, doc, reason };
}

const PACEMAKER_ONLY = 'Pacemaker-only; ringbeat runs haresources (R1) resource management';
const PING_NODES = 'ping nodes need raw ICMP; use a mon monitor instead';
const NO_LOGD = 'ringbeat has no logging daemon; use logfile/logfacility';
const CORES = 'core dumps are left to the system (ulimit -c, systemd-coredump)';
const PACEMAKER_MODE = 'Pacemaker mode is not supported; ringbeat runs haresources (R1) resource management';

export const DIRECTIVES: readonly DirectiveSpec[] = [
  // --- option directives (Heartbeat config.c Directives[]) ---
  impl({
    name: 'cluster', kind: 'option', split: 'list', onceKey: 'cluster', syntax: 'cluster <name>', default: 'linux-ha',
    doc: 'Name of the cluster.',
    handle: handleCluster,
  }),
  impl({
    name: 'node', kind: 'option', split: 'list', syntax: 'node <name> [<name> ...]',
    doc: 'Cluster members, by `uname -n` or /etc/ha.d/nodeinfo name; may repeat. Names are lower-cased.',
    heartbeatDiff: 'A name listed twice is a warning and counted once (Heartbeat adds it twice). Names are limited to letters, digits, `.`, `-`, `_`.',
    handle: handleNode,
  }),
  impl({
    name: 'hopfudge', kind: 'option', split: 'list', onceKey: 'hopfudge', syntax: 'hopfudge <0..255>', default: '1',
    doc: 'Added to the node count to form the `ttl` field written on every message (never read by anyone).',
    handle: intHandler('hopfudge', 'hopfudge <0..255>', 0, 255),
  }),
  impl({
    name: 'keepalive', kind: 'option', split: 'list', onceKey: 'keepalive', syntax: 'keepalive <time>', default: '1',
    doc: 'Interval between heartbeats.',
    handle: timeHandler('keepaliveMs', 'keepalive <time>', 1),
  }),
  impl({
    name: 'deadtime', kind: 'option', split: 'list', onceKey: 'deadtime', syntax: 'deadtime <time>', default: '30',
    doc: 'Silence after which a node is declared dead. Must be greater than 2 x keepalive.',
    handle: timeHandler('deadtimeMs', 'deadtime <time>', 0),
  }),
  refused('deadping', 'option', 'deadping <time>', 'Dead time for ping nodes.', PING_NODES),
  impl({
    name: 'initdead', kind: 'option', split: 'list', onceKey: 'initdead', syntax: 'initdead <time>',
    default: 'deadtime if deadtime > 10s; 12s if deadtime < 6s; else 2 x deadtime',
    doc: 'Dead time used until a node was first heard after start. Must be at least deadtime; under 10s gives a warning.',
    handle: timeHandler('initdeadMs', 'initdead <time>', 0),
  }),
  impl({
    name: 'warntime', kind: 'option', split: 'list', onceKey: 'warntime', syntax: 'warntime <time>', default: 'deadtime / 2',
    doc: 'A heartbeat later than this is logged as a "late heartbeat". Must be > 0, should be < deadtime.',
    heartbeatDiff: 'Warns when warntime >= deadtime or warntime <= keepalive (Heartbeat accepts both silently).',
    handle: timeHandler('warntimeMs', 'warntime <time>', 1),
  }),
  refused('watchdog', 'option', 'watchdog <device>', 'Kernel watchdog device tickled on every own heartbeat.',
    'the hardware watchdog is not implemented yet'),
  impl({
    name: 'baud', kind: 'option', split: 'list', onceKey: 'baud', syntax: 'baud <rate>', default: '19200',
    doc: `Speed of all serial lines: ${BAUD_RATES.join(', ')}.`,
    heartbeatDiff: 'Applies to every `serial` line wherever it appears (Heartbeat: only to serial lines after it).',
    handle: handleBaud,
  }),
  impl({
    name: 'udpport', kind: 'option', split: 'list', onceKey: 'udpport', syntax: 'udpport <port>', default: '694',
    doc: 'UDP port of `bcast` and `ucast` media (not `mcast`, which names its own port).',
    heartbeatDiff: 'Applies to every bcast/ucast line wherever it appears (Heartbeat: only to media after it). /etc/services is not consulted.',
    handle: handleUdpport,
  }),
  impl({
    name: 'logfacility', kind: 'option', split: 'list', onceKey: 'logfacility', syntax: 'logfacility <facility>|none', default: 'none',
    doc: 'syslog facility (daemon, local0..local7, ...), or `none` for no syslog.',
    heartbeatDiff: '`kern` is an error (Heartbeat silently treats it as none).',
    handle: handleLogfacility,
  }),
  impl({
    name: 'logfile', kind: 'option', split: 'list', onceKey: 'logfile', syntax: 'logfile <path>',
    doc: 'File for all non-debug messages.',
    heartbeatDiff: 'Must be an absolute path.',
    handle: pathHandler('logfile', 'logfile <path>'),
  }),
  impl({
    name: 'debugfile', kind: 'option', split: 'list', onceKey: 'debugfile', syntax: 'debugfile <path>',
    doc: 'File for debug messages.',
    heartbeatDiff: 'Must be an absolute path.',
    handle: pathHandler('debugfile', 'debugfile <path>'),
  }),
  impl({
    name: 'nice_failback', kind: 'option', split: 'list', onceKey: 'nice_failback', syntax: 'nice_failback on|off',
    doc: 'Deprecated alias: `on` = `auto_failback off`, `off` = `auto_failback legacy`. Always warns; contradicting auto_failback is an error.',
    heartbeatDiff: 'Heartbeat 3.0.6 actually reads `nice_failback on` as `legacy` unless an auto_failback on/off line precedes it (it tests the global flag instead of the value); ringbeat applies the documented meaning.',
    handle: handleNiceFailback,
  }),
  impl({
    name: 'auto_failback', kind: 'option', split: 'list', onceKey: 'auto_failback', syntax: 'auto_failback on|off|legacy', default: 'legacy',
    doc: '`on`: resources move back to their preferred node when it returns; `off`: they stay; `legacy`: old protocol. Heartbeat booleans (yes/no, true/false, 1/0) mean on/off.',
    heartbeatDiff: '`legacy` (also the default) gives a warning, as in Heartbeat.',
    handle: handleAutoFailback,
  }),
  impl({
    name: 'rtprio', kind: 'option', split: 'list', onceKey: 'rtprio', syntax: 'rtprio <1..99>', default: '10',
    doc: 'SCHED_FIFO priority of the heartbeat path process when `realtime` is on.',
    heartbeatDiff: 'Applies to the heartbeat path process only (media, protocol, liveness); the daemon, resource scripts and monitors keep normal scheduling.',
    handle: intHandler('rtPrio', 'rtprio <1..99>', 1, 99),
  }),
  impl({
    name: 'hbgenmethod', kind: 'option', split: 'list', onceKey: 'hbgenmethod', syntax: 'hbgenmethod file|time', default: 'file',
    doc: 'How the generation number (`hg`) is chosen at start: stored counter (`file`) or clock (`time`).',
    handle: choiceHandler('genMethod', 'hbgenmethod file|time', ['file', 'time']),
  }),
  impl({
    name: 'realtime', kind: 'option', split: 'list', onceKey: 'realtime', syntax: 'realtime on|off', default: 'on',
    doc: 'Run the heartbeat path process with realtime (SCHED_FIFO) scheduling, so CPU load on the board cannot delay heartbeats or death decisions. Where the system does not allow it (containers), a warning is logged and ringbeat runs on.',
    heartbeatDiff: 'Only the heartbeat path process is made realtime (Heartbeat makes its master process realtime and locks it into memory; ringbeat does not mlock).',
    handle: boolHandler('realtime', 'realtime on|off'),
  }),
  impl({
    name: 'debug', kind: 'option', split: 'list', onceKey: 'debug', syntax: 'debug <0..255>', default: '0',
    doc: 'Debug level; 0 in production.',
    handle: intHandler('debugLevel', 'debug <0..255>', 0, 255),
  }),
  refused('normalpoll', 'option', 'normalpoll on|off', 'Use the system poll(2) (only in Heartbeat builds with ALLOWPOLLCHOICE).',
    'a Heartbeat build-time poll(2) switch with no meaning for ringbeat'),
  impl({
    name: 'msgfmt', kind: 'option', split: 'list', onceKey: 'msgfmt', syntax: 'msgfmt classic|netstring', default: 'classic',
    doc: '`netstring` leaves the inner classic `auth` field out of UDP frames. UDP frames are netstrings and serial frames classic text either way.',
    handle: choiceHandler('msgfmt', 'msgfmt classic|netstring', ['classic', 'netstring']),
  }),
  impl({
    name: 'use_logd', kind: 'option', split: 'list', onceKey: 'use_logd', syntax: 'use_logd no', default: 'no',
    doc: 'Only a false value is accepted: ringbeat logs directly (logfile, debugfile, logfacility).',
    heartbeatDiff: 'Heartbeat defaults to the logging daemon when no log directive is given; ringbeat warns instead.',
    handle: handleUseLogd,
  }),
  refused('conn_logd_time', 'option', 'conn_logd_time <time>', 'Interval for reconnecting to the logging daemon.', NO_LOGD),
  refused('use_apphbd', 'option', 'use_apphbd on|off', 'Register with the application heartbeat daemon.',
    'ringbeat does not register with apphbd'),
  impl({
    name: 'log_badpack', kind: 'option', split: 'list', onceKey: 'log_badpack', syntax: 'log_badpack on|off', default: 'yes',
    doc: 'Log every dropped (malformed or unauthenticated) frame; counters are kept either way.',
    handle: boolHandler('logBadPackets', 'log_badpack on|off'),
  }),
  refused('syslogmsgfmt', 'option', 'syslogmsgfmt on|off', 'Write log files in syslog format.',
    "ringbeat's log file format is fixed"),
  refused('coredumps', 'option', 'coredumps on|off', 'Enable core dumps of the heartbeat processes.', CORES),
  refused('coreroot', 'option', 'coreroot <dir>', 'Root directory for core dumps.', CORES),
  refused('crm_daemon_dir', 'option', 'crm_daemon_dir <dir>', 'Where Pacemaker daemons are looked for.', PACEMAKER_ONLY),
  refused('crmd_spawns_pengine', 'option', 'crmd_spawns_pengine on|off', 'Whether crmd starts the policy engine.', PACEMAKER_ONLY),
  impl({
    name: 'crm', kind: 'option', split: 'list', onceKey: 'pacemaker', syntax: 'crm no', default: 'no',
    doc: 'Historical alias of `pacemaker`; only a false value (no/off/false/0) is accepted.',
    handle: onlyFalseHandler('pacemaker', 'crm no', PACEMAKER_MODE),
  }),
  impl({
    name: 'pacemaker', kind: 'option', split: 'list', onceKey: 'pacemaker', syntax: 'pacemaker no', default: 'no',
    doc: 'Only a false value (no/off/false/0) is accepted: resources are managed from haresources. Given together with `crm` it is an error, as in Heartbeat.',
    handle: onlyFalseHandler('pacemaker', 'pacemaker no', PACEMAKER_MODE),
  }),
  impl({
    name: 'autojoin', kind: 'option', split: 'list', onceKey: 'autojoin', syntax: 'autojoin none', default: 'none',
    doc: 'Only `none`: every node must be listed with `node` (Heartbeat rejects other values with haresources too).',
    handle: handleAutojoin,
  }),
  impl({
    name: 'uuidfrom', kind: 'option', split: 'list', onceKey: 'uuidfrom', syntax: 'uuidfrom file', default: 'file',
    doc: 'Only `file`: the node UUID is generated once and kept on disk.',
    heartbeatDiff: '`uuidfrom nodename` is refused.',
    handle: handleUuidfrom,
  }),
  impl({
    name: 'compression', kind: 'option', split: 'list', onceKey: 'compression', syntax: 'compression zlib|bz2', default: 'zlib',
    doc: 'Compression module for large struct fields. Recorded for completeness: ringbeat never compresses (R1 messages stay far below the threshold).',
    handle: choiceHandler('compression', 'compression zlib|bz2', ['zlib', 'bz2']),
  }),
  impl({
    name: 'compression_threshold', kind: 'option', split: 'list', onceKey: 'compression_threshold', syntax: 'compression_threshold <KiB>', default: '2',
    doc: 'Messages larger than this many KiB would be compressed (ringbeat never compresses).',
    handle: intHandler('compressionThresholdKb', 'compression_threshold <KiB>', 1, 1048576),
  }),
  impl({
    name: 'traditional_compression', kind: 'option', split: 'list', onceKey: 'traditional_compression', syntax: 'traditional_compression no', default: 'no',
    doc: 'Only a false value is accepted: whole-message compression is never used.',
    handle: onlyFalseHandler('traditionalCompression', 'traditional_compression no', 'whole-message compression is not supported'),
  }),
  refused('env', 'option', 'env <name>=<value>', 'Environment variable (HA_<name>) for respawned clients.',
    'ringbeat starts no client processes to pass it to'),
  impl({
    name: 'max_rexmit_delay', kind: 'option', split: 'list', onceKey: 'max_rexmit_delay', syntax: 'max_rexmit_delay <ms>', default: '250ms',
    doc: 'Upper bound of the random delay before answering a retransmission request. A plain number is milliseconds, as in Heartbeat.',
    heartbeatDiff: 'Suffixes (`ms`, `s`, `us`) are also accepted (Heartbeat reads `1s` as 1 ms); values above 60s are errors.',
    handle: handleMaxRexmitDelay,
  }),
  refused('record_config_changes', 'option', 'record_config_changes on|off', 'Record CIB changes.', PACEMAKER_ONLY),
  refused('record_pengine_inputs', 'option', 'record_pengine_inputs on|off', 'Record policy engine inputs.', PACEMAKER_ONLY),
  refused('enable_config_writes', 'option', 'enable_config_writes on|off', 'Write CIB changes to disk.', PACEMAKER_ONLY),
  refused('memreserve', 'option', 'memreserve <KiB>', 'Memory Heartbeat preallocates.',
    "Heartbeat's own memory preallocation; not needed by ringbeat"),
  refused('quorum_server', 'option', 'quorum_server <host>', 'Quorum server (quorumd) for CCM.',
    'quorumd is for Pacemaker clusters; R1 mode has no quorum'),

  // --- ringbeat extensions (not in Heartbeat) ---
  impl({
    name: 'crosscheck_wait', kind: 'option', split: 'list', onceKey: 'crosscheck_wait', syntax: 'crosscheck_wait <time>',
    default: '2 x keepalive, at least 200ms, at most deadtime', extension: true,
    doc: 'With three or more nodes, how long to wait for the other ringbeat nodes to confirm that a silent node is dead before declaring it (answers usually come in milliseconds; the wait ends when all answered). 0 turns the cross-check off.',
    heartbeatDiff: 'ringbeat only. Heartbeat decides alone (no cross-check in R1 mode).',
    handle: timeHandler('crossCheckWaitMs', 'crosscheck_wait <time>', 0),
  }),

  impl({
    name: 'garp_count', kind: 'option', split: 'list', onceKey: 'garp_count', syntax: 'garp_count <1..100>', default: '5', extension: true,
    doc: 'Gratuitous ARP announcements (request+reply pairs) / unsolicited neighbour advertisements sent when ringbeat brings up a service address (IPaddr/IPaddr2 resources). The first goes out immediately.',
    heartbeatDiff: "ringbeat only (Heartbeat's IPaddr2 uses arp_count=5 from its OCF defaults).",
    handle: intHandler('garpCount', 'garp_count <1..100>', 1, 100),
  }),
  impl({
    name: 'garp_interval', kind: 'option', split: 'list', onceKey: 'garp_interval', syntax: 'garp_interval <time>', default: '200ms', extension: true,
    doc: 'Time between those announcements.',
    heartbeatDiff: "ringbeat only (IPaddr2's arp_interval=200 ms).",
    handle: timeHandler('garpIntervalMs', 'garp_interval <time>', 1),
  }),
  impl({
    name: 'garp_mode', kind: 'option', split: 'list', onceKey: 'garp_mode', syntax: 'garp_mode both|request|reply', default: 'both', extension: true,
    doc: 'Which gratuitous ARP form to send: both (a request then a reply, like send_arp, because some switches honour only one), request only, or reply only.',
    heartbeatDiff: 'ringbeat only.',
    handle: choiceHandler('garpMode', 'garp_mode both|request|reply', ['both', 'request', 'reply']),
  }),
  impl({
    name: 'garp_refresh', kind: 'option', split: 'list', onceKey: 'garp_refresh', syntax: 'garp_refresh <time>', default: '0 (off)', extension: true,
    doc: 'While a service address is held, announce it again this often (as Fake did; repairs switch and router ARP caches after a partition). 0 turns it off.',
    heartbeatDiff: 'ringbeat only.',
    handle: timeHandler('garpRefreshMs', 'garp_refresh <time>', 0),
  }),
  impl({
    name: 'na_router', kind: 'option', split: 'list', onceKey: 'na_router', syntax: 'na_router on|off', default: 'off', extension: true,
    doc: 'Set the Router flag in the unsolicited neighbour advertisements for IPv6 service addresses (turn on when the address is a gateway: hosts otherwise drop it from their router list).',
    heartbeatDiff: 'ringbeat only (IPaddr2/send_ua cannot set it).',
    handle: boolHandler('naRouter', 'na_router on|off'),
  }),

  // --- whole-line directives (config.c WLdirectives[]) ---
  refused('stonith', 'whole-line', 'stonith <type> <config-file>', 'A STONITH device configured from a file.',
    'STONITH devices are not implemented yet'),
  refused('stonith_host', 'whole-line', 'stonith_host <from-node>|* <type> <params...>', 'A STONITH device usable from one node or all.',
    'STONITH devices are not implemented yet'),
  refused('apiauth', 'whole-line', 'apiauth <client> [uid=...] [gid=...]', 'Who may use the Heartbeat client API.',
    'ringbeat has no Heartbeat client API (cl_status, ipfail) to authorize'),
  refused('respawn', 'whole-line', 'respawn <user> <command...>', 'A client process started and restarted by Heartbeat (e.g. ipfail).',
    'supervising client processes is not implemented yet'),
  refused('failfast', 'whole-line', 'failfast <user> <command...>', 'Like respawn, but the node reboots when the process dies.',
    'supervising client processes is not implemented yet'),

  // --- media (HBcomm plugins) ---
  impl({
    name: 'serial', kind: 'medium', split: 'list', syntax: 'serial <device> [<device> ...]',
    doc: 'Serial heartbeat link(s), 8N1 with RTS/CTS, speed from `baud`. Symlinks are fine.',
    heartbeatDiff: 'A device listed twice is an error. The device must be an absolute path.',
    handle: handleSerial,
  }),
  impl({
    name: 'bcast', kind: 'medium', split: 'list', syntax: 'bcast <interface> [<interface> ...]',
    doc: 'UDP broadcast on the interface(s), port `udpport`.',
    handle: handleBcastLike,
  }),
  impl({
    name: 'udp', kind: 'medium', split: 'list', syntax: 'udp <interface> [<interface> ...]',
    doc: "Heartbeat's old name for `bcast` (still accepted by 3.0.6); warns.",
    handle: handleUdpAlias,
  }),
  impl({
    name: 'ucast', kind: 'medium', split: 'words', syntax: 'ucast <interface> <peer-address>',
    doc: 'UDP unicast to one peer (IPv4 address or host name) via the interface, port `udpport`. One line per peer; a line naming this node itself is harmless.',
    heartbeatDiff: 'Extra values are an error (Heartbeat ignores them).',
    handle: handleUcast,
  }),
  impl({
    name: 'mcast', kind: 'medium', split: 'words', syntax: 'mcast <interface> <group> <port> <ttl> <loop>',
    doc: 'UDP multicast: IPv4 group 224.0.0.0-239.255.255.255, its own port (not `udpport`), ttl 0..4, loop 0|1.',
    heartbeatDiff: 'Extra values are an error (Heartbeat ignores them); an `mcast` line without values is an error (Heartbeat ignores it).',
    handle: handleMcast,
  }),
  refused('mcast6', 'medium', 'mcast6 <interface> <group> <port> <hops> <loop>', 'IPv6 multicast medium.',
    'IPv6 media are not implemented; use mcast or ucast over IPv4'),
  refused('ucast6', 'medium', 'ucast6 <interface> <peer-address>', 'IPv6 unicast medium.',
    'IPv6 media are not implemented; use mcast or ucast over IPv4'),
  refused('ping', 'medium', 'ping <address> [<address> ...]', 'Ping nodes: pseudo-members answering ICMP echo.', PING_NODES),
  refused('ping6', 'medium', 'ping6 <address> [<address> ...]', 'IPv6 ping nodes.', PING_NODES),
  refused('ping_group', 'medium', 'ping_group <name> <address> [<address> ...]', 'A ping node that is up when any member answers.', PING_NODES),
  refused('hbaping', 'medium', 'hbaping <fc-card-name>', 'Fibre Channel HBA as a ping node.',
    'Fibre Channel HBA ping nodes need vendor HBAAPI libraries; use a mon monitor instead'),
];

const BY_NAME = new Map(DIRECTIVES.map((d) => [d.name, d]));

/** Exact (case-sensitive, as in Heartbeat) lookup. */
export function findDirective(name: string): DirectiveSpec | undefined {
  return BY_NAME.get(name);
}
