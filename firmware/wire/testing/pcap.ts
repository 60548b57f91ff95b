// Minimal reader for classic libpcap files, enough to pull Heartbeat's UDP
// payloads out of the lab captures (all of them are LINKTYPE_ETHERNET;
// Linux cooked capture v1 is handled too since `tcpdump -i any` produces it).
// Anything it cannot interpret exactly is an error: a silently skipped or
// snapped packet would weaken the byte-exact capture tests.

import { readFileSync } from 'node:fs';

export interface UdpPacket {
  /** Capture time, seconds since the epoch. */
  ts: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL = 113;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_VLAN = 0x8100;
const IPPROTO_UDP = 17;

export function readPcapFile(path: string): UdpPacket[] {
  return parsePcap(readFileSync(path));
}

/** Every IPv4/UDP packet in the capture (non-IPv4 frames such as ARP and
 *  non-UDP packets are passed over). */
export function parsePcap(file: Buffer): UdpPacket[] {
  if (file.length < 24) throw new Error('pcap: file shorter than its global header');
  const magic = file.readUInt32LE(0);
  let le: boolean;
  let nanos: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    le = true;
    nanos = magic === 0xa1b23c4d;
  } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    le = false;
    nanos = magic === 0x4d3cb2a1;
  } else {
    throw new Error(`pcap: unknown magic 0x${magic.toString(16)} (pcapng is not supported)`);
  }
  const u32 = (off: number): number => (le ? file.readUInt32LE(off) : file.readUInt32BE(off));
  const linktype = u32(20) & 0x0fffffff;
  if (linktype !== LINKTYPE_ETHERNET && linktype !== LINKTYPE_LINUX_SLL) {
    throw new Error(`pcap: unsupported link type ${linktype}`);
  }
  const out: UdpPacket[] = [];
  let pos = 24;
  while (pos < file.length) {
    if (file.length - pos < 16) throw new Error(`pcap: truncated record header at ${pos}`);
    const ts = u32(pos) + u32(pos + 4) / (nanos ? 1e9 : 1e6);
    const incl = u32(pos + 8);
    const orig = u32(pos + 12);
    const start = pos + 16;
    if (start + incl > file.length) throw new Error(`pcap: truncated packet at ${pos}`);
    if (incl !== orig) throw new Error(`pcap: packet at ${pos} was snapped (${incl} of ${orig} bytes)`);
    const udp = parseFrame(file.subarray(start, start + incl), linktype, ts);
    if (udp) out.push(udp);
    pos = start + incl;
  }
  return out;
}

function parseFrame(frame: Buffer, linktype: number, ts: number): UdpPacket | undefined {
  let off: number;
  let ethertype: number;
  if (linktype === LINKTYPE_ETHERNET) {
    off = 14;
    ethertype = frame.readUInt16BE(12);
    while (ethertype === ETHERTYPE_VLAN) {
      ethertype = frame.readUInt16BE(off + 2);
      off += 4;
    }
  } else {
    off = 16;
    ethertype = frame.readUInt16BE(14);
  }
  if (ethertype !== ETHERTYPE_IPV4) return undefined;
  const ip = frame.subarray(off);
  if (ip[0]! >> 4 !== 4) throw new Error('pcap: ethertype IPv4 but version is not 4');
  const ihl = (ip[0]! & 0x0f) * 4;
  if (ip[9] !== IPPROTO_UDP) return undefined;
  const totalLen = ip.readUInt16BE(2);
  if ((ip.readUInt16BE(6) & 0x3fff) !== 0) throw new Error('pcap: fragmented IPv4 packet (no reassembly)');
  const udp = ip.subarray(ihl, totalLen);
  const udpLen = udp.readUInt16BE(4);
  if (udpLen < 8 || udpLen > udp.length) throw new Error('pcap: bad UDP length');
  return {
    ts,
    src: ip.subarray(12, 16).join('.'),
    dst: ip.subarray(16, 20).join('.'),
    srcPort: udp.readUInt16BE(0),
    dstPort: udp.readUInt16BE(2),
    payload: Buffer.from(udp.subarray(8, udpLen)),
  };
}

/** UDP payloads to or from `port` (Heartbeat's default 694), in capture order. */
export function udpPayloads(path: string, port = 694): UdpPacket[] {
  return readPcapFile(path).filter((p) => p.dstPort === port || p.srcPort === port);
}
