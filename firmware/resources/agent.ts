// The contract every resource (IP address, Heartbeat resource script) fulfils.
// The failover state machine only ever talks to this interface, so the fast
// in-process IP path and Heartbeat's shell scripts are interchangeable.

export type ResourceOp = 'start' | 'stop' | 'status';
export type ResourceState = 'running' | 'stopped';

export interface ResourceAgent {
  /** The resource text, e.g. "IPaddr2::10.99.0.100/24/eth0/10.99.0.255". */
  readonly id: string;
  /** Throws ResourceError (message says what failed, incl. script output tail). */
  start(): Promise<void>;
  /** Idempotent: stopping a stopped resource succeeds. Throws ResourceError. */
  stop(): Promise<void>;
  status(): Promise<ResourceState>;
  /**
   * Optional: timing/diagnostic details of the last operation (monotonic
   * clock ms and labels), copied into GroupResult timings for benchmarks.
   */
  detail?(): Record<string, number | string> | undefined;
}

export class ResourceError extends Error {
  override name = 'ResourceError';
  constructor(
    message: string,
    /** The resource id (resource text). */
    readonly resource: string,
    readonly op: ResourceOp,
    /** Tail of the command/script output, if any. */
    readonly output?: string,
  ) {
    super(message);
  }
}

/** The message of any thrown value (ResourceError or not). */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
