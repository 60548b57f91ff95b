// ha.cf media lines -> Medium instances, in config order (the engine sends on
// all of them; order only matters for reports). All UDP media of one process
// share one UdpReceiverRegistry, so media on the same udpport share one
// receive socket (see udp-receiver.ts).

import type { ClusterConfig } from '../config/config-data';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import type { Medium } from './medium';
import type { InterfaceLookup } from './iface';
import { SerialMedium } from './serial-medium';
import { UdpMedium } from './udp-medium';
import { UdpReceiverRegistry } from './udp-receiver';

export interface MediaDeps {
  clock: Clock;
  log?: Logger;
  /** Shared receive sockets; created here (one per createMedia call) if absent. */
  udpReceivers?: UdpReceiverRegistry;
  /** Interface lookup for the UDP media (default: os.networkInterfaces()). */
  lookupIface?: InterfaceLookup;
  /** RTS/CTS on serial lines (default true, as Heartbeat's CRTSCTS). */
  serialRtscts?: boolean;
}

export function createMedia(config: ClusterConfig, deps: MediaDeps): Medium[] {
  const { clock } = deps;
  const receivers = deps.udpReceivers ?? new UdpReceiverRegistry({ clock });
  return config.media.map((mc): Medium => {
    switch (mc.kind) {
      case 'serial':
        deps.log?.debug(1, `medium: serial ${mc.device} at ${mc.baud} baud`);
        return new SerialMedium({ device: mc.device, baudRate: mc.baud, clock, rtscts: deps.serialRtscts });
      case 'bcast':
      case 'ucast':
      case 'mcast': {
        const m = new UdpMedium({ target: mc, clock, receivers, lookupIface: deps.lookupIface });
        deps.log?.debug(1, `medium: ${m.describe()}`);
        return m;
      }
    }
  });
}
