// Packages per architecture, from one staged file tree:
//   dist/ringbeat_<version>_<debarch>.deb            dpkg-deb, no debhelper
//   dist/ringbeat-<version>-<arch>-rootfs.tar.xz     the same files laid out
//                                                    from /, for imaged boards
//                                                    (written by scripts/flash)
//
// Tree:
//   usr/sbin/ringbeat                      the single executable
//   usr/lib/ringbeat/native/*.node         the addons, so an image mounted noexec
//                                          elsewhere never needs to unpack them
//   usr/lib/ringbeat/native/ringbeat-announce   (IP takeover helper, if built)
//   usr/lib/systemd/system/ringbeat.service
//   etc/ha.d/ha.cf                         commented default (conffile)
//   usr/share/ringbeat/authkeys.template   postinst makes /etc/ha.d/authkeys (0600, random key)
//   usr/share/ringbeat/boards/*.json       board definition templates
//   usr/share/ringbeat/maintscripts/       the package's maintainer scripts
//                                          (scripts/flash runs postinst on images)
//   usr/share/ringbeat/rootfs.sha256       manifest: sha256, mode, path of every file
//   usr/share/man/man8/ringbeat.8.gz, usr/share/doc/ringbeat/{copyright,BUILDINFO.json}

import { chmodSync, copyFileSync, createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BuildError, cacheRoot, cachedDir, compareVersions, hashParts, root, run, sha256File } from './common.mjs';

const PKG = join(root, 'packaging');

/** Debian's libstdc++6 version that first provides a GLIBCXX_3.4.x version. */
const LIBSTDCXX = [
  ['3.4.21', '5.2'], ['3.4.22', '6'], ['3.4.23', '7'], ['3.4.24', '7'], ['3.4.25', '8'], ['3.4.26', '9'],
  ['3.4.28', '10'], ['3.4.29', '11'], ['3.4.30', '12'],
];

function libstdcxxFor(glibcxx) {
  let v = '4.9';
  for (const [sym, deb] of LIBSTDCXX) if (glibcxx && compareVersions(glibcxx, sym) >= 0) v = deb;
  return v;
}

/** Copies file `src` to `dest` with `mode`. */
function put(dest, src, mode) {
  mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
  copyFileSync(src, dest);
  chmodSync(dest, mode);
}

/** Writes `content` (text or bytes) to `dest` with `mode`. */
function putData(dest, content, mode) {
  mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
  writeFileSync(dest, content);
  chmodSync(dest, mode);
}

function walk(dir, base = dir, out = []) {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, base, out);
    else out.push(relative(base, p));
  }
  return out;
}

/** Fills `tree` with the files of the package. */
function stageTree(tree, { sea, addons, announce, buildInfo }) {
  put(join(tree, 'usr/sbin/ringbeat'), sea, 0o755);
  for (const [name, file] of Object.entries(addons)) put(join(tree, `usr/lib/ringbeat/native/${name}.node`), file, 0o644);
  if (announce) put(join(tree, 'usr/lib/ringbeat/native/ringbeat-announce'), announce, 0o755);
  put(join(tree, 'usr/lib/systemd/system/ringbeat.service'), join(PKG, 'ringbeat.service'), 0o644);
  put(join(tree, 'etc/ha.d/ha.cf'), join(PKG, 'ha.cf'), 0o644);
  put(join(tree, 'usr/share/ringbeat/authkeys.template'), join(PKG, 'authkeys.template'), 0o644);
  for (const b of readdirSync(join(root, 'board', 'boards')).filter((f) => f.endsWith('.json'))) {
    put(join(tree, 'usr/share/ringbeat/boards', b), join(root, 'board', 'boards', b), 0o644);
  }
  for (const s of ['postinst', 'prerm', 'postrm']) put(join(tree, 'usr/share/ringbeat/maintscripts', s), join(PKG, 'debian', s), 0o755);
  putData(join(tree, 'usr/share/man/man8/ringbeat.8.gz'), gzipSync(readFileSync(join(PKG, 'ringbeat.8')), { level: 9 }), 0o644);
  put(join(tree, 'usr/share/doc/ringbeat/copyright'), join(PKG, 'debian', 'copyright'), 0o644);
  putData(join(tree, 'usr/share/doc/ringbeat/BUILDINFO.json'), `${JSON.stringify(buildInfo, null, 2)}\n`, 0o644);
}

/** The manifest scripts/flash verifies: "<sha256>  <mode>  <path>" per file. */
async function writeManifest(tree) {
  const manifest = 'usr/share/ringbeat/rootfs.sha256';
  const lines = [];
  for (const f of walk(tree)) {
    if (f === manifest || f.startsWith('DEBIAN/')) continue;
    const mode = (statSync(join(tree, f)).mode & 0o7777).toString(8).padStart(4, '0');
    lines.push(`${await sha256File(join(tree, f))}  ${mode}  ${f}`);
  }
  putData(join(tree, manifest), `${lines.join('\n')}\n`, 0o644);
}

function control({ target, version, floor, glibcxx, installedKiB }) {
  return [
    'Package: ringbeat',
    `Version: ${version}`,
    `Architecture: ${target.debArch}`,
    'Maintainer: ringbeat developers <ringbeat@localhost>',
    `Installed-Size: ${installedKiB}`,
    `Depends: libc6 (>= ${floor}), libstdc++6 (>= ${libstdcxxFor(glibcxx)}), libgcc-s1 | libgcc1`,
    'Section: admin',
    'Priority: optional',
    'Description: HA appliance heartbeat, Linux-HA Heartbeat 3.0.6 compatible',
    ' ringbeat watches the other node of a high-availability pair over serial',
    ' null-modem lines and the LAN and takes over when the active node dies. It',
    ' reads Heartbeat 3.0.6 configuration files and speaks its wire protocol.',
    ' One self-contained executable (Node.js single executable application).',
    '',
  ].join('\n');
}

async function writeDebianDir(tree, meta) {
  const files = walk(tree);
  let bytes = 0;
  const sums = [];
  for (const f of files) {
    const data = readFileSync(join(tree, f));
    bytes += data.length;
    sums.push(`${createHash('md5').update(data).digest('hex')}  ${f}`);
  }
  const deb = join(tree, 'DEBIAN');
  mkdirSync(deb, { mode: 0o755 });
  putData(join(deb, 'control'), control({ ...meta, installedKiB: Math.ceil(bytes / 1024) }), 0o644);
  putData(join(deb, 'md5sums'), `${sums.join('\n')}\n`, 0o644);
  putData(join(deb, 'conffiles'), '/etc/ha.d/ha.cf\n', 0o644);
  for (const s of ['postinst', 'prerm', 'postrm']) put(join(deb, s), join(PKG, 'debian', s), 0o755);
}

/** tar of etc/ and usr/ (root-owned, sorted, fixed mtime) through xz. */
function writeTarball(tree, out, mtime, xzLevel) {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${mtime}`, '--format=gnu', '-C', tree, '-cf', '-', 'etc', 'usr'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const xz = spawn('xz', ['-T2', `-${xzLevel}`, '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const file = createWriteStream(out);
    let err = '';
    tar.stderr.on('data', (d) => (err += d));
    xz.stderr.on('data', (d) => (err += d));
    tar.stdout.pipe(xz.stdin);
    xz.stdout.pipe(file);
    let failed = false;
    const fail = (e) => {
      if (!failed) reject(new BuildError(`${out}: ${e.message ?? e}${err ? `\n${err}` : ''}`));
      failed = true;
    };
    tar.on('error', fail);
    xz.on('error', fail);
    tar.on('close', (c) => c !== 0 && fail(`tar exited ${c}`));
    xz.on('close', (c) => c !== 0 && fail(`xz exited ${c}`));
    file.on('close', () => !failed && resolve(out));
  });
}

/** Every input of the packages of one architecture (the cache key). */
function packageInputs({ target, version, sea, addons, announce, buildInfo, xzLevel }) {
  const files = [
    new URL(import.meta.url).pathname, // the executable itself is in buildInfo (its sha256)
    ...Object.values(addons),
    ...(announce ? [announce] : []),
    ...walk(PKG).map((f) => join(PKG, f)),
    ...readdirSync(join(root, 'board', 'boards')).map((f) => join(root, 'board', 'boards', f)),
  ];
  return [target.arch, version, xzLevel, JSON.stringify(buildInfo), ...files.flatMap((f) => [f, readFileSync(f)])];
}

async function makePackages(o, outDir) {
  const { target, version } = o;
  const stage = join(cacheRoot, `stage-${target.arch}-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  const tree = join(stage, 'root');
  mkdirSync(tree, { recursive: true, mode: 0o755 });
  try {
    stageTree(tree, o);
    await writeManifest(tree);
    const mtime = Number(process.env.SOURCE_DATE_EPOCH ?? Math.floor(Date.now() / 1000));
    await writeTarball(tree, join(outDir, `ringbeat-${version}-${target.arch}-rootfs.tar.xz`), mtime, o.xzLevel);
    await writeDebianDir(tree, o);
    await run(['dpkg-deb', '--root-owner-group', '-Zxz', `-z${o.xzLevel}`, '--build', tree, join(outDir, `ringbeat_${version}_${target.debArch}.deb`)], {
      quiet: true,
      env: { ...process.env, SOURCE_DATE_EPOCH: String(mtime) },
    });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * Builds (or takes from the cache) the .deb and the rootfs tarball of one
 * architecture and copies them into `outDir`. Returns { deb, rootfs, cached }.
 */
export async function buildPackages(o) {
  const { target, version, outDir } = o;
  const names = { deb: `ringbeat_${version}_${target.debArch}.deb`, rootfs: `ringbeat-${version}-${target.arch}-rootfs.tar.xz` };
  const { dir, hit } = await cachedDir(`packages-${target.arch}`, hashParts(...packageInputs(o)), (tmp) => makePackages(o, tmp));
  const out = {};
  for (const [k, name] of Object.entries(names)) {
    // Copy under a temporary name, then rename: dist/ never holds half a package.
    const tmp = join(outDir, `${name}.tmp-${process.pid}`);
    copyFileSync(join(dir, name), tmp);
    await run(['mv', '-f', tmp, join(outDir, name)]);
    out[k] = join(outDir, name);
  }
  return { ...out, cached: hit };
}
