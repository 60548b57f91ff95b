// Power loss of the active node in the lab (scripts/lab/lab-build.ts): the
// client sends a request to the VIP every 10 ms; node A is SIGKILLed and its
// NIC deleted. The requests succeed again via node B, the client's neighbour
// cache holds B's MAC learned from B's announcement (the client never asked:
// no ARP request / neighbour solicitation from it for the VIP in between),
// and the two nodes never hold the VIP at the same time. IPv4 and IPv6.
//
// Needs root, iproute2, socat, tcpdump.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { addressHolders, buildLab, monoNs, startClient, type Lab } from '../scripts/lab/lab-build';
import { runOk, sleep, testScope, waitUntil, type Scope } from './lib/procs';
import { requireCommands, requireLab } from './lib/require';

/** Records VIP add/delete events in a namespace with CLOCK_MONOTONIC times. */
function watchAddresses(scope: Scope, ns: string, vip: string, file: string): { events: { t: bigint; added: boolean }[] } {
  const events: { t: bigint; added: boolean }[] = [];
  const out = createWriteStream(file);
  const p = spawn('ip', ['-n', ns, 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let carry = '';
  p.stdout.on('data', (d: Buffer) => {
    const t = monoNs();
    out.write(d);
    carry += d.toString();
    const lines = carry.split('\n');
    carry = lines.pop() ?? '';
    for (const l of lines) if (l.includes(` ${vip}/`)) events.push({ t, added: !l.startsWith('Deleted') });
  });
  scope.defer(`stop ip monitor in ${ns}`, () => {
    p.kill('SIGTERM');
    out.end();
  });
  return { events };
}

/** Holds the VIP at time t according to the events (and the state before the first event). */
function holdsAt(events: { t: bigint; added: boolean }[], initially: boolean, t: bigint): boolean {
  let v = initially;
  for (const e of events) if (e.t <= t) v = e.added;
  return v;
}

const vipOwner = (lab: Lab, vip: string): Promise<string[]> => addressHolders(lab.nodes.map((n) => n.opts.host), vip);

async function powerLossFailover(t: { diagnostic(s: string): void }, scope: Scope, family: 4 | 6): Promise<void> {
  const lab = await buildLab(scope, { ipv6: family === 6 });
  const vip = family === 4 ? lab.vip4 : lab.vip6!;
  await Promise.all([lab.a.start(), lab.b.start(), lab.startResponder(lab.a), lab.startResponder(lab.b)]);
  await waitUntil('VIP on nodea', async () => (await vipOwner(lab, vip)).join() === 'nodea', { timeoutMs: 20_000 });
  await lab.b.waitNodeState('nodea', 'active', 5000);

  const macA = await lab.mac(lab.a.opts.host);
  const macB = await lab.mac(lab.b.opts.host);
  // (No watcher in nodea's namespace: the power loss kills every process in it.
  // Its ownership ends when its NIC is deleted.)
  const watchB = watchAddresses(scope, lab.b.opts.host.ns, vip, path.join(lab.dir, 'addr-b.log'));
  // Every ARP / neighbour discovery packet the client sends or receives, with wall-clock stamps.
  const capture = path.join(lab.dir, 'client-nd.txt');
  const dump = spawn('ip', ['netns', 'exec', lab.client.ns, 'tcpdump', '-i', 'eth0', '-n', '-l', '-tt', family === 4 ? 'arp' : 'icmp6'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const dumpOut = createWriteStream(capture);
  dump.stdout.pipe(dumpOut);
  scope.defer('stop tcpdump', () => void dump.kill('SIGTERM'));

  const client = await startClient(scope, lab, vip, 10);
  await waitUntil('client served by nodea', () => client.replies.some((r) => r.by === 'nodea'), { timeoutMs: 5000 });
  await sleep(500);
  const neighBefore = (await runOk(['ip', '-n', lab.client.ns, `-${family}`, 'neigh', 'show', vip])).stdout;
  assert.match(neighBefore, new RegExp(macA), 'the client had nodea\'s MAC for the VIP');

  // Power loss of nodea: its NIC (and the VIP on it) disappears, every
  // process of it is SIGKILLed. (NIC first: killing takes tens of ms here,
  // and a real power loss takes the NIC down at the same instant.)
  const wallKill = Date.now();
  const t0 = monoNs();
  await lab.net.deleteLink(lab.a.opts.host);
  const aGone = monoNs();
  await lab.net.killAll(lab.a.opts.host);

  const first = await waitUntil('a reply via nodeb', () => client.replies.find((r) => r.by === 'nodeb' && r.recv > t0), { timeoutMs: 10_000 });
  const failoverMs = Number(first.recv - t0) / 1e6;
  const wallFirst = wallKill + failoverMs;
  await sleep(300);

  // 1. The client learned nodeb's MAC for the VIP.
  const neigh = (await runOk(['ip', '-n', lab.client.ns, `-${family}`, 'neigh', 'show', vip])).stdout;
  assert.match(neigh, new RegExp(macB), `the client's neighbour cache has nodeb's MAC: ${neigh}`);
  // 2. ... from nodeb's announcement: the client did not ask between the kill and the first reply.
  dump.kill('SIGTERM');
  await new Promise<void>((r) => dumpOut.on('close', () => r()));
  const lines = readFileSync(capture, 'utf8').split('\n');
  const inWindow = lines.filter((l) => {
    const ts = Number(l.split(' ')[0]) * 1000;
    return ts >= wallKill && ts <= wallFirst + 5;
  });
  const asked = inWindow.filter((l) => (family === 4 ? /Request who-has \S+ (\(\S+\) )?tell 10\.99\.0\.10,/.test(l) && l.includes(vip) : /neighbor solicitation, who has .*/.test(l) && l.includes(`who has ${vip}`) && l.includes('fd00:99::a >')));
  const announced = inWindow.filter((l) => (family === 4 ? l.includes(macB) || /Reply .* is-at/.test(l) || /Request who-has 10\.99\.0\.100 tell 10\.99\.0\.100/.test(l) : /neighbor advertisement/.test(l)));
  assert.deepEqual(asked, [], 'the client sent no ARP request / neighbour solicitation for the VIP');
  assert.ok(announced.length > 0, `nodeb announced the VIP:\n${inWindow.join('\n')}`);
  // 3. Never both holding the VIP: nodea held it until its NIC vanished,
  // nodeb added it only after that.
  const bAdded = watchB.events.find((e) => e.added);
  assert.ok(bAdded, 'nodeb added the VIP');
  assert.ok(!holdsAt(watchB.events, false, aGone), 'nodeb did not hold the VIP while nodea still did');
  assert.ok(bAdded.t > aGone, 'nodeb added the VIP after nodea lost it');
  t.diagnostic(`IPv${family} power-loss failover: first reply via nodeb ${failoverMs.toFixed(1)} ms after the kill (keepalive 50ms, deadtime 200ms)`);
}

describe('power-loss failover in the lab', { concurrency: 2 }, () => {
  for (const family of [4, 6] as const) {
    test(`IPv${family}: requests to the VIP succeed again via nodeb; neighbour cache from the announcement; never two owners`, { timeout: 120_000 }, async (t) => {
      requireLab();
      requireCommands(['tcpdump'], 'failover test (watches ARP / neighbour discovery)');
      const scope = testScope(t);
      await powerLossFailover(t, scope, family);
    });
  }
});
