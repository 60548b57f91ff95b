// Finding a board definition by name.
//
//   1. <config dir>/boards/<name>.json   a site's own board, or a changed copy
//   2. the definitions built into ringbeat (board/boards/*.json, bundled into
//      the executable so a bare binary copied onto a board knows them; the
//      packages also install them in /usr/share/ringbeat/boards/ as templates)
//
// Which board this node is: `--board NAME`, else the first word of
// <config dir>/board (like nodeinfo names the node).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBoardDefinition, type BoardDefinition } from './board-def';

/* eslint-disable @typescript-eslint/no-require-imports -- static requires let esbuild embed the JSON */
const BUILTIN: Readonly<Record<string, unknown>> = {
  sim: require('./boards/sim.json'),
  'rpi4-pcf8574': require('./boards/rpi4-pcf8574.json'),
  'rpi4-mcp23017': require('./boards/rpi4-mcp23017.json'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

export class BoardError extends Error {
  override name = 'BoardError';
}

export const builtinBoardNames = (): string[] => Object.keys(BUILTIN).sort();

function siteDir(configDir: string): string {
  return join(configDir, 'boards');
}

/** Names of every board available with this configuration directory. */
export function availableBoards(configDir: string): string[] {
  let site: string[] = [];
  try {
    site = readdirSync(siteDir(configDir))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5));
  } catch {
    /* no site boards */
  }
  return [...new Set([...site, ...builtinBoardNames()])].sort();
}

/** Loads and validates a board by name; throws BoardError listing every problem. */
export function loadBoard(name: string, configDir: string): BoardDefinition {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new BoardError(`invalid board name '${name}'`);
  const file = join(siteDir(configDir), `${name}.json`);
  let value: unknown;
  let source: string;
  if (existsSync(file)) {
    source = file;
    try {
      value = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new BoardError(`${file}: ${(e as Error).message}`);
    }
  } else if (Object.hasOwn(BUILTIN, name)) {
    source = `built-in board ${name}`;
    value = BUILTIN[name];
  } else {
    throw new BoardError(`unknown board '${name}' (available: ${availableBoards(configDir).join(', ')}; site boards go in ${siteDir(configDir)}/)`);
  }
  const r = parseBoardDefinition(value, source, name);
  if (!r.ok) throw new BoardError(`board '${name}' is invalid:\n  ${r.errors.join('\n  ')}`);
  return r.board;
}

/** The board this node is: the explicit name, else the first word of <config dir>/board. */
export function selectBoardName(configDir: string, explicit?: string): string {
  if (explicit) return explicit;
  const file = join(configDir, 'board');
  let word: string | undefined;
  try {
    word = readFileSync(file, 'utf8').split(/\s+/).find((w) => w !== '');
  } catch {
    /* not there */
  }
  if (!word) {
    throw new BoardError(`no board selected: pass --board NAME or write the board name into ${file} (available: ${availableBoards(configDir).join(', ')})`);
  }
  return word;
}
