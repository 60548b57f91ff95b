// HIL test harness library: one import for tests.
//
//   import { testScope, makeTmpDir, LabNet, SerialCable, HeartbeatNode, requireHeartbeat } from './lib';

export * from './procs';
export * from './require';
export * from './tmp';
export * from './netns';
export * from './serial-cable';
export * from './heartbeat-node';
export * from './paced-cable';
export * from './ring';
export * from './wire-peek';
export * from './udp-probe';
