// One Node single executable application (SEA) per architecture:
//   blob    node --experimental-sea-config: the bundle as main script, a V8
//           code cache, and the addons as assets native/<name>.node. The blob
//           is made by the target's own node (under qemu-user for arm64), so
//           the code cache is the target's.
//   binary  the base node, stripped (NodeSource/official builds carry 12 MB of
//           debug info), with the blob injected by postject.
// The result must answer `version` (run under qemu for arm64) before it is
// accepted. Cached by a hash of everything that goes in.

import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BuildError, cachedDir, hashParts, root, run, sha256File } from './common.mjs';

const SENTINEL = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

async function makeBlob(target, base, bundle, addons, dir) {
  const config = {
    main: bundle,
    output: join(dir, 'sea-prep.blob'),
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: true,
    assets: Object.fromEntries(Object.entries(addons).map(([name, file]) => [`native/${name}.node`, file])),
  };
  const cfg = join(dir, 'sea-config.json');
  writeFileSync(cfg, JSON.stringify(config, null, 2));
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  await run([...target.run, base.node, '--experimental-sea-config', cfg], { env, quiet: true }).catch((e) => {
    if (target.run.length && /ENOENT|missing/.test(e.message)) throw new BuildError(`${e.message} (running the ${target.arch} node needs: apt-get install -y ${target.runApt})`);
    throw e;
  });
  return config.output;
}

async function inject(target, base, blob, out) {
  copyFileSync(base.node, out);
  chmodSync(out, 0o755);
  await run([target.strip, out]);
  const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
  // postject warns about each of the 256 ELF notes of the Node binaries; harmless.
  await run([process.execPath, postject, out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SENTINEL], { quiet: true });
}

/** Runs the fresh executable: it must start and know its version. */
async function smoke(target, exe, version) {
  const env = { ...process.env, RINGBEAT_NATIVE_CACHE: '/nonexistent-never-needed' };
  delete env.NODE_OPTIONS;
  const outText = await run([...target.run, exe, 'version'], { env, quiet: true });
  if (outText.trim() !== `ringbeat ${version}`) throw new BuildError(`${exe} version printed '${outText.trim()}', not 'ringbeat ${version}'`);
}

/**
 * Builds (or takes from the cache) the executable for `target`; copies it to
 * `out`. Returns { file, sha256, cached }.
 */
export async function buildSea({ target, base, bundle, addons, version, out }) {
  const inputs = [
    readFileSync(new URL(import.meta.url)),
    target.arch,
    await sha256File(base.node),
    readFileSync(bundle),
    ...Object.entries(addons).flatMap(([n, f]) => [n, readFileSync(f)]),
  ];
  const { dir, hit } = await cachedDir(`sea-${target.arch}`, hashParts(...inputs), async (tmp) => {
    const blob = await makeBlob(target, base, bundle, addons, tmp);
    const exe = join(tmp, 'ringbeat');
    await inject(target, base, blob, exe);
    await smoke(target, exe, version);
  });
  const tmpOut = `${out}.tmp-${process.pid}`;
  copyFileSync(join(dir, 'ringbeat'), tmpOut);
  chmodSync(tmpOut, 0o755);
  await run(['mv', '-f', tmpOut, out]);
  return { file: out, sha256: await sha256File(out), cached: hit };
}
