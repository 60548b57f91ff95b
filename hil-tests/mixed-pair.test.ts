// A mixed pair: ringbeat (nodea) and the real Heartbeat 3.0.6 (nodeb, in its
// own PID namespace) sharing one IPaddr2 VIP, preferred on nodea. Kill either
// (power loss) and the other takes the VIP; `hb_standby` on the Heartbeat
// side moves it to ringbeat and `ringbeat standby` moves it back. Both speak
// Heartbeat's R1 resource messages (starting, resource, ask_resources,
// stonith, shutdone) over serial and UDP.
//
// Needs root, iproute2, socat and heartbeat (its IPaddr2 needs resource-agents).

import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { addressHolders, VIP4 } from '../scripts/lab/lab-build';
import { HeartbeatNode } from './lib/heartbeat-node';
import { LabNet } from './lib/netns';
import { testScope, waitUntil } from './lib/procs';
import { requireHeartbeat, requireLab } from './lib/require';
import { RingbeatNode } from './lib/ringbeat-node';
import { SerialCable } from './lib/serial-cable';
import { makeTmpDir } from './lib/tmp';

const HARESOURCES = `nodea IPaddr2::${VIP4}/24/eth0/10.99.0.255\n`;

test('mixed pair ringbeat + Heartbeat 3.0.6: kill either, the other takes the VIP; hb_standby and ringbeat standby move it', { timeout: 240_000 }, async (t) => {
  requireLab();
  requireHeartbeat();
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'mixed');
  const net = await LabNet.create(scope, { hosts: ['nodea', 'nodeb'] });
  const cable = await SerialCable.create(scope, { dir: path.join(dir, 'serial') });
  const nodes = ['nodea', 'nodeb'];
  const rb = RingbeatNode.create(scope, {
    name: 'nodea', nodes, dir, net, host: net.host('nodea'), media: [`serial ${cable.a}`, 'bcast eth0'],
    // deadtime 3 s: a machine-wide pause of ~2 s under CI load must not read as a death (see interop-heartbeat.test.ts)
    keepalive: '200ms', deadtime: '3', warntime: '600ms', initdead: '10',
  });
  (await import('node:fs')).writeFileSync(path.join(rb.confDir, 'haresources'), HARESOURCES);
  const hb = await HeartbeatNode.create(scope, {
    name: 'nodeb', nodes, dir, host: net.host('nodeb'), media: [`serial ${cable.b}`, 'bcast eth0'],
    keepalive: '200ms', deadtime: 3, warntime: '600ms', initdead: 10, haresources: HARESOURCES, autoFailback: 'off',
  });
  const holders = () => addressHolders([net.host('nodea'), net.host('nodeb')], VIP4);
  const on = async (who: string, timeoutMs: number, what: string) => {
    const t0 = performance.now();
    await waitUntil(`${what}: VIP on ${who} only`, async () => (await holders()).join() === who, { timeoutMs, intervalMs: 20 });
    return performance.now() - t0;
  };
  const rbStable = () =>
    waitUntil('ringbeat resources stable with a stable peer', async () => {
      const r = (await rb.status()).resources;
      return r?.state === 'stable' && r.otherStable && !r.busy && r.standby === 'not';
    }, { timeoutMs: 30_000 });
  const times: string[] = [];

  await Promise.all([hb.start(), rb.start()]);
  await hb.waitNodeStatus('nodea', 'active', 20_000);
  times.push(`initial acquisition on ringbeat ${(await on('nodea', 30_000, 'start')).toFixed(0)} ms`);
  await hb.waitLog(/Initial resource acquisition complete/, 30_000);
  await rbStable();

  // hb_standby on the Heartbeat side: Heartbeat holds nothing, so it asks for... nothing.
  // The meaningful direction first: ringbeat standby hands the VIP to Heartbeat.
  let r = await rb.cli('standby', ['all']);
  assert.equal(r.code, 0, r.stderr);
  times.push(`ringbeat standby -> Heartbeat ${(await on('nodeb', 20_000, 'ringbeat standby')).toFixed(0)} ms`);
  await rbStable();
  // hb_standby on the Heartbeat node moves it back to ringbeat.
  await hb.execOk(['/usr/share/heartbeat/hb_standby', 'all']);
  times.push(`hb_standby -> ringbeat ${(await on('nodea', 20_000, 'hb_standby')).toFixed(0)} ms`);
  await rbStable();

  // Power loss of ringbeat: Heartbeat takes the VIP.
  await rb.kill9();
  await net.linkDown(net.host('nodea'));
  await net.execOk(net.host('nodea'), ['ip', 'addr', 'del', `${VIP4}/24`, 'dev', 'eth0']);
  times.push(`ringbeat killed -> Heartbeat ${(await on('nodeb', 20_000, 'ringbeat killed')).toFixed(0)} ms`);
  await net.linkUp(net.host('nodea'));
  await rb.start();
  await hb.waitNodeStatus('nodea', 'active', 20_000);
  await rbStable();
  assert.deepEqual(await holders(), ['nodeb'], 'auto_failback off: the VIP stays on Heartbeat');

  // Power loss of Heartbeat: ringbeat takes the VIP.
  await hb.kill9();
  await net.linkDown(net.host('nodeb'));
  await net.execOk(net.host('nodeb'), ['ip', 'addr', 'del', `${VIP4}/24`, 'dev', 'eth0']);
  times.push(`Heartbeat killed -> ringbeat ${(await on('nodea', 10_000, 'Heartbeat killed')).toFixed(0)} ms`);
  assert.match(rb.log(), /node nodeb: is dead/);
  t.diagnostic(times.join('; '));
});
