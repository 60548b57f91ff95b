// The Node binary each single executable is made from.
//
// x64: the node running the build, which must be the pinned version (the
// SEA blob must come from the same Node version as the base binary).
// Other architectures: the official build from the npm package
// node-linux-<arch>@<pinned version>, fetched with `npm pack` (the npm cache
// makes repeats offline), checked against the pinned sha512 integrity and
// unpacked under node_modules/.cache/ringbeat/node/. Nothing else is
// downloaded from anywhere. The package also carries the Node headers the
// addons are cross-compiled against.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BuildError, cachedDir, root, run } from './common.mjs';

const pinsFile = join(root, 'scripts', 'build', 'node-pins.json');

export function nodePins() {
  return JSON.parse(readFileSync(pinsFile, 'utf8'));
}

/** Directory with include/node/node_version.h for the running node (nodejs's headers). */
function hostNodeDir() {
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_version.h'))) return prefix;
  throw new BuildError(`no Node headers in ${prefix}/include/node (they come with the nodejs package that provides ${process.execPath})`);
}

function headerVersion(nodeDir) {
  const h = readFileSync(join(nodeDir, 'include', 'node', 'node_version.h'), 'utf8');
  const v = (name) => h.match(new RegExp(`#define\\s+NODE_${name}_VERSION\\s+(\\d+)`))?.[1];
  return `${v('MAJOR')}.${v('MINOR')}.${v('PATCH')}`;
}

async function fetchPackage(arch, pin, version) {
  const spec = `${pin.name}@${version}`;
  const { dir, hit } = await cachedDir(`node-${arch}`, `${pin.name}-${version}`, async (tmp) => {
    process.stderr.write(`build: fetching ${spec} from the npm registry (npm pack)\n`);
    await run(['npm', 'pack', spec, '--pack-destination', tmp, '--silent'], { cwd: tmp, quiet: true });
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new BuildError(`npm pack ${spec} produced no tarball`);
    const got = `sha512-${createHash('sha512').update(readFileSync(join(tmp, tgz))).digest('base64')}`;
    if (got !== pin.integrity) throw new BuildError(`${spec}: integrity ${got} does not match the pin ${pin.integrity} (${pinsFile})`);
    await run(['tar', '-xzf', join(tmp, tgz), '-C', tmp]);
    await run(['rm', '-f', join(tmp, tgz)]);
  });
  if (!hit) process.stderr.write(`build: ${spec} unpacked in ${dir}\n`);
  return join(dir, 'package');
}

/**
 * { node: path of the base binary, nodeDir: headers for node-gyp, version, source }
 * for one target architecture.
 */
export async function baseNode(target) {
  const pins = nodePins();
  const running = process.version.slice(1);
  if (running !== pins.version) {
    throw new BuildError(
      `the build runs on node ${running} but is pinned to ${pins.version} (${pinsFile}): ` +
        'a single executable blob must be made by the same Node version as its base binary. Use node ' +
        `${pins.version}, or move the pins (and the npm integrity) to ${running}.`,
    );
  }
  if (target.arch === process.arch) {
    const nodeDir = hostNodeDir();
    if (headerVersion(nodeDir) !== running) throw new BuildError(`headers in ${nodeDir} are for node ${headerVersion(nodeDir)}, not ${running}`);
    return { node: process.execPath, nodeDir, version: running, source: `the build machine's node (${process.execPath})` };
  }
  const pin = pins.packages[target.arch];
  if (!pin) throw new BuildError(`no pinned npm package for ${target.arch} in ${pinsFile}`);
  const pkg = await fetchPackage(target.arch, pin, pins.version);
  return { node: join(pkg, 'bin', 'node'), nodeDir: pkg, version: pins.version, source: `npm ${pin.name}@${pins.version} (${pin.integrity})` };
}
