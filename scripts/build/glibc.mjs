// The glibc floor of an ELF file: the highest GLIBC_x.y version its dynamic
// symbol table asks for (objdump -T). Every shipped binary is checked against
// GLIBC_FLOOR, so a toolchain upgrade can never silently raise the oldest OS
// the images run on.

import { BuildError, compareVersions, run } from './common.mjs';

/** Parses `objdump -T` output: the versioned symbols a file needs from other objects. */
export function parseNeeds(objdumpText) {
  const needs = [];
  for (const line of objdumpText.split('\n')) {
    const m = /\*UND\*\s+\S+\s+(?:\(([A-Z]+)_([0-9.]+)\)|([A-Z]+)_([0-9.]+))\s+(\S+)/.exec(line);
    if (m) needs.push({ lib: m[1] ?? m[3], version: m[2] ?? m[4], symbol: m[5] });
  }
  return needs;
}

function highest(needs, lib) {
  let best;
  for (const n of needs) if (n.lib === lib && (!best || compareVersions(n.version, best) > 0)) best = n.version;
  return best;
}

/** { glibc, glibcxx, needs } of an ELF file (any architecture: objdump reads them all). */
export async function glibcNeeds(file) {
  const needs = parseNeeds(await run(['objdump', '-T', file], { quiet: true }));
  return { glibc: highest(needs, 'GLIBC'), glibcxx: highest(needs, 'GLIBCXX'), needs };
}

/** Throws naming every symbol above the floor. */
export async function assertGlibcFloor(file, floor) {
  const r = await glibcNeeds(file);
  const above = r.needs.filter((n) => n.lib === 'GLIBC' && compareVersions(n.version, floor) > 0);
  if (above.length) {
    throw new BuildError(
      `${file} needs glibc above the floor ${floor}: ${above.map((n) => `${n.symbol}@GLIBC_${n.version}`).join(', ')} ` +
        '(bind the symbol to its old version in scripts/build/glibc-compat.h)',
    );
  }
  return r;
}
