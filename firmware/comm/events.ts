// Membership events: the interface between the heartbeat path (comm/, running
// in its own process so nothing else can stall it) and everything built on top
// of it (resources, fencing, monitoring, the console).
//
// The heartbeat path decides liveness; consumers never run their own timers
// on peer silence. Every event carries `atMs`, the monotonic time in the
// heartbeat path's clock when the decision was taken, so consumers can measure
// how long they took to act on it.
//
//   node-state     a node's state changed (the only event failover acts on)
//   link-state     one medium to one node went up or dead (a node with one dead
//                  link and one live link is NOT dead; that is a link problem)
//   late-heartbeat a status arrived later than warntime after the previous one
//   local-state    this node's own state (init -> up -> active)
//   message        a cluster message for the layers above (resource protocol
//                  etc.), in arrival order, already authenticated and de-duplicated
//   reachability   cross-check result: this node cannot hear `node` but others
//                  can (direct: false; a link problem, not a death), or hears
//                  it directly again (direct: true)
//   stall          the heartbeat path's own event loop ran late (GC, CPU starvation)

import type { Field } from '../wire/message';

/** Heartbeat's node states (cl_status nodestatus). */
export type NodeState = 'init' | 'up' | 'active' | 'dead';
export type LinkState = 'up' | 'dead';

/** Why a node state changed. */
export type NodeStateReason =
  /** A status message carried a new `st`. */
  | 'status'
  /** A message arrived from a node we considered dead. */
  | 'heard'
  /** No medium heard it within its deadtime. */
  | 'deadtime'
  /** Never heard since start, and initdead passed. */
  | 'initdead'
  /** It announced a graceful shutdown (`shutdone`). */
  | 'shutdown'
  /** It came back with a higher generation (restarted). */
  | 'restart';

export type MembershipEvent =
  | {
      type: 'node-state';
      node: string;
      state: NodeState;
      prev: NodeState;
      reason: NodeStateReason;
      atMs: number;
      /** For deaths: how long the node had been silent when declared dead. */
      silentMs?: number;
    }
  | { type: 'link-state'; node: string; link: string; state: LinkState; prev: LinkState | 'init'; atMs: number }
  | {
      type: 'late-heartbeat';
      node: string;
      /** Measured interval between this status and the previous one. */
      intervalMs: number;
      warntimeMs: number;
      atMs: number;
    }
  | { type: 'local-state'; state: 'init' | 'up' | 'active'; atMs: number }
  | { type: 'reachability'; node: string; direct: boolean; heardBy: string[]; atMs: number }
  | { type: 'stall'; lateMs: number; atMs: number };

/** A cluster message as it crosses the process boundary (plain data). */
export interface ClusterMessage {
  /** Originating node (lower-case). */
  from: string;
  /** `t` field. */
  type: string;
  fields: Field[];
  atMs: number;
}
