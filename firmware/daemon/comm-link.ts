// The daemon's handle on the heartbeat path process: spawns it (the same
// executable with the hidden `__comm` subcommand), relays typed messages, and
// reports its exit. One instance per daemon; no global state.

import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { EngineSnapshot } from '../comm/engine';
import type { ClusterMessage, MembershipEvent } from '../comm/events';
import type { CommInit, FromComm, ToComm } from '../comm/ipc';
import type { Field } from '../wire/message';
import { selfCommand } from './self-command';

export interface CommLinkEvents {
  ready: [];
  event: [MembershipEvent];
  message: [ClusterMessage];
  exit: [code: number | null, signal: NodeJS.Signals | null, fatal?: string];
}

export class CommLink extends EventEmitter<CommLinkEvents> {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, (s: EngineSnapshot) => void>();
  private fatal?: string;
  private exited = false;

  constructor(init: CommInit) {
    super();
    const [cmd, ...args] = selfCommand('__comm');
    this.child = spawn(cmd!, args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.child.on('message', (m: FromComm) => this.onMessage(m));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      for (const resolve of this.pending.values()) resolve(undefined as unknown as EngineSnapshot);
      this.pending.clear();
      this.emit('exit', code, signal, this.fatal);
    });
    this.child.on('error', (e) => {
      this.fatal = `cannot start the heartbeat path process: ${e.message}`;
    });
    this.post({ type: 'init', init });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(fields: Field[]): void {
    this.post({ type: 'send', fields });
  }

  /** The heartbeat path's view (nodes, links, media, counters); undefined if it is gone. */
  snapshot(timeoutMs = 2000): Promise<EngineSnapshot | undefined> {
    if (this.exited) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(id, (s) => {
        clearTimeout(t);
        resolve(s);
      });
      this.post({ type: 'snapshot', id });
    });
  }

  /** Graceful stop (sends `shutdone`); resolves when the process exited. */
  stop(timeoutMs = 3000): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      this.child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      this.post({ type: 'stop' });
    });
  }

  private post(m: ToComm): void {
    if (!this.exited && this.child.connected) this.child.send(m);
  }

  private onMessage(m: FromComm): void {
    switch (m.type) {
      case 'ready':
        this.emit('ready');
        break;
      case 'event':
        this.emit('event', m.event);
        break;
      case 'message':
        this.emit('message', m.message);
        break;
      case 'snapshot':
        this.pending.get(m.id)?.(m.snapshot);
        this.pending.delete(m.id);
        break;
      case 'fatal':
        this.fatal = m.error;
        break;
    }
  }
}
