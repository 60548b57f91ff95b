// One REAL Linux-HA Heartbeat 3.0.6 node (Debian's /usr/libexec/heartbeat/heartbeat -f),
// isolated so that several run on one host:
//
//   setpriv --pdeathsig KILL            dies with the test process, even on SIGKILL
//     ip netns exec <netns>             the node's own network namespace (LabNet host)
//       unshare -m -u -p -f --kill-child --mount-proc --propagation private
//         bash (PID 1 of the node's PID namespace, reaps orphans)
//           bind mounts: <node>/etc-ha.d -> /etc/ha.d, <node>/varlib -> /var/lib/heartbeat,
//                        <node>/varlog -> /var/log;  tmpfs on /run;  hostname = node name
//           heartbeat -f                master control process (MCP) + its children
//
// The PID namespace is NOT optional: ResourceManager runs `pkill -9 heartbeat`
// and `reboot -nf` when a resource stop fails; inside a PID namespace pkill only
// sees this node and reboot(2) only terminates the namespace's init. There is
// deliberately no option to run a node without it.
//
// Operator tools run inside the node's namespaces via
// `nsenter -t <pid-ns init> -m -n -u -p` (the API server compares the client's
// pid field with the socket peer credentials, so the PID namespace must match).
//
// Teardown SIGKILLs the PID namespace's init (the kernel then kills every
// process in the namespace) and verifies by PID that nothing is left.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  fileSize,
  formatExit,
  hilLog,
  isAlive,
  isDescendantOf,
  namespaceOf,
  processesInPidNamespace,
  childrenOf,
  procRef,
  registerEmergency,
  run,
  runOk,
  signalRef,
  sleep,
  startProcess,
  tailFile,
  waitForLog,
  waitGone,
  waitUntil,
  type LogMatch,
  type Proc,
  type ProcRef,
  type RunOptions,
  type RunResult,
  type Scope,
} from './procs';
import type { NetHost } from './netns';
import { HEARTBEAT_BIN, CL_STATUS_BIN, requireHeartbeat } from './require';

export type HbTime = string | number;

export interface HeartbeatConfig {
  /** This node's name (written to /etc/ha.d/nodeinfo, used as hostname). */
  name: string;
  /** All cluster node names (`node` lines), including this one. */
  nodes: readonly string[];
  /** Seconds as number, or Heartbeat syntax: '1', '1.5', '200ms', '500us'. Default 1. */
  keepalive?: HbTime;
  /** Default 3. Must be > 2 x keepalive. */
  deadtime?: HbTime;
  /** Default: deadtime/2 rounded (Heartbeat's own default when omitted). */
  warntime?: HbTime;
  /** Default 10. Must be >= deadtime. */
  initdead?: HbTime;
  /** authkeys method line, e.g. 'sha1 KEY', 'md5 KEY', 'crc'. Default 'sha1 ringbeat-hil-secret'. */
  auth?: string;
  /** authkeys index (default 1). */
  authIndex?: number;
  /** Media lines, e.g. ['serial /tmp/x/ttyA', 'bcast eth0', 'ucast eth0 10.99.0.2']. */
  media: readonly string[];
  /** Serial baud rate (default 19200). */
  baud?: number;
  /** UDP port (default 694). */
  udpport?: number;
  /** haresources file content (default: empty = no resources). */
  haresources?: string;
  /** auto_failback on|off|legacy (default off). */
  autoFailback?: 'on' | 'off' | 'legacy';
  /** Debug level > 0 also writes /var/log/ha-debug. */
  debug?: number;
  /** Extra ha.cf lines, appended after the generated ones. */
  extraConfig?: readonly string[];
}

export interface HeartbeatNodeOptions extends HeartbeatConfig {
  /** The node's network namespace: a LabNet host or a namespace name. */
  host: NetHost | string;
  /** Parent scratch dir; this node's files go to <dir>/hb-<name>/. */
  dir: string;
  /** Time start() waits for "Local status now set to: 'up'" (default 20 s). */
  startTimeoutMs?: number;
}

export interface Kill9Result {
  /** Date.now() right before the first SIGKILL. */
  wallMs: number;
  /** performance.now() right before the first SIGKILL. */
  monoMs: number;
  /** Host PIDs that were signalled (MCP first, PID-ns init last). */
  pids: number[];
}

// ---------------------------------------------------------------------------
// Config rendering

/** Heartbeat time syntax -> milliseconds (glue cl_get_msec: plain = seconds, 'ms', 'us'). */
export function hbTimeMs(v: HbTime): number {
  if (typeof v === 'number') return v * 1000;
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|msec|us|usec|s|sec)?\s*$/.exec(v);
  if (!m) throw new Error(`bad Heartbeat time value '${v}'`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  if (unit.startsWith('ms')) return n;
  if (unit.startsWith('us')) return n / 1000;
  return n * 1000;
}

function hbTimeText(v: HbTime): string {
  return typeof v === 'number' ? String(v) : v.trim();
}

export function renderHaCf(cfg: HeartbeatConfig): string {
  const keepalive = cfg.keepalive ?? 1;
  const deadtime = cfg.deadtime ?? 3;
  const initdead = cfg.initdead ?? 10;
  const ka = hbTimeMs(keepalive);
  const dt = hbTimeMs(deadtime);
  if (!(dt > 2 * ka)) throw new Error(`heartbeat refuses deadtime ${deadtime} <= 2 x keepalive ${keepalive}`);
  if (hbTimeMs(initdead) < dt) throw new Error(`heartbeat refuses initdead ${initdead} < deadtime ${deadtime}`);
  if (!cfg.nodes.includes(cfg.name)) throw new Error(`node list ${cfg.nodes.join(',')} does not contain ${cfg.name}`);
  if (cfg.media.length === 0) throw new Error(`node ${cfg.name}: no media lines`);
  for (const n of cfg.nodes) if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(n)) throw new Error(`bad node name '${n}'`);
  const lines = [
    `# generated by ringbeat hil-tests/lib/heartbeat-node.ts for ${cfg.name}`,
    'logfile /var/log/ha-log',
    ...(cfg.debug ? ['debugfile /var/log/ha-debug', `debug ${cfg.debug}`] : []),
    'use_logd no',
    `keepalive ${hbTimeText(keepalive)}`,
    `deadtime ${hbTimeText(deadtime)}`,
    ...(cfg.warntime !== undefined ? [`warntime ${hbTimeText(cfg.warntime)}`] : []),
    `initdead ${hbTimeText(initdead)}`,
    `udpport ${cfg.udpport ?? 694}`, // must precede the media lines
    `baud ${cfg.baud ?? 19200}`,
    ...cfg.media,
    `auto_failback ${cfg.autoFailback ?? 'off'}`,
    ...cfg.nodes.map((n) => `node ${n}`),
    'crm no',
    ...(cfg.extraConfig ?? []),
  ];
  return lines.join('\n') + '\n';
}

export function renderAuthkeys(auth = 'sha1 ringbeat-hil-secret', index = 1): string {
  if (!/^(sha1|md5) \S+$|^crc$/.test(auth)) throw new Error(`bad authkeys method line '${auth}'`);
  return `auth ${index}\n${index} ${auth}\n`;
}

/** Writes etc-ha.d (stock copy + generated files), varlib (stock copy, no identity) and varlog. */
export async function writeNodeTree(nodeDir: string, cfg: HeartbeatConfig): Promise<void> {
  const etc = path.join(nodeDir, 'etc-ha.d');
  const varlib = path.join(nodeDir, 'varlib');
  const varlog = path.join(nodeDir, 'varlog');
  fs.mkdirSync(nodeDir, { recursive: true, mode: 0o755 });
  // cp -a keeps owners/modes of the packaged trees (hacluster-owned dirs)
  if (!fs.existsSync(etc)) await runOk(['cp', '-a', '/etc/ha.d', etc]);
  if (!fs.existsSync(varlib)) {
    await runOk(['cp', '-a', '/var/lib/heartbeat', varlib]);
    // never inherit an identity from a heartbeat that once ran on the host
    for (const f of ['hb_uuid', 'hb_generation', 'hostcache', 'delhostcache', 'fifo']) {
      fs.rmSync(path.join(varlib, f), { force: true });
    }
  }
  fs.mkdirSync(varlog, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(etc, 'ha.cf'), renderHaCf(cfg));
  const ak = path.join(etc, 'authkeys');
  fs.writeFileSync(ak, renderAuthkeys(cfg.auth, cfg.authIndex), { mode: 0o600 });
  fs.chmodSync(ak, 0o600); // heartbeat refuses group/world-readable authkeys
  fs.writeFileSync(path.join(etc, 'haresources'), cfg.haresources ?? '');
  fs.writeFileSync(path.join(etc, 'nodeinfo'), `${cfg.name}\n`);
}

// The script run as PID 1 of the node's PID namespace. Paths come in through
// the environment (no quoting issues).
const NODE_INIT_SCRIPT = `# PID 1 of a ringbeat HIL heartbeat node (generated by hil-tests/lib/heartbeat-node.ts)
set -eu
echo "$HB_NODENAME" > /proc/sys/kernel/hostname
mount --bind "$HB_ETC" /etc/ha.d
mount --bind "$HB_VARLIB" /var/lib/heartbeat
mount --bind "$HB_VARLOG" /var/log
mount -t tmpfs -o mode=0755,size=64m ringbeat-run /run
mkdir -p /run/lock /run/heartbeat/ccm /run/heartbeat/crm /run/heartbeat/dopd /run/resource-agents /run/crm
chmod 1777 /run/lock
chown -R hacluster:haclient /run/heartbeat /run/crm
chmod 0750 /run/heartbeat
ulimit -l unlimited 2>/dev/null || true
echo "ringbeat-hil: namespaces ready for $HB_NODENAME (hostname $(cat /proc/sys/kernel/hostname))"
set +e
"$HB_BIN" -f &
hb=$!
echo "ringbeat-hil: heartbeat started, pid $hb in the node's PID namespace"
wait "$hb"
rc=$?
echo "ringbeat-hil: heartbeat exited, status $rc"
exit "$rc"
`;

export type NodeState = 'created' | 'running' | 'exited';

// ---------------------------------------------------------------------------

export class HeartbeatNode {
  readonly name: string;
  /** Network namespace the node runs in. */
  readonly netns: string;
  /** <dir>/hb-<name> */
  readonly dir: string;
  readonly etcDir: string;
  readonly varlibDir: string;
  readonly varlogDir: string;
  /** /var/log/ha-log as seen from the host. */
  readonly logFile: string;
  /** /var/log/ha-debug (only written with debug > 0). */
  readonly debugFile: string;
  /** stdout/stderr of the namespace init and heartbeat itself. */
  readonly consoleFile: string;
  private cfg: HeartbeatConfig;
  private readonly startTimeoutMs: number;
  private readonly scope: Scope;
  private unshare?: Proc;
  private initRef?: ProcRef;
  private mcpRef?: ProcRef;
  private pidNsLink?: string;
  private startedAtMono?: number;
  private upAtMono?: number;
  private startLogOffset = 0;
  private starts = 0;
  private unregisterEmergency: () => void = () => {};

  private constructor(scope: Scope, opts: HeartbeatNodeOptions) {
    this.scope = scope;
    this.name = opts.name;
    this.netns = typeof opts.host === 'string' ? opts.host : opts.host.ns;
    this.dir = path.join(opts.dir, `hb-${opts.name}`);
    this.etcDir = path.join(this.dir, 'etc-ha.d');
    this.varlibDir = path.join(this.dir, 'varlib');
    this.varlogDir = path.join(this.dir, 'varlog');
    this.logFile = path.join(this.varlogDir, 'ha-log');
    this.debugFile = path.join(this.varlogDir, 'ha-debug');
    this.consoleFile = path.join(this.dir, 'console.log');
    this.startTimeoutMs = opts.startTimeoutMs ?? 20_000;
    const { host: _h, dir: _d, startTimeoutMs: _s, ...cfg } = opts;
    this.cfg = cfg;
  }

  /**
   * Writes the node's config tree and registers its teardown in `scope`
   * (does not start it). Throws if the heartbeat package/root are missing.
   */
  static async create(scope: Scope, opts: HeartbeatNodeOptions): Promise<HeartbeatNode> {
    requireHeartbeat();
    const node = new HeartbeatNode(scope, opts);
    await writeNodeTree(node.dir, node.cfg);
    scope.defer(`tear down heartbeat node ${node.name}`, () => node.teardown(), { timeoutMs: 30_000 });
    return node;
  }

  /** Convenience: create() + start(). */
  static async start(scope: Scope, opts: HeartbeatNodeOptions): Promise<HeartbeatNode> {
    const node = await HeartbeatNode.create(scope, opts);
    await node.start();
    return node;
  }

  /** The configuration the node's files were generated from. */
  get config(): Readonly<HeartbeatConfig> {
    return this.cfg;
  }

  /**
   * Rewrites ha.cf / authkeys / haresources with `changes` applied (the name
   * cannot change). Takes effect at the next start().
   */
  async updateConfig(changes: Partial<Omit<HeartbeatConfig, 'name'>>): Promise<void> {
    const next = { ...this.cfg, ...changes };
    renderHaCf(next); // validate before touching anything
    this.cfg = next;
    await writeNodeTree(this.dir, next);
  }

  get state(): NodeState {
    if (!this.unshare) return 'created';
    return this.unshare.running ? 'running' : 'exited';
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** Host PIDs: unshare (our child), the PID namespace's init, the master control process. */
  get pids(): { unshare?: number; init?: number; mcp?: number } {
    return { unshare: this.unshare?.pid, init: this.initRef?.pid, mcp: this.currentMcp()?.pid };
  }

  /** Host PID of the master control process (undefined before start()). */
  get mcpPid(): number | undefined {
    return this.currentMcp()?.pid;
  }

  /**
   * The live MCP: the recorded one, or (if heartbeat restarted itself, e.g.
   * after "returning after partition") the process in the node's PID
   * namespace whose title is "heartbeat: master control process".
   */
  currentMcp(): ProcRef | undefined {
    if (this.mcpRef && isAlive(this.mcpRef)) return this.mcpRef;
    if (!this.pidNsLink || !this.running) return this.mcpRef;
    for (const p of processesInPidNamespace(this.pidNsLink)) {
      if (p.comm !== 'heartbeat') continue;
      let cmdline = '';
      try {
        cmdline = fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (cmdline.includes('master control process')) {
        const r = procRef(p.pid);
        if (r) this.mcpRef = r;
        return r;
      }
    }
    return this.mcpRef;
  }

  /** Host PID of the PID namespace's init (bash). */
  get initPid(): number | undefined {
    return this.initRef?.pid;
  }

  /** The node's PID namespace, e.g. 'pid:[4026532301]'. */
  get pidNamespace(): string | undefined {
    return this.pidNsLink;
  }

  /** ProcRefs (PID + start time) of the init and MCP of the current/last run. */
  get refs(): { init?: ProcRef; mcp?: ProcRef } {
    return { init: this.initRef, mcp: this.mcpRef };
  }

  /** How many times start() was called. */
  get startCount(): number {
    return this.starts;
  }

  /** Milliseconds since the last start() began (undefined before). */
  uptimeMs(): number | undefined {
    return this.startedAtMono === undefined ? undefined : performance.now() - this.startedAtMono;
  }

  /**
   * Milliseconds since the last start() saw "Local status now set to: 'up'"
   * (undefined before). Heartbeat advertises deadtime + 2 s for 5 s from that
   * moment (hb_add_deadtime/hb_pop_deadtime right before set_local_status(up));
   * a slow start delays it, so waits for the normal deadtime count from here.
   * Seen by polling the log, so it errs on the short side.
   */
  upForMs(): number | undefined {
    return this.upAtMono === undefined ? undefined : performance.now() - this.upAtMono;
  }

  /**
   * Starts heartbeat and waits until it logs "Local status now set to: 'up'"
   * (and, with waitForApi, until its API socket exists: see waitForApi()).
   * May be called again after stop()/kill9() (a reboot: fresh namespaces, same
   * /etc/ha.d and /var/lib/heartbeat, so the generation number goes up).
   */
  async start(opts: { waitForApi?: boolean } = {}): Promise<void> {
    if (this.running) throw new Error(`heartbeat node ${this.name} is already running`);
    if (this.scope.closed) throw new Error(`scope ${this.scope.name} is closed`);
    this.starts++;
    this.initRef = undefined;
    this.mcpRef = undefined;
    this.pidNsLink = undefined;
    const logOffset = fileSize(this.logFile);
    this.startLogOffset = logOffset;
    const script = path.join(this.dir, 'ns-init.sh');
    fs.writeFileSync(script, NODE_INIT_SCRIPT, { mode: 0o755 });
    const argv = [
      'ip', 'netns', 'exec', this.netns,
      'unshare', '--mount', '--uts', '--pid', '--fork', '--kill-child', '--mount-proc', '--propagation', 'private',
      '--', 'bash', script,
    ];
    this.startedAtMono = performance.now();
    this.upAtMono = undefined;
    const t0 = performance.now();
    const proc = await startProcess(undefined, {
      name: `heartbeat node ${this.name}`,
      argv,
      logFile: this.consoleFile,
      logHeader: `netns ${this.netns}, new mount/UTS/PID namespaces, ${script} -> ${HEARTBEAT_BIN} -f`,
      env: {
        HB_NODENAME: this.name,
        HB_ETC: this.etcDir,
        HB_VARLIB: this.varlibDir,
        HB_VARLOG: this.varlogDir,
        HB_BIN: HEARTBEAT_BIN,
      },
    });
    this.unshare = proc;
    this.unregisterEmergency();
    this.unregisterEmergency = registerEmergency(`kill heartbeat node ${this.name}`, () => {
      if (this.initRef) signalRef(this.initRef, 'SIGKILL');
      proc.signal('SIGKILL');
    });
    try {
      // unshare (our child) forks the PID namespace's init; init forks heartbeat (the MCP)
      const left = (): number => Math.max(1000, this.startTimeoutMs - (performance.now() - t0));
      this.initRef = await waitUntil(
        `PID-namespace init of node ${this.name}`,
        () => {
          if (!proc.running) throw new Error(`unshare exited (${formatExit(proc.exitInfo)})`);
          const c = childrenOf(proc.pid)[0];
          return c ? procRef(c.pid) : undefined;
        },
        { timeoutMs: left(), intervalMs: 10, details: () => this.diagnostics() },
      );
      this.pidNsLink = await waitUntil(
        `PID namespace of node ${this.name}`,
        () => {
          const ns = namespaceOf(this.initRef!.pid, 'pid');
          return ns && ns !== namespaceOf(process.pid, 'pid') ? ns : undefined;
        },
        { timeoutMs: left(), intervalMs: 10, details: () => this.diagnostics() },
      );
      this.mcpRef = await waitUntil(
        `heartbeat master control process of node ${this.name}`,
        () => {
          if (!proc.running) throw new Error(`node exited (${formatExit(proc.exitInfo)})`);
          const c = childrenOf(this.initRef!.pid).find((p) => p.comm === 'heartbeat');
          return c ? procRef(c.pid) : undefined;
        },
        { timeoutMs: left(), intervalMs: 10, details: () => this.diagnostics() },
      );
      await waitForLog(this.logFile, /Local status now set to: 'up'/, {
        timeoutMs: left(),
        fromOffset: logOffset,
        proc,
        what: `heartbeat node ${this.name} coming up`,
        alsoShow: [this.consoleFile],
      });
      this.upAtMono = performance.now();
      if (opts.waitForApi) await this.waitForApi(left());
    } catch (e) {
      await this.killNamespace().catch(() => {});
      throw new Error(`heartbeat node ${this.name} did not start: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
  }

  /** True once the API socket (/run/heartbeat/register inside the node) exists. */
  apiReady(): boolean {
    return this.initRef !== undefined && fs.existsSync(`/proc/${this.initRef.pid}/root/run/heartbeat/register`);
  }

  /**
   * Waits for the API socket. Heartbeat creates it only when communication is
   * up: at once when all peers are heard, else after initdead (default 10 s).
   */
  async waitForApi(timeoutMs: number): Promise<void> {
    await waitUntil(
      `API socket /run/heartbeat/register of node ${this.name}`,
      () => {
        if (!this.running) throw new Error(`node exited (${formatExit(this.unshare?.exitInfo)})`);
        return this.apiReady() ? true : undefined;
      },
      { timeoutMs, details: () => this.diagnostics() },
    );
  }

  /** Runs cl_status inside the node (code 0 ok, 1 offline/unavailable, 11 error). */
  clStatus(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.exec([CL_STATUS_BIN, ...args], { timeoutMs: 10_000, ...opts });
  }

  /**
   * `cl_status nodestatus <name>` -> 'active' | 'up' | 'init' | 'dead' | 'ping' ...
   * A query that fails (no answer: cl_status could not sign on, code 12, or ran
   * out of time, as when the whole machine paused under load) is asked again,
   * `tries` times in all; an answer is never second-guessed. Throws after the last.
   */
  async nodeStatus(name: string, timeoutMs = 10_000, tries = 3): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      let failure: string;
      try {
        const r = await this.clStatus(['nodestatus', name], { timeoutMs });
        const out = r.stdout.trim();
        if (out !== '' && (r.code === 0 || r.code === 1)) return out;
        failure = `code ${r.code}: ${(r.stderr || r.stdout).trim()}`;
      } catch (e) {
        if (!this.running) throw e;
        failure = e instanceof Error ? e.message : String(e);
      }
      if (attempt >= tries || !this.running) throw new Error(`cl_status nodestatus ${name} on ${this.name}: ${failure}`);
      await sleep(500);
    }
  }

  /**
   * Polls nodeStatus(name) until it equals `status` (or one of them). Returns
   * the time it took. On timeout the error contains the last answer and the
   * node's log tail.
   */
  async waitNodeStatus(
    name: string,
    status: string | readonly string[],
    timeoutMs: number,
    intervalMs = 50,
  ): Promise<{ status: string; elapsedMs: number }> {
    const want = typeof status === 'string' ? [status] : status;
    const t0 = performance.now();
    let last = '(no answer yet)';
    for (;;) {
      if (!this.running) {
        throw new Error(`heartbeat node ${this.name} is not running (${this.state}) while waiting for ${name}=${want.join('|')}\n${this.diagnostics()}`);
      }
      try {
        const left = timeoutMs - (performance.now() - t0);
        const s = await this.nodeStatus(name, Math.min(10_000, Math.max(300, left)), 1); // this loop asks again itself
        last = s;
        if (want.includes(s)) return { status: s, elapsedMs: performance.now() - t0 };
      } catch (e) {
        last = `error: ${e instanceof Error ? e.message : String(e)}`;
      }
      if (performance.now() - t0 > timeoutMs) {
        throw new Error(
          `node ${this.name}: status of ${name} not ${want.join('|')} within ${timeoutMs} ms (last: ${last})\n${this.diagnostics()}`,
        );
      }
      await sleep(intervalMs);
    }
  }

  /** Runs a command inside the node's network, mount, UTS and PID namespaces. */
  async exec(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const init = this.initRef;
    if (!this.running || !init || !isAlive(init)) throw new Error(`heartbeat node ${this.name} is not running`);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    // nsenter forks the command into the PID namespace; if the outer timeout
    // kills nsenter, the inner `timeout` still kills the command itself.
    const inner = ['timeout', '-s', 'KILL', String(Math.ceil(timeoutMs / 1000) + 1)];
    return run(['nsenter', '-t', String(init.pid), '-m', '-n', '-u', '-p', '--', ...inner, ...argv], { ...opts, timeoutMs });
  }

  /** exec() that throws unless the exit code is 0. */
  async execOk(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.exec(argv, { ...opts, check: true });
  }

  /** Contents of ha-log (plus ha-debug when debug is on). */
  log(): string {
    const main = readText(this.logFile);
    if (!this.cfg.debug) return main;
    return `${main}\n--- ha-debug ---\n${readText(this.debugFile)}`;
  }

  /** ha-log lines matching `re`. */
  grepLog(re: RegExp): string[] {
    return readText(this.logFile)
      .split('\n')
      .filter((l) => {
        re.lastIndex = 0;
        return re.test(l);
      });
  }

  /** Current size of ha-log (pass as fromOffset to waitLog to see only new lines). */
  logOffset(): number {
    return fileSize(this.logFile);
  }

  /**
   * Waits until this start's initial resource negotiation is over ("Initial
   * resource acquisition complete"). Until then Heartbeat defers a SIGTERM
   * ("Shutdown delayed until current resource activity finishes": its
   * hb_giveup_resources() waits for hb_rsc_isstable()), so a test that stops
   * a freshly started node waits for this first; returns the wait in ms.
   */
  async waitResourcesStable(timeoutMs: number): Promise<number> {
    const t0 = performance.now();
    await this.waitLog(/Initial resource acquisition complete/, timeoutMs, this.startLogOffset);
    return performance.now() - t0;
  }

  /** Waits for a line in ha-log (fails early if the node exits). */
  waitLog(re: RegExp, timeoutMs: number, fromOffset = 0): Promise<LogMatch> {
    return waitForLog(this.logFile, re, {
      timeoutMs,
      fromOffset,
      proc: this.unshare,
      what: `heartbeat node ${this.name}`,
      alsoShow: [this.consoleFile],
    });
  }

  /** Host PIDs of every process in the node's PID namespace (init included). */
  namespacePids(): number[] {
    // only while running: namespace inode numbers are reused once a namespace is freed
    return this.pidNsLink && this.running ? processesInPidNamespace(this.pidNsLink).map((p) => p.pid) : [];
  }

  /**
   * "Power loss": SIGKILL every process of the node, by PID: the MCP first,
   * then its children and helpers, the PID-namespace init last. Resolves when
   * all are gone.
   */
  async kill9(): Promise<Kill9Result> {
    if (!this.running || !this.pidNsLink || !this.initRef) throw new Error(`heartbeat node ${this.name} is not running`);
    const init = this.initRef;
    const mcp = this.currentMcp();
    if (!isAlive(init)) throw new Error(`heartbeat node ${this.name}: namespace init ${init.pid} is already gone`);
    // members of the node's PID namespace that descend from its init (helpers we
    // nsenter'ed have a parent outside; they die with the init anyway)
    const members = processesInPidNamespace(this.pidNsLink)
      .filter((p) => isDescendantOf(p.pid, init.pid))
      .map((p) => procRef(p.pid))
      .filter((r): r is ProcRef => r !== undefined && r.pid !== init.pid && r.pid !== mcp?.pid);
    const order = [...(mcp ? [mcp] : []), ...members, init];
    const result: Kill9Result = { wallMs: Date.now(), monoMs: performance.now(), pids: [] };
    for (const r of order) if (signalRef(r, 'SIGKILL')) result.pids.push(r.pid);
    await this.waitDown(order, 'SIGKILL');
    return result;
  }

  /**
   * Graceful shutdown: SIGTERM to the MCP (heartbeat gives up its resources,
   * sends shutdone and exits; the namespace follows). If it is not gone within
   * `timeoutMs` the node is killed and an error is thrown.
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.running) return;
    const mcp = this.currentMcp();
    if (!mcp || !signalRef(mcp, 'SIGTERM')) {
      await this.killNamespace();
      return;
    }
    const e = await this.unshare!.waitExit(timeoutMs);
    if (!e) {
      const diag = this.diagnostics();
      await this.killNamespace();
      throw new Error(`heartbeat node ${this.name} did not stop within ${timeoutMs} ms of SIGTERM (killed)\n${diag}`);
    }
  }

  /** Tails of the console, ha-log (and ha-debug) for error messages. */
  diagnostics(lines = 30): string {
    const parts = [
      `--- ${this.name}: ${this.consoleFile} ---\n${tailFile(this.consoleFile, 15)}`,
      `--- ${this.name}: ${this.logFile} ---\n${tailFile(this.logFile, lines)}`,
    ];
    if (this.cfg.debug) parts.push(`--- ${this.name}: ${this.debugFile} ---\n${tailFile(this.debugFile, lines)}`);
    return parts.join('\n');
  }

  /** Kills whatever is left (init first: the kernel takes the whole namespace) and verifies by PID. */
  async teardown(): Promise<void> {
    try {
      await this.killNamespace();
    } finally {
      if (!this.unshare?.running) this.unregisterEmergency();
    }
  }

  private async killNamespace(): Promise<void> {
    const proc = this.unshare;
    if (!proc) return;
    const refs = [
      ...(proc.running && this.pidNsLink ? processesInPidNamespace(this.pidNsLink).map((p) => procRef(p.pid)) : []),
      this.initRef,
      this.mcpRef,
    ].filter((r): r is ProcRef => r !== undefined);
    if (this.initRef) signalRef(this.initRef, 'SIGKILL');
    if (proc.running) {
      await proc.waitExit(2000);
      if (proc.running) await proc.kill(); // --kill-child: its death kills the init too
    }
    await this.waitDown(refs, 'teardown');
  }

  private async waitDown(refs: ProcRef[], what: string): Promise<void> {
    const left = await waitGone(refs, 10_000);
    if (left.length) {
      throw new Error(`node ${this.name}: processes still alive after ${what}: ${left.map((r) => `${r.pid}(${r.comm})`).join(' ')}`);
    }
    // unshare exits only after its child, the namespace's init, was reaped; the
    // kernel kills and reaps every other member before init's exit completes.
    // (No check by namespace inode afterwards: inode numbers are reused.)
    const e = await this.unshare?.waitExit(10_000);
    if (this.unshare && !e) throw new Error(`node ${this.name}: unshare pid ${this.unshare.pid} did not exit after ${what}`);
    if (process.env.HIL_DEBUG === '1') hilLog(`node ${this.name}: down after ${what} (${formatExit(this.unshare?.exitInfo)})`);
  }
}

function readText(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
