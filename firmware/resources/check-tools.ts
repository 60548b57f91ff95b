// Start-up check of the external tools the IP resources need, so a missing
// package is reported when the daemon starts, naming the Debian package,
// instead of at the first takeover.

import type { ResourceGroupSpec } from './haresources-parse';
import { findInPath, type AnnounceTool } from './announce-tool';
import { isIpAgent } from './create-agent';
import { ipArgument, parseIpSpec } from './ip-spec';
import type { CommandRunner } from './command-runner';

/** Command -> Debian package. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  ip: 'iproute2',
  arping: 'iputils-arping',
  send_ua: 'resource-agents',
  'ringbeat-announce': 'ringbeat (dist/native/ringbeat-announce; build it with node scripts/build-announce.mjs)',
};

export interface ToolNeeds {
  ipv4: boolean;
  ipv6: boolean;
  /** IPv6 NAs with the Router flag (send_ua cannot). */
  ipv6Router?: boolean;
}

export interface ToolCheck {
  ok: boolean;
  /** Each names the missing command and its package. */
  errors: string[];
  /** E.g. "announcing with arping instead of ringbeat-announce". */
  warnings: string[];
  /** Paths found. */
  found: Record<string, string>;
}

/** Which address families the groups' IP resources use. */
export function toolNeeds(groups: readonly ResourceGroupSpec[]): ToolNeeds {
  const needs: ToolNeeds = { ipv4: false, ipv6: false };
  for (const g of groups) {
    for (const r of g.resources) {
      if (!isIpAgent(r.agent)) continue;
      const p = parseIpSpec(ipArgument(r.args));
      if (!p.ok) continue;
      if (p.spec.family === 4) needs.ipv4 = true;
      else needs.ipv6 = true;
    }
  }
  return needs;
}

export interface CheckToolsDeps {
  tool: AnnounceTool;
  env?: NodeJS.ProcessEnv;
  /** Used to verify that `arping` is the iputils one (`arping -V`). */
  runner?: CommandRunner;
  findCommand?: (cmd: string) => string | undefined;
}

/**
 * Checks that every tool needed for `needs` exists. Errors name the Debian
 * package (`ip not found: apt-get install iproute2`).
 */
export async function checkTools(needs: ToolNeeds, deps: CheckToolsDeps): Promise<ToolCheck> {
  const find = deps.findCommand ?? ((c: string) => findInPath(c, deps.env));
  const res: ToolCheck = { ok: true, errors: [], warnings: [], found: {} };
  const missing = (cmd: string, why: string): void => {
    res.errors.push(`${cmd} not found (${why}): apt-get install ${TOOL_PACKAGES[cmd] ?? '?'}`);
  };
  if (!needs.ipv4 && !needs.ipv6) return res;

  const ip = find('ip');
  if (ip) res.found.ip = ip;
  else missing('ip', 'adds and removes the service addresses');

  const { tool } = deps;
  if (tool.native) {
    res.found['ringbeat-announce'] = tool.native;
  } else {
    const fallbacks: string[] = [];
    if (needs.ipv4) {
      if (!tool.arping) missing('arping', 'gratuitous ARP without ringbeat-announce');
      else {
        fallbacks.push(tool.arping);
        res.found.arping = tool.arping;
        if (deps.runner) {
          const v = await deps.runner.run([tool.arping, '-V'], { timeoutMs: 5_000 });
          if (!/iputils/i.test(`${v.stdout}${v.stderr}`)) {
            res.errors.push(`${tool.arping} is not iputils' arping (needs -U/-A): apt-get install iputils-arping`);
          }
        }
      }
    }
    if (needs.ipv6) {
      if (!tool.sendUa) missing('send_ua', 'unsolicited neighbour advertisements without ringbeat-announce');
      else {
        fallbacks.push(tool.sendUa);
        res.found.send_ua = tool.sendUa;
        if (needs.ipv6Router) res.warnings.push('send_ua cannot set the Router flag in neighbour advertisements');
      }
    }
    res.warnings.push(
      `ringbeat-announce not found (searched ${tool.searched.join(', ')})` +
        (fallbacks.length ? `; announcing with ${fallbacks.join(' and ')}` : ''),
    );
  }
  res.ok = res.errors.length === 0;
  return res;
}
