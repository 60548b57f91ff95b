// The serial ring relay on paced cables (bytes delivered at the line rate,
// dropped on overrun: hil-tests/rig/paced-cable.py):
// - Heartbeat - ringbeat - Heartbeat in a line, serial only, the two Heartbeat
//   nodes not cabled to each other: they see each other up through ringbeat's
//   relay (cl_status), and ringbeat sees both;
// - a four-node ringbeat ring (two ports each): all see all; one cut link
//   changes nothing; an isolated node is declared dead by the others within
//   deadtime + one keepalive + the cross-check wait; no frame circulates
//   forever (frames on a link per second stay bounded and steady).
//
// Needs root, iproute2, python3 (the paced cable) and heartbeat.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeartbeatNode } from './lib/heartbeat-node';
import { LabNet } from './lib/netns';
import { PauseWatch } from './lib/pause-watch';
import { sleep, testScope, waitUntil } from './lib/procs';
import { requireCommands, requireHeartbeat, requireLab } from './lib/require';
import { CableRing } from './lib/ring';
import { RingbeatNode } from './lib/ringbeat-node';
import { makeTmpDir } from './lib/tmp';

describe('serial ring relay on paced cables', { concurrency: 2 }, () => {
  test('Heartbeat - ringbeat - Heartbeat line: the Heartbeat nodes see each other through the relay', { timeout: 120_000 }, async (t) => {
    requireLab();
    requireHeartbeat();
    requireCommands(['python3'], 'paced serial cable');
    const scope = testScope(t);
    const dir = makeTmpDir(scope, 'hb-rb-hb');
    const names = ['hba', 'rbm', 'hbb'];
    const net = await LabNet.create(scope, { hosts: names });
    const line = await CableRing.create(scope, { dir, nodes: names, topology: 'line', cable: { baud: 115200 } });
    // deadtime 3 s: a machine-wide pause of ~2 s under CI load must not read as a death (see interop-heartbeat.test.ts)
    const timing = { keepalive: '200ms', deadtime: 3, warntime: '1', initdead: 10 };
    const hba = await HeartbeatNode.create(scope, { name: 'hba', nodes: names, dir, host: net.host('hba'), media: line.serialMedia('hba'), baud: 115200, ...timing });
    const hbb = await HeartbeatNode.create(scope, { name: 'hbb', nodes: names, dir, host: net.host('hbb'), media: line.serialMedia('hbb'), baud: 115200, ...timing });
    const rb = RingbeatNode.create(scope, {
      name: 'rbm', nodes: names, dir, net, host: net.host('rbm'), media: line.serialMedia('rbm'), baud: 115200,
      keepalive: '200ms', deadtime: '3', warntime: '1', initdead: '10',
    });
    await Promise.all([hba.start(), hbb.start(), rb.start()]);
    await hba.waitNodeStatus('hbb', 'active', 30_000);
    await hbb.waitNodeStatus('hba', 'active', 30_000);
    await rb.waitNodeState('hba', 'active', 10_000);
    await rb.waitNodeState('hbb', 'active', 10_000);
    await sleep(10_000);
    // Still up after a while: no flapping over the relay.
    assert.equal(await hba.nodeStatus('hbb'), 'active');
    assert.equal(await hbb.nodeStatus('hba'), 'active');
    assert.doesNotMatch(hba.log() + hbb.log(), /node (hba|hbb): is dead/);
    const s = await rb.status();
    const relayed = s.comm!.media.reduce((n, m) => n + (m.relayed ?? 0), 0);
    assert.ok(relayed > 50, `ringbeat relayed ${relayed} frames`);
    for (const m of s.comm!.media) assert.equal(m.drops['bad-auth'] ?? 0, 0);
    t.diagnostic(`ringbeat relayed ${relayed} frames between the Heartbeat nodes; line utilisation ${s.comm!.media.map((m) => `${((m.lineUtilisation ?? 0) * 100).toFixed(1)}%`).join(', ')}`);
  });

  test('four-node ringbeat ring: all see all, one cut link is harmless, an isolated node dies in bounded time, nothing circulates', { timeout: 150_000 }, async (t) => {
    requireLab();
    requireCommands(['python3'], 'paced serial cable');
    const scope = testScope(t);
    const pauses = new PauseWatch();
    scope.defer('stop the pause watch', () => pauses.stop());
    const dir = makeTmpDir(scope, 'ring4');
    const names = ['n0', 'n1', 'n2', 'n3'];
    const net = await LabNet.create(scope, { hosts: names });
    const ring = await CableRing.create(scope, { dir, nodes: names, cable: { baud: 115200, frameLog: true } });
    const KEEPALIVE = 200;
    const DEADTIME = 1000;
    const nodes = names.map((name) =>
      RingbeatNode.create(scope, {
        name, nodes: names, dir, net, host: net.host(name), media: ring.serialMedia(name), baud: 115200,
        keepalive: `${KEEPALIVE}ms`, deadtime: `${DEADTIME}ms`, warntime: '600ms', initdead: '10',
      }),
    );
    await Promise.all(nodes.map((n) => n.start()));
    for (const n of nodes) for (const m of names) if (m !== n.name) await n.waitNodeState(m, 'active', 20_000);

    // Frames on one link over two 3-second windows: bounded and steady.
    const framesOn = async (i: number) => {
      const st = (await ring.stats())[i]!;
      return st.a2b.framesDelivered + st.b2a.framesDelivered;
    };
    // Frames on `link` in `count` consecutive 3-s windows. A machine-wide pause
    // moves frames from one window into the next (the cable delivers what
    // waited): windows it touched are measured again, at most three times.
    const windows = async (link: number, count: number): Promise<number[]> => {
      for (let attempt = 1; ; attempt++) {
        const m0 = performance.now();
        const marks = [await framesOn(link)];
        for (let i = 0; i < count; i++) {
          await sleep(3000);
          marks.push(await framesOn(link));
        }
        const w = marks.slice(1).map((m, i) => m - marks[i]!);
        const paused = pauses.worstBetween(m0 - 1000);
        if (paused === 0 || attempt === 3) return w;
        t.diagnostic(`frame windows ${w.join(', ')} void: the machine paused ${paused.toFixed(0)} ms`);
      }
    };
    const [w1, w2] = (await windows(1, 2)) as [number, number];
    // Each node's status (5/s) crosses each link about once (the two copies
    // meet half way round), ACKs add a few: 4 nodes x 5/s x 3 s = 60, x2 margin.
    assert.ok(w1 <= 4 * (1000 / KEEPALIVE) * 3 * 2 && w2 <= 4 * (1000 / KEEPALIVE) * 3 * 2, `frames on a link in 3 s: ${w1}, ${w2}`);
    assert.ok(Math.abs(w2 - w1) <= Math.max(10, w1 / 4), `steady: ${w1} then ${w2} frames per 3 s`);

    // One cut link: the ring becomes a line, nobody dies.
    await ring.cut(0);
    await sleep(3 * DEADTIME);
    for (const n of nodes) {
      const s = await n.status();
      for (const p of s.comm!.nodes.filter((x) => !x.self)) {
        assert.equal(p.state, 'active', `${n.name} sees ${p.name} with one link cut`);
        assert.equal(p.deaths, 0);
      }
    }
    await ring.restore(0);
    await sleep(2 * DEADTIME);

    // n2 isolated: both its cables cut.
    const tIsolate = performance.now();
    await ring.isolate('n2');
    const others = nodes.filter((n) => n.name !== 'n2');
    for (const n of others) await n.waitNodeState('n2', 'dead', DEADTIME + 5000);
    const crossWait = Math.min(DEADTIME, Math.max(2 * KEEPALIVE, 200));
    const bound = DEADTIME + KEEPALIVE + crossWait;
    for (const n of others) {
      const m = /node n2: is dead \(deadtime, silent (\d+)ms\)/.exec(n.log());
      assert.ok(m, n.tail());
      const silent = Number(m[1]);
      assert.ok(silent >= DEADTIME, `${n.name} declared n2 dead after only ${silent} ms of silence`);
      const paused = pauses.worstBetween(tIsolate - DEADTIME);
      if (paused === 0) assert.ok(silent <= bound, `${n.name} declared n2 dead after ${silent} ms of silence (bound ${bound} ms)`);
      else t.diagnostic(`${n.name}: the machine paused ${paused.toFixed(0)} ms while it waited; ${silent} ms of silence not judged against ${bound} ms`);
      const s = await n.status();
      for (const p of s.comm!.nodes.filter((x) => !x.self && x.name !== 'n2')) assert.equal(p.state, 'active', `${n.name} still sees ${p.name}`);
    }
    // After the isolation the remaining line is quiet again (nothing keeps circulating).
    await sleep(2000);
    const [g] = (await windows(0, 1)) as [number];
    assert.ok(g <= 3 * (1000 / KEEPALIVE) * 3 * 2, `frames on a link after the isolation: ${g} per 3 s`);
    t.diagnostic(`frames per link per 3 s: ${w1}, ${w2}; after isolating n2: ${g}`);
    await waitUntil('n2 alone thinks the others are dead', async () => (await nodes[2]!.status()).comm!.nodes.filter((x) => !x.self && x.state === 'dead').length === 3, { timeoutMs: 10_000 });
  });
});
