import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterConfig, MediumConfig } from '../config/config-data';
import { ManualClock } from '../core/clock';
import { createMedia } from './create-media';
import { SerialMedium } from './serial-medium';
import { UdpMedium } from './udp-medium';

test('maps each media line to a medium, in order, with Heartbeat link names', () => {
  const at = { file: 'ha.cf', line: 1 };
  const media: MediumConfig[] = [
    { kind: 'serial', device: '/dev/ttyS0', baud: 19200, at },
    { kind: 'serial', device: '/dev/ttyUSB1', baud: 115200, at },
    { kind: 'bcast', iface: 'eth0', port: 694, at },
    { kind: 'ucast', iface: 'eth1', peer: '10.0.0.2', port: 694, at },
    { kind: 'mcast', iface: 'eth2', group: '239.0.0.43', port: 694, ttl: 1, loop: false, at },
  ];
  // Only `media` is read; the rest of the config does not matter here.
  const config = { media } as unknown as ClusterConfig;
  const out = createMedia(config, { clock: new ManualClock() });
  assert.deepEqual(
    out.map((m) => [m.kind, m.name, m.format]),
    [
      ['serial', '/dev/ttyS0', 'classic'],
      ['serial', '/dev/ttyUSB1', 'classic'],
      ['bcast', 'eth0', 'netstring'],
      ['ucast', 'eth1', 'netstring'],
      ['mcast', 'eth2', 'netstring'],
    ],
  );
  assert.ok(out[0] instanceof SerialMedium && out[2] instanceof UdpMedium);
  assert.equal((out[4] as UdpMedium).describe(), 'mcast eth2 239.0.0.43 694 1 0');
  // Nothing was opened: construction has no side effects.
  for (const m of out) assert.equal(m.stats().state, 'stopped');
});
