// A 300 ms stall of the daemon's main event loop (simulated with the
// `__debug-stall` control hook: a busy loop in the daemon process) at
// keepalive 50 ms / deadtime 200 ms causes no false death on either side:
// the heartbeat path runs in its own process. Repeated a few times, on both
// nodes, over serial and UDP.
//
// Needs root, iproute2 and socat.

import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { LabNet } from './lib/netns';
import { sleep, testScope } from './lib/procs';
import { requireLab } from './lib/require';
import { RingbeatNode } from './lib/ringbeat-node';
import { SerialCable } from './lib/serial-cable';
import { makeTmpDir } from './lib/tmp';

test('300 ms main-loop stalls at keepalive 50 ms / deadtime 200 ms: no false death', { timeout: 120_000 }, async (t) => {
  requireLab();
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'stall');
  const net = await LabNet.create(scope, { hosts: ['nodea', 'nodeb'] });
  const cable = await SerialCable.create(scope, { dir: path.join(dir, 'serial') });
  const common = { nodes: ['nodea', 'nodeb'], dir, net, keepalive: '50ms', deadtime: '200ms', warntime: '120ms', initdead: '5', baud: 115200 };
  const a = RingbeatNode.create(scope, { ...common, name: 'nodea', host: net.host('nodea'), media: [`serial ${cable.a}`, 'bcast eth0'] });
  const b = RingbeatNode.create(scope, { ...common, name: 'nodeb', host: net.host('nodeb'), media: [`serial ${cable.b}`, 'bcast eth0'] });
  await Promise.all([a.start(), b.start()]);
  await a.waitNodeState('nodeb', 'active', 15_000);
  await b.waitNodeState('nodea', 'active', 15_000);
  await sleep(500);

  for (let i = 0; i < 4; i++) {
    const victim = i % 2 === 0 ? a : b;
    const r = await victim.cli('__debug-stall', ['300']);
    assert.equal(r.code, 0, r.stderr);
    // The stalled daemon answers nothing for 300 ms; let it recover.
    await sleep(800);
  }
  const sa = await a.status();
  const sb = await b.status();
  assert.equal(sa.comm!.nodes.find((n) => n.name === 'nodeb')!.deaths, 0, `nodea never declared nodeb dead\n${a.tail()}`);
  assert.equal(sb.comm!.nodes.find((n) => n.name === 'nodea')!.deaths, 0, `nodeb never declared nodea dead\n${b.tail()}`);
  assert.doesNotMatch(a.log() + b.log(), /is dead/);
  // The control hook really froze the daemon: its log shows the gap, and the
  // status request right after a stall took that long.
  const t0 = performance.now();
  await a.cli('__debug-stall', ['300']);
  await a.status();
  assert.ok(performance.now() - t0 >= 290, 'the daemon was really stalled');
  t.diagnostic(`heartbeat path stalls seen: nodea ${JSON.stringify(sa.comm!.stalls)}, nodeb ${JSON.stringify(sb.comm!.stalls)}`);
});
