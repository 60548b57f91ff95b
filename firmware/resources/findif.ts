// Interface and address lookups on the output of `ip -j addr show`: which
// interface an address belongs on (what resource-agents' findif does), the
// next free `IF:<n>` label, and whether an address is present.
//
// findif.sh asks the routing table (`ip route list match IP/BITS scope link`);
// the same answer comes from the configured addresses, since each one brings
// its connected (scope link) route: the interface whose IPv4/IPv6 subnet
// contains the address, longest prefix winning. Pure functions: the agent
// runs `ip` and hands the JSON in.

import {
  formatSpec,
  ipv4Broadcast,
  ipv4InSubnet,
  ipv4Network,
  ipv6InPrefix,
  isLinkLocalIpv6,
  normalizeIp,
  type IpSpec,
} from './ip-spec';

export interface IfAddr {
  family: 4 | 6;
  address: string; // canonical text
  prefixLen: number;
  broadcast?: string;
  label?: string;
  scope?: string;
  secondary?: boolean;
  tentative?: boolean;
  dadfailed?: boolean;
}

export interface IfInfo {
  name: string;
  index: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  mac?: string;
  linkType?: string;
  addrs: IfAddr[];
}

interface RawAddrInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
  broadcast?: string;
  label?: string;
  scope?: string;
  secondary?: boolean;
  tentative?: boolean;
  dadfailed?: boolean;
}

interface RawLink {
  ifindex?: number;
  ifname?: string;
  flags?: string[];
  address?: string;
  link_type?: string;
  addr_info?: RawAddrInfo[];
}

/** Parses `ip -j addr show` (any family filter). Throws on non-JSON input. */
export function parseIpAddrJson(text: string): IfInfo[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const raw = JSON.parse(trimmed) as RawLink[];
  if (!Array.isArray(raw)) throw new Error('ip -j addr show: expected a JSON array');
  const out: IfInfo[] = [];
  for (const l of raw) {
    if (!l.ifname) continue; // `ip -j` emits {} placeholders for links filtered out by -4/-6
    const addrs: IfAddr[] = [];
    for (const a of l.addr_info ?? []) {
      const family = a.family === 'inet' ? 4 : a.family === 'inet6' ? 6 : undefined;
      const address = a.local ? normalizeIp(a.local) : undefined;
      if (!family || !address || a.prefixlen === undefined) continue;
      addrs.push({
        family,
        address,
        prefixLen: a.prefixlen,
        broadcast: a.broadcast,
        label: a.label,
        scope: a.scope,
        secondary: a.secondary === true,
        tentative: a.tentative === true,
        dadfailed: a.dadfailed === true,
      });
    }
    out.push({
      name: l.ifname,
      index: l.ifindex ?? 0,
      up: (l.flags ?? []).includes('UP'),
      mac: l.address,
      linkType: l.link_type,
      addrs,
    });
  }
  return out;
}

/** Where and how an address is to be configured. */
export interface IpTarget {
  family: 4 | 6;
  address: string;
  iface: string;
  prefixLen: number;
  /** IPv4 broadcast; undefined for IPv6 and /31, /32. */
  broadcast?: string;
}

export type FindResult = { ok: true; target: IpTarget; how: string } | { ok: false; error: string };

/**
 * Completes a spec (missing interface / prefix / broadcast) from the
 * interfaces' addresses, like findif: the interface whose subnet contains the
 * address, longest prefix first; with a given prefix only subnets at least as
 * wide count (`route list match IP/BITS`).
 */
export function findInterface(spec: IpSpec, ifs: readonly IfInfo[]): FindResult {
  if (spec.iface && !ifs.some((i) => i.name === spec.iface)) {
    return { ok: false, error: `interface ${spec.iface} does not exist` };
  }
  if (spec.family === 6 && !spec.iface && isLinkLocalIpv6(spec.address)) {
    return { ok: false, error: `a link-local address (${spec.address}) needs an interface: IPaddr2::${spec.address}/64/eth0` };
  }
  let best: { i: IfInfo; a: IfAddr } | undefined;
  for (const i of ifs) {
    if (spec.iface && i.name !== spec.iface) continue;
    if (/^ipsec\d+$/.test(i.name)) continue; // findif skips FreeS/WAN devices
    for (const a of i.addrs) {
      if (a.family !== spec.family) continue;
      if (a.address === spec.address && a.prefixLen === (spec.family === 4 ? 32 : 128)) continue;
      if (spec.prefixLen !== undefined && a.prefixLen > spec.prefixLen) continue;
      const inside =
        spec.family === 4 ? ipv4InSubnet(spec.address, a.address, a.prefixLen) : ipv6InPrefix(spec.address, a.address, a.prefixLen);
      if (!inside) continue;
      if (spec.family === 6 && a.scope === 'link' && !isLinkLocalIpv6(spec.address)) continue;
      if (!best || a.prefixLen > best.a.prefixLen) best = { i, a };
    }
  }
  let iface = spec.iface;
  let prefixLen = spec.prefixLen;
  let how = 'as configured';
  if (!iface || prefixLen === undefined) {
    if (!best) {
      const fam = spec.family === 4 ? 'IPv4' : 'IPv6';
      const where = spec.iface ? `on ${spec.iface}` : 'on any interface';
      return {
        ok: false,
        error:
          `cannot find the interface/netmask for ${formatSpec(spec)}: no ${fam} subnet ${where} contains it; ` +
          `give them in the resource (ip/bits/iface)`,
      };
    }
    iface ??= best.i.name;
    prefixLen ??= best.a.prefixLen;
    how = `found via ${best.a.address}/${best.a.prefixLen} on ${best.i.name}`;
  }
  const target: IpTarget = { family: spec.family, address: spec.address, iface, prefixLen };
  if (spec.family === 4) {
    if (spec.broadcast === '-') target.broadcast = ipv4Network(spec.address, prefixLen);
    else if (spec.broadcast && spec.broadcast !== '+') target.broadcast = spec.broadcast;
    else target.broadcast = ipv4Broadcast(spec.address, prefixLen);
  }
  return { ok: true, target, how };
}

/** The address as configured on `iface` (undefined if absent). */
export function findAddress(ifs: readonly IfInfo[], iface: string | undefined, address: string): { ifname: string; addr: IfAddr } | undefined {
  for (const i of ifs) {
    if (iface !== undefined && i.name !== iface) continue;
    const a = i.addrs.find((x) => x.address === address);
    if (a) return { ifname: i.name, addr: a };
  }
  return undefined;
}

/**
 * First free `IF:<n>` label on an interface (n = 0, 1, ...), like the aliases
 * IPaddr/ifconfig made; undefined when the name would exceed 15 characters.
 */
export function nextFreeLabel(ifs: readonly IfInfo[], iface: string): string | undefined {
  const used = new Set(ifs.find((i) => i.name === iface)?.addrs.map((a) => a.label).filter(Boolean));
  for (let n = 0; n < 1000; n++) {
    const label = `${iface}:${n}`;
    if (label.length > 15) return undefined;
    if (!used.has(label)) return label;
  }
  return undefined;
}
