// Shared UDP receive sockets, one per port.
//
// Heartbeat's bcast/ucast/mcast readers each bind INADDR_ANY:udpport with
// SO_REUSEADDR. With several sockets on one port, Linux hands a unicast
// datagram to only one of them (and every socket on the port sees every
// broadcast), so one socket per medium would lose or duplicate frames. We bind
// ONE socket per port (0.0.0.0:port, reuseAddr so that a real Heartbeat or a
// restarting daemon can bind next to it) and dispatch each datagram to exactly
// one member: the first whose interface subnet contains the source address,
// else the first member of the port.
//
// The registry is an object passed in by whoever creates the media (no module
// state), reference-counted: the socket opens with the first member and
// closes with the last. Socket errors close it and reopen it with backoff;
// members hear about it through `receiverState` and the multicast groups they
// joined are joined again on the new socket.

import dgram from 'node:dgram';
import type { Clock, TimerHandle } from '../core/clock';
import { Backoff } from './medium';
import { inSubnet, type Ipv4Iface } from './iface';

export interface UdpReceiverMember {
  /** The member's interface right now (undefined while it is missing). */
  iface(): Ipv4Iface | undefined;
  /** One datagram: exactly one member gets it. */
  deliver(msg: Buffer, rinfo: dgram.RemoteInfo): void;
  /** The port's socket is bound (true) or failed and is being reopened (false). */
  receiverState(ok: boolean, detail: string): void;
}

export interface UdpReceiverLease {
  readonly port: number;
  /** Whether the port's socket is bound right now. */
  readonly bound: boolean;
  /**
   * Joins `group` on the interface with address `ifaceAddress` for this member
   * (kept across socket reopens). Returns an error text, or undefined on success.
   */
  join(group: string, ifaceAddress: string): string | undefined;
  /** Leaves every group this member joined. */
  leaveAll(): void;
  /** Detaches the member; the socket closes with the last one. */
  release(): Promise<void>;
}

export interface UdpReceiverRegistryOptions {
  clock: Clock;
  /** Reopen delays for a failed socket (default 100 ms doubling to 1 s). */
  backoff?: { firstMs: number; maxMs: number };
  /** Address to bind (default 0.0.0.0, as Heartbeat's INADDR_ANY). */
  bindAddress?: string;
}

interface Membership {
  group: string;
  ifaceAddress: string;
  member: UdpReceiverMember;
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** One port: its socket and the media attached to it. */
class PortReceiver {
  readonly members: UdpReceiverMember[] = [];
  readonly memberships: Membership[] = [];
  private socket?: dgram.Socket;
  bound = false;
  private retry?: TimerHandle;
  private readonly backoff: Backoff;
  private closing?: Promise<void>;

  constructor(
    readonly port: number,
    private readonly opts: UdpReceiverRegistryOptions,
    private readonly onEmpty: () => void,
  ) {
    this.backoff = new Backoff(opts.backoff?.firstMs ?? 100, opts.backoff?.maxMs ?? 1000);
  }

  attach(member: UdpReceiverMember): UdpReceiverLease {
    this.members.push(member);
    if (!this.socket && !this.retry) this.open();
    const self = this;
    let released = false;
    return {
      port: this.port,
      get bound() {
        return self.bound;
      },
      join: (group, ifaceAddress) => (released ? 'released' : this.join(member, group, ifaceAddress)),
      leaveAll: () => this.leaveAll(member),
      release: async () => {
        if (released) return;
        released = true;
        this.leaveAll(member);
        const i = this.members.indexOf(member);
        if (i >= 0) this.members.splice(i, 1);
        if (this.members.length === 0) {
          this.onEmpty();
          await this.close();
        }
      },
    };
  }

  private open(): void {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.socket = sock;
    sock.on('message', (msg, rinfo) => this.dispatch(msg, rinfo));
    sock.on('error', (err) => {
      if (this.socket === sock) this.failed(`udp port ${this.port}: ${errText(err)}`);
    });
    sock.bind({ port: this.port, address: this.opts.bindAddress ?? '0.0.0.0' }, () => {
      if (this.socket !== sock) return;
      this.bound = true;
      this.backoff.reset();
      for (const m of this.memberships) this.addMembership(m.group, m.ifaceAddress);
      for (const m of [...this.members]) m.receiverState(true, `listening on udp port ${this.port}`);
    });
  }

  private failed(reason: string): void {
    const sock = this.socket;
    this.socket = undefined;
    this.bound = false;
    try {
      sock?.close();
    } catch {
      /* already closed */
    }
    if (this.members.length === 0) return;
    for (const m of [...this.members]) m.receiverState(false, reason);
    if (this.retry) return;
    this.retry = this.opts.clock.after(this.backoff.next(), () => {
      this.retry = undefined;
      if (this.members.length > 0) this.open();
    });
  }

  private dispatch(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.members.length === 0) return;
    const own = this.members.find((m) => {
      const i = m.iface();
      return i !== undefined && inSubnet(rinfo.address, i);
    });
    (own ?? this.members[0]).deliver(msg, rinfo);
  }

  private join(member: UdpReceiverMember, group: string, ifaceAddress: string): string | undefined {
    if (!this.memberships.some((m) => m.member === member && m.group === group && m.ifaceAddress === ifaceAddress)) {
      this.memberships.push({ group, ifaceAddress, member });
    }
    // Not bound yet: the bind callback joins every recorded membership.
    if (!this.bound) return undefined;
    return this.addMembership(group, ifaceAddress);
  }

  private addMembership(group: string, ifaceAddress: string): string | undefined {
    try {
      this.socket?.addMembership(group, ifaceAddress);
      return undefined;
    } catch (err) {
      // EADDRINUSE: another member (or an earlier join that survived an
      // interface flap) already holds this membership on this socket.
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return undefined;
      return `join ${group} on ${ifaceAddress}: ${errText(err)}`;
    }
  }

  private leaveAll(member: UdpReceiverMember): void {
    for (let i = this.memberships.length - 1; i >= 0; i--) {
      const m = this.memberships[i];
      if (m.member !== member) continue;
      this.memberships.splice(i, 1);
      const shared = this.memberships.some((o) => o.group === m.group && o.ifaceAddress === m.ifaceAddress);
      if (shared || !this.bound) continue;
      try {
        this.socket?.dropMembership(m.group, m.ifaceAddress);
      } catch {
        // The kernel already dropped it (interface deleted): nothing to undo.
      }
    }
  }

  private close(): Promise<void> {
    this.retry?.cancel();
    this.retry = undefined;
    const sock = this.socket;
    this.socket = undefined;
    this.bound = false;
    if (!sock) return this.closing ?? Promise.resolve();
    this.closing = new Promise<void>((resolve) => {
      try {
        sock.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.closing;
  }
}

export class UdpReceiverRegistry {
  private readonly ports = new Map<number, PortReceiver>();

  constructor(private readonly opts: UdpReceiverRegistryOptions) {}

  /** Adds a member to the port's shared socket (opening it if needed). */
  attach(port: number, member: UdpReceiverMember): UdpReceiverLease {
    let r = this.ports.get(port);
    if (!r) {
      const created = new PortReceiver(port, this.opts, () => {
        if (this.ports.get(port) === created) this.ports.delete(port);
      });
      r = created;
      this.ports.set(port, r);
    }
    return r.attach(member);
  }

  /** Ports with an attached member (for diagnostics and tests). */
  activePorts(): number[] {
    return [...this.ports.keys()];
  }
}
