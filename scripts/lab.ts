// npm run lab: a two-node ringbeat appliance pair on this machine.
//
// Network namespaces for node A and node B on one bridge, a serial null-modem
// line between them (socat ptys), each node running the real, built ringbeat
// with a lab configuration. Prints membership as it changes. Keys:
//   a / b   power loss of node A / B (SIGKILL of its processes)
//   A / B   start node A / B again
//   q       quit (also Ctrl-C); everything made here is removed
//
// Needs root (namespaces) and the Debian packages iproute2 and socat.

import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LabNet } from '../hil-tests/lib/netns';
import { Scope } from '../hil-tests/lib/procs';
import { RingbeatNode } from '../hil-tests/lib/ringbeat-node';
import { SerialCable } from '../hil-tests/lib/serial-cable';
import { makeTmpDir } from '../hil-tests/lib/tmp';

const NEEDED: [string, string][] = [
  ['ip', 'iproute2'],
  ['socat', 'socat'],
  ['setpriv', 'util-linux'],
];

function preflight(): void {
  if (process.getuid?.() !== 0) {
    console.error('npm run lab needs root (it creates network namespaces): sudo npm run lab');
    process.exit(1);
  }
  const missing = NEEDED.filter(([cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0).map(([, pkg]) => pkg);
  if (missing.length) {
    console.error(`missing Debian packages: apt-get install -y ${[...new Set(missing)].join(' ')}`);
    process.exit(1);
  }
  const build = spawnSync(process.execPath, [path.join(__dirname, 'build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(1);
}

async function main(): Promise<void> {
  preflight();
  const scope = new Scope('lab');
  const dir = makeTmpDir(scope, 'lab');
  const net = await LabNet.create(scope, { hosts: ['nodea', 'nodeb'] });
  const cable = await SerialCable.create(scope, { dir: path.join(dir, 'serial') });
  const common = { nodes: ['nodea', 'nodeb'], dir, net, keepalive: '100ms', deadtime: '500ms', warntime: '300ms', initdead: '5', baud: 115200 };
  const nodes = {
    a: RingbeatNode.create(scope, { ...common, name: 'nodea', host: net.host('nodea'), media: [`serial ${cable.a}`, 'bcast eth0'] }),
    b: RingbeatNode.create(scope, { ...common, name: 'nodeb', host: net.host('nodeb'), media: [`serial ${cable.b}`, 'bcast eth0'] }),
  };
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

  console.log(`lab ${net.id}: nodea ${net.host('nodea').ip}, nodeb ${net.host('nodeb').ip}, serial ${cable.a} <-> ${cable.b}`);
  console.log(`logs and configs: ${dir}`);
  await Promise.all([nodes.a.start(), nodes.b.start()]);
  console.log('keys: a/b = power loss of node A/B, A/B = start it again, q = quit\n');

  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.on('data', (d: Buffer) => {
      const k = d.toString();
      if (k === 'q' || k === '\u0003') void quit();
      else if (k === 'a' || k === 'b') void nodes[k].kill9().then(() => console.log(`** node ${k.toUpperCase()}: power loss`));
      else if (k === 'A' || k === 'B') {
        const n = nodes[k.toLowerCase() as 'a' | 'b'];
        void n.start().then(() => console.log(`** node ${k}: started`), (e: Error) => console.log(`** node ${k}: ${e.message}`));
      }
    });
  }

  // Live view: print each node's view of the cluster when it changes.
  const last = new Map<string, string>();
  for (;;) {
    for (const n of Object.values(nodes)) {
      let line: string;
      try {
        const s = await n.status();
        const c = s.comm!;
        line = c.nodes
          .map((x) => `${x.name}=${x.state}${x.self ? '' : `[${x.links.map((l) => `${path.basename(l.name)}:${l.state}`).join(' ')}]`}`)
          .join('  ');
      } catch {
        line = 'not running';
      }
      if (last.get(n.name) !== line) {
        last.set(n.name, line);
        console.log(`${new Date().toISOString().slice(11, 23)}  ${n.name} sees: ${line}`);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

main().catch((e: Error) => {
  console.error(`lab: ${e.message}`);
  process.exit(1);
});
