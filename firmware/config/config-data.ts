// The parsed, validated configuration (ha.cf + authkeys + nodeinfo) as plain
// data. Plain objects only (no classes): the daemon hands this to the heartbeat
// path process over IPC unchanged.

/** Where a setting came from, for error messages and `ringbeat check --print`. */
export interface SourceRef {
  file: string;
  line: number;
}

export type AuthMethod = 'crc' | 'md5' | 'sha1' | 'sha256';

export interface AuthKeyEntry {
  index: number; // 0..15
  method: AuthMethod;
  /** Raw key token as written in authkeys (latin1). Absent for crc. */
  key?: string;
  at: SourceRef;
}

export interface AuthConfig {
  /** Index used to sign outgoing messages (`auth N`). */
  outbound: number;
  keys: AuthKeyEntry[];
  /** The authkeys file (absolute path). */
  file?: string;
  /** Where `auth N` was given. */
  outboundAt?: SourceRef;
}

export interface SerialMediumConfig {
  kind: 'serial';
  /** Device path as written (symlinks allowed); also the link name Heartbeat reports. */
  device: string;
  baud: number;
  at: SourceRef;
}

export interface BcastMediumConfig {
  kind: 'bcast';
  iface: string;
  port: number;
  at: SourceRef;
}

export interface UcastMediumConfig {
  kind: 'ucast';
  iface: string;
  /** Peer address (IPv4 literal or resolvable host name, resolved at start). */
  peer: string;
  port: number;
  at: SourceRef;
}

export interface McastMediumConfig {
  kind: 'mcast';
  iface: string;
  group: string;
  port: number;
  ttl: number; // 0..4 (Heartbeat's limit; sets IP_MULTICAST_TTL)
  loop: boolean;
  at: SourceRef;
}

export type MediumConfig = SerialMediumConfig | BcastMediumConfig | UcastMediumConfig | McastMediumConfig;

export type AutoFailback = 'on' | 'off' | 'legacy';

export interface AnnounceConfig {
  count: number;
  intervalMs: number;
  mode: 'both' | 'request' | 'reply';
  refreshMs: number;
  router: boolean;
}

/** One haresources line (see resources/haresources-parse.ts). */
export interface ResourceGroupConfig {
  /** Preferred node, lower-case. */
  node: string;
  /** The first resource as written (Heartbeat's group key). */
  key: string;
  resources: { raw: string; agent: string; args: string[]; at: SourceRef }[];
  at: SourceRef;
}

export interface LogConfig {
  logfile?: string;
  debugfile?: string;
  /** syslog facility name (daemon, local0..7, ...), or undefined for none. */
  facility?: string;
  debugLevel: number; // 0..255
}

export interface ClusterConfig {
  /** The ha.cf file this came from (absolute path). */
  file: string;
  configDir: string;
  cluster: string; // `cluster` (default linux-ha)
  /** This node's name: /etc/ha.d/nodeinfo, else `uname -n`; lower-cased. */
  localNode: string;
  /** `node` directives, lower-cased, in file order (each once). */
  nodes: string[];
  /** Where each entry of `nodes` was declared (same order). */
  nodeSources?: SourceRef[];
  /** How `localNode` was found, e.g. "/etc/ha.d/nodeinfo:1" or "the host name (uname -n)". */
  localNodeSource?: string;
  keepaliveMs: number;
  deadtimeMs: number;
  warntimeMs: number;
  initdeadMs: number;
  hopfudge: number; // 0..255
  udpport: number;
  baud: number; // default baud for serial lines
  media: MediumConfig[];
  autoFailback: AutoFailback;
  /** `msgfmt netstring` suppresses the inner classic auth field in UDP frames. */
  msgfmt: 'classic' | 'netstring';
  maxRexmitDelayMs: number;
  /** ringbeat: wait for other nodes to confirm a death (0 = no cross-check). */
  crossCheckWaitMs: number;
  /** `realtime`/`rtprio`: SCHED_FIFO for the heartbeat path process. */
  realtime: boolean;
  rtPrio: number;
  /** ringbeat: how service addresses are announced (garp_* and na_router directives). */
  announce: AnnounceConfig;
  /** haresources (absent file: none). Filled by loadConfig, not by the ha.cf parser. */
  resources?: ResourceGroupConfig[];
  /** `hbgenmethod`: how the generation (`hg`) is chosen at each start. */
  genMethod: 'file' | 'time';
  /** `compression`/`compression_threshold`: only struct fields are ever compressed; ringbeat sends none. */
  compression: string;
  compressionThresholdKb: number;
  /** `log_badpack`: log each dropped frame (counters are kept regardless). */
  logBadPackets: boolean;
  log: LogConfig;
  auth: AuthConfig;
  /** Directive -> where it was set (only directives present in the file). */
  sources: Record<string, SourceRef>;
}

/** One diagnostic: printed as `file:line: message`. */
export interface ConfigDiagnostic {
  file: string;
  line: number; // 0 when the problem is about the file as a whole
  severity: 'error' | 'warning';
  message: string;
}

export type LoadResult =
  | { ok: true; config: ClusterConfig; warnings: ConfigDiagnostic[] }
  | { ok: false; errors: ConfigDiagnostic[]; warnings: ConfigDiagnostic[] };

export function formatDiagnostic(d: ConfigDiagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}` : d.file;
  return `${where}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`;
}
