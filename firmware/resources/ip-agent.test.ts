import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/clock';
import { memoryLogger } from '../core/log';
import { ResourceError } from './agent';
import type { AnnounceTool } from './announce-tool';
import { dadState, IpAgent, type IpAgentOptions } from './ip-agent';
import { parseIpSpec } from './ip-spec';
import { FakeRunner, ipJson, type FakeAnswer } from './testing/fake-runner';

const TOOL: AnnounceTool = { native: '/rb/ringbeat-announce', searched: ['/rb/ringbeat-announce'] };
const SENT = 'sent seq=1 kind=arp-request ip=x dev=eth0 mac=02:00:00:00:00:01 mono_ns=1000000';

type Addr = { family: 4 | 6; local: string; prefixlen: number; broadcast?: string; label?: string; scope?: string; tentative?: boolean; dadfailed?: boolean };

/** A tiny model of one host's interfaces that answers `ip` like the real thing. */
class FakeHost {
  links: { name: string; up: boolean; addrs: Addr[] }[] = [
    { name: 'lo', up: true, addrs: [{ family: 4, local: '127.0.0.1', prefixlen: 8, scope: 'host', label: 'lo' }] },
    {
      name: 'eth0',
      up: true,
      addrs: [
        { family: 4, local: '10.99.0.2', prefixlen: 24, broadcast: '10.99.0.255', label: 'eth0' },
        { family: 6, local: 'fd00:99::2', prefixlen: 64 },
      ],
    },
  ];
  /** Answers of successive `ip -6 -o addr show` polls for a new IPv6 address. */
  dadSequence: ('tentative' | 'dadfailed' | 'done')[] = [];
  runner = new FakeRunner((argv) => this.answer(argv));

  answer(argv: readonly string[]): FakeAnswer {
    const a = argv.join(' ');
    if (a === 'ip -j addr show') return { stdout: ipJson(this.links) };
    let m = /^ip -([46]) addr add (\S+)\/(\d+)(?: brd (\S+))? dev (\S+)(?: label (\S+))?/.exec(a);
    if (m) {
      const l = this.links.find((x) => x.name === m![5]);
      if (!l) return { code: 1, stderr: `Cannot find device "${m[5]}"\n` };
      if (l.addrs.some((x) => x.local === m![2])) return { code: 2, stderr: 'Error: ipv4: Address already assigned.\n' };
      l.addrs.push({ family: m[1] === '4' ? 4 : 6, local: m[2]!, prefixlen: Number(m[3]), broadcast: m[4], label: m[6] });
      return { code: 0 };
    }
    m = /^ip -([46]) addr del (\S+)\/(\d+) dev (\S+)$/.exec(a);
    if (m) {
      const l = this.links.find((x) => x.name === m![4]);
      if (!l) return { code: 1, stderr: `Cannot find device "${m[4]}"\n` };
      const i = l.addrs.findIndex((x) => x.local === m![2] && x.prefixlen === Number(m![3]));
      if (i < 0) return { code: 2, stderr: 'Error: ipv4: Address not found.\n' };
      l.addrs.splice(i, 1);
      return { code: 0 };
    }
    m = /^ip link set (\S+) up$/.exec(a);
    if (m) {
      const l = this.links.find((x) => x.name === m![1]);
      if (l) l.up = true;
      return { code: 0 };
    }
    m = /^ip -6 -o addr show dev (\S+)$/.exec(a);
    if (m) {
      const l = this.links.find((x) => x.name === m![1])!;
      const state = this.dadSequence.shift() ?? 'done';
      return {
        stdout: l.addrs
          .filter((x) => x.family === 6)
          .map((x) => `2: ${l.name}    inet6 ${x.local}/${x.prefixlen} scope global ${x.local === 'fd00:99::2' || state === 'done' ? '' : state === 'dadfailed' ? 'tentative dadfailed ' : 'tentative '}\\       valid_lft forever preferred_lft forever`)
          .join('\n'),
      };
    }
    if (argv[0] === TOOL.native) return { lines: [SENT] };
    return { code: 127, stderr: `unexpected command ${a}` };
  }
}

function agent(host: FakeHost, arg: string, opts: IpAgentOptions = {}, clock = new ManualClock()) {
  const p = parseIpSpec(arg);
  if (!p.ok) throw new Error(p.error);
  const log = memoryLogger();
  const a = new IpAgent(`IPaddr2::${arg}`, p.spec, { runner: host.runner, clock, log, tool: TOOL, monoNowMs: () => 1 }, opts);
  return { a, log, clock };
}

test('start: findif, first free label, computed broadcast; the announcer spawned before the (no-op) link up', async () => {
  const host = new FakeHost();
  host.links[1]!.addrs.push({ family: 4, local: '10.99.0.50', prefixlen: 24, label: 'eth0:0' });
  const { a, log } = agent(host, '10.99.0.100');
  await a.start();
  assert.deepEqual(host.runner.commands, [
    'ip -j addr show',
    'ip -4 addr add 10.99.0.100/24 brd 10.99.0.255 dev eth0 label eth0:1',
    '/rb/ringbeat-announce -i eth0 -4 10.99.0.100 -c 5 -w 200 -m both',
    'ip link set eth0 up',
  ]);
  assert.match(log.lines.join('\n'), /added 10\.99\.0\.100\/24 brd 10\.99\.0\.255 on eth0 \(eth0:1\) \(found via 10\.99\.0\.2\/24 on eth0\)/);
  assert.equal(await a.status(), 'running');
  const d = a.detail()!;
  assert.equal(d.op, 'start');
  assert.equal(d.label, 'eth0:1');
  assert.equal(d.announceVia, 'native');
  assert.equal(typeof d.addStartMs, 'number');
  assert.equal(typeof d.firstAnnounceMs, 'number');
});

test('start: everything given -> used as given; iface:label and announce settings honoured', async () => {
  const host = new FakeHost();
  const { a } = agent(host, '10.99.0.100/25/eth0:vip/10.99.0.127', { announce: { count: 3, intervalMs: 100, mode: 'request' } });
  await a.start();
  assert.equal(host.runner.commands[1], 'ip -4 addr add 10.99.0.100/25 brd 10.99.0.127 dev eth0 label eth0:vip');
  assert.equal(host.runner.commands[2], '/rb/ringbeat-announce -i eth0 -4 10.99.0.100 -c 3 -w 100 -m request');
});

test('start: a down link is brought up BEFORE announcing', async () => {
  const host = new FakeHost();
  host.links[1]!.up = false;
  const { a } = agent(host, '10.99.0.100/24/eth0');
  await a.start();
  assert.deepEqual(host.runner.commands.slice(1, 4), [
    'ip -4 addr add 10.99.0.100/24 brd 10.99.0.255 dev eth0 label eth0:0',
    'ip link set eth0 up',
    '/rb/ringbeat-announce -i eth0 -4 10.99.0.100 -c 5 -w 200 -m both',
  ]);
});

test('start when already present: no add, announce again (as IPaddr2)', async () => {
  const host = new FakeHost();
  host.links[1]!.addrs.push({ family: 4, local: '10.99.0.100', prefixlen: 24, label: 'eth0:0' });
  const { a } = agent(host, '10.99.0.100/24/eth0');
  await a.start();
  assert.ok(!host.runner.commands.some((c) => c.includes('addr add')));
  assert.ok(host.runner.commands.some((c) => c.startsWith('/rb/ringbeat-announce')));
  assert.equal(a.detail()!.alreadyPresent, 'true');
});

test('start failures are ResourceErrors that say what failed', async () => {
  const host = new FakeHost();
  const { a } = agent(host, '192.168.5.5');
  await assert.rejects(a.start(), (e: unknown) => {
    assert.ok(e instanceof ResourceError);
    assert.equal(e.op, 'start');
    assert.match(e.message, /^IPaddr2::192\.168\.5\.5: start: cannot find the interface\/netmask for 192\.168\.5\.5/);
    return true;
  });
  const { a: b } = agent(host, '10.99.0.100/24/eth7');
  await assert.rejects(b.start(), /interface eth7 does not exist/);
  host.runner.setHandler((argv) => (argv.includes('add') ? { code: 2, stderr: 'RTNETLINK answers: Operation not permitted\n' } : host.answer(argv)));
  const { a: c } = agent(host, '10.99.0.100/24/eth0');
  await assert.rejects(c.start(), /ip -4 addr add 10\.99\.0\.100\/24 brd 10\.99\.0\.255 dev eth0 label eth0:0: exit 2: RTNETLINK answers: Operation not permitted/);
});

test('an announcement failure does not fail start (address is up), but is logged and in detail()', async () => {
  const host = new FakeHost();
  host.runner.setHandler((argv) => (argv[0] === TOOL.native ? { code: 1, stderr: 'ringbeat-announce: packet socket (needs CAP_NET_RAW): Operation not permitted\n' } : host.answer(argv)));
  const { a, log } = agent(host, '10.99.0.100/24/eth0');
  await a.start();
  assert.equal(await a.status(), 'running');
  assert.match(String(a.detail()!.announceError), /Operation not permitted/);
  assert.match(log.lines.join('\n'), /ERROR: .*could not announce 10\.99\.0\.100 on eth0/);
});

test('stop: deletes with the prefix the address really has, verifies, ends refresh; idempotent', async () => {
  const host = new FakeHost();
  const clock = new ManualClock();
  const { a } = agent(host, '10.99.0.100/24/eth0', { announce: { refreshMs: 1000 } }, clock);
  await a.start();
  assert.equal(a.announcements.refreshing, true);
  host.runner.calls.length = 0;
  await a.stop();
  assert.deepEqual(host.runner.commands, ['ip -j addr show', 'ip -4 addr del 10.99.0.100/24 dev eth0', 'ip -j addr show']);
  assert.equal(a.announcements.refreshing, false);
  assert.equal(await a.status(), 'stopped');
  clock.advance(10_000);
  assert.ok(!host.runner.commands.some((c) => c.startsWith('/rb/')), 'no refresh after stop');
  host.runner.calls.length = 0;
  await a.stop(); // already stopped
  assert.deepEqual(host.runner.commands, ['ip -j addr show']);
});

test('stop: address present with another prefix (configured by hand) is still removed', async () => {
  const host = new FakeHost();
  host.links[1]!.addrs.push({ family: 4, local: '10.99.0.100', prefixlen: 32 });
  const { a } = agent(host, '10.99.0.100/24/eth0');
  await a.stop();
  assert.equal(host.runner.commands[1], 'ip -4 addr del 10.99.0.100/32 dev eth0');
});

test('stop: the NIC is gone -> nothing to remove, success', async () => {
  const host = new FakeHost();
  const { a } = agent(host, '10.99.0.100/24/eth0');
  await a.start();
  host.links.splice(1, 1);
  await a.stop();
  assert.equal(await a.status(), 'stopped');
});

test('stop: a delete that does not take is an error', async () => {
  const host = new FakeHost();
  const { a } = agent(host, '10.99.0.100/24/eth0');
  await a.start();
  host.runner.setHandler((argv) => (argv.includes('del') ? { code: 0 } : host.answer(argv)));
  await assert.rejects(a.stop(), /10\.99\.0\.100 is still on eth0 after ip -4 addr del/);
});

test('IPv6: add, wait for DAD (polled on the clock), then unsolicited NA with Router flag', async () => {
  const host = new FakeHost();
  host.dadSequence = ['tentative', 'tentative', 'done'];
  const clock = new ManualClock();
  const { a } = agent(host, 'fd00:99::100/64/eth0', { announce: { router: true }, dadPollMs: 20 }, clock);
  const p = a.start();
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(20);
  }
  await p;
  const cmds = host.runner.commands;
  assert.equal(cmds[1], 'ip -6 addr add fd00:99::100/64 dev eth0');
  assert.equal(cmds.filter((c) => c === 'ip -6 -o addr show dev eth0').length, 3);
  assert.deepEqual(cmds.slice(-2), ['/rb/ringbeat-announce -i eth0 -6 fd00:99::100 -c 5 -w 200 -R', 'ip link set eth0 up']);
  assert.ok(!cmds.some((c) => c.includes('label')), 'no labels for IPv6');
  assert.equal(typeof a.detail()!.dadDoneMs, 'number');
});

test('IPv6: dadfailed -> address removed, start fails; nodad option skips the wait', async () => {
  const host = new FakeHost();
  host.dadSequence = ['dadfailed'];
  const { a } = agent(host, 'fd00:99::100/64/eth0');
  await assert.rejects(a.start(), /duplicate address detection failed for fd00:99::100 on eth0: another host uses it \(address removed\)/);
  assert.ok(host.runner.commands.includes('ip -6 addr del fd00:99::100/64 dev eth0'));
  assert.equal(await a.status(), 'stopped');

  const h2 = new FakeHost();
  const { a: b } = agent(h2, 'fd00:99::100', { dad: false });
  await b.start();
  assert.equal(h2.runner.commands[1], 'ip -6 addr add fd00:99::100/64 dev eth0 nodad');
  assert.ok(!h2.runner.commands.some((c) => c.includes('-o addr show')));
});

test('IPv6: DAD that never finishes times out and removes the address', async () => {
  const host = new FakeHost();
  host.dadSequence = Array(1000).fill('tentative');
  const clock = new ManualClock();
  const { a } = agent(host, 'fd00:99::100/64/eth0', { dadPollMs: 100, dadTimeoutMs: 1000 }, clock);
  const p = a.start();
  const check = assert.rejects(p, /did not finish within 1000 ms \(address removed\)/);
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(100);
  }
  await check;
});

test('dadState reads ip -6 -o addr show', () => {
  const out = [
    '2: eth0    inet6 fd00:99::100/64 scope global tentative \\       valid_lft forever preferred_lft forever',
    '2: eth0    inet6 fd00:99::2/64 scope global \\       valid_lft forever preferred_lft forever',
    '2: eth0    inet6 fd00:99::3/64 scope global tentative dadfailed \\       valid_lft forever preferred_lft forever',
  ].join('\n');
  assert.equal(dadState(out, 'fd00:99::100'), 'tentative');
  assert.equal(dadState(out, 'fd00:99::2'), 'done');
  assert.equal(dadState(out, 'fd00:99::3'), 'dadfailed');
  assert.equal(dadState(out, 'fd00:99::4'), 'absent');
});
