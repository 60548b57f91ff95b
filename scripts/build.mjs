#!/usr/bin/env node
// npm run build: everything in dist/.
//
//   node scripts/build.mjs           bundle + dist/native/ + the x64 single executable
//   node scripts/build.mjs --all     + the arm64 executable, and per architecture
//                                    a .deb and a rootfs tarball (npm run build:all)
//   options: --arch x64,arm64   which executables (default: x64; --all: both)
//            --packages[=ARCHES]  also the .deb and rootfs tarballs (of every
//                               built architecture, or of ARCHES, e.g. =x64)
//            --xz-level N       compression of the packages (default 1: fast;
//                               6 saves ~3 MB per file and costs ~40 s each)
//
// dist/
//   ringbeat.cjs                  the bundle (`node dist/ringbeat.cjs`, bin/ringbeat)
//   native/                       addons (+ ringbeat-announce) for this machine, beside the bundle
//   ringbeat-x64, ringbeat-arm64  single executables, addons embedded as SEA assets
//   ringbeat_<v>_<debarch>.deb, ringbeat-<v>-<arch>-rootfs.tar.xz
//   BUILDINFO.json                versions, hashes, sizes and the glibc floor
//
// Slow steps are cached under node_modules/.cache/ringbeat by content hash:
// the arm64 Node (npm pack), the compiled addons, the executables.

import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { nativeAddons } from './build/addons.mjs';
import { buildBundle } from './build/bundle.mjs';
import { BuildError, GLIBC_FLOOR, TARGETS, cacheRoot, compareVersions, dist, root, sha256File } from './build/common.mjs';
import { assertGlibcFloor } from './build/glibc.mjs';
import { baseNode } from './build/node-base.mjs';
import { buildPackages } from './build/package.mjs';
import { buildSea } from './build/sea.mjs';

export { buildBundle } from './build/bundle.mjs';

function parseArgs(argv) {
  const o = { arches: ['x64'], packages: [], xzLevel: 1 };
  let packages;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--all') {
      o.arches = Object.keys(TARGETS);
      packages ??= 'all';
    } else if (a === '--packages') packages = 'all';
    else if (a.startsWith('--packages=')) packages = a.slice(11).split(',').filter(Boolean);
    else if (a === '--arch') o.arches = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--xz-level') o.xzLevel = Number(argv[++i]);
    else throw new BuildError(`unknown option ${a} (see the top of scripts/build.mjs)`);
  }
  for (const a of o.arches) if (!TARGETS[a]) throw new BuildError(`unknown architecture ${a} (${Object.keys(TARGETS).join(', ')})`);
  o.packages = packages === 'all' ? o.arches : (packages ?? []);
  for (const a of o.packages) if (!o.arches.includes(a)) throw new BuildError(`--packages=${a}: ${a} is not among the built architectures (--arch)`);
  if (!Number.isInteger(o.xzLevel) || o.xzLevel < 0 || o.xzLevel > 9) throw new BuildError('--xz-level takes 0..9');
  if (process.arch !== 'x64') throw new BuildError(`the build runs on x64 machines (this is ${process.arch})`);
  return o;
}

const max = (vs) => vs.filter(Boolean).reduce((a, b) => (compareVersions(a, b) >= 0 ? a : b));

/** The IP takeover helper (scripts/build-announce.mjs), when the tree has it. */
async function announceTool(arch, outDir) {
  const mod = join(root, 'scripts', 'build-announce.mjs');
  if (!existsSync(mod)) return undefined;
  const { buildAnnounce, ANNOUNCE_SOURCE } = await import(mod);
  if (ANNOUNCE_SOURCE && !existsSync(ANNOUNCE_SOURCE)) return undefined;
  return buildAnnounce({ arch, outDir });
}

/** Everything about one architecture up to its executable. */
async function buildTarget(target, bundle, version, timings) {
  const t0 = Date.now();
  const base = await baseNode(target);
  const nodeFloor = await assertGlibcFloor(base.node, GLIBC_FLOOR);
  const { addons, floors } = await nativeAddons(target, base);
  timings[`${target.arch}: node + addons`] = Date.now() - t0;
  const t1 = Date.now();
  const sea = await buildSea({ target, base, bundle, addons, version, out: join(dist, `ringbeat-${target.arch}`) });
  timings[`${target.arch}: executable${sea.cached ? ' (cached)' : ''}`] = Date.now() - t1;
  const glibc = max([nodeFloor.glibc, ...Object.values(floors).map((f) => f.glibc)]);
  const glibcxx = max([nodeFloor.glibcxx, ...Object.values(floors).map((f) => f.glibcxx)]);
  return {
    target,
    base,
    addons,
    sea,
    info: {
      executable: relative(dist, sea.file),
      bytes: statSync(sea.file).size,
      sha256: sea.sha256,
      glibc,
      glibcxx,
      node: { version: base.version, source: base.source, glibc: nodeFloor.glibc, glibcxx: nodeFloor.glibcxx },
      addons: Object.fromEntries(Object.entries(floors).map(([n, f]) => [n, { glibc: f.glibc, glibcxx: f.glibcxx ?? null }])),
    },
  };
}

/** dist/native/: the addons (and helper) for this machine, beside the bundle. */
async function stageHostNative(built) {
  const dir = join(dist, 'native');
  mkdirSync(dir, { recursive: true });
  for (const [name, file] of Object.entries(built.addons)) {
    const dest = join(dir, `${name}.node`);
    if (existsSync(dest) && readFileSync(dest).equals(readFileSync(file))) continue;
    // Never overwrite in place: a running ringbeat has this file mapped, and
    // rewriting its pages under it kills it with SIGBUS. A new inode is safe.
    const tmp = `${dest}.tmp-${process.pid}`;
    copyFileSync(file, tmp);
    chmodSync(tmp, 0o644);
    renameSync(tmp, dest);
  }
  await announceTool(process.arch, dir);
}

/**
 * Targets of an earlier build that this run did not rebuild, as long as their
 * files are still there: `npm run build` (x64 only) must not throw away the
 * arm64 executable a concurrent test may be using. Each target records the
 * bundle it was made from, so a stale one is visible (the tests check it).
 * `rebuilt`: the entries of this run (may take over their unchanged packages).
 */
function previousTargets(rebuilt) {
  let old;
  try {
    old = JSON.parse(readFileSync(join(dist, 'BUILDINFO.json'), 'utf8'));
  } catch {
    return {};
  }
  const kept = {};
  for (const [arch, t] of Object.entries(old.targets ?? {})) {
    const rb = rebuilt[arch];
    if (rb) {
      // Rebuilt to the very same executable (cache hit) without packages this
      // time: its packages from before still hold exactly this executable.
      if (!rb.deb && rb.sha256 === t.sha256) {
        for (const k of ['deb', 'rootfs', 'debBytes', 'rootfsBytes']) if (t[k] !== undefined && (typeof t[k] !== 'string' || existsSync(join(dist, t[k])))) rb[k] = t[k];
      }
      continue;
    }
    if (!t.executable || !existsSync(join(dist, t.executable)) || statSync(join(dist, t.executable)).size !== t.bytes) continue;
    for (const k of ['deb', 'rootfs']) if (t[k] && !existsSync(join(dist, t[k]))) delete t[k];
    kept[arch] = t;
  }
  return kept;
}

/** Removes executables and packages no target of BUILDINFO.json refers to (e.g. a rebuilt target's old packages). */
function removeOrphans(targets) {
  const keep = new Set(Object.values(targets).flatMap((t) => [t.executable, t.deb, t.rootfs]).filter(Boolean));
  for (const f of readdirSync(dist)) {
    const ours = /^ringbeat-(x64|arm64|arm)$/.test(f) || /^ringbeat_.*\.deb$/.test(f) || /^ringbeat-.*-rootfs\.tar\.xz$/.test(f);
    if (ours && !keep.has(f)) rmSync(join(dist, f), { force: true });
  }
}

export async function buildAll(o) {
  const timings = {};
  const t0 = Date.now();
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const bundle = await buildBundle();
  timings.bundle = Date.now() - t0;
  const built = await Promise.all(o.arches.map((a) => buildTarget(TARGETS[a], bundle, version, timings)));
  const host = built.find((b) => b.target.arch === process.arch) ?? (await buildTarget(TARGETS[process.arch], bundle, version, timings));
  await stageHostNative(host);
  const bundleSha256 = await sha256File(bundle);
  for (const b of built) b.info.bundleSha256 = bundleSha256;
  const buildInfo = {
    version,
    node: process.version.slice(1),
    glibcFloor: max(built.map((b) => b.info.glibc)),
    glibcFloorLimit: GLIBC_FLOOR,
    bundle: { file: 'ringbeat.cjs', bytes: statSync(bundle).size, sha256: bundleSha256 },
    targets: Object.fromEntries(built.map((b) => [b.target.arch, b.info])),
  };
  if (o.packages.length) {
    const t1 = Date.now();
    let cached = 0;
    await Promise.all(
      built.filter((b) => o.packages.includes(b.target.arch)).map(async (b) => {
        const announce = await announceTool(b.target.arch, join(cacheRoot, `announce-${b.target.arch}`));
        const p = await buildPackages({
          target: b.target,
          version,
          sea: b.sea.file,
          addons: b.addons,
          announce,
          floor: b.info.glibc,
          glibcxx: b.info.glibcxx,
          buildInfo: { ...buildInfo, targets: { [b.target.arch]: b.info } },
          outDir: dist,
          xzLevel: o.xzLevel,
        });
        if (p.cached) cached++;
        b.info.deb = relative(dist, p.deb);
        b.info.rootfs = relative(dist, p.rootfs);
        b.info.debBytes = statSync(p.deb).size;
        b.info.rootfsBytes = statSync(p.rootfs).size;
      }),
    );
    timings[`packages ${o.packages.join('+')}${cached === o.packages.length ? ' (cached)' : ''}`] = Date.now() - t1;
  }
  buildInfo.targets = { ...previousTargets(buildInfo.targets), ...buildInfo.targets };
  buildInfo.glibcFloor = max(Object.values(buildInfo.targets).map((t) => t.glibc));
  removeOrphans(buildInfo.targets);
  writeFileSync(join(dist, 'BUILDINFO.json'), `${JSON.stringify(buildInfo, null, 2)}\n`);
  timings.total = Date.now() - t0;
  return { buildInfo, timings };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const o = parseArgs(process.argv.slice(2));
    const { buildInfo, timings } = await buildAll(o);
    for (const [arch, t] of Object.entries(buildInfo.targets)) {
      const pk = t.deb ? `, ${t.deb}, ${t.rootfs}` : '';
      const how = o.arches.includes(arch) ? 'built' : 'kept (an earlier build)';
      console.log(`${how} dist/${t.executable} (${(t.bytes / 1e6).toFixed(1)} MB, glibc >= ${t.glibc})${pk}`);
    }
    console.log(`build: ${Object.entries(timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')}`);
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    console.error(`build failed: ${e.message}`);
    process.exit(1);
  }
}
