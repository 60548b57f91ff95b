// Loads a Heartbeat configuration directory (ha.cf, authkeys, nodeinfo) into
// one validated ClusterConfig, collecting every problem as a diagnostic.
// Never throws: bad input and I/O failures become diagnostics naming the file.

import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join, resolve } from 'node:path';
import { describeIoError, readAuthkeys } from './authkeys-parse';
import type { ClusterConfig, ConfigDiagnostic, LoadResult } from './config-data';
import { parseHacf, type LocalNodeInfo } from './hacf-parse';
import { parseHaresources } from '../resources/haresources-parse';

export interface LoadOptions {
  /** Host name to use when there is no nodeinfo file (default: os.hostname(), i.e. `uname -n`). */
  hostname?: string;
}

export function loadConfig(configDir: string, opts: LoadOptions = {}): LoadResult {
  try {
    return load(resolve(configDir), opts);
  } catch (err) {
    // Only a bug can get here; still report it the same way as bad input.
    const file = join(resolve(configDir), 'ha.cf');
    const errors: ConfigDiagnostic[] = [
      { file, line: 0, severity: 'error', message: `internal error while loading the configuration: ${String(err)}` },
    ];
    return { ok: false, errors, warnings: [] };
  }
}

function load(dir: string, opts: LoadOptions): LoadResult {
  const diagnostics: ConfigDiagnostic[] = [];
  const haPath = join(dir, 'ha.cf');
  const authPath = join(dir, 'authkeys');

  const local = resolveLocalNode(dir, opts, diagnostics);

  let hacfText: string | undefined;
  try {
    hacfText = readFileSync(haPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? `file not found; copy an annotated sample (e.g. /usr/share/doc/heartbeat/ha.cf.gz) to ${haPath} and edit it`
        : `cannot read: ${describeIoError(err)}`;
    diagnostics.push({ file: haPath, line: 0, severity: 'error', message });
  }
  const hacf = hacfText === undefined ? undefined : parseHacf(hacfText, haPath, local);
  if (hacf) diagnostics.push(...hacf.diagnostics);

  const auth = readAuthkeys(authPath);
  diagnostics.push(...auth.diagnostics);

  // haresources is optional (a membership-only node has none).
  const hrPath = join(dir, 'haresources');
  let resources: ClusterConfig['resources'];
  let hrText: string | undefined;
  try {
    hrText = readFileSync(hrPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      diagnostics.push({ file: hrPath, line: 0, severity: 'error', message: `cannot read: ${describeIoError(err)}` });
    }
  }
  if (hrText !== undefined && hacf) {
    const hr = parseHaresources(hrText, { file: hrPath, nodes: hacf.settings.nodes });
    diagnostics.push(...hr.diagnostics);
    resources = hr.groups;
  }

  const errors = diagnostics.filter((d) => d.severity === 'error');
  const warnings = diagnostics.filter((d) => d.severity === 'warning');
  if (errors.length > 0 || !hacf || !auth.auth || !local) {
    return { ok: false, errors, warnings };
  }
  const config: ClusterConfig = {
    ...hacf.settings,
    configDir: dir,
    localNode: local.name,
    localNodeSource: local.source,
    auth: auth.auth,
    ...(resources ? { resources } : {}),
  };
  return { ok: true, config, warnings };
}

/**
 * Heartbeat's rule: the first word of <dir>/nodeinfo if that file exists,
 * else `uname -n`; lower-cased either way. Returns undefined (with a
 * diagnostic) when nodeinfo exists but is unusable.
 */
function resolveLocalNode(dir: string, opts: LoadOptions, diagnostics: ConfigDiagnostic[]): LocalNodeInfo | undefined {
  const nodeinfoPath = join(dir, 'nodeinfo');
  let text: string;
  try {
    text = readFileSync(nodeinfoPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      diagnostics.push({ file: nodeinfoPath, line: 0, severity: 'error', message: `cannot read: ${describeIoError(err)}` });
      return undefined;
    }
    const name = (opts.hostname ?? osHostname()).toLowerCase();
    return { name, source: `the host name (uname -n; there is no ${nodeinfoPath})`, nodeinfoPath };
  }
  const lines = text.split('\n');
  const index = lines.findIndex((l) => l.trim() !== '');
  const word = index >= 0 ? lines[index]?.trim().split(/\s+/)[0] : undefined;
  if (word === undefined) {
    diagnostics.push({
      file: nodeinfoPath,
      line: 0,
      severity: 'error',
      message: "empty; write this node's name on the first line, or delete the file to use the host name",
    });
    return undefined;
  }
  return { name: word.toLowerCase(), source: `${nodeinfoPath}:${index + 1}`, nodeinfoPath };
}
