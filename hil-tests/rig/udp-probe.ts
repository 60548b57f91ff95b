// A passive observer on the lab network: binds the Heartbeat UDP port in its
// own namespace and prints one JSON line per datagram, stamped on arrival with
// process.hrtime.bigint() (CLOCK_MONOTONIC: the same clock in every process of
// the machine, namespaces included), so benchmarks can compare it with the
// moment they killed a node.
//
//   ip netns exec <ns> node --import tsx hil-tests/rig/udp-probe.ts [port]
//
// Output lines: {"t":"<ns>","from":"10.99.0.2","len":812,"fmt":"netstring","f":{"t":"status","src":"nodeb",...}}
// ("t" is a string: nanoseconds do not fit a double exactly.) Only short,
// useful fields are kept (not auth, uuids, ld). First line: {"ready":port}.

import * as dgram from 'node:dgram';
import { peekMessage } from '../lib/wire-peek';

const KEEP = ['t', 'src', 'seq', 'hg', 'st', 'dt', 'node', 'result', 'dest', 'ttl', 'info'];
const port = Number(process.argv[2] ?? 694);

const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
sock.on('message', (msg, rinfo) => {
  const t = process.hrtime.bigint();
  const m = peekMessage(msg);
  const f: Record<string, string> = {};
  if (m) for (const k of KEEP) {
    const v = m.fields.get(k);
    if (v !== undefined) f[k] = v;
  }
  process.stdout.write(`${JSON.stringify({ t: t.toString(), from: rinfo.address, len: msg.length, fmt: m?.format ?? 'unknown', f })}\n`);
});
sock.on('error', (e) => {
  process.stderr.write(`udp-probe: ${e.message}\n`);
  process.exit(1);
});
sock.bind(port, '0.0.0.0', () => {
  process.stdout.write(`${JSON.stringify({ ready: port })}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => sock.close(() => process.exit(0)));
