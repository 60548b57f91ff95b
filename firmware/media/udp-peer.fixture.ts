// Test fixture for udp-medium.test.ts: a tiny "node" that runs UdpMedia inside
// a network namespace (`ip netns exec NS node --import tsx udp-peer.fixture.ts`),
// because sockets cannot be moved between namespaces and Node cannot setns().
//
// Protocol: JSON lines. stdin: commands; stdout: events.
//   {op:'add', id, target, watchMs?}   -> {ev:'state', id, state, detail} ...
//   {op:'send', id, data}              (data: latin1 text)
//   {op:'stats', id}                   -> {ev:'stats', id, stats}
//   {op:'stop', id}                    -> {ev:'stopped', id}
//   {op:'ports'}                       -> {ev:'ports', ports}
// Received frames: {ev:'frame', id, data, from}. Drops: {ev:'drop', id, reason, detail}.
// stdin closing stops every medium and exits.

import { createInterface } from 'node:readline';
import { SystemClock } from '../core/clock';
import { UdpMedium, type UdpTarget } from './udp-medium';
import { UdpReceiverRegistry } from './udp-receiver';

type Command =
  | { op: 'add'; id: string; target: UdpTarget; watchMs?: number }
  | { op: 'send'; id: string; data: string }
  | { op: 'stats'; id: string }
  | { op: 'stop'; id: string }
  | { op: 'ports' };

const clock = new SystemClock();
const receivers = new UdpReceiverRegistry({ clock });
const media = new Map<string, UdpMedium>();
const emit = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');

function handle(c: Command): void {
  switch (c.op) {
    case 'add': {
      const m = new UdpMedium({ target: c.target, clock, receivers, watchMs: c.watchMs });
      media.set(c.id, m);
      m.start({
        onFrame: (f, o) => emit({ ev: 'frame', id: c.id, data: f.toString('latin1'), from: o.address }),
        onDrop: (reason, detail) => emit({ ev: 'drop', id: c.id, reason, detail }),
        onState: (state, detail) => emit({ ev: 'state', id: c.id, state, detail }),
      });
      return;
    }
    case 'send':
      media.get(c.id)?.send(Buffer.from(c.data, 'latin1'));
      return;
    case 'stats':
      emit({ ev: 'stats', id: c.id, stats: media.get(c.id)?.stats() });
      return;
    case 'stop':
      void media.get(c.id)?.stop().then(() => emit({ ev: 'stopped', id: c.id }));
      return;
    case 'ports':
      emit({ ev: 'ports', ports: receivers.activePorts() });
      return;
  }
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  try {
    handle(JSON.parse(line) as Command);
  } catch (e) {
    emit({ ev: 'error', error: String(e) });
  }
});
rl.on('close', () => {
  void Promise.all([...media.values()].map((m) => m.stop())).then(() => process.exit(0));
});
emit({ ev: 'ready' });
