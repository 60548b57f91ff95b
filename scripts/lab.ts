// npm run lab: the appliance pair on this machine (scripts/lab/lab-build.ts):
// node A and node B in network namespaces on one bridge with a client, a
// serial null-modem line between them, each running the real, built ringbeat
// with a lab configuration, and a VIP (10.99.0.100) served by a tiny service
// wherever it is up. A live view shows who is active, where the VIP is and
// the client's replies; keys break things:
//
//   a / b   power loss of node A / B (SIGKILL, NIC down, its addresses gone)
//   h / j   hang node A / B for 2 s (SIGSTOP of all its processes, then SIGCONT)
//   s / t   `ringbeat standby` on A / B          T  `ringbeat takeover` on A
//   A / B   power node A / B on again
//   q       quit (also Ctrl-C): every namespace, pty and process made here is removed
//
// Needs root and the Debian packages iproute2, socat and util-linux.

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { addressHolders, buildLab, startClient, type Reply } from './lab/lab-build';
import { Scope } from '../hil-tests/lib/procs';
import type { RingbeatNode } from '../hil-tests/lib/ringbeat-node';

const NEEDED: [string, string][] = [
  ['ip', 'iproute2'],
  ['socat', 'socat'],
  ['setpriv', 'util-linux'],
  ['chrt', 'util-linux'],
];

function preflight(): void {
  if (process.getuid?.() !== 0) {
    console.error('npm run lab needs root (it creates network namespaces): sudo npm run lab');
    process.exit(1);
  }
  const missing = NEEDED.filter(([cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0).map(([, pkg]) => pkg);
  if (missing.length) {
    console.error(`missing Debian packages; install them with:\n  apt-get install -y ${[...new Set(missing)].join(' ')}`);
    process.exit(1);
  }
  // The lab runs what `npm run build` makes (dist/), like the appliance would.
  const build = spawnSync(process.execPath, [path.join(__dirname, 'build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(1);
}

/** Every process of a node (its network namespace holds only that node's processes). */
function pidsOf(n: RingbeatNode): number[] {
  const r = spawnSync('ip', ['netns', 'pids', n.opts.host.ns], { encoding: 'utf8' });
  return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

async function main(): Promise<void> {
  preflight();
  const scope = new Scope('lab');
  let quitting = false;
  const quit = async (code = 0): Promise<void> => {
    if (quitting) return;
    quitting = true;
    console.log('\ncleaning up namespaces, ptys and processes ...');
    await scope.close();
    process.exit(code);
  };
  process.on('SIGINT', () => void quit());
  process.on('SIGTERM', () => void quit());
  process.on('uncaughtException', (e) => {
    console.error(`lab: ${e.stack ?? e}`);
    void quit(1);
  });

  const lab = await buildLab(scope, { keepalive: '50ms', deadtime: '200ms', warntime: '120ms' });
  const { a, b } = lab;
  console.log(`lab ${lab.net.id}: nodea ${a.opts.host.ip}, nodeb ${b.opts.host.ip}, client ${lab.client.ip}, VIP ${lab.vip4}`);
  console.log(`serial line ${lab.cable?.a} <-> ${lab.cable?.b}; logs and configs in ${lab.dir}`);
  await Promise.all([a.start(), b.start(), lab.startResponder(a), lab.startResponder(b)]);
  const client = await startClient(scope, lab, lab.vip4, 10);
  console.log('keys: a/b power loss, h/j hang 2 s, s/t standby A/B, T takeover on A, A/B power on, q quit\n');

  const say = (s: string): void => console.log(`${new Date().toISOString().slice(11, 23)}  ** ${s}`);
  const powerLoss = async (n: RingbeatNode): Promise<void> => {
    await lab.net.linkDown(n.opts.host);
    // Its RAM is gone: so are the addresses ringbeat had added.
    await lab.net.execOk(n.opts.host, ['ip', 'addr', 'flush', 'dev', 'eth0', 'label', 'eth0:*']).catch(() => undefined);
    await n.kill9();
    say(`node ${n.name}: power loss`);
  };
  const powerOn = async (n: RingbeatNode): Promise<void> => {
    await lab.net.linkUp(n.opts.host);
    await Promise.all([n.start(), lab.startResponder(n)]);
    say(`node ${n.name}: powered on`);
  };
  const hang = (n: RingbeatNode): void => {
    const pids = pidsOf(n);
    for (const p of pids) process.kill(p, 'SIGSTOP');
    say(`node ${n.name}: hung (${pids.length} processes stopped for 2 s)`);
    setTimeout(() => {
      for (const p of pids) {
        try {
          process.kill(p, 'SIGCONT');
        } catch {
          /* gone */
        }
      }
      say(`node ${n.name}: resumed`);
    }, 2000);
  };
  const cli = async (n: RingbeatNode, sub: string): Promise<void> => {
    const r = await n.cli(sub, ['all']);
    say(`ringbeat ${sub} on ${n.name}: ${(r.stdout || r.stderr).trim()}`);
  };

  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.on('data', (d: Buffer) => {
      const k = d.toString();
      const act: Record<string, () => unknown> = {
        q: () => quit(),
        '\u0003': () => quit(),
        a: () => powerLoss(a),
        b: () => powerLoss(b),
        A: () => powerOn(a),
        B: () => powerOn(b),
        h: () => hang(a),
        j: () => hang(b),
        s: () => cli(a, 'standby'),
        t: () => cli(b, 'standby'),
        T: () => cli(a, 'takeover'),
      };
      void Promise.resolve(act[k]?.()).catch((e: Error) => say(`failed: ${e.message}`));
    });
  }

  // Live view: one line whenever something changes.
  let last = '';
  let seen = 0;
  let lastReply: Reply | undefined;
  for (;;) {
    const views: string[] = [];
    for (const n of [a, b]) {
      try {
        const s = await n.status();
        const peer = s.comm!.nodes.find((x) => !x.self)!;
        views.push(`${n.name}:${s.comm!.localState}/${s.resources?.holds ?? '?'} sees ${peer.name}=${peer.state}`);
      } catch {
        views.push(`${n.name}: down`);
      }
    }
    const vip = (await addressHolders([a.opts.host, b.opts.host], lab.vip4)).join('+') || 'nowhere';
    const fresh = client.replies.slice(seen);
    seen = client.replies.length;
    if (fresh.length) lastReply = fresh[fresh.length - 1];
    const gapMs = lastReply ? Number(process.hrtime.bigint() - lastReply.recv) / 1e6 : Infinity;
    const served = lastReply && gapMs < 100 ? `client served by ${lastReply.by}` : 'client: NO REPLIES';
    const line = `${views.join(' | ')} | VIP on ${vip} | ${served}`;
    if (line !== last) {
      console.log(`${new Date().toISOString().slice(11, 23)}  ${line}`);
      last = line;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

main().catch((e: Error) => {
  console.error(`lab: ${e.message}`);
  process.exit(1);
});
