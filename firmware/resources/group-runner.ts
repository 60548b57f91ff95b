// One haresources group: start in order, stop in reverse order.
//
// Like ResourceManager (acquireresourcegroup / giveupresourcegroup):
//  * a failing start gives the group up again: the failed resource and the
//    ones already started are stopped, last first, and the failure reported;
//  * a failing stop is retried (Heartbeat: up to 10 times, 1 s apart; here a
//    few times with a short backoff), then status is asked: a resource that
//    says it is stopped is fine ("not LSB-compliant" in Heartbeat's words);
//    one still running is reported as `stopFailed`. Heartbeat then kills
//    itself and reboots (RecoverFromFailedStop); here the caller decides
//    (fencing). Nothing in this module kills or reboots anything.
// Operations on one group never overlap: a stop requested during a start
// runs after it. Every step is timed on the monotonic clock for benchmarks.

import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import { errorText, type ResourceAgent, type ResourceState } from './agent';
import type { ResourceGroupSpec } from './haresources-parse';

export interface ResourceTiming {
  id: string;
  op: 'start' | 'stop';
  /** Monotonic clock ms. */
  beganMs: number;
  endedMs: number;
  ok: boolean;
  /** Stop attempts made (1 = no retry). */
  attempts: number;
  error?: string;
  /** The agent's own details (IP agent: addStartMs, firstAnnounceMs, ...). */
  detail?: Record<string, number | string>;
}

export interface ResourceFailure {
  id: string;
  error: string;
}

export interface GroupResult {
  key: string;
  op: 'start' | 'stop';
  /** start: every resource runs; stop: every resource is stopped. */
  ok: boolean;
  /** start only: the resource whose start failed (the group was then stopped again). */
  failed?: ResourceFailure;
  rolledBack: boolean;
  /** Resources that could not be stopped and still run: the node needs fencing. */
  stopFailed: ResourceFailure[];
  /** Resources running when the operation ended, in start order. */
  running: string[];
  beganMs: number;
  endedMs: number;
  timings: ResourceTiming[];
}

export interface GroupStatus {
  key: string;
  /** ALL / NONE / SOME in ResourceManager's statgroup terms. */
  state: 'running' | 'stopped' | 'partial';
  resources: { id: string; state: ResourceState | 'unknown'; error?: string }[];
}

export interface GroupRunnerOptions {
  /** Stop retries after the first attempt (default 3). */
  stopRetries?: number;
  /** Backoff before retry n is retryBaseMs * 2^(n-1), capped at retryMaxMs (defaults 200 ms, 2000 ms). */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export class GroupRunner {
  private queue: Promise<unknown> = Promise.resolve();
  /** Which agents this runner believes are running (started and not stopped). */
  private readonly up = new Set<ResourceAgent>();

  constructor(
    readonly spec: ResourceGroupSpec,
    readonly agents: readonly ResourceAgent[],
    private readonly deps: { log: Logger; clock: Clock },
    private readonly opts: GroupRunnerOptions = {},
  ) {
    if (agents.length !== spec.resources.length) {
      throw new Error(`group ${spec.key}: ${agents.length} agents for ${spec.resources.length} resources`);
    }
  }

  get key(): string {
    return this.spec.key;
  }

  start(): Promise<GroupResult> {
    return this.serial(() => this.doStart());
  }

  stop(): Promise<GroupResult> {
    return this.serial(() => this.doStop());
  }

  status(): Promise<GroupStatus> {
    return this.serial(() => this.doStatus());
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async doStart(): Promise<GroupResult> {
    const { clock, log } = this.deps;
    const res = this.result('start');
    log.info(`Acquiring resource group: ${this.spec.node} ${this.agents.map((a) => a.id).join(' ')}`);
    for (const agent of this.agents) {
      const beganMs = clock.now();
      try {
        await agent.start();
        this.up.add(agent);
        res.timings.push({ id: agent.id, op: 'start', beganMs, endedMs: clock.now(), ok: true, attempts: 1, detail: agent.detail?.() });
      } catch (e) {
        const error = errorText(e);
        res.timings.push({ id: agent.id, op: 'start', beganMs, endedMs: clock.now(), ok: false, attempts: 1, error, detail: agent.detail?.() });
        res.failed = { id: agent.id, error };
        log.error(`Giving up resource group ${this.spec.key} due to failure of ${agent.id}: ${error}`);
        // Stop the failed one too: it may be half started (address added, announce failed...).
        const started = this.agents.slice(0, this.agents.indexOf(agent) + 1);
        await this.stopAll(started.reverse(), res);
        res.rolledBack = true;
        break;
      }
    }
    res.ok = res.failed === undefined;
    return this.finish(res);
  }

  private async doStop(): Promise<GroupResult> {
    const res = this.result('stop');
    this.deps.log.info(`Releasing resource group: ${this.spec.node} ${this.agents.map((a) => a.id).join(' ')}`);
    await this.stopAll([...this.agents].reverse(), res);
    res.ok = res.stopFailed.length === 0;
    return this.finish(res);
  }

  private async doStatus(): Promise<GroupStatus> {
    const resources: GroupStatus['resources'] = [];
    for (const a of this.agents) {
      try {
        resources.push({ id: a.id, state: await a.status() });
      } catch (e) {
        resources.push({ id: a.id, state: 'unknown', error: errorText(e) });
      }
    }
    const n = resources.filter((r) => r.state === 'running').length;
    const state = n === 0 ? 'stopped' : n === resources.length ? 'running' : 'partial';
    return { key: this.spec.key, state, resources };
  }

  /** Stops `agents` in the given order, each with retries; records failures in `res`. */
  private async stopAll(agents: readonly ResourceAgent[], res: GroupResult): Promise<void> {
    const { clock, log } = this.deps;
    const retries = this.opts.stopRetries ?? 3;
    for (const agent of agents) {
      const beganMs = clock.now();
      let attempts = 0;
      let lastError = '';
      let stopped = false;
      while (!stopped && attempts <= retries) {
        if (attempts > 0) {
          log.info(`Retrying failed stop operation [${agent.id}]`);
          await this.sleep(this.backoff(attempts));
        }
        attempts++;
        try {
          await agent.stop();
          stopped = true;
        } catch (e) {
          lastError = errorText(e);
          log.warn(`stop of ${agent.id} failed (attempt ${attempts}/${retries + 1}): ${lastError}`);
        }
      }
      if (!stopped) {
        // ResourceManager asks status before declaring the stop failed.
        let state: ResourceState | 'unknown' = 'unknown';
        try {
          state = await agent.status();
        } catch (e) {
          lastError += `; status: ${errorText(e)}`;
        }
        if (state === 'stopped') {
          log.warn(`${agent.id}: stop kept failing but status says stopped; counting it as stopped (the script MUST succeed on stop when already stopped)`);
          stopped = true;
        }
      }
      if (stopped) this.up.delete(agent);
      else {
        this.up.add(agent); // still running, whoever started it
        res.stopFailed.push({ id: agent.id, error: lastError });
        log.error(`Resource STOP failure: ${agent.id} still running after ${attempts} attempts: ${lastError}`);
      }
      res.timings.push({
        id: agent.id, op: 'stop', beganMs, endedMs: clock.now(), ok: stopped, attempts,
        ...(stopped ? {} : { error: lastError }),
        detail: agent.detail?.(),
      });
    }
  }

  private backoff(attempt: number): number {
    const base = this.opts.retryBaseMs ?? 200;
    return Math.min(this.opts.retryMaxMs ?? 2_000, base * 2 ** (attempt - 1));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.deps.clock.after(ms, resolve));
  }

  private result(op: 'start' | 'stop'): GroupResult {
    return {
      key: this.spec.key, op, ok: false, rolledBack: false, stopFailed: [], running: [],
      beganMs: this.deps.clock.now(), endedMs: 0, timings: [],
    };
  }

  private finish(res: GroupResult): GroupResult {
    res.running = this.agents.filter((a) => this.up.has(a)).map((a) => a.id);
    res.endedMs = this.deps.clock.now();
    return res;
  }
}
