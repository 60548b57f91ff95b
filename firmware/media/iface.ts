// IPv4 facts about a network interface, for the UDP media: its address (to
// join multicast groups on and pick the multicast interface), its broadcast
// address (bcast sends there) and its subnet (to tell which medium a datagram
// arrived on, since all media of one port share one receive socket).
//
// Source: os.networkInterfaces(), i.e. libuv's getifaddrs(). libuv lists only
// interfaces that are IFF_UP *and* IFF_RUNNING, so an interface that is
// administratively down or has no carrier (e.g. a veth whose peer is gone)
// reads as missing here, which is what a medium wants: it cannot carry
// heartbeats either way.

import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

export interface Ipv4Iface {
  name: string;
  address: string;
  netmask: string;
  /** Directed broadcast address of the subnet (address | ~netmask). */
  broadcast: string;
}

/** Finds the named interface's IPv4 address, or undefined (missing, down, no IPv4). */
export type InterfaceLookup = (name: string) => Ipv4Iface | undefined;

export function ipv4ToInt(addr: string): number {
  const parts = addr.split('.');
  if (parts.length !== 4) throw new RangeError(`not an IPv4 address: ${addr}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new RangeError(`not an IPv4 address: ${addr}`);
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIpv4(addr: string): boolean {
  try {
    ipv4ToInt(addr);
    return true;
  } catch {
    return false;
  }
}

export function broadcastOf(address: string, netmask: string): string {
  const a = ipv4ToInt(address);
  const m = ipv4ToInt(netmask);
  return intToIpv4((a | ~m) >>> 0);
}

/** True when `addr` lies in the interface's subnet. */
export function inSubnet(addr: string, iface: Pick<Ipv4Iface, 'address' | 'netmask'>): boolean {
  if (!isIpv4(addr)) return false;
  const m = ipv4ToInt(iface.netmask);
  return ((ipv4ToInt(addr) & m) >>> 0) === ((ipv4ToInt(iface.address) & m) >>> 0);
}

/** Picks the first IPv4 entry, as Heartbeat's SIOCGIFADDR/SIOCGIFBRDADDR would. */
export function ipv4Of(name: string, entries: NetworkInterfaceInfo[] | undefined): Ipv4Iface | undefined {
  const e = entries?.find((x) => x.family === 'IPv4');
  if (!e) return undefined;
  return { name, address: e.address, netmask: e.netmask, broadcast: broadcastOf(e.address, e.netmask) };
}

/** The real lookup (one getifaddrs() per call: cheap enough for a 1 s watch). */
export const systemInterfaceLookup: InterfaceLookup = (name) => ipv4Of(name, networkInterfaces()[name]);
