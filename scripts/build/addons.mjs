// The native addons shipped in each single executable, per architecture:
//   bindings-cpp  serialport's prebuild from its npm package (glibc flavour)
//   epoll, i2c    compiled here (onoff's epoll and i2c-bus have no prebuilds):
//                 node-gyp (the copy bundled with npm) with the target's g++
//                 against the target Node's headers, glibc-compat.h forced in,
//                 cached by a hash of sources, headers and compiler version.
// Every addon is checked against the glibc floor.

import { cpSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BuildError, GLIBC_FLOOR, cachedDir, hashParts, root, run } from './common.mjs';
import { assertGlibcFloor } from './glibc.mjs';

const compatHeader = join(root, 'scripts', 'build', 'glibc-compat.h');

/** Packages compiled here: npm package -> addon name. */
const COMPILED = { epoll: 'epoll', 'i2c-bus': 'i2c' };

function serialportPrebuild(arch) {
  const dir = join(root, 'node_modules', '@serialport', 'bindings-cpp', 'prebuilds', `linux-${arch}`);
  const file = existsSync(dir) && readdirSync(dir).find((f) => f.endsWith('.glibc.node'));
  if (!file) throw new BuildError(`no glibc prebuild of @serialport/bindings-cpp for linux-${arch} in ${dir} (run npm ci)`);
  return join(dir, file);
}

/** npm bundles node-gyp; using it avoids a second copy (and its download of headers: we always pass --nodedir). */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    resolve(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].filter(Boolean);
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new BuildError(`node-gyp not found (looked at ${candidates.join(', ')}); it comes with npm`);
  return found;
}

/** All files of a package that go into the compiled addon. */
function sourceFiles(pkgDir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(join(pkgDir, 'src'));
  out.push(join(pkgDir, 'binding.gyp'), join(pkgDir, 'package.json'));
  return out.sort();
}

async function compile(target, base, pkg, addon, outDir) {
  const src = join(root, 'node_modules', pkg);
  const work = join(outDir, `work-${pkg}`);
  cpSync(src, work, { recursive: true, filter: (p) => !p.startsWith(join(src, 'build')) });
  const flags = `-include ${compatHeader}`;
  const env = {
    ...process.env,
    CC: target.cc,
    CXX: target.cxx,
    LINK: target.cxx,
    AR: target.ar,
    CFLAGS: flags,
    CXXFLAGS: flags,
    // binding.gyp finds nan with `node -e "require('nan')"` from the package dir.
    NODE_PATH: join(root, 'node_modules'),
  };
  delete env.npm_config_nodedir;
  await run([process.execPath, nodeGyp(), 'rebuild', `--arch=${target.arch}`, `--nodedir=${base.nodeDir}`, '--jobs=2'], { cwd: work, env, quiet: true });
  cpSync(join(work, 'build', 'Release', `${addon}.node`), join(outDir, `${addon}.node`));
  await run(['rm', '-rf', work]);
}

/** { name: path } of every addon for the target, built or taken from the cache. */
export async function nativeAddons(target, base) {
  const cxxVersion = await run([target.cxx, '--version'], { quiet: true }).catch(() => {
    throw new BuildError(`${target.cxx} is missing: apt-get install -y ${target.apt}`);
  });
  const inputs = [
    readFileSync(new URL(import.meta.url)),
    readFileSync(compatHeader),
    cxxVersion,
    target.arch,
    readFileSync(join(base.nodeDir, 'include', 'node', 'node_version.h')),
    ...Object.keys(COMPILED).flatMap((pkg) => sourceFiles(join(root, 'node_modules', pkg)).map((f) => readFileSync(f))),
  ];
  const { dir, hit } = await cachedDir(`addons-${target.arch}`, hashParts(...inputs), async (tmp) => {
    process.stderr.write(`build: compiling epoll and i2c-bus for ${target.arch}\n`);
    for (const [pkg, addon] of Object.entries(COMPILED)) await compile(target, base, pkg, addon, tmp);
  });
  if (hit) process.stderr.write(`build: ${target.arch} addons from the cache\n`);
  const addons = { 'bindings-cpp': serialportPrebuild(target.arch) };
  for (const addon of Object.values(COMPILED)) addons[addon] = join(dir, `${addon}.node`);
  const floors = {};
  for (const [name, file] of Object.entries(addons)) floors[name] = await assertGlibcFloor(file, GLIBC_FLOOR);
  return { addons, floors };
}
