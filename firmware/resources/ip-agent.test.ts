import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/clock';
import { memoryLogger } from '../core/log';
import { ResourceError } from './agent';
import type { AnnounceTool } from './announce-tool';
import { dadState, IfSnapshot, IpAgent, type IpAgentOptions } from './ip-agent';
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
  /** The kernel's answer to the tool's RTM_NEWADDR (undefined = accept). */
  addRefusal?: string;
  runner = new FakeRunner((argv) => this.answer(argv));

  /** ringbeat-announce: with -a it checks the interface, adds (or finds) the address, then reports the first ARP. */
  tool(argv: readonly string[]): FakeAnswer {
    const opt = (f: string): string | undefined => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : undefined);
    const prefix = opt('-a');
    if (prefix === undefined) return { lines: [SENT] };
    const [iface, ip, brd, label] = [opt('-i')!, opt('-4')!, opt('-b'), opt('-l')];
    const l = this.links.find((x) => x.name === iface);
    if (!l) return { code: 4, stderr: `ringbeat-announce: ${iface}: No such device\n` };
    if (!l.up) return { code: 4, stderr: 'ringbeat-announce: interface is down\n' };
    const have = l.addrs.find((x) => x.family === 4 && x.local === ip);
    if (have) return { lines: [`exists ip=${ip} prefix=${have.prefixlen} brd=${have.broadcast ?? '-'} label=${have.label ?? iface} dev=${iface} mono_ns=900000`, SENT] };
    if (this.addRefusal) return { code: 3, stderr: `ringbeat-announce: adding ${ip}/${prefix} to ${iface}: ${this.addRefusal}\n` };
    l.addrs.push({ family: 4, local: ip, prefixlen: Number(prefix), broadcast: brd, label: label ?? iface });
    return { lines: [`added ip=${ip} prefix=${prefix} brd=${brd ?? '-'} label=${label ?? iface} dev=${iface} mono_ns=900000`, SENT] };
  }

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
    if (argv[0] === TOOL.native) return this.tool(argv);
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

const CLASSIC: IpAgentOptions = { nativeAdd: false };

test('classic start: findif, first free label, computed broadcast; the announcer spawned before the (no-op) link up', async () => {
  const host = new FakeHost();
  host.links[1]!.addrs.push({ family: 4, local: '10.99.0.50', prefixlen: 24, label: 'eth0:0' });
  const { a, log } = agent(host, '10.99.0.100', CLASSIC);
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
  assert.equal(d.addVia, 'ip');
  assert.equal(d.ifSource, 'query');
  assert.equal(typeof d.addStartMs, 'number');
  assert.equal(typeof d.firstAnnounceMs, 'number');
});

test('classic start: everything given -> used as given; iface:label and announce settings honoured', async () => {
  const host = new FakeHost();
  const { a } = agent(host, '10.99.0.100/25/eth0:vip/10.99.0.127', { ...CLASSIC, announce: { count: 3, intervalMs: 100, mode: 'request' } });
  await a.start();
  assert.equal(host.runner.commands[1], 'ip -4 addr add 10.99.0.100/25 brd 10.99.0.127 dev eth0 label eth0:vip');
  assert.equal(host.runner.commands[2], '/rb/ringbeat-announce -i eth0 -4 10.99.0.100 -c 3 -w 100 -m request');
});

test('classic start: a down link is brought up BEFORE announcing', async () => {
  const host = new FakeHost();
  host.links[1]!.up = false;
  const { a } = agent(host, '10.99.0.100/24/eth0', CLASSIC);
  await a.start();
  assert.deepEqual(host.runner.commands.slice(1, 4), [
    'ip -4 addr add 10.99.0.100/24 brd 10.99.0.255 dev eth0 label eth0:0',
    'ip link set eth0 up',
    '/rb/ringbeat-announce -i eth0 -4 10.99.0.100 -c 5 -w 200 -m both',
  ]);
});

test('classic start when already present: no add, announce again (as IPaddr2)', async () => {
  const host = new FakeHost();
  host.links[1]!.addrs.push({ family: 4, local: '10.99.0.100', prefixlen: 24, label: 'eth0:0' });
  const { a } = agent(host, '10.99.0.100/24/eth0', CLASSIC);
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
  const { a: c } = agent(host, '10.99.0.100/24/eth0', CLASSIC);
  await assert.rejects(c.start(), /ip -4 addr add 10\.99\.0\.100\/24 brd 10\.99\.0\.255 dev eth0 label eth0:0: exit 2: RTNETLINK answers: Operation not permitted/);
});

test('an announcement failure does not fail start (address is up), but is logged and in detail()', async () => {
  const host = new FakeHost();
  host.runner.setHandler((argv) => (argv[0] === TOOL.native ? { code: 1, stderr: 'ringbeat-announce: packet socket (needs CAP_NET_RAW): Operation not permitted\n' } : host.answer(argv)));
  const { a, log } = agent(host, '10.99.0.100/24/eth0', CLASSIC);
  await a.start();
  assert.equal(await a.status(), 'running');
  assert.match(String(a.detail()!.announceError), /Operation not permitted/);
  assert.match(log.lines.join('\n'), /ERROR: .*could not announce 10\.99\.0\.100 on eth0/);
});

test('stop: deletes with the prefix the address really has, verifies, ends refresh; idempotent', async () => {
  const host = new FakeHost();
  const clock = new ManualClock();
  const { a } = agent(host, '10.99.0.100/24/eth0', { ...CLASSIC, announce: { refreshMs: 1000 } }, clock);
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
  const { a } = agent(host, '10.99.0.100/24/eth0', CLASSIC);
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

// ---------------------------------------------------------------------------
// Native IPv4 path: the snapshot plans, ringbeat-announce -a adds and announces

const TOOL_ADD = '/rb/ringbeat-announce -i eth0 -4 10.99.0.100 -a 24 -b 10.99.0.255';
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('native start: the snapshot taken at construction plans it; ONE spawn adds and announces, no query, no link-up', async () => {
  const host = new FakeHost();
  host.links[1]!.addrs.push({ family: 4, local: '10.99.0.50', prefixlen: 24, label: 'eth0:0' });
  const clock = new ManualClock();
  const { a, log } = agent(host, '10.99.0.100', {}, clock);
  await a.prepare();
  assert.deepEqual(host.runner.commands, ['ip -j addr show'], 'the snapshot query runs when the agent is built');
  clock.advance(5000);
  host.runner.calls.length = 0;
  await a.start();
  assert.deepEqual(host.runner.commands, [`${TOOL_ADD} -l eth0:1 -c 5 -w 200 -m both`]);
  assert.match(log.lines.join('\n'), /IPaddr2::10\.99\.0\.100: added 10\.99\.0\.100\/24 brd 10\.99\.0\.255 on eth0 \(eth0:1\) \(found via 10\.99\.0\.2\/24 on eth0\)/);
  const d = a.detail()!;
  assert.equal(d.ifSource, 'snapshot');
  assert.equal(d.snapshotAgeMs, 5000);
  assert.equal(d.addVia, 'tool');
  assert.equal(d.label, 'eth0:1');
  assert.equal(d.queryDoneMs, 5000);
  // monoNowMs() = 1 ms; `added` at mono 0.9 ms -> 0.1 ms ago; first ARP at mono 1 ms -> now
  assert.equal(d.addDoneMs, 5000 - 0.1);
  assert.equal(d.firstAnnounceMs, 5000);
  assert.equal(d.fallback, undefined);
  assert.equal(await a.status(), 'running');
});

test('native start right after construction waits for the snapshot query instead of running a second one', async () => {
  const host = new FakeHost();
  const { a } = agent(host, '10.99.0.100/24/eth0');
  await a.start();
  assert.deepEqual(host.runner.commands, ['ip -j addr show', `${TOOL_ADD} -l eth0:0 -c 5 -w 200 -m both`]);
  assert.equal(a.detail()!.ifSource, 'snapshot');
});

test('agents on one runner share the snapshot: one query, and the second address gets the next label', async () => {
  const host = new FakeHost();
  const clock = new ManualClock();
  const { a } = agent(host, '10.99.0.100/24/eth0', {}, clock);
  const p = parseIpSpec('10.99.0.101/24/eth0');
  assert.ok(p.ok);
  const b = new IpAgent('IPaddr2::10.99.0.101/24/eth0', p.spec, { runner: host.runner, clock, log: memoryLogger(), tool: TOOL, monoNowMs: () => 1 });
  await a.start();
  await b.start();
  assert.deepEqual(host.runner.commands, [
    'ip -j addr show',
    `${TOOL_ADD} -l eth0:0 -c 5 -w 200 -m both`,
    '/rb/ringbeat-announce -i eth0 -4 10.99.0.101 -a 24 -b 10.99.0.255 -l eth0:1 -c 5 -w 200 -m both',
  ]);
});

test('native start: a link the snapshot shows down is brought up before the tool runs', async () => {
  const host = new FakeHost();
  host.links[1]!.up = false;
  const { a } = agent(host, '10.99.0.100/24/eth0');
  await a.start();
  assert.deepEqual(host.runner.commands, ['ip -j addr show', 'ip link set eth0 up', `${TOOL_ADD} -l eth0:0 -c 5 -w 200 -m both`]);
});

test('stale snapshot: the interface was renamed -> the tool changes nothing (exit 4), fresh query, classic add on the new name', async () => {
  const host = new FakeHost();
  const { a, log } = agent(host, '10.99.0.100'); // no interface given: findif
  await a.prepare();
  host.links[1]!.name = 'lan0';
  host.links[1]!.addrs[0]!.label = 'lan0';
  host.runner.calls.length = 0;
  await a.start();
  assert.deepEqual(host.runner.commands, [
    `${TOOL_ADD} -l eth0:0 -c 5 -w 200 -m both`,
    'ip -j addr show',
    'ip -4 addr add 10.99.0.100/24 brd 10.99.0.255 dev lan0 label lan0:0',
    '/rb/ringbeat-announce -i lan0 -4 10.99.0.100 -c 5 -w 200 -m both',
    'ip link set lan0 up',
  ]);
  const d = a.detail()!;
  assert.equal(d.addVia, 'ip');
  assert.equal(d.iface, 'lan0');
  assert.match(String(d.fallback), /exit 4: ringbeat-announce: eth0: No such device/);
  assert.match(log.lines.join('\n'), /WARN: .*exit 4: ringbeat-announce: eth0: No such device; the interface snapshot was out of date, retrying with ip addr add/);
  assert.equal(await a.status(), 'running');
  // The fresh view replaced the stale one: the next start plans on lan0 straight away.
  await a.stop();
  host.runner.calls.length = 0;
  await a.start();
  assert.deepEqual(host.runner.commands, ['/rb/ringbeat-announce -i lan0 -4 10.99.0.100 -a 24 -b 10.99.0.255 -l lan0:0 -c 5 -w 200 -m both']);
});

test('stale snapshot: the configured interface did not exist then but does now -> fresh query, classic path', async () => {
  const host = new FakeHost();
  const eth1 = { name: 'eth1', up: true, addrs: [] as Addr[] };
  const { a } = agent(host, '10.98.0.1/24/eth1');
  await a.prepare();
  host.links.push(eth1);
  host.runner.calls.length = 0;
  await a.start();
  assert.equal(host.runner.commands[0], 'ip -j addr show');
  assert.equal(host.runner.commands[1], 'ip -4 addr add 10.98.0.1/24 brd 10.98.0.255 dev eth1 label eth1:0');
  assert.match(String(a.detail()!.fallback), /snapshot: interface eth1 does not exist/);
  // ... and with no such interface at all, start fails as before (after the fresh query).
  const { a: b } = agent(new FakeHost(), '10.98.0.1/24/eth7');
  await assert.rejects(b.start(), /start: interface eth7 does not exist/);
});

test('stale snapshot: the address appeared since -> the tool reports it `exists`, nothing added, announced again', async () => {
  const host = new FakeHost();
  const { a, log } = agent(host, '10.99.0.100/24/eth0');
  await a.prepare();
  host.links[1]!.addrs.push({ family: 4, local: '10.99.0.100', prefixlen: 32, label: 'eth0:x' });
  host.runner.calls.length = 0;
  await a.start();
  assert.equal(host.runner.calls.length, 1);
  const d = a.detail()!;
  assert.equal(d.alreadyPresent, 'true');
  assert.equal(d.addVia, 'tool');
  assert.equal(typeof d.firstAnnounceMs, 'number');
  assert.match(log.lines.join('\n'), /already on eth0 with \/32 \(configured \/24\); keeping it/);
  assert.equal(host.links[1]!.addrs.filter((x) => x.local === '10.99.0.100').length, 1);
});

test('the kernel refuses the add (exit 3) and a fresh query agrees with the snapshot -> start fails with the tool\'s message', async () => {
  const host = new FakeHost();
  host.addRefusal = 'Operation not permitted';
  const { a } = agent(host, '10.99.0.100/24/eth0');
  await a.prepare();
  host.runner.calls.length = 0;
  await assert.rejects(a.start(), (e: unknown) => {
    assert.ok(e instanceof ResourceError);
    assert.match(e.message, /^IPaddr2::10\.99\.0\.100\/24\/eth0: start: \/rb\/ringbeat-announce .* -a 24 .*: exit 3: ringbeat-announce: adding 10\.99\.0\.100\/24 to eth0: Operation not permitted$/);
    return true;
  });
  assert.deepEqual(host.runner.commands.slice(1), ['ip -j addr show'], 'no second attempt with ip addr add');
});

test('the add is refused (exit 3) but the picture changed since the snapshot -> classic path with the fresh view', async () => {
  const host = new FakeHost();
  const { a } = agent(host, '10.99.0.100/24/eth0');
  await a.prepare();
  host.links[1]!.addrs.push({ family: 4, local: '10.99.0.60', prefixlen: 24, label: 'eth0:0' }); // eth0:0 taken meanwhile
  host.runner.setHandler((argv) => (argv[0] === TOOL.native && argv.includes('-a') ? { code: 3, stderr: 'ringbeat-announce: adding: Invalid argument\n' } : host.answer(argv)));
  host.runner.calls.length = 0;
  await a.start();
  assert.deepEqual(host.runner.commands.slice(1, 3), ['ip -j addr show', 'ip -4 addr add 10.99.0.100/24 brd 10.99.0.255 dev eth0 label eth0:1']);
  assert.equal(a.detail()!.addVia, 'ip');
});

test('native start: the tool cannot run at all -> classic add; the announcement failure is logged, start succeeds', async () => {
  const host = new FakeHost();
  host.runner.setHandler((argv) => (argv[0] === TOOL.native ? { code: 1, stderr: 'ringbeat-announce: packet socket (needs CAP_NET_RAW): Operation not permitted\n' } : host.answer(argv)));
  const { a, log } = agent(host, '10.99.0.100/24/eth0');
  await a.start();
  assert.equal(await a.status(), 'running');
  assert.ok(host.runner.commands.includes('ip -4 addr add 10.99.0.100/24 brd 10.99.0.255 dev eth0 label eth0:0'));
  assert.match(String(a.detail()!.announceError), /Operation not permitted/);
  assert.match(log.lines.join('\n'), /ERROR: .*could not announce 10\.99\.0\.100 on eth0/);
  assert.match(log.lines.join('\n'), /WARN: .*exit 1: ringbeat-announce: packet socket .*; retrying with ip addr add/);
  assert.doesNotMatch(log.lines.join('\n'), /snapshot was out of date/, 'the snapshot was right: not blamed');
});

test('snapshot: false queries at every start (the tool still adds)', async () => {
  const host = new FakeHost();
  const { a } = agent(host, '10.99.0.100/24/eth0', { snapshot: false });
  assert.equal(host.runner.calls.length, 0, 'nothing runs at construction');
  await a.start();
  assert.deepEqual(host.runner.commands, ['ip -j addr show', `${TOOL_ADD} -l eth0:0 -c 5 -w 200 -m both`]);
  assert.equal(a.detail()!.ifSource, 'query');
});

test('the snapshot is refreshed in the background and adopts what stop/status queried; a query older than our add is not adopted', async () => {
  const host = new FakeHost();
  const clock = new ManualClock();
  const { a } = agent(host, '10.99.0.100/24/eth0', { snapshotRefreshMs: 30_000 }, clock);
  await a.prepare();
  host.runner.calls.length = 0;
  clock.advance(30_000);
  await tick();
  assert.deepEqual(host.runner.commands, ['ip -j addr show'], 'periodic refresh');
  clock.advance(1000);
  await a.status();
  clock.advance(2000);
  await a.start();
  assert.equal(a.detail()!.snapshotAgeMs, 2000, 'status() refreshed the snapshot');

  // A snapshot query running while we add must not make us forget the address.
  const snap = new IfSnapshot(async () => JSON.parse(JSON.stringify([{ name: 'eth0', index: 2, up: true, addrs: [] }])), clock);
  await snap.refresh();
  const running = snap.refresh();
  snap.noteAdded('eth0', { family: 4, address: '10.0.0.9', prefixLen: 24, label: 'eth0:0' });
  await running;
  assert.deepEqual(snap.peek()!.ifs[0]!.addrs.map((x) => x.label), ['eth0:0']);
  snap.close();
});

test('IPv6 and the fallback senders keep the classic path (no snapshot, no -a)', async () => {
  const host = new FakeHost();
  const { a } = agent(host, 'fd00:99::100/64/eth0', { dad: false });
  assert.equal(host.runner.calls.length, 0, 'no snapshot query for IPv6');
  await a.start();
  assert.deepEqual(host.runner.commands.slice(0, 2), ['ip -j addr show', 'ip -6 addr add fd00:99::100/64 dev eth0 nodad']);
  assert.ok(!host.runner.commands.some((c) => c.includes(' -a ')));

  const h2 = new FakeHost();
  const p = parseIpSpec('10.99.0.100/24/eth0');
  assert.ok(p.ok);
  const fallbackTool: AnnounceTool = { arping: '/usr/sbin/arping', searched: ['/x'] };
  const b = new IpAgent('IPaddr2::10.99.0.100/24/eth0', p.spec, { runner: h2.runner, clock: new ManualClock(), log: memoryLogger(), tool: fallbackTool });
  h2.runner.setHandler((argv) => (argv[0] === '/usr/sbin/arping' ? { code: 0 } : h2.answer(argv)));
  await b.start();
  assert.deepEqual(h2.runner.commands.slice(0, 2), ['ip -j addr show', 'ip -4 addr add 10.99.0.100/24 brd 10.99.0.255 dev eth0 label eth0:0']);
});
