// `ringbeat run`: the daemon. It validates the configuration, takes the next
// generation, starts the heartbeat path process, serves the control socket and
// turns membership events into log lines (and, in later layers, into
// resource actions). It never decides liveness itself.

import { spawn } from 'node:child_process';
import type { Server } from 'node:net';
import type { ClusterConfig } from '../config/config-data';
import { takeIdentity } from '../comm/identity';
import type { MembershipEvent } from '../comm/events';
import { LogSink, type Logger } from '../core/log';
import { SystemClock } from '../core/clock';
import type { GroupResult } from '../resources/group-runner';
import { R1Manager } from '../resources/r1-manager';
import { CommLink } from './comm-link';
import { buildResourceLayer } from './resource-setup';
import { socketPath, startControlServer, type ControlRequest } from './control';
import type { StatusReport } from './status-data';

export interface DaemonOptions {
  config: ClusterConfig;
  stateDir: string;
  runDir: string;
  version: string;
}

export class Daemon {
  private readonly sink: LogSink;
  private readonly log: Logger;
  private comm?: CommLink;
  private control?: Server;
  private rm?: R1Manager;
  private readonly clock = new SystemClock();
  private stopping = false;
  private exitCode = 0;
  private done!: () => void;
  readonly finished: Promise<number>;

  constructor(private readonly opts: DaemonOptions) {
    const c = opts.config;
    this.sink = new LogSink({
      ident: `ringbeat[${process.pid}]`,
      logfile: c.log.logfile,
      debugfile: c.log.debugfile,
      facility: c.log.facility,
      debugLevel: c.log.debugLevel,
    });
    this.log = this.sink.logger();
    this.finished = new Promise<number>((resolve) => {
      this.done = () => resolve(this.exitCode);
    });
  }

  async start(): Promise<void> {
    const { config, stateDir, runDir } = this.opts;
    const identity = takeIdentity(stateDir, config.genMethod, Date.now());
    this.log.info(
      `ringbeat ${this.opts.version} starting: node ${config.localNode}, cluster ${config.cluster}, generation ${identity.generation.toString(16)}, ` +
        `keepalive ${config.keepaliveMs}ms, deadtime ${config.deadtimeMs}ms, media ${config.media.map((m) => `${m.kind}:${'device' in m ? m.device : m.iface}`).join(' ')}`,
    );
    // Resources first: a node that cannot run its resources must not join.
    const layer = await buildResourceLayer(config, { clock: this.clock, log: this.log.child('resources') });
    for (const w of layer.warnings) this.log.warn(w);
    this.control = await startControlServer(socketPath(runDir, config.localNode), (req) => this.onControl(req));

    const comm = new CommLink({
      config,
      uuid: identity.uuid,
      generation: identity.generation,
      stateDir,
      logIdent: `ringbeat[${process.pid}]`,
    });
    this.comm = comm;
    this.rm = new R1Manager({
      localNode: config.localNode,
      nodes: config.nodes,
      autoFailback: config.autoFailback,
      groups: layer.groups,
      send: (msg) => comm.send(msg.fields),
      clock: this.clock,
      log: this.log.child('rsc'),
      // Heartbeat's RQSTDELAY is 10 s; any delay is safe (only unclaimed
      // local groups are taken when it expires), so scale it with deadtime.
      rqstDelayMs: Math.min(10_000, Math.max(2000, 4 * config.deadtimeMs)),
      onGroupResult: (r) => this.onGroupResult(r),
    });
    comm.on('event', (e) => {
      this.onEvent(e);
      this.rm?.onMembership(e);
    });
    comm.on('message', (m) => this.rm?.onMessage(m));
    comm.on('exit', (code, signal, fatal) => {
      if (this.stopping) return;
      // Without its heartbeat path this node is invisible to its peers: they
      // will take over. Stop cleanly instead of pretending to be alive.
      this.log.error(`heartbeat path process exited unexpectedly (code ${code}, signal ${signal})${fatal ? `: ${fatal}` : ''}`);
      this.exitCode = 1;
      void this.stop();
    });
    await new Promise<void>((resolve, reject) => {
      comm.once('ready', resolve);
      comm.once('exit', (_c, _s, fatal) => reject(new Error(fatal ?? 'heartbeat path process failed to start')));
    });
    this.log.info(`heartbeat path running (pid ${comm.pid})`);
    if (config.realtime && comm.pid) await this.makeRealtime(comm.pid, config.rtPrio);
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info('shutting down');
    // Hand everything over first (the peer takes over on `shutdone`, no
    // deadtime wait). Without a heartbeat path the messages go nowhere, but
    // the resources must still be released: the peer is about to declare us
    // dead and start them too.
    if (this.rm) await this.rm.shutdown();
    await this.comm?.stop();
    await new Promise<void>((r) => (this.control ? this.control.close(() => r()) : r()));
    this.log.info('stopped');
    await this.sink.close();
    this.done();
  }

  private onEvent(e: MembershipEvent): void {
    switch (e.type) {
      case 'node-state':
        if (e.state === 'dead') {
          this.log.warn(`node ${e.node}: is dead (${e.reason}${e.silentMs !== undefined ? `, silent ${Math.round(e.silentMs)}ms` : ''})`);
        } else {
          this.log.info(`node ${e.node}: status ${e.state} (was ${e.prev}, ${e.reason})`);
        }
        break;
      case 'link-state':
        this.log.info(`link ${e.node}:${e.link} ${e.state}`);
        break;
      case 'late-heartbeat':
        this.log.warn(`late heartbeat from node ${e.node}: ${Math.round(e.intervalMs)}ms since the previous one (warntime ${e.warntimeMs}ms)`);
        break;
      case 'local-state':
        this.log.info(`local status now ${e.state}`);
        break;
      case 'reachability':
        if (e.direct) this.log.info(`node ${e.node}: heard directly again`);
        else this.log.warn(`node ${e.node}: link problem: this node cannot hear it, but ${e.heardBy.join(', ')} can (not a death)`);
        break;
      case 'stall':
        break; // logged by the heartbeat path itself
    }
  }

  private async onControl(req: ControlRequest): Promise<unknown> {
    switch (req.cmd) {
      case 'status':
        return this.status();
      case 'stall': {
        // Test hook: freeze this process's event loop (not the heartbeat path)
        // to prove a stalled daemon cannot cause a false failover.
        const ms = Number(req.ms);
        if (!(ms > 0 && ms <= 10_000)) throw new Error('stall: ms must be 1..10000');
        setImmediate(() => {
          const end = performance.now() + ms;
          while (performance.now() < end) {
            // busy wait on purpose
          }
        });
        return { stalledMs: ms };
      }
      case 'standby':
        return { message: this.requireRm().requestStandby(String(req.what ?? 'all')) };
      case 'takeover':
        return { message: this.requireRm().requestTakeover(String(req.what ?? 'all')) };
      default:
        throw new Error(`unknown command '${req.cmd}'`);
    }
  }

  /**
   * SCHED_FIFO for every thread of the heartbeat path process (chrt from
   * util-linux: Node cannot change scheduling itself). Only that process:
   * resource scripts and monitors must not inherit realtime priority.
   */
  private async makeRealtime(pid: number, prio: number): Promise<void> {
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn('chrt', ['--all-tasks', '--fifo', '--pid', String(prio), String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('error', (e) => resolve({ code: -1, err: e.message }));
      p.on('close', (code) => resolve({ code, err }));
    });
    if (r.code === 0) this.log.info(`heartbeat path runs with realtime priority (SCHED_FIFO ${prio})`);
    else this.log.warn(`realtime scheduling of the heartbeat path failed (${r.err.trim() || `chrt exit ${r.code}`}); running with normal priority`);
  }

  private requireRm(): R1Manager {
    if (!this.rm) throw new Error('resource management is not running yet');
    return this.rm;
  }

  private onGroupResult(r: GroupResult): void {
    const ms = (r.endedMs - r.beganMs).toFixed(1);
    if (r.ok) this.log.info(`resource group ${r.key}: ${r.op} completed in ${ms} ms`);
    for (const t of r.timings) if (t.detail) this.log.debug(1, `${t.id} ${t.op}: ${JSON.stringify(t.detail)}`);
  }

  private async status(): Promise<StatusReport> {
    const c = this.opts.config;
    return {
      format: 1,
      node: c.localNode,
      cluster: c.cluster,
      version: this.opts.version,
      pid: process.pid,
      commPid: this.comm?.pid ?? null,
      configDir: c.configDir,
      timing: { keepaliveMs: c.keepaliveMs, deadtimeMs: c.deadtimeMs, warntimeMs: c.warntimeMs, initdeadMs: c.initdeadMs },
      comm: (await this.comm?.snapshot()) ?? null,
      resources: this.rm?.snapshot() ?? null,
    };
  }
}
