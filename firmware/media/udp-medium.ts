// Heartbeat's three UDP media (bcast, ucast, mcast): one datagram = one
// netstring frame, named after the interface (as cl_status shows the link).
//
// Sending: each medium has its own socket on an ephemeral port (Heartbeat does
// the same), sending to
//   bcast: the interface's directed broadcast address (SO_BROADCAST),
//   ucast: the peer (host names resolved at every (re)start),
//   mcast: the group, with IP_MULTICAST_IF/TTL/LOOP set from the config.
// Receiving: the port's shared socket from UdpReceiverRegistry (see there).
//
// Up means: the interface exists with an IPv4 address (and is up/running),
// the send socket is ready, and the port's receive socket is bound. Anything
// else is 'down' with a reason, retried with Backoff; a watch re-reads the
// interface every `watchMs` while up, because a deleted interface does not
// always make sends fail (with a default route a broadcast to the old subnet
// can leave through another interface) and never shows on the receive side.
// Coming back up re-joins the multicast group (the kernel drops memberships
// of a deleted interface). A send error (ENETUNREACH, EADDRNOTAVAIL, EPERM
// from a firewall...) also means 'down'; the rebuilt sender then lets the next
// frames through as probes and the medium comes 'up' on the first one that
// goes out, so a persistent error does not flap the state at every heartbeat.
// send() never throws and never queues without bound: libuv sends each
// datagram at once and queues only while the socket buffer is full (EAGAIN);
// beyond MAX_SEND_QUEUE waiting datagrams, frames are dropped.

import dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { Clock, TimerHandle } from '../core/clock';
import type { BcastMediumConfig, McastMediumConfig, UcastMediumConfig } from '../config/config-data';
import { Backoff, type FrameOrigin, type Medium, type MediumHandlers, type MediumState, type MediumStats } from './medium';
import { isIpv4, systemInterfaceLookup, type InterfaceLookup, type Ipv4Iface } from './iface';
import type { UdpReceiverLease, UdpReceiverRegistry } from './udp-receiver';

/** What a UDP medium needs from its config line (`at` is not needed). */
export type UdpTarget =
  | Omit<BcastMediumConfig, 'at'>
  | Omit<UcastMediumConfig, 'at'>
  | Omit<McastMediumConfig, 'at'>;

/** Largest UDP payload over IPv4. */
export const MAX_DATAGRAM = 65507;

/** Datagrams allowed to wait in libuv's send queue before frames are dropped. */
export const MAX_SEND_QUEUE = 64;

export interface UdpMediumOptions {
  target: UdpTarget;
  clock: Clock;
  receivers: UdpReceiverRegistry;
  /** Interface lookup (default: os.networkInterfaces()). */
  lookupIface?: InterfaceLookup;
  /** Host name -> IPv4 address (default: dns.lookup, family 4). */
  resolveHost?: (host: string) => Promise<string>;
  /** Interface re-check period while up (default 1000 ms). */
  watchMs?: number;
  /** Retry delays while down (default 100 ms doubling to 1 s). */
  backoff?: { firstMs: number; maxMs: number };
}

const errText = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
};

async function defaultResolve(host: string): Promise<string> {
  if (isIpv4(host)) return host;
  const r = await dnsLookup(host, { family: 4 });
  return r.address;
}

/** The send side once set up for one interface incarnation. */
interface Sender {
  socket: dgram.Socket;
  dest: string;
  iface: Ipv4Iface;
}

export class UdpMedium implements Medium {
  readonly format = 'netstring' as const;
  readonly name: string;
  readonly kind: 'bcast' | 'ucast' | 'mcast';

  private readonly t: UdpTarget;
  private readonly clock: Clock;
  private readonly lookupIface: InterfaceLookup;
  private readonly resolveHost: (host: string) => Promise<string>;
  private readonly watchMs: number;
  private readonly backoff: Backoff;
  private handlers?: MediumHandlers;
  private lease?: UdpReceiverLease;
  private sender?: Sender;
  /** Bumped on every teardown, so a slow setup (DNS, bind) from before is discarded. */
  private generation = 0;
  private settingUp = false;
  private retry?: TimerHandle;
  private watch?: TimerHandle;
  private stopped = false;
  private rxOk = false;
  /** Why the receive side / send side is not working (undefined: fine or not tried yet). */
  private rxError?: string;
  private txError?: string;
  private upDetail = '';
  /**
   * The last failure was a send error. A rebuilt sender cannot prove the path
   * works (a firewall EPERM or a missing route only shows on the next send), so
   * the medium stays 'down' and lets frames through as probes: the first one
   * that is sent brings it 'up'. Without this a persistent send error would
   * flap down/up on every heartbeat.
   */
  private probing = false;
  private state: MediumState = 'stopped';
  private lastError?: string;
  private counters = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, txDropped: 0, opens: 0 };

  constructor(private readonly opts: UdpMediumOptions) {
    this.t = opts.target;
    this.kind = opts.target.kind;
    this.name = opts.target.iface;
    this.clock = opts.clock;
    this.lookupIface = opts.lookupIface ?? systemInterfaceLookup;
    this.resolveHost = opts.resolveHost ?? defaultResolve;
    this.watchMs = opts.watchMs ?? 1000;
    this.backoff = new Backoff(opts.backoff?.firstMs ?? 100, opts.backoff?.maxMs ?? 1000);
  }

  start(handlers: MediumHandlers): void {
    if (this.handlers || this.stopped) return; // started once per instance; start() never throws
    this.handlers = handlers;
    this.setState('starting', `starting ${this.describe()}`);
    this.lease = this.opts.receivers.attach(this.t.port, {
      // While down the medium claims no subnet (and costs no getifaddrs() per datagram).
      iface: () => this.sender?.iface,
      deliver: (msg, rinfo) => this.deliver(msg, rinfo),
      receiverState: (ok, detail) => {
        this.rxOk = ok;
        this.rxError = ok ? undefined : detail;
        if (!ok) this.lastError = detail;
        this.updateState();
      },
    });
    this.rxOk = this.lease.bound;
    this.watch = this.clock.every(this.watchMs, () => this.check());
    void this.setUp();
  }

  send(frame: Buffer): void {
    const s = this.sender;
    if (!s || !(this.state === 'up' || (this.probing && this.rxOk))) {
      this.counters.txDropped++;
      return;
    }
    if (frame.length > MAX_DATAGRAM) {
      this.counters.txDropped++;
      this.lastError = `frame of ${frame.length} bytes does not fit in a datagram`;
      return;
    }
    try {
      if (s.socket.getSendQueueCount() >= MAX_SEND_QUEUE) {
        this.counters.txDropped++;
        this.lastError = `send queue full (${MAX_SEND_QUEUE} datagrams waiting)`;
        return;
      }
      s.socket.send(frame, this.t.port, s.dest, (err) => {
        if (err) {
          this.counters.txDropped++;
          // ENETUNREACH, EADDRNOTAVAIL, ENODEV, EPERM...: the path is broken;
          // go down and let the retry loop find out when it is back.
          if (this.sender === s) this.fail(`send to ${s.dest}:${this.t.port}: ${errText(err)}`, true);
          return;
        }
        this.counters.framesOut++;
        this.counters.bytesOut += frame.length;
        if (this.probing && this.sender === s) {
          this.probing = false;
          this.txError = undefined;
          this.counters.opens++;
          this.backoff.reset();
          this.updateState();
        }
      });
    } catch (err) {
      this.counters.txDropped++;
      if (this.sender === s) this.fail(`send: ${errText(err)}`, true);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.watch?.cancel();
    this.retry?.cancel();
    this.watch = this.retry = undefined;
    this.tearDownSender();
    const lease = this.lease;
    this.lease = undefined;
    await lease?.release();
    this.setState('stopped', 'stopped');
  }

  stats(): MediumStats {
    return { name: this.name, kind: this.kind, state: this.state, lastError: this.lastError, ...this.counters };
  }

  /** e.g. "mcast eth0 239.0.0.43 694 1 0", for messages. */
  describe(): string {
    const t = this.t;
    switch (t.kind) {
      case 'bcast':
        return `bcast ${t.iface} (port ${t.port})`;
      case 'ucast':
        return `ucast ${t.iface} ${t.peer} (port ${t.port})`;
      case 'mcast':
        return `mcast ${t.iface} ${t.group} ${t.port} ${t.ttl} ${t.loop ? 1 : 0}`;
    }
  }

  private lookupIfaceSafe(): Ipv4Iface | undefined {
    try {
      return this.lookupIface(this.t.iface);
    } catch {
      return undefined;
    }
  }

  private deliver(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.stopped || !this.handlers) return;
    this.counters.framesIn++;
    this.counters.bytesIn += msg.length;
    const origin: FrameOrigin = { address: rinfo.address, port: rinfo.port };
    this.handlers.onFrame(msg, origin);
  }

  /** Builds the send side for the interface as it is now; on failure, fail() schedules a retry. */
  private async setUp(): Promise<void> {
    if (this.stopped || this.sender || this.settingUp) return;
    this.settingUp = true;
    const gen = this.generation;
    try {
      const iface = this.lookupIfaceSafe();
      if (!iface) throw new Error(`interface ${this.t.iface} is missing, down or has no IPv4 address`);
      const dest = await this.destination(iface);
      if (gen !== this.generation || this.stopped) return;
      const socket = await this.openSocket(iface);
      if (gen !== this.generation || this.stopped) {
        socket.close();
        return;
      }
      if (this.t.kind === 'mcast') {
        this.lease!.leaveAll();
        const err = this.lease!.join(this.t.group, iface.address);
        if (err) {
          socket.close();
          throw new Error(err);
        }
      }
      this.sender = { socket, dest, iface };
      if (!this.probing) {
        this.counters.opens++;
        this.backoff.reset();
        this.txError = undefined;
      }
      this.upDetail = `${this.describe()} via ${iface.address} -> ${dest}`;
      this.updateState();
    } catch (err) {
      if (gen === this.generation) this.fail(errText(err));
    } finally {
      this.settingUp = false;
    }
  }

  private async destination(iface: Ipv4Iface): Promise<string> {
    const t = this.t;
    switch (t.kind) {
      case 'bcast':
        return iface.broadcast;
      case 'mcast':
        return t.group;
      case 'ucast':
        try {
          return await this.resolveHost(t.peer);
        } catch (err) {
          throw new Error(`cannot resolve ucast peer ${t.peer}: ${errText(err)}`);
        }
    }
  }

  /** An ephemeral-port send socket with the medium's options applied. */
  private openSocket(iface: Ipv4Iface): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket('udp4');
      const onError = (err: Error): void => {
        try {
          socket.close();
        } catch {
          /* already closed */
        }
        reject(err);
      };
      socket.once('error', onError);
      socket.bind(0, () => {
        try {
          const t = this.t;
          if (t.kind === 'bcast') socket.setBroadcast(true);
          if (t.kind === 'mcast') {
            socket.setMulticastInterface(iface.address);
            socket.setMulticastTTL(t.ttl);
            socket.setMulticastLoopback(t.loop);
          }
        } catch (err) {
          onError(err as Error);
          return;
        }
        socket.off('error', onError);
        // Later socket errors (rare for UDP) mean this sender is broken.
        socket.on('error', (err) => {
          if (this.sender?.socket === socket) this.fail(`socket: ${errText(err)}`);
        });
        resolve(socket);
      });
    });
  }

  /** Periodic watch: while up, notice a vanished or renumbered interface. */
  private check(): void {
    const s = this.sender;
    if (!s || this.stopped) return;
    const now = this.lookupIfaceSafe();
    if (!now) this.fail(`interface ${this.t.iface} disappeared (or went down)`);
    else if (now.address !== s.iface.address || now.netmask !== s.iface.netmask) {
      this.fail(`interface ${this.t.iface} changed address ${s.iface.address} -> ${now.address}`);
    }
  }

  private fail(reason: string, sendError = false): void {
    this.probing = sendError;
    this.lastError = reason;
    this.txError = reason;
    this.tearDownSender();
    if (this.stopped) return;
    this.updateState();
    if (this.retry) return;
    this.retry = this.clock.after(this.backoff.next(), () => {
      this.retry = undefined;
      void this.setUp();
    });
  }

  private tearDownSender(): void {
    this.generation++;
    const s = this.sender;
    this.sender = undefined;
    if (!s) return;
    try {
      s.socket.close();
    } catch {
      /* already closed */
    }
  }

  private updateState(): void {
    if (this.stopped) return;
    if (this.sender && this.rxOk && !this.probing) {
      this.setState('up', this.upDetail);
      return;
    }
    // While starting, one half may simply be ready before the other: only an
    // actual failure turns 'starting' into 'down'.
    const why = this.txError ?? this.rxError;
    if (why) this.setState('down', why);
    else if (this.state !== 'starting') this.setState('down', 'receive socket not bound');
  }

  private setState(state: MediumState, detail: string): void {
    if (state === this.state) return;
    this.state = state;
    this.handlers?.onState(state, detail);
  }
}
