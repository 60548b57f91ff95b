// A failing medium is reopened without disturbing the others: two real
// ringbeat nodes on a serial line AND UDP broadcast. Unplugging the serial
// cable (socat killed: the pty vanishes) kills only the serial link, the node
// stays up via UDP, and the port is reopened when the cable returns. Taking
// the NIC down kills only the UDP link, the node stays up via serial, and UDP
// recovers when the NIC comes back.
//
// Needs root, iproute2 and socat.

import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { LabNet } from './lib/netns';
import { sleep, testScope, waitUntil } from './lib/procs';
import { requireLab } from './lib/require';
import { RingbeatNode } from './lib/ringbeat-node';
import { SerialCable } from './lib/serial-cable';
import { makeTmpDir } from './lib/tmp';

async function linkState(n: RingbeatNode, peer: string, link: string): Promise<string | undefined> {
  const s = await n.status();
  return s.comm?.nodes.find((x) => x.name === peer)?.links.find((l) => l.name === link)?.state;
}

test('one medium failing never disturbs the other; it is reopened when it returns', { timeout: 120_000 }, async (t) => {
  requireLab();
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'media-recovery');
  const net = await LabNet.create(scope, { hosts: ['nodea', 'nodeb'] });
  const cable = await SerialCable.create(scope, { dir: path.join(dir, 'serial') });
  const common = { nodes: ['nodea', 'nodeb'], dir, net, keepalive: '100ms', deadtime: '1', warntime: '500ms', initdead: '5' };
  const a = RingbeatNode.create(scope, { ...common, name: 'nodea', host: net.host('nodea'), media: [`serial ${cable.a}`, 'bcast eth0'] });
  const b = RingbeatNode.create(scope, { ...common, name: 'nodeb', host: net.host('nodeb'), media: [`serial ${cable.b}`, 'bcast eth0'] });
  await Promise.all([a.start(), b.start()]);
  await a.waitNodeState('nodeb', 'active', 15_000);
  await waitUntil('both links up on A', async () => (await linkState(a, 'nodeb', cable.a)) === 'up' && (await linkState(a, 'nodeb', 'eth0')) === 'up', { timeoutMs: 10_000 });

  // Serial cable unplugged.
  await cable.unplug();
  await waitUntil('serial link dead on A', async () => (await linkState(a, 'nodeb', cable.a)) === 'dead', { timeoutMs: 5000 });
  let s = await a.status();
  assert.equal(s.comm!.media.find((m) => m.kind === 'serial')!.state, 'down');
  assert.equal(await a.nodeState('nodeb'), 'active', 'still alive via UDP');
  await sleep(1500);
  await cable.replug();
  await waitUntil('serial link back on A', async () => (await linkState(a, 'nodeb', cable.a)) === 'up', { timeoutMs: 15_000 });
  s = await a.status();
  const serial = s.comm!.media.find((m) => m.kind === 'serial')!;
  assert.equal(serial.state, 'up');
  assert.ok(serial.opens >= 2, `serial port reopened (${serial.opens} opens)`);

  // NIC of B down: UDP link dead, serial carries on.
  await net.linkDown('nodeb');
  await waitUntil('UDP link dead on A', async () => (await linkState(a, 'nodeb', 'eth0')) === 'dead', { timeoutMs: 5000 });
  assert.equal(await a.nodeState('nodeb'), 'active', 'still alive via serial');
  await net.linkUp('nodeb');
  await waitUntil('UDP link back on A', async () => (await linkState(a, 'nodeb', 'eth0')) === 'up', { timeoutMs: 15_000 });
  await waitUntil('UDP link back on B', async () => (await linkState(b, 'nodea', 'eth0')) === 'up', { timeoutMs: 15_000 });

  // Through all of it, neither node ever declared the other dead.
  for (const [n, peer] of [[a, 'nodeb'], [b, 'nodea']] as const) {
    const st = await n.status();
    assert.equal(st.comm!.nodes.find((x) => x.name === peer)!.deaths, 0, `${n.name} never declared ${peer} dead`);
  }
});
