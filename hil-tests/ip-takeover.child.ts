// Runs one haresources group (the real agents, GroupRunner, command runner)
// inside a node's network namespace for hil-tests/ip-takeover.test.ts:
//
//   ip netns exec <ns> node --import tsx hil-tests/ip-takeover.child.ts '<config json>'
//
// Node cannot switch namespaces itself, so the test talks to this process:
// one JSON command per stdin line, one JSON answer per stdout line.
//   {"op":"start"|"stop"|"status"|"probe"}       -> {"ok":true,"result":...}
//   {"op":"configure","announce":{...},"ip":{...}} rebuild the agents (while stopped)
//   {"op":"prepare"}                              wait until the IP agents hold an interface snapshot
// Log lines go to stderr. The first stdout line is {"hello":{timeOriginMs}},
// so the test can put the agents' monotonic times on the wall clock that
// tcpdump uses.

import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { SystemClock } from '../firmware/core/clock';
import { LogSink } from '../firmware/core/log';
import type { ResourceAgent } from '../firmware/resources/agent';
import type { AnnounceSettings } from '../firmware/resources/announcer';
import { locateAnnounceTool } from '../firmware/resources/announce-tool';
import { SystemCommandRunner } from '../firmware/resources/command-runner';
import { createAgent } from '../firmware/resources/create-agent';
import { GroupRunner } from '../firmware/resources/group-runner';
import { parseHaresources } from '../firmware/resources/haresources-parse';
import { IpAgent } from '../firmware/resources/ip-agent';
import { heartbeatScriptEnv } from '../firmware/resources/script-env';

interface ChildConfig {
  /** One haresources line. */
  haresources: string;
  node: string;
  configDir: string;
  searchPath: string[];
  rscTmpDir: string;
  announce?: Partial<AnnounceSettings>;
  dad?: boolean;
  /** The IP agent's takeover path: nativeAdd false = `ip addr add` + tool; snapshot false = query at every start. */
  ip?: IpPathOptions;
  scriptTimeoutMs?: number;
  /** Extra environment for the scripts (e.g. OCF_RESKEY_mondelay for Delay). */
  scriptEnv?: Record<string, string>;
}

interface IpPathOptions {
  nativeAdd?: boolean;
  snapshot?: boolean;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const clock = new SystemClock();
const sink = new LogSink({ ident: `agent-${cfg.node}`, stderr: true, debugLevel: 1 });
const log = sink.logger();
const runner = new SystemCommandRunner();
const announceTool = locateAnnounceTool();
const parsed = parseHaresources(cfg.haresources, { file: 'haresources', nodes: [cfg.node] });
if (parsed.groups.length !== 1 || parsed.diagnostics.some((d) => d.severity === 'error')) {
  process.stderr.write(`bad haresources: ${JSON.stringify(parsed.diagnostics)}\n`);
  process.exit(2);
}
const spec = parsed.groups[0]!;
const env = { ...heartbeatScriptEnv({ configDir: cfg.configDir, localNode: cfg.node, rscTmpDir: cfg.rscTmpDir, autoFailback: 'off' }), ...cfg.scriptEnv };

let announce = cfg.announce ?? {};
let ipPath: IpPathOptions = cfg.ip ?? {};
let agents: ResourceAgent[] = [];
let group!: GroupRunner;
function build(): void {
  agents = spec.resources.map((r) =>
    createAgent(r, {
      runner, clock, log, announceTool,
      ip: { announce, dad: cfg.dad, nativeAdd: ipPath.nativeAdd, ...(ipPath.snapshot === false ? { snapshot: false as const } : {}) },
      script: { searchPath: cfg.searchPath, env, startTimeoutMs: cfg.scriptTimeoutMs, stopTimeoutMs: cfg.scriptTimeoutMs },
    }),
  );
  group = new GroupRunner(spec, agents, { log, clock }, { stopRetries: 2, retryBaseMs: 100 });
}
build();
log.info(`announce tool: ${announceTool.native ?? `none (searched ${announceTool.searched.join(', ')})`}`);

const reply = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
reply({ hello: { timeOriginMs: performance.timeOrigin, pid: process.pid } });

type Command = { op: string; announce?: Partial<AnnounceSettings>; ip?: IpPathOptions };
const ipAgents = (): IpAgent[] => agents.filter((a): a is IpAgent => a instanceof IpAgent);
async function handle(c: Command): Promise<unknown> {
  switch (c.op) {
    case 'start':
      return group.start();
    case 'stop':
      return group.stop();
    case 'status':
      return group.status();
    case 'configure':
      announce = c.announce ?? announce;
      ipPath = c.ip ?? ipPath;
      build();
      return { announce, ip: ipPath };
    case 'prepare':
      await Promise.all(ipAgents().map((a) => a.prepare()));
      return { prepared: ipAgents().length };
    case 'probe':
      return ipAgents()
        .map((a) => ({ id: a.id, refreshing: a.announcements.refreshing, activeSenders: a.announcements.activeSenders, sentPackets: a.announcements.sentPackets }));
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

// Commands run one at a time, in order.
let chain: Promise<void> = Promise.resolve();
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  chain = chain.then(async () => {
    try {
      reply({ ok: true, result: await handle(JSON.parse(line) as Command) });
    } catch (e) {
      reply({ ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  });
});
rl.on('close', () => {
  void chain.then(async () => {
    await sink.close();
    process.exit(0);
  });
});
