// The esbuild bundle of firmware/ (platform node, CommonJS): dist/ringbeat.cjs.
//
// The native addons cannot be bundled: their loaders (`bindings`,
// `node-gyp-build`) search the file system relative to their own package.
// A plugin replaces those two modules with loadNative('<addon>')
// (firmware/core/native.ts), and the build fails if any other non-builtin
// require() survives in the bundle (inside a single executable, require()
// knows only builtins).

import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { BuildError, dist, root } from './common.mjs';

const loader = join(root, 'firmware', 'core', 'native.ts');

/** Which addon each package's loader call stands for (the name of its SEA asset / native/<name>.node). */
export const ADDONS = {
  '@serialport/bindings-cpp': 'bindings-cpp',
  epoll: 'epoll',
  'i2c-bus': 'i2c',
};

const nativePlugin = {
  name: 'ringbeat-native',
  setup(b) {
    b.onResolve({ filter: /^(bindings|node-gyp-build)$/ }, (args) => {
      const m = /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(relative(root, args.importer).replace(/\\/g, '/'));
      const pkg = m?.[1];
      const addon = pkg && ADDONS[pkg];
      if (!addon) return { errors: [{ text: `unmapped native loader '${args.path}' required from ${args.importer}` }] };
      return { path: addon, namespace: 'ringbeat-native' };
    });
    b.onLoad({ filter: /.*/, namespace: 'ringbeat-native' }, (args) => ({
      contents: `const { loadNative } = require(${JSON.stringify(loader)});\nmodule.exports = function () { return loadNative(${JSON.stringify(args.path)}); };\n`,
      resolveDir: root,
      loader: 'js',
    }));
    // `debug` (used by serialport) probes supports-color inside try/catch; an
    // unresolved require would be left in the bundle.
    b.onResolve({ filter: /^supports-color$/ }, () => ({ path: 'supports-color', namespace: 'ringbeat-empty' }));
    b.onLoad({ filter: /.*/, namespace: 'ringbeat-empty' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
    b.onResolve({ filter: /\.node$/ }, (args) => ({ errors: [{ text: `direct require of a .node file (${args.path}) from ${args.importer}` }] }));
  },
};

/** Fails if the bundle still requires anything that is not a Node builtin. */
export function checkRequires(file) {
  const text = readFileSync(file, 'utf8');
  const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'node:sea', 'node:test']);
  const bad = new Set();
  for (const m of text.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)) {
    if (!builtins.has(m[1])) bad.add(m[1]);
  }
  if (bad.size) throw new BuildError(`non-builtin require() left in ${file}: ${[...bad].join(', ')}`);
}

export async function buildBundle({ outfile = join(dist, 'ringbeat.cjs'), minify = false } = {}) {
  mkdirSync(dirname(outfile), { recursive: true });
  // Written beside and renamed into place: a running daemon re-reads the
  // bundle when it starts its heartbeat path and must never see half a file.
  const tmp = `${outfile}.tmp-${process.pid}`;
  await build({
    entryPoints: [join(root, 'firmware', 'entry.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [nativePlugin],
  });
  checkRequires(tmp);
  renameSync(tmp, outfile);
  return outfile;
}
