// The argument of Heartbeat's IPaddr / IPaddr2 resources and the address
// arithmetic the IP agent needs.
//
//   ip[/bits[/iface[:label][/broadcast]]]        (resource.d/IPaddr2 wrapper)
//
// As in the wrapper, a third field starting with a digit is the broadcast
// address (no interface): 10.0.0.5/24/10.0.0.255. bits may also be a dotted
// netmask (255.255.255.0), which findif converts. The broadcast may be '+'
// (host bits set) or '-' (host bits clear), as IPaddr2 allows.
//
// IPv6: haresources separates arguments with '::', so `IPaddr2::fd00::100/64/eth0`
// arrives as args ['fd00', '100/64/eth0']; the IP agents take one argument,
// so the caller joins args with '::' again (ipArgument()).

import { isIPv4, isIPv6 } from 'node:net';

export interface IpSpec {
  family: 4 | 6;
  /** Canonical address text: dotted quad, or RFC 5952 compressed IPv6. */
  address: string;
  prefixLen?: number;
  iface?: string;
  /** Label suffix given as iface:label (IPv4 only). */
  label?: string;
  /** Dotted quad, or '+' / '-' (computed from the address). IPv4 only. */
  broadcast?: string;
  /** The argument as written. */
  raw: string;
}

export type IpSpecResult = { ok: true; spec: IpSpec } | { ok: false; error: string };

/** Interface names as the kernel accepts them (no '/', ':', blanks; < 16 bytes). */
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const LABEL = /^[A-Za-z0-9_.-]{1,14}$/;

/** The single IP argument of an IPaddr/IPaddr2 resource from its '::'-split args. */
export function ipArgument(args: readonly string[]): string {
  return args.join('::');
}

export function parseIpSpec(raw: string): IpSpecResult {
  const fail = (error: string): IpSpecResult => ({ ok: false, error });
  const [addrText = '', bitsText, third, fourth, ...extra] = raw.split('/');
  if (extra.length > 0) return fail(`too many '/' fields in '${raw}' (ip[/bits[/iface[/broadcast]]])`);
  let family: 4 | 6;
  let address: string;
  if (isIPv4(addrText)) {
    family = 4;
    address = addrText;
  } else if (isIPv6(addrText)) {
    family = 6;
    address = normalizeIpv6(addrText)!;
  } else {
    return fail(`'${addrText}' is not an IPv4 or IPv6 address`);
  }
  const spec: IpSpec = { family, address, raw };
  const max = family === 4 ? 32 : 128;

  if (bitsText !== undefined && bitsText !== '') {
    if (/^\d{1,3}$/.test(bitsText)) {
      const n = Number(bitsText);
      if (n < 1 || n > max) return fail(`netmask bits ${bitsText} out of range 1..${max}`);
      spec.prefixLen = n;
    } else if (family === 4 && isIPv4(bitsText)) {
      const n = maskToPrefix(bitsText);
      if (n === undefined || n < 1) return fail(`netmask ${bitsText} is not a contiguous mask`);
      spec.prefixLen = n;
    } else {
      return fail(`bad netmask '${bitsText}' (bits 1..${max}${family === 4 ? ' or a dotted mask' : ''})`);
    }
  }

  let bcastText = fourth;
  if (third !== undefined && third !== '') {
    if (/^[0-9]/.test(third)) {
      // IPaddr2 wrapper: a field starting with a digit is the broadcast.
      if (fourth !== undefined) return fail(`'${third}' looks like a broadcast address but is followed by '${fourth}'`);
      bcastText = third;
    } else {
      const [ifname = '', label, ...more] = third.split(':');
      if (more.length > 0 || !IFNAME.test(ifname)) return fail(`bad interface name '${third}'`);
      spec.iface = ifname;
      if (label !== undefined) {
        if (family === 6) return fail('interface labels (iface:label) exist for IPv4 only');
        if (!LABEL.test(label) || `${ifname}:${label}`.length > 15) {
          return fail(`bad label '${third}' (iface:label, at most 15 characters)`);
        }
        spec.label = label;
      }
    }
  }
  if (bcastText !== undefined && bcastText !== '') {
    if (family === 6) return fail('IPv6 addresses have no broadcast address');
    if (bcastText !== '+' && bcastText !== '-' && !isIPv4(bcastText)) return fail(`bad broadcast address '${bcastText}'`);
    spec.broadcast = bcastText;
  }
  return { ok: true, spec };
}

/** `ip/bits` with the prefix the spec gives, for messages. */
export function formatSpec(s: IpSpec): string {
  return `${s.address}${s.prefixLen !== undefined ? `/${s.prefixLen}` : ''}`;
}

// ---------------------------------------------------------------------------
// IPv4 arithmetic

export function ipv4ToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function prefixMask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** Prefix length of a dotted netmask, or undefined if not contiguous. */
export function maskToPrefix(mask: string): number | undefined {
  const m = ipv4ToInt(mask);
  for (let bits = 0; bits <= 32; bits++) if (prefixMask(bits) === m) return bits;
  return undefined;
}

export function ipv4InSubnet(ip: string, net: string, bits: number): boolean {
  const mask = prefixMask(bits);
  return ((ipv4ToInt(ip) & mask) >>> 0) === ((ipv4ToInt(net) & mask) >>> 0);
}

/**
 * Broadcast address for ip/bits ('+' rule: host bits set). /31 and /32 have
 * none (RFC 3021 point-to-point): undefined.
 */
export function ipv4Broadcast(ip: string, bits: number): string | undefined {
  if (bits >= 31) return undefined;
  return intToIpv4((ipv4ToInt(ip) | ~prefixMask(bits)) >>> 0);
}

/** The network address of ip/bits ('-' rule). */
export function ipv4Network(ip: string, bits: number): string {
  return intToIpv4((ipv4ToInt(ip) & prefixMask(bits)) >>> 0);
}

// ---------------------------------------------------------------------------
// IPv6 arithmetic

/** 16 bytes of an IPv6 address, or undefined if the text is not one. */
export function ipv6ToBytes(text: string): Uint8Array | undefined {
  if (!isIPv6(text)) return undefined;
  let t = text.toLowerCase();
  // Embedded IPv4 tail (::ffff:1.2.3.4) -> two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4) {
    const n = ipv4ToInt(v4[1]!);
    t = `${t.slice(0, v4.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = t.split('::');
  const h = head ? head.split(':') : [];
  const tl = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 255;
  });
  return out;
}

/** RFC 5952 text (lower case, longest zero run of >= 2 groups compressed), as `ip` prints it. */
export function bytesToIpv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function normalizeIpv6(text: string): string | undefined {
  const b = ipv6ToBytes(text);
  return b ? bytesToIpv6(b) : undefined;
}

/** Canonical text of either family (undefined if neither). */
export function normalizeIp(text: string): string | undefined {
  if (isIPv4(text)) return text;
  return normalizeIpv6(text);
}

export function ipv6InPrefix(ip: string, prefix: string, bits: number): boolean {
  const a = ipv6ToBytes(ip);
  const b = ipv6ToBytes(prefix);
  if (!a || !b) return false;
  for (let i = 0; i < 16; i++) {
    const left = bits - i * 8;
    if (left <= 0) return true;
    const mask = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

export function isLinkLocalIpv6(ip: string): boolean {
  return ipv6InPrefix(ip, 'fe80::', 10);
}
