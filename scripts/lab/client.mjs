// The lab's client: sends a numbered UDP request to the VIP every interval
// and prints one JSON line per reply: {seq, sent, recv, by} with
// CLOCK_MONOTONIC nanoseconds (process.hrtime), comparable across processes.
//   node client.mjs <vip> [intervalMs] [port]
import dgram from 'node:dgram';

const [vip, intervalMs = '10', port = '7777'] = process.argv.slice(2);
const s = dgram.createSocket(vip.includes(':') ? 'udp6' : 'udp4');
const sent = new Map();
let seq = 0;
s.on('message', (msg) => {
  const recv = process.hrtime.bigint();
  const [by, n] = msg.toString().split(' ');
  const t = sent.get(Number(n));
  if (t === undefined) return;
  sent.delete(Number(n));
  process.stdout.write(`${JSON.stringify({ seq: Number(n), sent: String(t), recv: String(recv), by })}\n`);
});
s.on('error', () => undefined);
setInterval(() => {
  seq++;
  sent.set(seq, process.hrtime.bigint());
  if (sent.size > 1000) sent.delete(seq - 1000);
  // Sends fail while the VIP is unreachable (no route/neighbour yet): keep going.
  s.send(String(seq), Number(port), vip, () => undefined);
}, Number(intervalMs));
