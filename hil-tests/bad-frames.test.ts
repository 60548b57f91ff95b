// Bad frames on serial and UDP against the real ringbeat program:
// a wrong key, truncated frames, random bytes, a netstring field without its
// type prefix, and 1 MB lines without a newline. Each is dropped and counted
// by reason per medium, the process's memory stays flat, and the node keeps
// its peer (nothing else is disturbed).
//
// Layout: node A (under test) has a serial line whose other end is held by
// this test (the attacker on the wire) and bcast on the lab bridge, where
// node B (a real ringbeat peer) and host C (the UDP attacker) live.
//
// Needs root, iproute2 and socat.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { SerialPort } from 'serialport';
import { Authenticator } from '../firmware/wire/auth';
import { encodeForSerial, encodeForUdp } from '../firmware/wire/frame';
import { HaMessage } from '../firmware/wire/message';
import { LabNet } from './lib/netns';
import { runOk, sleep, testScope } from './lib/procs';
import { requireLab } from './lib/require';
import { RingbeatNode } from './lib/ringbeat-node';
import { SerialCable } from './lib/serial-cable';
import { makeTmpDir } from './lib/tmp';

const KEY = 'sha1 bad-frames-key';
const wrongKey = new Authenticator({ outbound: 1, keys: [{ index: 1, method: 'sha1', key: 'not-the-key', at: { file: 'x', line: 1 } }] });
const rightKey = new Authenticator({ outbound: 1, keys: [{ index: 1, method: 'sha1', key: 'bad-frames-key', at: { file: 'x', line: 1 } }] });

function forgedStatus(): HaMessage {
  return HaMessage.of({ t: 'status', st: 'dead', dt: '3e8', protocol: '1', src: 'nodeb', seq: 'ffff', hg: 'ffffffff', ts: '6b000000', ttl: '3' });
}

/** Sends datagrams (hex) from inside a namespace with a tiny inline node program. */
async function sendDatagrams(net: LabNet, host: string, dir: string, target: string, frames: Buffer[], repeat: number): Promise<void> {
  const file = path.join(dir, `datagrams-${host}.json`);
  writeFileSync(file, JSON.stringify(frames.map((f) => f.toString('hex'))));
  const prog = `
    const dgram = require('node:dgram');
    const frames = JSON.parse(require('node:fs').readFileSync(${JSON.stringify(file)}, 'utf8')).map((h) => Buffer.from(h, 'hex'));
    const s = dgram.createSocket('udp4');
    s.bind(() => {
      s.setBroadcast(true);
      let n = 0;
      const total = frames.length * ${repeat};
      const next = () => {
        if (n === total) return s.close();
        const f = frames[n++ % frames.length];
        s.send(f, 694, ${JSON.stringify(target)}, (e) => { if (e) { console.error(e.message); process.exit(1); } setTimeout(next, 1); });
      };
      next();
    });`;
  await runOk(['ip', 'netns', 'exec', net.host(host).ns, process.execPath, '-e', prog], { timeoutMs: 60_000 });
}

test('bad frames on serial and UDP are dropped and counted by reason; memory stays flat; the peer stays up', { timeout: 180_000 }, async (t) => {
  requireLab();
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'bad-frames');
  const net = await LabNet.create(scope, { hosts: ['nodea', 'nodeb', 'nodec'] });
  const cable = await SerialCable.create(scope, { dir: path.join(dir, 'serial') });
  const nodes = ['nodea', 'nodeb'];
  const common = { nodes, dir, net, keepalive: '200ms', deadtime: '2', auth: KEY, initdead: '4' };
  const a = RingbeatNode.create(scope, { ...common, name: 'nodea', host: net.host('nodea'), media: [`serial ${cable.a}`, 'bcast eth0'], baud: 115200 });
  const b = RingbeatNode.create(scope, { ...common, name: 'nodeb', host: net.host('nodeb'), media: ['bcast eth0'] });
  await Promise.all([a.start(), b.start()]);
  await a.waitNodeState('nodeb', 'active', 15_000);
  await b.waitNodeState('nodea', 'active', 15_000);

  // The attacker's end of the serial line.
  const port = new SerialPort({ path: cable.b, baudRate: 115200 });
  await new Promise<void>((resolve, reject) => port.once('open', () => resolve()).once('error', reject));
  scope.defer('close attacker serial port', () => new Promise<void>((r) => port.close(() => r())));
  const write = (buf: Buffer) => new Promise<void>((resolve, reject) => port.write(buf, (e) => (e ? reject(e) : port.drain(() => resolve()))));

  // --- serial garbage ---
  const junk = Buffer.alloc(4096);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff;
  const good = encodeForSerial(HaMessage.of({ t: 'status', st: 'up', src: 'nodeb', seq: '1', hg: '1', ts: '1', ttl: '3' }), rightKey);
  const oneMb = Buffer.alloc(1024 * 1024, 0x41); // no newline at all
  const serialAttack = async (): Promise<void> => {
    for (let round = 0; round < 3; round++) {
      await write(encodeForSerial(forgedStatus(), wrongKey)); // wrong key
      await write(Buffer.concat([junk, Buffer.from('\n')])); // random bytes between frames
      await write(good.subarray(0, good.indexOf('auth='))); // truncated: cut off by the next frame's >>>
    }
    for (let i = 0; i < 20; i++) await write(oneMb); // a 20 MB line
    await write(Buffer.from('\n'));
  };

  // --- UDP garbage (from host C) ---
  const udpGood = encodeForUdp(forgedStatus(), rightKey, { innerAuth: true });
  const frames = [
    encodeForUdp(forgedStatus(), wrongKey, { innerAuth: true }), // wrong key
    udpGood.subarray(0, udpGood.length - 20), // truncated
    junk.subarray(0, 1400), // random bytes
    Buffer.from('###\n8:t=status,%%%\n4:1 ab,'), // field without its (T) prefix
    Buffer.alloc(60_000, 0x23), // oversized garbage datagram
  ];
  // The kernel may drop a few datagrams when A's socket buffer is full (the
  // 60 kB ones); it counts them, and so do we: every datagram sent is either
  // counted by ringbeat or by the kernel, none vanishes.
  const kernelUdpDrops = async (): Promise<number> => {
    const r = await runOk(['ip', 'netns', 'exec', net.host('nodea').ns, 'cat', '/proc/net/snmp']);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/);
    return Number(values[names.indexOf('RcvbufErrors')]);
  };
  const kernelBefore = await kernelUdpDrops();
  const attack = async (): Promise<void> => {
    await Promise.all([serialAttack(), sendDatagrams(net, 'nodec', dir, net.host('nodea').ip, frames, 200)]);
    await sleep(1500);
  };

  // Round 1 grows the heaps to their working size; round 2 must not grow them further.
  await attack();
  const rssBefore = await a.rssKb();
  await attack();
  const rssAfter = await a.rssKb();

  const s = await a.status();
  const serial = s.comm!.media.find((m) => m.kind === 'serial')!;
  const udp = s.comm!.media.find((m) => m.kind === 'bcast')!;
  t.diagnostic(`serial drops ${JSON.stringify(serial.drops)}; udp drops ${JSON.stringify(udp.drops)}`);
  assert.equal(serial.drops['bad-auth'], 6, 'wrong key on serial');
  assert.equal(serial.drops['truncated'], 4, 'truncated frames on serial (the last of each round ends in the long line)');
  assert.equal(serial.drops['malformed'], 6, 'random bytes on serial');
  assert.equal(serial.drops['oversized'], 2, 'the 20 MB lines on serial');
  const kernelDrops = (await kernelUdpDrops()) - kernelBefore;
  t.diagnostic(`datagrams dropped by the kernel (receive buffer full): ${kernelDrops}`);
  assert.ok(kernelDrops <= 20, 'the kernel dropped only a few');
  const counted = ['bad-auth', 'truncated', 'malformed', 'no-type-prefix'].reduce((n, r) => n + (udp.drops[r as 'malformed'] ?? 0), 0);
  assert.equal(counted + kernelDrops, 2000, 'every bad datagram was counted by ringbeat or by the kernel');
  assert.ok((udp.drops['bad-auth'] ?? 0) >= 390, 'wrong key on UDP');
  assert.ok((udp.drops['truncated'] ?? 0) >= 390, 'truncated datagrams');
  assert.ok((udp.drops['malformed'] ?? 0) >= 780, 'random and oversized-garbage datagrams');
  assert.ok((udp.drops['no-type-prefix'] ?? 0) >= 390, 'netstring fields without (T)');

  // Nothing else disturbed: the peer stayed up on both sides, no deaths.
  assert.equal(s.comm!.nodes.find((n) => n.name === 'nodeb')!.state, 'active');
  assert.equal(s.comm!.nodes.find((n) => n.name === 'nodeb')!.deaths, 0);
  assert.equal(await b.nodeState('nodea'), 'active');

  // Memory: another 20 MB of line garbage and 1000 bad datagrams changed nothing.
  t.diagnostic(`RSS of node A (daemon + heartbeat path): ${rssBefore} kB after round 1, ${rssAfter} kB after round 2`);
  assert.ok(rssAfter - rssBefore < 4 * 1024, `memory stayed flat (grew ${rssAfter - rssBefore} kB)`);

  // The serial line still works for good frames afterwards: the drop counters
  // stop growing once the garbage stops, and real peers are unaffected.
  const before = JSON.stringify((await a.status()).comm!.media.find((m) => m.kind === 'serial')!.drops);
  await sleep(1000);
  assert.equal(JSON.stringify((await a.status()).comm!.media.find((m) => m.kind === 'serial')!.drops), before);
});
