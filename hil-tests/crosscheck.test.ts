// Cross-check with three ringbeat nodes on one LAN: the link between nodea
// and nodec alone is cut (nftables drops their packets to each other), nodeb
// still hears both. Neither declares the other dead; both report a link
// problem naming nodeb. Then nodec really dies: nodea and nodeb declare it
// dead after deadtime + settle + cross-check wait. A Heartbeat peer in the
// same cluster ignores the cross-check messages.
//
// Needs root, iproute2, nftables and heartbeat.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeartbeatNode } from './lib/heartbeat-node';
import { LabNet } from './lib/netns';
import { runOk, sleep, testScope, waitUntil } from './lib/procs';
import { requireCommands, requireHeartbeat, requireLab } from './lib/require';
import { RingbeatNode } from './lib/ringbeat-node';
import { makeTmpDir } from './lib/tmp';

test('cross-check: one link cut is a link problem, not a death; a real death is confirmed and declared', { timeout: 120_000 }, async (t) => {
  requireLab();
  requireHeartbeat();
  requireCommands(['nft'], 'cross-check test (cuts one link with nftables)');
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'crosscheck');
  const net = await LabNet.create(scope, { hosts: ['nodea', 'nodeb', 'nodec', 'noded'] });
  const nodes = ['nodea', 'nodeb', 'nodec', 'noded'];
  const common = { nodes, dir, net, keepalive: '100ms', deadtime: '1', warntime: '500ms', initdead: '10', media: ['bcast eth0'] };
  const a = RingbeatNode.create(scope, { ...common, name: 'nodea', host: net.host('nodea') });
  const b = RingbeatNode.create(scope, { ...common, name: 'nodeb', host: net.host('nodeb') });
  const c = RingbeatNode.create(scope, { ...common, name: 'nodec', host: net.host('nodec') });
  const hb = await HeartbeatNode.create(scope, {
    name: 'noded', nodes, dir, host: net.host('noded'), media: ['bcast eth0'], keepalive: '100ms', deadtime: 1, warntime: '500ms', initdead: 10,
  });
  await Promise.all([a.start(), b.start(), c.start(), hb.start()]);
  for (const [n, peers] of [[a, ['nodeb', 'nodec', 'noded']], [b, ['nodea', 'nodec']], [c, ['nodea', 'nodeb']]] as const) {
    for (const p of peers) await n.waitNodeState(p, 'active', 20_000);
  }
  await hb.waitNodeStatus('nodea', 'active', 20_000);

  // Cut nodea <-> nodec only: drop, in nodea's namespace, everything from and to nodec.
  const cIp = net.host('nodec').ip;
  const nft = (...args: string[]) => runOk(['ip', 'netns', 'exec', net.host('nodea').ns, 'nft', ...args]);
  await nft('add', 'table', 'inet', 'rbcut');
  await nft('add', 'chain', 'inet', 'rbcut', 'in', '{ type filter hook input priority 0; }');
  await nft('add', 'chain', 'inet', 'rbcut', 'out', '{ type filter hook output priority 0; }');
  await nft('add', 'rule', 'inet', 'rbcut', 'in', 'ip', 'saddr', cIp, 'drop');
  await nft('add', 'rule', 'inet', 'rbcut', 'out', 'ip', 'daddr', cIp, 'drop');
  // Broadcasts from nodea still reach nodec (the output rule matches only
  // unicast to nodec): cut that direction in nodec's namespace too.
  const aIp = net.host('nodea').ip;
  const nftC = (...args: string[]) => runOk(['ip', 'netns', 'exec', net.host('nodec').ns, 'nft', ...args]);
  await nftC('add', 'table', 'inet', 'rbcut');
  await nftC('add', 'chain', 'inet', 'rbcut', 'in', '{ type filter hook input priority 0; }');
  await nftC('add', 'rule', 'inet', 'rbcut', 'in', 'ip', 'saddr', aIp, 'drop');

  await waitUntil('nodea reports nodec as a link problem', async () => (await a.status()).comm!.nodes.find((n) => n.name === 'nodec')!.heardOnlyBy?.includes('nodeb'), { timeoutMs: 5000 });
  await waitUntil('nodec reports nodea as a link problem', async () => (await c.status()).comm!.nodes.find((n) => n.name === 'nodea')!.heardOnlyBy?.includes('nodeb'), { timeoutMs: 5000 });
  await sleep(3000); // several deadtimes: still no death
  for (const [n, other] of [[a, 'nodec'], [c, 'nodea']] as const) {
    const s = await n.status();
    const peer = s.comm!.nodes.find((x) => x.name === other)!;
    assert.equal(peer.deaths, 0, `${n.name} did not declare ${other} dead`);
    assert.notEqual(peer.state, 'dead');
  }
  assert.match(a.log(), /node nodec: link problem: this node cannot hear it, but nodeb can/);

  // nodec really dies (power loss): confirmed by nodeb, declared dead by nodea and nodeb.
  await c.kill9();
  await a.waitNodeState('nodec', 'dead', 5000);
  await b.waitNodeState('nodec', 'dead', 5000);
  const m = /node nodec: is dead \(deadtime, silent (\d+)ms\)/.exec(b.log());
  assert.ok(m, b.tail());
  const silent = Number(m[1]);
  // deadtime 1000 + settle 25 + cross-check wait (answers in ms; at most 200 ms)
  assert.ok(silent >= 1000 && silent <= 1000 + 25 + 200 + 100, `nodeb declared nodec dead after ${silent} ms of silence`);

  // The Heartbeat peer was not disturbed by the cross-check messages.
  assert.equal(await hb.nodeStatus('nodea'), 'active');
  assert.equal(await hb.nodeStatus('nodeb'), 'active');
  // (Its one expected ERROR line is about mlock, not permitted in this container.)
  const complaints = hb.log().split('\n').filter((l) => /ERROR|CRIT|WARN/.test(l) && !/lock ourselves into memory|Logging daemon|Previous generation|Core dump|core_pattern|core_uses_pid|node nodec: is dead/.test(l));
  assert.deepEqual(complaints, [], 'Heartbeat logged nothing about the cross-check messages');
  t.diagnostic(`nodeb declared nodec dead after ${silent} ms of silence (deadtime 1000 ms)`);
});
