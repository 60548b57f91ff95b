// Failover policy in the lab (two real ringbeat nodes, VIP preferred on
// nodea): `ringbeat standby` and `ringbeat takeover` move the VIP both ways;
// a graceful stop hands it over in well under deadtime; auto_failback on
// brings it back to its preferred node when that returns, off leaves it; a
// resource script that fails to start rolls its group back and is reported.
//
// Needs root, iproute2, socat.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressHolders, buildLab, type Lab } from '../scripts/lab/lab-build';
import { sleep, testScope, waitUntil } from './lib/procs';
import { requireLab } from './lib/require';
import type { RingbeatNode } from './lib/ringbeat-node';

const holders = (lab: Lab) => addressHolders(lab.nodes.map((n) => n.opts.host), lab.vip4);

async function vipMovesTo(lab: Lab, node: string, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  await waitUntil(`VIP on ${node} only`, async () => (await holders(lab)).join() === node, { timeoutMs, intervalMs: 10 });
  return performance.now() - t0;
}

async function cli(n: RingbeatNode, sub: string, what = 'all'): Promise<string> {
  const r = await n.cli(sub, [what]);
  assert.equal(r.code, 0, `ringbeat ${sub} ${what} on ${n.name}: ${r.stderr}`);
  return r.stdout;
}

/** Waits until both resource managers are stable (standby is refused otherwise, as in Heartbeat). */
async function settled(lab: Lab): Promise<void> {
  await waitUntil('both resource managers stable', async () => {
    for (const n of lab.nodes) {
      const r = (await n.status()).resources;
      if (!r || r.state !== 'stable' || !r.otherStable || r.busy || r.standby !== 'not') return false;
    }
    return true;
  }, { timeoutMs: 15_000 });
}

describe('failover policy', { concurrency: 3 }, () => {
  test('standby and takeover move the VIP both ways; graceful stop hands over in well under deadtime', { timeout: 120_000 }, async (t) => {
    requireLab();
    const scope = testScope(t);
    const lab = await buildLab(scope, { keepalive: '100ms', deadtime: '4', warntime: '1' });
    await Promise.all([lab.a.start(), lab.b.start()]);
    await vipMovesTo(lab, 'nodea', 20_000);
    await settled(lab);

    assert.match(await cli(lab.a, 'standby'), /standby \[all\] requested/);
    const toB = await vipMovesTo(lab, 'nodeb', 10_000);
    await settled(lab);
    await cli(lab.b, 'standby');
    const toA = await vipMovesTo(lab, 'nodea', 10_000);
    await settled(lab);
    await cli(lab.b, 'takeover');
    const takeB = await vipMovesTo(lab, 'nodeb', 10_000);
    await settled(lab);
    await cli(lab.a, 'takeover');
    const takeA = await vipMovesTo(lab, 'nodea', 10_000);
    await settled(lab);
    const r = await lab.a.cli('standby', ['bogus']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /'bogus' is not all, local, foreign or failback/);

    // Graceful stop of the holder: the peer takes over on `shutdone`, not after deadtime.
    const t0 = performance.now();
    const stopped = lab.a.stop();
    await vipMovesTo(lab, 'nodeb', 5000);
    const handoverMs = performance.now() - t0;
    await stopped;
    // Well under deadtime: ~200 ms on an idle machine; the bound leaves room
    // for three other HIL suites on the same 2 cores.
    assert.ok(handoverMs < 2000, `graceful handover took ${handoverMs.toFixed(0)} ms (deadtime 4000 ms)`);
    t.diagnostic(
      `standby A->B ${toB.toFixed(0)} ms, B->A ${toA.toFixed(0)} ms; takeover by B ${takeB.toFixed(0)} ms, by A ${takeA.toFixed(0)} ms; graceful stop handover ${handoverMs.toFixed(0)} ms`,
    );
  });

  for (const mode of ['on', 'off'] as const) {
    test(`auto_failback ${mode}: the preferred node returns after a power loss`, { timeout: 120_000 }, async (t) => {
      requireLab();
      const scope = testScope(t);
      const lab = await buildLab(scope, { keepalive: '100ms', deadtime: '500ms', warntime: '300ms', autoFailback: mode });
      await Promise.all([lab.a.start(), lab.b.start()]);
      await vipMovesTo(lab, 'nodea', 20_000);
      await settled(lab);
      // Power loss of nodea (processes killed, NIC down and its addresses gone), then it boots again.
      await lab.a.kill9();
      await lab.net.linkDown(lab.a.opts.host);
      await lab.net.execOk(lab.a.opts.host, ['ip', 'addr', 'del', `${lab.vip4}/24`, 'dev', 'eth0']);
      await vipMovesTo(lab, 'nodeb', 5000);
      await lab.net.linkUp(lab.a.opts.host);
      await lab.a.start();
      await lab.b.waitNodeState('nodea', 'active', 10_000);
      if (mode === 'on') {
        await vipMovesTo(lab, 'nodea', 20_000);
      } else {
        await settled(lab);
        await sleep(2000);
        assert.deepEqual(await holders(lab), ['nodeb'], 'auto_failback off: the VIP stays where it is');
      }
    });
  }

  test('the heartbeat path dies: the daemon releases its resources before it exits; never two owners', { timeout: 90_000 }, async (t) => {
    requireLab();
    const scope = testScope(t);
    const lab = await buildLab(scope, { keepalive: '100ms', deadtime: '500ms', warntime: '300ms' });
    await Promise.all([lab.a.start(), lab.b.start()]);
    await vipMovesTo(lab, 'nodea', 20_000);
    await settled(lab);
    const commPid = (await lab.a.status()).commPid!;
    process.kill(commPid, 'SIGKILL');
    const exit = await lab.a.proc!.waitExit(10_000);
    assert.notEqual(exit?.code, 0, 'the daemon exits with an error without its heartbeat path');
    // Released before exiting, so the VIP is on nobody until nodeb takes it after deadtime.
    const holdersAtExit = await holders(lab);
    assert.ok(!holdersAtExit.includes('nodea'), `nodea released the VIP before exiting (holders: ${holdersAtExit.join()})`);
    await vipMovesTo(lab, 'nodeb', 5000);
    assert.match(lab.a.log(), /heartbeat path process exited unexpectedly/);
    assert.match(lab.a.log(), /all HA resources relinquished/);
  });

  test('a resource script that fails to start: the group is stopped again and the failure reported', { timeout: 90_000 }, async (t) => {
    requireLab();
    const scope = testScope(t);
    const lab = await buildLab(scope, {
      keepalive: '100ms',
      deadtime: '500ms',
      extraResources: ['failsvc'],
      scripts: {
        failsvc: '#!/bin/sh\ncase "$1" in\n  start) echo "failsvc: cannot bind port 80" >&2; exit 1;;\n  stop) exit 0;;\n  status) echo "stopped"; exit 3;;\nesac\n',
      },
    });
    await Promise.all([lab.a.start(), lab.b.start()]);
    const group = await waitUntil('the group is reported failed on nodea', async () => {
      const g = (await lab.a.status()).resources?.groups.find((x) => x.node === 'nodea');
      return g?.state === 'failed' ? g : undefined;
    }, { timeoutMs: 20_000 });
    assert.match(group.error ?? '', /failsvc/);
    assert.match(group.error ?? '', /cannot bind port 80/, 'the script output is in the report');
    assert.deepEqual(await holders(lab), [], 'the VIP started before failsvc was removed again');
    assert.match(lab.a.log(), /failed to start .*failsvc/);
    const human = await lab.a.cli('status');
    assert.match(human.stdout, /failed: .*failsvc/);
  });
});
