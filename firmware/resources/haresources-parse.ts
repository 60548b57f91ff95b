// /etc/ha.d/haresources, read the way Heartbeat 3.0.6's ResourceManager
// (ipres()) reads it:
//
//   1. `#` to the end of the line is a comment (anywhere on the line),
//   2. a line then ending in `\` is joined with the next one (backslash and
//      newline removed, nothing inserted),
//   3. blanks and tabs separate words; empty lines are skipped,
//   4. first word = preferred node (lower-cased), then the resources in start
//      order; the first resource (as written) is the group key.
//
// A resource is `Agent::arg1::arg2...`; a bare IP address (optionally with
// /bits/iface/broadcast) means `IPaddr::<it>`.
//
// Checked (Heartbeat checks only the node name): node in the node list,
// sane agent names, IP arguments, duplicates across groups (the same key or
// resource in two groups makes ResourceManager's `grep " key "` match two
// lines, and one address must not be managed twice).

import { readFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import type { ConfigDiagnostic, SourceRef } from '../config/config-data';
import { ipArgument, parseIpSpec } from './ip-spec';

export interface ResourceSpec {
  /** The resource text as written, e.g. "IPaddr2::10.99.0.100/24/eth0". */
  raw: string;
  /** Script / agent name ("IPaddr" for a bare address). */
  agent: string;
  /** Arguments ('::'-separated in the text). */
  args: string[];
  at: SourceRef;
}

export interface ResourceGroupSpec {
  /** Preferred node, lower-case. */
  node: string;
  /** First resource text as written (Heartbeat uses it in ip-request messages). */
  key: string;
  resources: ResourceSpec[];
  at: SourceRef;
}

export interface HaresourcesResult {
  groups: ResourceGroupSpec[];
  diagnostics: ConfigDiagnostic[];
}

export interface HaresourcesOptions {
  /** File name for SourceRefs and diagnostics. */
  file: string;
  /** Cluster nodes (ha.cf `node`), any case. */
  nodes: readonly string[];
}

/** Script names: no path separators, no leading dot, nothing a shell would expand. */
const AGENT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;
/** The agents ringbeat runs in-process (see create-agent). */
const IP_AGENTS = new Set(['IPaddr', 'IPaddr2']);

/**
 * Whether a word is a bare address (ResourceManager's isip(), plus IPv6).
 * `dead::1` is both a valid IPv6 address and script "dead" with argument
 * "1": an IPv6 word counts as an address only when its first group contains
 * a digit (fd00::1, 2001:db8::1) or is empty (::1); write IPaddr2::cafe::1
 * for the rest.
 */
export function isBareAddress(word: string): boolean {
  const head = word.split('/')[0] ?? '';
  if (isIPv4(head)) return true;
  if (!isIPv6(head)) return false;
  const first = head.split(':')[0] ?? '';
  return first === '' || /\d/.test(first);
}

/**
 * Splits a resource word into agent and arguments. A bare address means
 * IPaddr::<word>; otherwise the agent is the text before the first '::'.
 */
export function splitResource(word: string): { agent: string; args: string[]; shorthand: boolean } {
  if (isBareAddress(word)) return { agent: 'IPaddr', args: [word], shorthand: true };
  const parts = word.split('::');
  return { agent: parts[0] ?? '', args: parts.slice(1), shorthand: false };
}

interface LogicalLine {
  text: string;
  line: number; // first physical line
  /** Physical lines joined into this one that carry a comment. */
  commentedContinuations: number[];
}

/** Steps 1-2: comments stripped, continuation lines joined (ResourceManager's sed). */
function logicalLines(text: string): LogicalLine[] {
  const rawLines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const physical = rawLines.map((l) => l.replace(/#.*/, ''));
  const out: LogicalLine[] = [];
  for (let i = 0; i < physical.length; i++) {
    const ll: LogicalLine = { text: physical[i]!, line: i + 1, commentedContinuations: [] };
    while (ll.text.endsWith('\\') && i + 1 < physical.length) {
      i++;
      ll.text = ll.text.slice(0, -1) + physical[i]!;
      if (rawLines[i]!.includes('#')) ll.commentedContinuations.push(i + 1);
    }
    if (ll.text.endsWith('\\')) ll.text = ll.text.slice(0, -1); // continuation on the last line: nothing follows
    out.push(ll);
  }
  return out;
}

export function parseHaresources(text: string, opts: HaresourcesOptions): HaresourcesResult {
  const diagnostics: ConfigDiagnostic[] = [];
  const groups: ResourceGroupSpec[] = [];
  const nodes = new Set(opts.nodes.map((n) => n.toLowerCase()));
  const err = (line: number, message: string): void => void diagnostics.push({ file: opts.file, line, severity: 'error', message });
  const warn = (line: number, message: string): void => void diagnostics.push({ file: opts.file, line, severity: 'warning', message });
  const seenResource = new Map<string, SourceRef>(); // canonical text -> first use
  const seenAddress = new Map<string, SourceRef>(); // IP address -> first use

  for (const ll of logicalLines(text)) {
    const words = ll.text.split(/[ \t]+/).filter((w) => w.length > 0);
    if (words.length === 0) continue;
    const at: SourceRef = { file: opts.file, line: ll.line };
    for (const n of ll.commentedContinuations) {
      // sed strips '#' before it joins lines, so on a continuation line the
      // comment survives and its words become resources.
      warn(n, "comment on a continuation line: Heartbeat's ResourceManager does not strip it and would read its words as resources");
    }
    const node = words[0]!.toLowerCase();
    if (!nodes.has(node)) {
      err(ll.line, `node '${words[0]}' is not a cluster node (ha.cf node: ${[...nodes].join(', ') || 'none'})`);
    }
    if (words.length === 1) {
      err(ll.line, `no resources for node '${words[0]}' (want: <node> <resource> [<resource> ...])`);
      continue;
    }
    const resources: ResourceSpec[] = [];
    let bad = false;
    for (const word of words.slice(1)) {
      const { agent, args, shorthand } = splitResource(word);
      const r: ResourceSpec = { raw: word, agent, args, at };
      if (!AGENT_NAME.test(agent)) {
        err(ll.line, `bad resource '${word}': '${agent}' is not a script name (letters, digits, _ . + -; no '/')`);
        bad = true;
        continue;
      }
      if (args.some((a) => a === '')) warn(ll.line, `resource '${word}' has an empty argument ('::::' or a trailing '::')`);
      if (IP_AGENTS.has(agent)) {
        const p = parseIpSpec(ipArgument(args));
        if (!p.ok) {
          err(ll.line, `bad address in '${word}': ${p.error}`);
          bad = true;
          continue;
        }
        if (p.spec.family === 6 && shorthand) {
          warn(ll.line, `'${word}': Heartbeat 3.0.6 does not read a bare IPv6 address as IPaddr (it splits it at '::'); write IPaddr2::${word} only if all nodes run ringbeat`);
        } else if (p.spec.family === 6) {
          warn(ll.line, `'${word}': Heartbeat 3.0.6 splits IPv6 addresses at '::' into several arguments, so this group works between ringbeat nodes only`);
        }
        const prev = seenAddress.get(p.spec.address);
        if (prev) {
          err(ll.line, `address ${p.spec.address} is managed twice (also ${prev.file}:${prev.line})`);
          bad = true;
        } else seenAddress.set(p.spec.address, at);
      }
      const canonical = shorthand ? `IPaddr::${word}` : word;
      const prev = seenResource.get(canonical);
      if (prev) {
        err(ll.line, `resource '${word}' appears twice (also ${prev.file}:${prev.line}); a resource belongs to one group`);
        bad = true;
      } else seenResource.set(canonical, at);
      resources.push(r);
    }
    if (bad || resources.length === 0) continue;
    groups.push({ node, key: words[1]!, resources, at });
  }
  return { groups, diagnostics };
}

/** Reads and parses a haresources file; a missing file is an error diagnostic. */
export async function loadHaresources(file: string, nodes: readonly string[]): Promise<HaresourcesResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      groups: [],
      diagnostics: [{ file, line: 0, severity: 'error', message: code === 'ENOENT' ? 'file not found' : `cannot read: ${(e as Error).message}` }],
    };
  }
  return parseHaresources(text, { file, nodes });
}
