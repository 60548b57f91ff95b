import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ManualClock } from '../core/clock';
import { memoryLogger } from '../core/log';
import { announceToolCandidates, locateAnnounceTool } from './announce-tool';
import { checkTools, toolNeeds } from './check-tools';
import { createAgent, isIpAgent } from './create-agent';
import { parseHaresources } from './haresources-parse';
import { IpAgent } from './ip-agent';
import { ScriptAgent } from './script-agent';
import { heartbeatScriptEnv } from './script-env';
import { FakeRunner } from './testing/fake-runner';

const groups = (text: string) => parseHaresources(text, { file: 'h', nodes: ['a', 'b'] }).groups;

test('toolNeeds: families of the IP resources', () => {
  assert.deepEqual(toolNeeds(groups('a 10.0.0.1 httpd\n')), { ipv4: true, ipv6: false });
  assert.deepEqual(toolNeeds(groups('a IPaddr2::fd00::1/64/eth0\nb httpd\n')), { ipv4: false, ipv6: true });
  assert.deepEqual(toolNeeds(groups('a httpd\n')), { ipv4: false, ipv6: false });
});

test('checkTools: missing commands name the Debian package', async () => {
  const none = await checkTools({ ipv4: true, ipv6: true }, { tool: { searched: ['/d/native/ringbeat-announce'] }, findCommand: () => undefined });
  assert.equal(none.ok, false);
  assert.deepEqual(none.errors, [
    'ip not found (adds and removes the service addresses): apt-get install iproute2',
    'arping not found (gratuitous ARP without ringbeat-announce): apt-get install iputils-arping',
    'send_ua not found (unsolicited neighbour advertisements without ringbeat-announce): apt-get install resource-agents',
  ]);
  assert.match(none.warnings[0]!, /ringbeat-announce not found \(searched \/d\/native\/ringbeat-announce\)/);
});

test('checkTools: native tool found -> no fallbacks needed; nothing needed -> ok', async () => {
  const r = await checkTools({ ipv4: true, ipv6: true }, { tool: { native: '/d/ringbeat-announce', searched: [] }, findCommand: (c) => `/usr/sbin/${c}` });
  assert.deepEqual(r, { ok: true, errors: [], warnings: [], found: { ip: '/usr/sbin/ip', 'ringbeat-announce': '/d/ringbeat-announce' } });
  assert.equal((await checkTools({ ipv4: false, ipv6: false }, { tool: { searched: [] }, findCommand: () => undefined })).ok, true);
});

test('checkTools: fallback in use is a warning; a non-iputils arping is an error', async () => {
  const tool = { arping: '/usr/sbin/arping', sendUa: '/usr/libexec/heartbeat/send_ua', searched: ['/x'] };
  const good = await checkTools({ ipv4: true, ipv6: true, ipv6Router: true }, {
    tool, findCommand: (c) => `/usr/sbin/${c}`, runner: new FakeRunner(() => ({ stdout: 'arping from iputils 20221126\n' })),
  });
  assert.equal(good.ok, true);
  assert.match(good.warnings.join('\n'), /send_ua cannot set the Router flag/);
  assert.match(good.warnings.join('\n'), /announcing with \/usr\/sbin\/arping and \/usr\/libexec\/heartbeat\/send_ua/);
  const bad = await checkTools({ ipv4: true, ipv6: false }, {
    tool, findCommand: (c) => `/usr/sbin/${c}`, runner: new FakeRunner(() => ({ stdout: 'ARPing 2.21, by Thomas Habets\n' })),
  });
  assert.deepEqual(bad.errors, ["/usr/sbin/arping is not iputils' arping (needs -U/-A): apt-get install iputils-arping"]);
});

test('announce tool search order: $RINGBEAT_ANNOUNCE, beside the program, the installed lib dir, the build output', () => {
  // The code's own directory counts too (it is dist/ when bundled); here: this source directory.
  const own = join(__dirname, 'native', 'ringbeat-announce');
  assert.deepEqual(announceToolCandidates({ env: {}, programPath: '/opt/rb/dist/ringbeat.cjs', repoRoot: '/src/rb' }), [
    '/opt/rb/dist/native/ringbeat-announce',
    '/opt/rb/lib/ringbeat/native/ringbeat-announce',
    own,
    '/src/rb/dist/native/ringbeat-announce',
  ]);
  assert.deepEqual(announceToolCandidates({ env: { RINGBEAT_ANNOUNCE: '/t/a' }, programPath: '/usr/sbin/ringbeat', repoRoot: '/src/rb' }), [
    '/t/a',
    '/usr/sbin/native/ringbeat-announce',
    '/usr/lib/ringbeat/native/ringbeat-announce',
    own,
    '/src/rb/dist/native/ringbeat-announce',
  ]);
  const found = locateAnnounceTool({ env: { PATH: '/usr/sbin' }, programPath: '/opt/rb/dist/ringbeat.cjs', repoRoot: '/src/rb', isExecutable: (p) => p === '/src/rb/dist/native/ringbeat-announce' || p === '/usr/sbin/arping' });
  assert.equal(found.native, '/src/rb/dist/native/ringbeat-announce');
  assert.equal(found.arping, '/usr/sbin/arping');
  assert.equal(found.sendUa, undefined);
  // An explicit $RINGBEAT_ANNOUNCE that does not exist does not fall through to other builds.
  const explicit = locateAnnounceTool({ env: { RINGBEAT_ANNOUNCE: '/t/missing' }, programPath: '/opt/rb/dist/x', repoRoot: '/src/rb', isExecutable: (p) => p !== '/t/missing' });
  assert.equal(explicit.native, undefined);
  assert.deepEqual(explicit.searched, ['/t/missing']);
});

test('createAgent: IPaddr and IPaddr2 in-process, everything else a script', () => {
  const g = groups('a IPaddr2::fd00::100/64/eth0 10.0.0.1 IPaddr::10.0.0.2/24 Delay::1::0\n')[0]!;
  const deps = {
    runner: new FakeRunner(), clock: new ManualClock(), log: memoryLogger(),
    announceTool: { searched: [] },
    script: { searchPath: ['/etc/ha.d/resource.d'], env: {} },
  };
  const agents = g.resources.map((r) => createAgent(r, deps));
  assert.deepEqual(agents.map((a) => a.constructor.name), ['IpAgent', 'IpAgent', 'IpAgent', 'ScriptAgent']);
  assert.equal((agents[0] as IpAgent).spec.address, 'fd00::100');
  assert.equal((agents[1] as IpAgent).id, '10.0.0.1');
  assert.ok(agents[3] instanceof ScriptAgent);
  assert.equal(agents[3]!.id, 'Delay::1::0');
  assert.equal(isIpAgent('IPaddr2'), true);
  assert.equal(isIpAgent('ipaddr2'), false);
  assert.throws(() => createAgent({ raw: 'IPaddr::nope', agent: 'IPaddr', args: ['nope'], at: { file: 'h', line: 1 } }, deps), /IPaddr::nope: 'nope' is not an IPv4 or IPv6 address/);
});

test('heartbeatScriptEnv: HA_FUNCS falls back to the system shellfuncs; node knobs removed', () => {
  const env = heartbeatScriptEnv({
    configDir: '/srv/lab/ha.d', localNode: 'nodeb',
    base: { PATH: '/usr/bin', NODE_OPTIONS: '--x', LC_ALL: 'fr_FR', HOME: '/root' },
    exists: (p) => p === '/etc/ha.d/shellfuncs',
  });
  assert.equal(env.HA_FUNCS, '/etc/ha.d/shellfuncs');
  assert.equal(env.HA_DIR, '/srv/lab/ha.d');
  assert.equal(env.HA_CURHOST, 'nodeb');
  assert.equal(env.HA_RSCTMP, '/run/resource-agents');
  assert.equal(env.HA_NICEFAILBACK, 'no');
  assert.equal(env.NODE_OPTIONS, undefined);
  assert.equal(env.LC_ALL, undefined);
  assert.equal(env.HOME, '/root');
  assert.equal(env.HA_LOGFILE, undefined);
  assert.equal(env.PATH, '/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/bin');
  const own = heartbeatScriptEnv({ configDir: '/c', localNode: 'x', base: {}, exists: () => true, log: { facility: 'local7', debugfile: '/d', debugLevel: 2 } });
  assert.equal(own.HA_FUNCS, '/c/shellfuncs');
  assert.equal(own.HA_LOGFACILITY, 'local7');
  assert.equal(own.HA_DEBUGLOG, '/d');
  assert.equal(own.HA_DEBUG, '2');
});
