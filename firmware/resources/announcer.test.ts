import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/clock';
import { memoryLogger } from '../core/log';
import { AddFailed, Announcer, DEFAULT_ANNOUNCE, fallbackShots, nativeArgv, parseAddLine, parseSentLine, type AnnounceTarget } from './announcer';
import type { AnnounceTool } from './announce-tool';
import { FakeRunner } from './testing/fake-runner';

const V4: AnnounceTarget = { family: 4, address: '10.99.0.100', iface: 'eth0', prefixLen: 24 };
const V6: AnnounceTarget = { family: 6, address: 'fd00:99::100', iface: 'eth0', prefixLen: 64 };
const NATIVE: AnnounceTool = { native: '/opt/rb/native/ringbeat-announce', arping: '/usr/sbin/arping', sendUa: '/usr/libexec/heartbeat/send_ua', searched: ['/opt/rb/native/ringbeat-announce'] };
const FALLBACK: AnnounceTool = { arping: '/usr/sbin/arping', sendUa: '/usr/libexec/heartbeat/send_ua', searched: ['/x/ringbeat-announce'] };
const sent = (seq: number, kind: string, monoNs: bigint): string =>
  `sent seq=${seq} kind=${kind} ip=10.99.0.100 dev=eth0 mac=02:00:00:00:00:01 mono_ns=${monoNs}`;

test('defaults are IPaddr2\'s: 5 announcements 200 ms apart, both ARP forms, no refresh', () => {
  assert.deepEqual(DEFAULT_ANNOUNCE, { count: 5, intervalMs: 200, mode: 'both', router: false, refreshMs: 0, refreshCount: 1 });
});

test('native tool argv: IPv4 with mode, IPv6 with router flag', () => {
  assert.deepEqual(nativeArgv('/t', V4, DEFAULT_ANNOUNCE), ['/t', '-i', 'eth0', '-4', '10.99.0.100', '-c', '5', '-w', '200', '-m', 'both']);
  assert.deepEqual(nativeArgv('/t', V4, { ...DEFAULT_ANNOUNCE, mode: 'reply', count: 3, intervalMs: 50 }), [
    '/t', '-i', 'eth0', '-4', '10.99.0.100', '-c', '3', '-w', '50', '-m', 'reply',
  ]);
  assert.deepEqual(nativeArgv('/t', V6, { ...DEFAULT_ANNOUNCE, router: true }), ['/t', '-i', 'eth0', '-6', 'fd00:99::100', '-c', '5', '-w', '200', '-R']);
  assert.deepEqual(nativeArgv('/t', V6, DEFAULT_ANNOUNCE), ['/t', '-i', 'eth0', '-6', 'fd00:99::100', '-c', '5', '-w', '200']);
});

test('fallback: one arping -c 1 per ARP on our schedule (-U request, -A reply); send_ua repeats itself', () => {
  const shots = fallbackShots(FALLBACK, V4, { ...DEFAULT_ANNOUNCE, count: 2 });
  assert.deepEqual(shots, [
    { atMs: 0, argv: ['/usr/sbin/arping', '-q', '-U', '-c', '1', '-I', 'eth0', '10.99.0.100'] },
    { atMs: 100, argv: ['/usr/sbin/arping', '-q', '-A', '-c', '1', '-I', 'eth0', '10.99.0.100'] },
    { atMs: 200, argv: ['/usr/sbin/arping', '-q', '-U', '-c', '1', '-I', 'eth0', '10.99.0.100'] },
    { atMs: 300, argv: ['/usr/sbin/arping', '-q', '-A', '-c', '1', '-I', 'eth0', '10.99.0.100'] },
  ]);
  assert.deepEqual(fallbackShots(FALLBACK, V4, { ...DEFAULT_ANNOUNCE, mode: 'request', count: 2 }).map((x) => [x.atMs, x.argv[2]]), [[0, '-U'], [200, '-U']]);
  assert.deepEqual(fallbackShots(FALLBACK, V4, { ...DEFAULT_ANNOUNCE, mode: 'reply', count: 2 }).map((x) => [x.atMs, x.argv[2]]), [[0, '-A'], [200, '-A']]);
  assert.deepEqual(fallbackShots(FALLBACK, V6, DEFAULT_ANNOUNCE), [
    { atMs: 0, argv: ['/usr/libexec/heartbeat/send_ua', '-i', '200', '-c', '5', 'fd00:99::100', '64', 'eth0'] },
  ]);
  assert.deepEqual(fallbackShots({ searched: [] }, V4, DEFAULT_ANNOUNCE), []);
});

test('parseSentLine', () => {
  assert.deepEqual(parseSentLine(sent(1, 'arp-request', 1234567890123n)), { seq: 1, kind: 'arp-request', monoMs: 1234567.89 }); // µs precision
  assert.equal(parseSentLine('ringbeat-announce: sendto: Network is down'), undefined);
});

test('announce() resolves at the first packet, mapped onto the injected clock; the burst goes on', async () => {
  const clock = new ManualClock();
  clock.advance(1000); // clock.now() = 1000
  const runner = new FakeRunner(() => ({ lines: [sent(1, 'arp-request', 5_000_000_000n), sent(2, 'arp-reply', 5_100_000_000n)], hang: true }));
  // tool clock: first packet at mono 5000 ms; now (mono) = 5002 ms -> 2 ms ago on our clock
  const a = new Announcer({ runner, clock, log: memoryLogger(), tool: NATIVE, monoNowMs: () => 5002 });
  const rep = await a.announce(V4, DEFAULT_ANNOUNCE);
  assert.equal(rep.via, 'native');
  assert.equal(rep.firstSentMs, 998);
  assert.equal(a.activeSenders, 1);
  await new Promise((r) => setImmediate(r));
  assert.equal(a.sentPackets, 2);
  a.stop();
  assert.equal(runner.calls[0]!.killed, 'SIGTERM');
});

test('announce() rejects when the tool fails before sending (stderr in the message)', async () => {
  const runner = new FakeRunner(() => ({ code: 1, stderr: 'ringbeat-announce: interface is down\n' }));
  const a = new Announcer({ runner, clock: new ManualClock(), log: memoryLogger(), tool: NATIVE });
  await assert.rejects(a.announce(V4, DEFAULT_ANNOUNCE), /exit 1: ringbeat-announce: interface is down/);
});

test('announce() gives up when nothing is sent in time', async () => {
  const clock = new ManualClock();
  const runner = new FakeRunner(() => ({ hang: true }));
  const a = new Announcer({ runner, clock, log: memoryLogger(), tool: NATIVE, firstPacketTimeoutMs: 500 });
  const p = a.announce(V4, DEFAULT_ANNOUNCE);
  clock.advance(500);
  await assert.rejects(p, /sent nothing within 500 ms/);
  assert.equal(runner.calls[0]!.killed, 'SIGKILL');
});

test('fallback: the first arping at once, the rest on the injected clock; logged once; stop() cancels the rest', async () => {
  const log = memoryLogger();
  const runner = new FakeRunner();
  const clock = new ManualClock();
  const a = new Announcer({ runner, clock, log, tool: FALLBACK });
  assert.deepEqual(await a.announce(V4, DEFAULT_ANNOUNCE), { via: 'arping' });
  assert.deepEqual(runner.commands, ['/usr/sbin/arping -q -U -c 1 -I eth0 10.99.0.100']);
  clock.advance(100);
  assert.equal(runner.commands[1], '/usr/sbin/arping -q -A -c 1 -I eth0 10.99.0.100');
  clock.advance(200); // t = 300 ms: request at 200, reply at 300
  assert.equal(runner.calls.length, 4);
  a.stop();
  clock.advance(10_000);
  assert.equal(runner.calls.length, 4, 'no shots after stop()');
  await a.announce(V4, DEFAULT_ANNOUNCE);
  assert.equal(log.lines.filter((l) => /ringbeat-announce not found \(searched \/x\/ringbeat-announce\); announcing with \/usr\/sbin\/arping/.test(l)).length, 1);
  const log6 = memoryLogger();
  const a6 = new Announcer({ runner: new FakeRunner(), clock: new ManualClock(), log: log6, tool: FALLBACK });
  assert.deepEqual(await a6.announce(V6, { ...DEFAULT_ANNOUNCE, router: true }), { via: 'send_ua' });
  assert.match(log6.lines.join('\n'), /send_ua cannot set the Router flag/);
});

test('no sender at all: rejects naming the package', async () => {
  const a = new Announcer({ runner: new FakeRunner(), clock: new ManualClock(), log: memoryLogger(), tool: { searched: ['/a'] } });
  await assert.rejects(a.announce(V4, DEFAULT_ANNOUNCE), /apt-get install iputils-arping/);
  await assert.rejects(a.announce(V6, DEFAULT_ANNOUNCE), /apt-get install resource-agents/);
});

test('refresh: one short burst every refreshMs on the injected clock, none stacked, stop() ends it', async () => {
  const clock = new ManualClock();
  let hang = false;
  const runner = new FakeRunner(() => ({ lines: [sent(1, 'arp-request', 1n)], hang }));
  const a = new Announcer({ runner, clock, log: memoryLogger(), tool: NATIVE });
  a.startRefresh(V4, { ...DEFAULT_ANNOUNCE, refreshMs: 10_000, refreshCount: 2 });
  assert.equal(a.refreshing, true);
  clock.advance(9_999);
  assert.equal(runner.calls.length, 0);
  clock.advance(1);
  assert.equal(runner.calls.length, 1);
  assert.deepEqual(runner.calls[0]!.argv.slice(5, 9), ['-c', '2', '-w', '200']);
  await new Promise((r) => setImmediate(r));
  hang = true;
  clock.advance(10_000);
  assert.equal(runner.calls.length, 2);
  await new Promise((r) => setImmediate(r));
  clock.advance(10_000); // the previous refresh still runs: skipped
  assert.equal(runner.calls.length, 2);
  a.stop();
  assert.equal(a.refreshing, false);
  assert.equal(runner.calls[1]!.killed, 'SIGTERM');
  await new Promise((r) => setImmediate(r));
  clock.advance(50_000);
  assert.equal(runner.calls.length, 2);
});

test('refreshMs 0 = off', () => {
  const clock = new ManualClock();
  const runner = new FakeRunner();
  const a = new Announcer({ runner, clock, log: memoryLogger(), tool: NATIVE });
  a.startRefresh(V4, DEFAULT_ANNOUNCE);
  clock.advance(1_000_000);
  assert.equal(runner.calls.length, 0);
  assert.equal(a.refreshing, false);
});

// ---------------------------------------------------------------------------
// addAndAnnounce: ringbeat-announce -a adds the IPv4 address, then announces

const added = (outcome: 'added' | 'exists', monoNs: bigint, prefix = 24, label = 'eth0:0'): string =>
  `${outcome} ip=10.99.0.100 prefix=${prefix} brd=10.99.0.255 label=${label} dev=eth0 mono_ns=${monoNs}`;

test('native argv with an address to add: -a PREFIX [-b BRD] [-l LABEL] before the burst options; IPv4 only', () => {
  assert.deepEqual(nativeArgv('/t', V4, DEFAULT_ANNOUNCE, { prefixLen: 24, broadcast: '10.99.0.255', label: 'eth0:0' }), [
    '/t', '-i', 'eth0', '-4', '10.99.0.100', '-a', '24', '-b', '10.99.0.255', '-l', 'eth0:0', '-c', '5', '-w', '200', '-m', 'both',
  ]);
  assert.deepEqual(nativeArgv('/t', V4, DEFAULT_ANNOUNCE, { prefixLen: 32 }), ['/t', '-i', 'eth0', '-4', '10.99.0.100', '-a', '32', '-c', '5', '-w', '200', '-m', 'both']);
  assert.throws(() => nativeArgv('/t', V6, DEFAULT_ANNOUNCE, { prefixLen: 64 }), /IPv4 addresses only/);
});

test('parseAddLine: added / exists, "-" = none, µs precision', () => {
  assert.deepEqual(parseAddLine(added('added', 1234567890123n)), {
    outcome: 'added', ip: '10.99.0.100', prefixLen: 24, broadcast: '10.99.0.255', label: 'eth0:0', monoMs: 1234567.89,
  });
  assert.deepEqual(parseAddLine('exists ip=10.99.0.100 prefix=32 brd=- label=eth0 dev=eth0 mono_ns=5000000'), {
    outcome: 'exists', ip: '10.99.0.100', prefixLen: 32, broadcast: undefined, label: 'eth0', monoMs: 5,
  });
  assert.equal(parseAddLine(sent(1, 'arp-request', 1n)), undefined);
  assert.equal(parseAddLine('ringbeat-announce: adding 10.99.0.100/24 to eth0: File exists'), undefined);
});

test('addAndAnnounce: one spawn; `added` then the first packet, both mapped onto the injected clock', async () => {
  const clock = new ManualClock();
  clock.advance(1000);
  const runner = new FakeRunner(() => ({ lines: [added('added', 4_999_000_000n), sent(1, 'arp-request', 5_000_000_000n)], hang: true }));
  const a = new Announcer({ runner, clock, log: memoryLogger(), tool: NATIVE, monoNowMs: () => 5002 });
  const r = a.addAndAnnounce(V4, DEFAULT_ANNOUNCE, { prefixLen: 24, broadcast: '10.99.0.255', label: 'eth0:0' });
  assert.deepEqual(await r.added, { outcome: 'added', atMs: 997, prefixLen: 24, broadcast: '10.99.0.255', label: 'eth0:0' });
  assert.deepEqual(await r.first, { via: 'native', firstSentMs: 998 });
  assert.equal(runner.calls.length, 1);
  assert.deepEqual(runner.calls[0]!.argv.slice(5, 11), ['-a', '24', '-b', '10.99.0.255', '-l', 'eth0:0']);
  assert.equal(a.activeSenders, 1, 'the burst goes on');
  a.stop();
});

test('addAndAnnounce: `exists` is a success with what the interface has', async () => {
  const runner = new FakeRunner(() => ({ lines: [added('exists', 1_000_000n, 32, 'eth0'), sent(1, 'arp-request', 2_000_000n)] }));
  const a = new Announcer({ runner, clock: new ManualClock(), log: memoryLogger(), tool: NATIVE, monoNowMs: () => 2 });
  const r = a.addAndAnnounce(V4, DEFAULT_ANNOUNCE, { prefixLen: 24 });
  const rep = await r.added;
  assert.equal(rep.outcome, 'exists');
  assert.equal(rep.prefixLen, 32);
  assert.equal(rep.label, 'eth0');
  await r.first;
});

test('addAndAnnounce: the tool ends before `added` -> AddFailed by exit code (3 add, 4 interface, else other); both stages reject', async () => {
  const cases: [number | null, string, AddFailed['kind']][] = [
    [3, 'ringbeat-announce: adding 10.99.0.100/24 to eth0: Operation not permitted', 'add'],
    [4, 'ringbeat-announce: eth0: No such device', 'interface'],
    [1, 'ringbeat-announce: packet socket (needs CAP_NET_RAW): Operation not permitted', 'other'],
    [0, '', 'other'],
  ];
  for (const [code, stderr, kind] of cases) {
    const runner = new FakeRunner(() => ({ code, stderr: stderr ? `${stderr}\n` : '' }));
    const a = new Announcer({ runner, clock: new ManualClock(), log: memoryLogger(), tool: NATIVE });
    const r = a.addAndAnnounce(V4, DEFAULT_ANNOUNCE, { prefixLen: 24 });
    await assert.rejects(r.added, (e: unknown) => {
      assert.ok(e instanceof AddFailed, String(e));
      assert.equal(e.kind, kind);
      assert.equal(e.code, code);
      if (stderr) assert.ok(e.message.endsWith(`exit ${code}: ${stderr}`), e.message);
      else assert.match(e.message, /exited without adding/);
      return true;
    });
    await assert.rejects(r.first, AddFailed);
  }
});

test('addAndAnnounce: a failure after `added` rejects only the first packet, as a plain error (the address is up)', async () => {
  const runner = new FakeRunner(() => ({ lines: [added('added', 1n)], code: 1, stderr: 'ringbeat-announce: sendto (ARP): Network is down\n' }));
  const a = new Announcer({ runner, clock: new ManualClock(), log: memoryLogger(), tool: NATIVE, monoNowMs: () => 0 });
  const r = a.addAndAnnounce(V4, DEFAULT_ANNOUNCE, { prefixLen: 24 });
  assert.equal((await r.added).outcome, 'added');
  await assert.rejects(r.first, (e: unknown) => !(e instanceof AddFailed) && /Network is down/.test(String(e)));
});

test('addAndAnnounce: nothing at all within the first-packet limit -> killed, AddFailed (other)', async () => {
  const clock = new ManualClock();
  const runner = new FakeRunner(() => ({ hang: true }));
  const a = new Announcer({ runner, clock, log: memoryLogger(), tool: NATIVE, firstPacketTimeoutMs: 300 });
  const r = a.addAndAnnounce(V4, DEFAULT_ANNOUNCE, { prefixLen: 24 });
  clock.advance(300);
  await assert.rejects(r.added, (e: unknown) => e instanceof AddFailed && e.kind === 'other' && /sent nothing within 300 ms/.test(e.message));
  assert.equal(runner.calls[0]!.killed, 'SIGKILL');
});

test('addAndAnnounce needs the native tool and IPv4', () => {
  const a = new Announcer({ runner: new FakeRunner(), clock: new ManualClock(), log: memoryLogger(), tool: FALLBACK });
  assert.throws(() => a.addAndAnnounce(V4, DEFAULT_ANNOUNCE, { prefixLen: 24 }), /needs the native tool/);
  const b = new Announcer({ runner: new FakeRunner(), clock: new ManualClock(), log: memoryLogger(), tool: NATIVE });
  assert.throws(() => b.addAndAnnounce(V6, DEFAULT_ANNOUNCE, { prefixLen: 64 }), /needs the native tool and an IPv4 address/);
});
