// ha.cf text -> settings + diagnostics.
//
// Syntax as Heartbeat reads it (config.c:parse_config()): `#` starts a comment
// anywhere on a line, blank lines are skipped, the first blank-separated word
// is the directive (case-sensitive), the rest are its values. Unlike
// Heartbeat, the file is read as a whole before anything is derived from it,
// so directive order never matters, and every line ends up applied, refused
// or reported: nothing is silently ignored (the ledger records which).

import type { ClusterConfig, ConfigDiagnostic, MediumConfig, SourceRef } from './config-data';
import {
  DIRECTIVES,
  HACF_DEFAULTS,
  defaultCrossCheckWait,
  defaultInitdead,
  defaultWarntime,
  findDirective,
  newDraft,
  quote,
  type DirectiveContext,
  type DirectiveLine,
  type HacfDraft,
  type ImplementedDirective,
} from './directives';
import { formatDuration } from './duration';

/** The local node's name and how it was found (for the "not in node list" error). */
export interface LocalNodeInfo {
  name: string;
  /** e.g. "/etc/ha.d/nodeinfo:1" or "the host name (uname -n)". */
  source: string;
  /** Where a nodeinfo file would be (named in the fix hint). */
  nodeinfoPath: string;
}

/** Everything ha.cf contributes to a ClusterConfig. */
export type HacfSettings = Omit<ClusterConfig, 'configDir' | 'localNode' | 'localNodeSource' | 'auth'>;

export type LineOutcome = 'applied' | 'refused' | 'unknown' | 'invalid';

/** What happened to one non-blank line. */
export interface LedgerEntry {
  line: number;
  directive: string;
  outcome: LineOutcome;
}

export interface HacfResult {
  settings: HacfSettings;
  diagnostics: ConfigDiagnostic[];
  ledger: LedgerEntry[];
}

interface RawLine {
  line: number;
  directive: string;
  rest: string;
}

const MEDIA_DIRECTIVES = DIRECTIVES.filter((d) => d.kind === 'medium').map((d) => d.name);

/** Splits ha.cf text into directive lines (comments and blank lines dropped). */
export function splitHacfLines(text: string): RawLine[] {
  const out: RawLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const body = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (body === '') return;
    const m = /^(\S+)\s*(.*)$/.exec(body);
    if (m) out.push({ line: i + 1, directive: m[1] ?? '', rest: m[2] ?? '' });
  });
  return out;
}

function splitValues(rest: string, how: ImplementedDirective['split']): string[] {
  return rest.split(how === 'list' ? /[\s,]+/ : /\s+/).filter((v) => v !== '');
}

export function parseHacf(text: string, file: string, local?: LocalNodeInfo): HacfResult {
  const diagnostics: ConfigDiagnostic[] = [];
  const report = (line: number, severity: ConfigDiagnostic['severity'], message: string): void => {
    diagnostics.push({ file, line, severity, message });
  };
  const draft = newDraft();
  const ledger: LedgerEntry[] = [];
  const sources: Record<string, SourceRef> = {};
  const onceSeen = new Map<string, { name: string; line: number }>();

  for (const raw of splitHacfLines(text)) {
    const at: SourceRef = { file, line: raw.line };
    const spec = findDirective(raw.directive);
    if (!spec) {
      report(raw.line, 'error', `unknown directive ${quote(raw.directive)}${suggest(raw.directive)}`);
      ledger.push({ line: raw.line, directive: raw.directive, outcome: 'unknown' });
      continue;
    }
    if (spec.status === 'refused') {
      report(raw.line, 'error', `unsupported directive '${spec.name}' (${spec.reason})`);
      ledger.push({ line: raw.line, directive: spec.name, outcome: 'refused' });
      continue;
    }

    let failed = false;
    let target: HacfDraft = draft;
    if (spec.onceKey !== undefined) {
      const prev = onceSeen.get(spec.onceKey);
      if (prev) {
        failed = true;
        const what = prev.name === spec.name ? `${spec.name} is set twice` : `${spec.name} and ${prev.name} are the same setting, given twice`;
        report(raw.line, 'error', `${what} (lines ${prev.line} and ${raw.line}); keep one`);
        // Still check the value so all its errors show at once, but keep the first.
        target = newDraft();
      } else {
        onceSeen.set(spec.onceKey, { name: spec.name, line: raw.line });
      }
    }
    const line: DirectiveLine = { name: spec.name, values: splitValues(raw.rest, spec.split), at };
    const ctx: DirectiveContext = {
      line,
      draft: target,
      error: (message) => {
        failed = true;
        target.failed.add(spec.name);
        report(raw.line, 'error', `${spec.name}: ${message}`);
      },
      warn: (message) => report(raw.line, 'warning', `${spec.name}: ${message}`),
    };
    spec.handle(ctx);
    if (!failed) sources[spec.name] ??= at;
    ledger.push({ line: raw.line, directive: spec.name, outcome: failed ? 'invalid' : 'applied' });
  }

  const settings = finalize(draft, file, sources, report, local);
  // Line order like a compiler; whole-file findings (line 0) last. Stable.
  const rank = (d: ConfigDiagnostic): number => (d.line === 0 ? Number.MAX_SAFE_INTEGER : d.line);
  diagnostics.sort((a, b) => rank(a) - rank(b));
  return { settings, diagnostics, ledger };
}

type Report = (line: number, severity: ConfigDiagnostic['severity'], message: string) => void;

/** Fills in defaults, applies baud/udpport to media and runs the cross-checks. */
function finalize(
  draft: HacfDraft,
  file: string,
  sources: Record<string, SourceRef>,
  report: Report,
  local: LocalNodeInfo | undefined,
): HacfSettings {
  const s = draft.scalars;
  const lineOf = (...names: (keyof typeof s)[]): number => {
    for (const n of names) {
      const at = s[n]?.at;
      if (at) return at.line;
    }
    return 0;
  };
  const failedAny = (...names: string[]): boolean => names.some((n) => draft.failed.has(n));

  const keepaliveMs = s.keepaliveMs?.value ?? HACF_DEFAULTS.keepaliveMs;
  const deadtimeMs = s.deadtimeMs?.value ?? HACF_DEFAULTS.deadtimeMs;
  const warntimeMs = s.warntimeMs?.value ?? defaultWarntime(deadtimeMs);
  const initdeadMs = s.initdeadMs?.value ?? defaultInitdead(deadtimeMs);
  const udpport = s.udpport?.value ?? HACF_DEFAULTS.udpport;
  const baud = s.baud?.value ?? HACF_DEFAULTS.baud;

  // --- membership and media ---
  const mediaFailed = failedAny(...MEDIA_DIRECTIVES);
  if (draft.media.length === 0 && !mediaFailed) {
    report(0, 'error', 'no heartbeat media: add at least one serial, bcast, ucast or mcast line');
  }
  const firstNode = draft.nodes[0];
  if (!firstNode && !failedAny('node')) {
    report(0, 'error', "no nodes: add a 'node' line listing every cluster node, e.g. 'node nodea nodeb'");
  }
  if (local && firstNode && !draft.nodes.some((n) => n.value === local.name) && !failedAny('node')) {
    report(
      firstNode.at.line,
      'error',
      `this node is '${local.name}' (from ${local.source}) but no 'node' line lists it; ` +
        `add 'node ${local.name}' here, or write this node's cluster name into ${local.nodeinfoPath} ` +
        `(its first word overrides the host name)`,
    );
  }

  // --- timing (Heartbeat init_config() rules) ---
  if (!failedAny('keepalive', 'deadtime') && deadtimeMs <= 2 * keepaliveMs) {
    report(
      lineOf('deadtimeMs', 'keepaliveMs'),
      'error',
      `deadtime (${formatDuration(deadtimeMs)}) must be greater than 2 x keepalive (${formatDuration(keepaliveMs)})`,
    );
  }
  if (s.warntimeMs && !failedAny('deadtime')) {
    if (warntimeMs >= deadtimeMs) {
      report(
        s.warntimeMs.at.line,
        'warning',
        `warntime (${formatDuration(warntimeMs)}) should be less than deadtime (${formatDuration(deadtimeMs)}), ` +
          'or no late-heartbeat warning comes before a node is declared dead',
      );
    } else if (!failedAny('keepalive') && warntimeMs <= keepaliveMs) {
      report(
        s.warntimeMs.at.line,
        'warning',
        `warntime (${formatDuration(warntimeMs)}) should be greater than keepalive (${formatDuration(keepaliveMs)}), ` +
          'or every heartbeat is reported late',
      );
    }
  }
  if (s.initdeadMs && !failedAny('deadtime')) {
    if (initdeadMs < deadtimeMs) {
      report(
        s.initdeadMs.at.line,
        'error',
        `initdead (${formatDuration(initdeadMs)}) must be at least deadtime (${formatDuration(deadtimeMs)})`,
      );
    } else if (initdeadMs < 10000) {
      report(
        s.initdeadMs.at.line,
        'warning',
        `initdead (${formatDuration(initdeadMs)}) is under 10s; networks often need longer to come up after boot (Heartbeat warns too)`,
      );
    }
  }

  // --- failback ---
  let autoFailback = s.autoFailback?.value ?? HACF_DEFAULTS.autoFailback;
  const nice = s.niceFailback;
  if (nice) {
    if (s.autoFailback && s.autoFailback.value !== nice.value) {
      report(
        nice.at.line,
        'error',
        `nice_failback means 'auto_failback ${nice.value}', which contradicts 'auto_failback ${s.autoFailback.value}' ` +
          `at line ${s.autoFailback.at.line}; remove the nice_failback line`,
      );
    } else {
      autoFailback = nice.value;
    }
  }
  if (autoFailback === 'legacy' && !failedAny('auto_failback', 'nice_failback')) {
    const where = lineOf('autoFailback', 'niceFailback');
    report(
      where,
      'warning',
      `auto_failback is 'legacy'${where === 0 ? ' (the default)' : ''}, the deprecated old failback protocol ` +
        "(Heartbeat warns too); write 'auto_failback on' or 'auto_failback off'",
    );
  }

  // --- logging ---
  const facility = s.facility?.value ?? undefined;
  if (!s.logfile && !s.debugfile && facility === undefined && !failedAny('logfile', 'debugfile', 'logfacility')) {
    report(
      0,
      'warning',
      'no logfile, debugfile or logfacility: nothing is logged to a file or syslog ' +
        "(Heartbeat would use its logging daemon here); add e.g. 'logfacility daemon' or 'logfile /var/log/ha-log'",
    );
  }

  const media: MediumConfig[] = draft.media.map((m) => {
    switch (m.kind) {
      case 'serial':
        return { ...m, baud };
      case 'bcast':
      case 'ucast':
        return { ...m, port: udpport };
      case 'mcast':
        return m;
    }
  });

  return {
    file,
    cluster: s.cluster?.value ?? HACF_DEFAULTS.cluster,
    nodes: draft.nodes.map((n) => n.value),
    nodeSources: draft.nodes.map((n) => n.at),
    keepaliveMs,
    deadtimeMs,
    warntimeMs,
    initdeadMs,
    hopfudge: s.hopfudge?.value ?? HACF_DEFAULTS.hopfudge,
    udpport,
    baud,
    media,
    autoFailback,
    msgfmt: s.msgfmt?.value ?? HACF_DEFAULTS.msgfmt,
    maxRexmitDelayMs: s.maxRexmitDelayMs?.value ?? HACF_DEFAULTS.maxRexmitDelayMs,
    crossCheckWaitMs: s.crossCheckWaitMs?.value ?? defaultCrossCheckWait(keepaliveMs, deadtimeMs),
    realtime: s.realtime?.value ?? HACF_DEFAULTS.realtime,
    rtPrio: s.rtPrio?.value ?? HACF_DEFAULTS.rtPrio,
    announce: {
      count: s.garpCount?.value ?? HACF_DEFAULTS.garpCount,
      intervalMs: s.garpIntervalMs?.value ?? HACF_DEFAULTS.garpIntervalMs,
      mode: s.garpMode?.value ?? HACF_DEFAULTS.garpMode,
      refreshMs: s.garpRefreshMs?.value ?? HACF_DEFAULTS.garpRefreshMs,
      router: s.naRouter?.value ?? HACF_DEFAULTS.naRouter,
    },
    genMethod: s.genMethod?.value ?? HACF_DEFAULTS.genMethod,
    compression: s.compression?.value ?? HACF_DEFAULTS.compression,
    compressionThresholdKb: s.compressionThresholdKb?.value ?? HACF_DEFAULTS.compressionThresholdKb,
    logBadPackets: s.logBadPackets?.value ?? HACF_DEFAULTS.logBadPackets,
    log: {
      ...(s.logfile ? { logfile: s.logfile.value } : {}),
      ...(s.debugfile ? { debugfile: s.debugfile.value } : {}),
      ...(facility !== undefined && facility !== null ? { facility } : {}),
      debugLevel: s.debugLevel?.value ?? HACF_DEFAULTS.debugLevel,
    },
    sources,
  };
}

/** " (did you mean 'keepalive'?)" for near misses, else "". */
function suggest(name: string): string {
  const lower = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const d of DIRECTIVES) {
    const distance = d.name === lower ? 0 : editDistance(lower, d.name);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name: d.name, distance };
  }
  if (!best || lower.length < 4) return '';
  const caseOnly = best.distance === 0 ? ' directive names are lower-case' : '';
  return ` (did you mean '${best.name}'?${caseOnly})`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
