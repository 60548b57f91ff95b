// The two-node appliance lab, as `npm run lab`, the failover HIL tests and
// bench:failover build it:
//
//   netns <id>-br: bridge br0
//     |- nodea  eth0 10.99.0.1 [fd00:99::1]   ringbeat, responder
//     |- nodeb  eth0 10.99.0.2 [fd00:99::2]   ringbeat, responder
//     `- client eth0 10.99.0.10 [fd00:99::a]  client.mjs / ping-like requests
//   nodea /dev/pts/X <-- socat null-modem --> nodeb /dev/pts/Y
//
// The VIP 10.99.0.100/24 (and fd00:99::100/64 with IPv6) is an IPaddr2
// resource preferred on nodea; the responder (scripts/lab/responder.mjs)
// listens on every node, so whoever holds the VIP serves the client.

import { writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { LabNet, type NetHost } from '../../hil-tests/lib/netns';
import { runOk, startProcess, type Proc, type Scope } from '../../hil-tests/lib/procs';
import { RingbeatNode } from '../../hil-tests/lib/ringbeat-node';
import { SerialCable } from '../../hil-tests/lib/serial-cable';
import { makeTmpDir } from '../../hil-tests/lib/tmp';

export const VIP4 = '10.99.0.100';
export const VIP6 = 'fd00:99::100';

export interface LabOptions {
  ipv6?: boolean;
  keepalive?: string;
  deadtime?: string;
  warntime?: string;
  initdead?: string;
  autoFailback?: 'on' | 'off' | 'legacy';
  baud?: number;
  /** Extra haresources resources after the VIP(s) in nodea's group. */
  extraResources?: string[];
  /** Extra ha.cf lines (e.g. garp_* settings). */
  extraConfig?: string[];
  /** Resource scripts to install in both nodes' resource.d (name -> shell script text). */
  scripts?: Record<string, string>;
  /** Serial line: socat cable (default) or none. */
  serial?: boolean;
}

export interface Lab {
  dir: string;
  net: LabNet;
  cable?: SerialCable;
  a: RingbeatNode;
  b: RingbeatNode;
  nodes: RingbeatNode[];
  client: NetHost;
  vip4: string;
  vip6?: string;
  /** MAC address of a host's eth0. */
  mac(host: NetHost): Promise<string>;
  /** Starts the responder in a node's namespace (kept running until the scope ends or the node is killed). */
  startResponder(node: RingbeatNode): Promise<Proc>;
}

export async function buildLab(scope: Scope, o: LabOptions = {}): Promise<Lab> {
  const dir = makeTmpDir(scope, 'lab');
  const net = await LabNet.create(scope, { hosts: ['nodea', 'nodeb', { label: 'client', ip: '10.99.0.10' }], ipv6: o.ipv6 ?? false });
  const cable = o.serial === false ? undefined : await SerialCable.create(scope, { dir: path.join(dir, 'serial') });
  const haresources = [
    'nodea',
    `IPaddr2::${VIP4}/24/eth0`,
    ...(o.ipv6 ? [`IPaddr2::${VIP6}/64/eth0`] : []),
    ...(o.extraResources ?? []),
  ].join(' ');
  const common = {
    nodes: ['nodea', 'nodeb'],
    dir,
    net,
    keepalive: o.keepalive ?? '50ms',
    deadtime: o.deadtime ?? '200ms',
    warntime: o.warntime ?? '120ms',
    initdead: o.initdead ?? '5',
    baud: o.baud ?? 115200,
    autoFailback: o.autoFailback ?? 'off',
    extraConfig: o.extraConfig ?? [],
  };
  const mk = (name: 'nodea' | 'nodeb', tty?: string) => {
    const n = RingbeatNode.create(scope, {
      ...common,
      name,
      host: net.host(name),
      media: [...(tty ? [`serial ${tty}`] : []), 'bcast eth0'],
    });
    writeFileSync(path.join(n.confDir, 'haresources'), `${haresources}\n`);
    if (o.scripts) {
      const rd = path.join(n.confDir, 'resource.d');
      mkdirSync(rd, { recursive: true });
      for (const [file, text] of Object.entries(o.scripts)) writeFileSync(path.join(rd, file), text, { mode: 0o755 });
    }
    return n;
  };
  const a = mk('nodea', cable?.a);
  const b = mk('nodeb', cable?.b);
  const mac = async (host: NetHost): Promise<string> => {
    const r = await runOk(['ip', '-n', host.ns, '-o', 'link', 'show', host.ifname]);
    const m = /link\/ether ([0-9a-f:]{17})/.exec(r.stdout);
    if (!m) throw new Error(`no MAC for ${host.label}: ${r.stdout}`);
    return m[1]!;
  };
  const startResponder = (node: RingbeatNode): Promise<Proc> =>
    startProcess(scope, {
      name: `responder-${node.name}`,
      argv: ['ip', 'netns', 'exec', node.opts.host.ns, process.execPath, path.join(__dirname, 'responder.mjs'), node.name],
      logFile: path.join(dir, `responder-${node.name}.log`),
    });
  return { dir, net, cable, a, b, nodes: [a, b], client: net.host('client'), vip4: VIP4, vip6: o.ipv6 ? VIP6 : undefined, mac, startResponder };
}

/** One reply seen by the client. Times are CLOCK_MONOTONIC nanoseconds. */
export interface Reply {
  seq: number;
  sent: bigint;
  recv: bigint;
  by: string;
}

/** Runs scripts/lab/client.mjs in the client namespace; collects replies. */
export async function startClient(scope: Scope, lab: Lab, vip: string, intervalMs = 10): Promise<{ proc: Proc; replies: Reply[] }> {
  const replies: Reply[] = [];
  const proc = await startProcess(scope, {
    name: `client-${vip}`,
    argv: ['ip', 'netns', 'exec', lab.client.ns, process.execPath, path.join(__dirname, 'client.mjs'), vip, String(intervalMs)],
    logFile: path.join(lab.dir, `client-${vip.replace(/:/g, '_')}.log`),
  });
  // The client writes JSON lines to its log; follow it.
  const { createReadStream, existsSync, statSync } = await import('node:fs');
  let offset = existsSync(proc.logFile) ? statSync(proc.logFile).size : 0;
  let carry = '';
  const timer = setInterval(() => {
    const size = statSync(proc.logFile).size;
    if (size <= offset) return;
    const s = createReadStream(proc.logFile, { start: offset, end: size - 1, encoding: 'utf8' });
    offset = size;
    s.on('data', (chunk) => {
      carry += chunk;
      const lines = carry.split('\n');
      carry = lines.pop() ?? '';
      for (const l of lines) {
        if (!l.startsWith('{')) continue;
        const j = JSON.parse(l) as { seq: number; sent: string; recv: string; by: string };
        replies.push({ seq: j.seq, sent: BigInt(j.sent), recv: BigInt(j.recv), by: j.by });
      }
    });
  }, 20);
  scope.defer('stop following the client', () => clearInterval(timer));
  return { proc, replies };
}

/** CLOCK_MONOTONIC now, in the same unit as Reply times. */
export function monoNs(): bigint {
  return process.hrtime.bigint();
}

/** Which of these hosts have `vip` on an interface right now. */
export async function addressHolders(hosts: NetHost[], vip: string): Promise<string[]> {
  const holders: string[] = [];
  for (const h of hosts) {
    const r = await runOk(['ip', '-n', h.ns, '-o', 'addr', 'show']).catch(() => ({ stdout: '' }));
    if (r.stdout.includes(` ${vip}/`)) holders.push(h.label);
  }
  return holders;
}
