// Command-line parsing for every `ringbeat` subcommand. Hand-written: a dozen
// options do not justify a dependency, and errors must name the bad argument.

export interface CommonOptions {
  configDir: string;
  stateDir?: string;
  runDir: string;
  /** hwtest: the board definition to test (else <config dir>/board). */
  board?: string;
  json: boolean;
  print: boolean;
  help: boolean;
  /** Positional arguments after the subcommand. */
  rest: string[];
}

export class UsageError extends Error {}

const VALUE_OPTIONS: Record<string, keyof CommonOptions> = {
  '-c': 'configDir',
  '--config-dir': 'configDir',
  '--state-dir': 'stateDir',
  '--run-dir': 'runDir',
  '--board': 'board',
};
const FLAG_OPTIONS: Record<string, keyof CommonOptions> = {
  '--json': 'json',
  '--print': 'print',
  '-h': 'help',
  '--help': 'help',
};

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CommonOptions {
  const o: CommonOptions = {
    configDir: env.RINGBEAT_CONFIG_DIR || '/etc/ha.d',
    stateDir: env.RINGBEAT_STATE_DIR || undefined,
    runDir: env.RINGBEAT_RUN_DIR || '/run/ringbeat',
    json: false,
    print: false,
    help: false,
    rest: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const valueKey = VALUE_OPTIONS[name];
    if (valueKey) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError(`option ${name} needs ${name === '--board' ? 'a board name' : 'a directory'}`);
      (o as unknown as Record<string, unknown>)[valueKey] = v;
      continue;
    }
    const flagKey = FLAG_OPTIONS[a];
    if (flagKey) {
      (o as unknown as Record<string, unknown>)[flagKey] = true;
      continue;
    }
    if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'`);
    o.rest.push(a);
  }
  return o;
}

export const USAGE = `usage: ringbeat <command> [options]

commands:
  run              run the daemon in the foreground (systemd: Type=simple)
  check            validate ha.cf and authkeys; print file:line errors; exit 1 on errors
                   (--print: also print the effective configuration)
  status           show nodes, links per medium, dropped-frame counters and resources
                   (--json: one JSON object, see README "Status JSON")
  standby [all|local|foreign|failback]
                   give resources to the peer (like hb_standby; default all)
  takeover [all|local|foreign]
                   take resources from the peer (like hb_takeover; default all)
  hwtest [--board NAME]
                   commissioning self-test: pulse each GPIO output, read the inputs,
                   switch each I2C relay on and off and read it back (exit 1 on failure)
  help             this text
  version          print the version

options (every command):
  -c, --config-dir DIR   configuration directory (default /etc/ha.d)
      --state-dir DIR    persistent state: uuid, generation (default /var/lib/ringbeat/<node>)
      --run-dir DIR      control socket directory (default /run/ringbeat)
      --board NAME       board definition for hwtest (default: first word of DIR/board)
      --json             machine-readable output (status, hwtest)
  -h, --help             help
`;
