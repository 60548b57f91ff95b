// Builds the resource layer from the configuration: one GroupRunner per
// haresources line, agents for each resource (the IP built in, scripts as
// Heartbeat runs them), and a start-up check that every tool they need is
// installed (naming the Debian package when not).

import type { ClusterConfig } from '../config/config-data';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import { locateAnnounceTool } from '../resources/announce-tool';
import { checkTools, toolNeeds } from '../resources/check-tools';
import { SystemCommandRunner } from '../resources/command-runner';
import { createAgent } from '../resources/create-agent';
import { GroupRunner } from '../resources/group-runner';
import type { ManagedGroup } from '../resources/r1-manager';
import { defaultSearchPath } from '../resources/script-agent';
import { heartbeatScriptEnv } from '../resources/script-env';

export interface ResourceLayer {
  groups: ManagedGroup[];
  runners: GroupRunner[];
  /** Warnings from the tool check (e.g. fallback announcers). */
  warnings: string[];
}

/** @throws with every missing tool and its package when the resources cannot run here. */
export async function buildResourceLayer(config: ClusterConfig, deps: { clock: Clock; log: Logger }): Promise<ResourceLayer> {
  const specs = config.resources ?? [];
  const runner = new SystemCommandRunner();
  const announceTool = locateAnnounceTool();
  const check = await checkTools(
    { ...toolNeeds(specs), ipv6Router: config.announce.router },
    { tool: announceTool, runner },
  );
  if (!check.ok) throw new Error(`resources cannot run on this node:\n  ${check.errors.join('\n  ')}`);
  const env = heartbeatScriptEnv({
    configDir: config.configDir,
    localNode: config.localNode,
    autoFailback: config.autoFailback,
    log: config.log,
  });
  const runners = specs.map((spec) => {
    const log = deps.log.child(`group ${spec.key}`);
    const agents = spec.resources.map((r) =>
      createAgent(r, {
        runner,
        clock: deps.clock,
        log,
        announceTool,
        ip: {
          announce: {
            count: config.announce.count,
            intervalMs: config.announce.intervalMs,
            mode: config.announce.mode,
            router: config.announce.router,
            refreshMs: config.announce.refreshMs,
          },
        },
        script: { searchPath: defaultSearchPath(config.configDir), env },
      }),
    );
    return new GroupRunner(spec, agents, { log, clock: deps.clock });
  });
  const groups: ManagedGroup[] = runners.map((r) => ({
    key: r.spec.key,
    node: r.spec.node,
    start: () => r.start(),
    stop: () => r.stop(),
  }));
  return { groups, runners, warnings: check.warnings };
}
