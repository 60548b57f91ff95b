#!/usr/bin/env node
// Test entry point used by `npm test` and CI. Finds test files and runs them
// with Node's own test runner (TypeScript through tsx), so the summary line
// (`# pass N`, `# fail N`) is the one CI reads and any failure exits non-zero.
//
//   node scripts/run-tests.mjs unit      unit tests beside the code (firmware/, board/, scripts/)
//   node scripts/run-tests.mjs hil       hardware-in-loop tests (hil-tests/, needs root)
//   node scripts/run-tests.mjs all       both (default)
//   extra args are passed through as file filters (substring match)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const [suite = 'all', ...filters] = process.argv.slice(2);

function find(dir, out = []) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const e of entries) {
    if (e === 'node_modules' || e === 'dist' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) find(p, out);
    else if (e.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const pick = (files) => files.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
const unit = pick([...find(join(root, 'firmware')), ...find(join(root, 'board')), ...find(join(root, 'scripts'))]);
const hil = pick(find(join(root, 'hil-tests')));
// Tests that measure the rig's own timing accuracy (paced cable within 0.1 %
// of the line rate) run alone after the others: on 2 cores next to three
// other HIL suites they measure the neighbours, not the rig.
const ALONE = ['hil-tests/paced-cable.test.ts'];

// The sandbox's NODE_EXTRA_CA_CERTS makes every node start parse a CA bundle
// (~50 ms each); tests start many processes and never need TLS.
function testEnv() {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

function run(files, concurrency, extraEnv = {}) {
  if (files.length === 0) return 0;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], {
    cwd: root,
    stdio: 'inherit',
    env: { ...testEnv(), ...extraEnv },
  });
  return r.status ?? 1;
}

// HIL scratch directories (node logs, Heartbeat's ha-log, dpkg --root, flash
// images, caches) go to a RAM disk of their own when we may mount one (root).
// On the CI VM the disk is slow to read while it writes back: a real
// Heartbeat node, whose pages the kernel had reclaimed (its mlockall needs a
// memlock limit the sandbox will not raise), sat in a page fault for seconds
// while other tests wrote hundreds of MB, and every peer of it saw a death.
// HIL_SCRATCH_ON_DISK=1 keeps them under the ordinary TMPDIR, and so does
// HIL_KEEP=1 (kept scratch must outlive the run).
function ramScratch() {
  if (process.env.HIL_SCRATCH_ON_DISK === '1' || process.env.HIL_KEEP === '1' || process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync('/tmp/ringbeat-hil-ram-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=1777,size=8g', 'ringbeat-hil', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmdirSync(dir);
    console.error(`# HIL scratch stays on disk: mounting a tmpfs failed (${(r.stderr || r.error?.message || '').trim()})`);
    return undefined;
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    // lazy: a process a failed test left behind must not keep the RAM disk mounted
    spawnSync('umount', ['--lazy', dir]);
    try { rmdirSync(dir); } catch { /* busy: unmounted lazily, removed on next boot of /tmp */ }
  };
  process.on('exit', release);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { release(); process.exit(128 + (sig === 'SIGHUP' ? 1 : sig === 'SIGINT' ? 2 : 15)); });
  console.log(`# HIL scratch on a RAM disk: ${dir}`);
  return { dir, release };
}

// Type errors fail the run, and HIL tests run the BUILT program (dist/), so
// `npm test` type-checks and builds first.
function step(name, argv) {
  const r = spawnSync(argv[0], argv.slice(1), { cwd: root, stdio: 'inherit', env: testEnv() });
  if (r.status !== 0) {
    console.error(`# ${name} failed`);
    process.exit(r.status ?? 1);
  }
}

let rc = 0;
if (suite === 'all' && filters.length === 0) step('typecheck', [process.execPath, join(root, 'node_modules/typescript/bin/tsc'), '-p', root]);
// The HIL stage tests the shipped artefacts: both single executables (arm64
// under qemu) and the x64 .deb / rootfs overlay. Unchanged inputs come from
// the build cache (node_modules/.cache/ringbeat) in seconds.
if (suite === 'hil' || suite === 'all') step('build', [process.execPath, join(root, 'scripts/build.mjs'), '--arch', 'x64,arm64', '--packages=x64']);
if (suite === 'unit' || suite === 'all') rc ||= run(unit, 2);
if ((suite === 'hil' || suite === 'all') && hil.length > 0) {
  // The real Heartbeat calls sync() (caught in D state in sync_inodes_sb /
  // wb_wait_for_completion): it waits for every dirty page on the machine. The
  // build above leaves hundreds of MB (two executables, .deb, xz) to write back;
  // flush them now, not inside a Heartbeat node's main loop mid-test.
  const t0 = performance.now();
  spawnSync('sync');
  console.log(`# wrote back the build's dirty pages before the HIL tests (sync: ${Math.round(performance.now() - t0)} ms)`);
  const scratch = ramScratch();
  const env = scratch ? { TMPDIR: scratch.dir } : {};
  const parallel = run(hil.filter((f) => !ALONE.includes(f)), Number(process.env.HIL_CONCURRENCY ?? 4), env);
  const alone = run(hil.filter((f) => ALONE.includes(f)), 1, env);
  scratch?.release();
  rc ||= parallel || alone;
}
process.exit(rc);
