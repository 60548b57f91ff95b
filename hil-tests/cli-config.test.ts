// The built program's command line against bad configurations: every error
// case prints file:line (or the file) and exits non-zero, for `check` and for
// `run` (which must refuse to start); a valid configuration passes. Runs the
// real binary in a scratch directory; no namespaces needed.

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { run, testScope } from './lib/procs';
import { ringbeatCommand } from './lib/ringbeat-node';
import { makeTmpDir } from './lib/tmp';

const VALID = `# a valid two-node configuration
logfile /dev/null
keepalive 200ms
deadtime 2
warntime 1
initdead 10
udpport 694
baud 19200
serial /dev/ttyS0
bcast eth0
ucast eth0 10.99.0.2
mcast eth0 239.0.0.43 694 1 0
auto_failback off
node nodea
node nodeb
crm no
`;
const AUTH = 'auth 1\n1 sha1 SomeKey\n';

/** [name, ha.cf, authkeys, expected stderr pattern] */
const CASES: [string, string, string, RegExp][] = [
  ['unsupported directive', VALID + 'watchdog /dev/watchdog\n', AUTH, /ha\.cf:17: unsupported directive 'watchdog'/],
  ['unknown directive', VALID + 'keepalvie 1\n', AUTH, /ha\.cf:17: unknown directive 'keepalvie'/],
  ['bad time', VALID.replace('keepalive 200ms', 'keepalive 1x'), AUTH, /ha\.cf:3: keepalive: '1x'/],
  ['deadtime too small', VALID.replace('deadtime 2', 'deadtime 300ms'), AUTH, /ha\.cf:4: .*deadtime .*2 x keepalive/],
  ['initdead below deadtime', VALID.replace('initdead 10', 'initdead 1'), AUTH, /ha\.cf:6: .*initdead/],
  ['bad baud', VALID.replace('baud 19200', 'baud 12345'), AUTH, /ha\.cf:8: baud/],
  ['bad mcast group', VALID.replace('239.0.0.43', '10.0.0.1'), AUTH, /ha\.cf:12: mcast/],
  ['local node missing', VALID.replace('node nodea\n', ''), AUTH, /nodea/],
  ['duplicate keepalive', VALID + 'keepalive 1\n', AUTH, /ha\.cf:17: keepalive is set twice \(lines 3 and 17\)/],
  ['pacemaker mode', VALID.replace('crm no', 'crm yes'), AUTH, /ha\.cf:16: .*Pacemaker/],
  ['no media', VALID.replace(/^(serial|bcast|ucast|mcast) .*\n/gm, ''), AUTH, /ha\.cf.*(medi|media)/i],
  ['authkeys: unknown method', VALID, 'auth 1\n1 sha512 k\n', /authkeys:2: /],
  ['authkeys: auth names a missing key', VALID, 'auth 2\n1 sha1 k\n', /authkeys:1: /],
  ['authkeys: md5 without key', VALID, 'auth 1\n1 md5\n', /authkeys:2: /],
];

function writeConf(dir: string, hacf: string, auth: string, authMode = 0o600): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'ha.cf'), hacf);
  writeFileSync(path.join(dir, 'authkeys'), auth);
  chmodSync(path.join(dir, 'authkeys'), authMode);
  writeFileSync(path.join(dir, 'nodeinfo'), 'nodea\n');
}

test('ringbeat check / run: every config error names file:line and exits non-zero; a valid config passes', { timeout: 120_000 }, async (t) => {
  const scope = testScope(t);
  const dir = makeTmpDir(scope, 'cli-config');
  const rb = ringbeatCommand();

  const ok = path.join(dir, 'valid');
  writeConf(ok, VALID, AUTH);
  const good = await run([...rb, 'check', '-c', ok]);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /configuration OK/);
  const printed = await run([...rb, 'check', '--print', '-c', ok]);
  assert.equal(printed.code, 0);
  assert.match(printed.stdout, /^keepalive 200ms/m);
  assert.doesNotMatch(printed.stdout, /SomeKey/, 'keys are masked');

  for (const [name, hacf, auth, want] of CASES) {
    const d = path.join(dir, name.replace(/\W+/g, '-'));
    writeConf(d, hacf, auth);
    for (const sub of ['check', 'run']) {
      const r = await run([...rb, sub, '-c', d, '--state-dir', path.join(d, 'state'), '--run-dir', path.join(d, 'run')], { timeoutMs: 15_000 });
      assert.notEqual(r.code, 0, `${name}: ${sub} must fail`);
      assert.match(r.stderr, want, `${name}: ${sub} stderr:\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(ha\\.cf|authkeys)`), `${name}: names the file`);
    }
  }

  // authkeys readable by group/others: refuse, naming the file and the fix.
  const loose = path.join(dir, 'loose');
  writeConf(loose, VALID, AUTH, 0o644);
  const r = await run([...rb, 'run', '-c', loose, '--state-dir', path.join(loose, 'state'), '--run-dir', path.join(loose, 'run')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${loose}/authkeys.*chmod 600 ${loose}/authkeys`));

  // Missing config directory, usage errors, status without a daemon.
  const missing = await run([...rb, 'check', '-c', path.join(dir, 'nope')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /nope\/ha\.cf/);
  const usage = await run([...rb, 'status', '--frobnicate']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /unknown option '--frobnicate'/);
  const nodaemon = await run([...rb, 'status', '-c', ok, '--run-dir', path.join(dir, 'norun')]);
  assert.equal(nodaemon.code, 1);
  assert.match(nodaemon.stderr, /ringbeat is not running/);
});
