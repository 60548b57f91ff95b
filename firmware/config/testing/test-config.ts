// A complete ClusterConfig for unit tests, with overrides.
import type { ClusterConfig } from '../config-data';

export function testConfig(localNode: string, over: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    file: '/t/ha.cf',
    configDir: '/t',
    cluster: 'linux-ha',
    localNode,
    nodes: ['nodea', 'nodeb'],
    keepaliveMs: 100,
    deadtimeMs: 500,
    warntimeMs: 300,
    initdeadMs: 2000,
    hopfudge: 1,
    udpport: 694,
    baud: 19200,
    media: [],
    autoFailback: 'off',
    msgfmt: 'classic',
    maxRexmitDelayMs: 250,
    crossCheckWaitMs: 200,
    realtime: false,
    rtPrio: 10,
    announce: { count: 5, intervalMs: 200, mode: 'both', refreshMs: 0, router: false },
    genMethod: 'file',
    compression: 'zlib',
    compressionThresholdKb: 2,
    logBadPackets: true,
    log: { debugLevel: 0 },
    auth: { outbound: 1, keys: [{ index: 1, method: 'sha1', key: 'k', at: { file: 'authkeys', line: 2 } }] },
    sources: {},
    ...over,
  };
}
