// Builds the extension host bundle (CJS, vscode external), the webview bundle (browser ESM)
// and the CLI (CJS with a shebang), and copies sql.js's wasm next to them.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const watch = process.argv.includes('--watch');
const prod = process.argv.includes('--production');
mkdirSync('dist', { recursive: true });
copyFileSync(require.resolve('sql.js/dist/sql-wasm.wasm'), path.join('dist', 'sql-wasm.wasm'));

// zod's locales index re-exports every language; we only use English messages. Without this the
// unused translations are 17% of the extension bundle and 47% of the webview bundle.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.c?js$/ }, (args) => ({
      contents: args.path.endsWith('.cjs') ? 'exports.en = require("./en.cjs").default;' : 'export { default as en } from "./en.js";',
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

/** Resolves `ioredis` and `bullmq` to the vendor bundles (`dir` relative to the importing bundle), so both share one ioredis. */
function redisVendor(dir) {
  return {
    name: 'redis-vendor',
    setup(build) {
      build.onResolve({ filter: /^(bullmq|ioredis)$/ }, (args) => ({ path: `${dir}${args.path}.js`, external: true }));
    },
  };
}

const common = { plugins: [zodEnglishOnly], bundle: true, sourcemap: !prod, minify: prod, logLevel: 'warning', legalComments: 'none' };
const builds = [];
if (existsSync('src/extension/extension.ts')) {
  builds.push({ ...common, plugins: [...common.plugins, redisVendor('./vendor/')], entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', 'sql.js/dist/sql-wasm.wasm'] });
  // BullMQ and ioredis for the extension as a coordinator (hyperion.distributed.redisUrl): own
  // files, required only when distributed mode is used, so extension.js stays small and a user
  // without workers never loads them. The vsix ships no node_modules, so a bare require would fail.
  builds.push({ ...common, entryPoints: { ioredis: require.resolve('ioredis') }, outdir: 'dist/vendor', platform: 'node', format: 'cjs', target: 'node20' });
  builds.push({ ...common, plugins: [...common.plugins, redisVendor('./')], entryPoints: { bullmq: require.resolve('bullmq') }, outdir: 'dist/vendor', platform: 'node', format: 'cjs', target: 'node20' });
}
if (existsSync('src/webview/main.ts')) {
  builds.push({ ...common, entryPoints: ['src/webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', format: 'esm', target: 'es2022' });
}
builds.push({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node22', external: ['sql.js/dist/sql-wasm.wasm'], banner: { js: '#!/usr/bin/env node' } });

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
