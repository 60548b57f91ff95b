// Resource text -> agent. IPaddr and IPaddr2 run in-process (IpAgent): the
// takeover path must bring the address up before any slow script runs.
// Everything else is a Heartbeat resource script (ScriptAgent).

import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import { ResourceError, type ResourceAgent } from './agent';
import type { AnnounceTool } from './announce-tool';
import type { CommandRunner } from './command-runner';
import type { ResourceSpec } from './haresources-parse';
import { IpAgent, type IpAgentOptions } from './ip-agent';
import { ipArgument, parseIpSpec } from './ip-spec';
import { ScriptAgent, type ScriptAgentOptions } from './script-agent';

export interface AgentDeps {
  runner: CommandRunner;
  clock: Clock;
  log: Logger;
  /** Where the announce tool / fallbacks are (locateAnnounceTool()). */
  announceTool: AnnounceTool;
  /** Settings of the built-in IP agent (announcements, DAD). */
  ip?: IpAgentOptions;
  /** Search path, environment and timeouts of resource scripts. */
  script: ScriptAgentOptions;
  /** CLOCK_MONOTONIC ms (maps the announce tool's timestamps; default process.hrtime). */
  monoNowMs?: () => number;
}

/** Agents ringbeat implements itself. */
export function isIpAgent(agent: string): boolean {
  return agent === 'IPaddr' || agent === 'IPaddr2';
}

export function createAgent(spec: ResourceSpec, deps: AgentDeps): ResourceAgent {
  const log = deps.log; // agents prefix their messages with the resource text
  if (isIpAgent(spec.agent)) {
    const p = parseIpSpec(ipArgument(spec.args));
    if (!p.ok) throw new ResourceError(`${spec.raw}: ${p.error}`, spec.raw, 'start');
    return new IpAgent(spec.raw, p.spec, { runner: deps.runner, clock: deps.clock, log, tool: deps.announceTool, monoNowMs: deps.monoNowMs }, deps.ip);
  }
  return new ScriptAgent(spec, deps.script, { runner: deps.runner, clock: deps.clock, log });
}
