// File-level helpers for bench/extension.bench.ts: the production build into a private
// folder, sizes, the entries of a .vsix, and the activation lines of the e2e logs.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

export interface ProductionBuild {
  /** The folder the build ran in (its `src`, `dist`); the caller removes it. */
  dir: string;
  dist: string;
  ms: number;
  /** What was built: the working tree, or HEAD when the working tree did not build. */
  source: string;
}

/**
 * Runs the project's own `scripts/build.mjs --production` with a temp folder as working
 * directory, so the bundles land in `<tmp>/dist` and the shared `dist/` that others build,
 * package and test from is left alone. The temp folder's `src` is a symlink to the working
 * tree (esbuild follows it to the real files, so node_modules and tsconfig.json resolve as
 * usual). Others edit the same tree, so if it does not build at this moment the committed
 * HEAD is built instead (`git archive`, read-only on the repository) and `source` says so.
 */
export function buildProduction(root: string, node: string, from: 'tree-else-head' | 'head' = 'tree-else-head'): ProductionBuild {
  const attempt = (source: string, prepare: (dir: string) => void): ProductionBuild | string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-bench-build-'));
    prepare(dir);
    const script = fs.existsSync(path.join(dir, 'scripts', 'build.mjs')) ? path.join(dir, 'scripts', 'build.mjs') : path.join(root, 'scripts', 'build.mjs');
    const t0 = performance.now();
    const r = spawnSync(node, [script, '--production'], { cwd: dir, encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status === 0) return { dir, dist: path.join(dir, 'dist'), ms, source };
    fs.rmSync(dir, { recursive: true, force: true });
    return `${source} did not build (exit ${r.status}): ${(/ERROR\] (.*)/.exec(r.stderr)?.[1] ?? r.stderr.slice(0, 300)).trim()}`;
  };
  const tree = from === 'head' ? 'asked for HEAD' : attempt('the working tree', (dir) => fs.symlinkSync(path.join(root, 'src'), path.join(dir, 'src'), 'dir'));
  if (typeof tree !== 'string') return tree;
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  const committed = attempt(`HEAD ${head} (${tree})`, (dir) => {
    const tar = spawnSync('git', ['archive', '--format=tar', 'HEAD', 'src', 'tsconfig.json', 'scripts/build.mjs'], { cwd: root, maxBuffer: 256 * 1024 * 1024 });
    if (tar.status !== 0) throw new Error(`git archive failed: ${tar.stderr.toString()}`);
    const x = spawnSync('tar', ['-x', '-C', dir], { input: tar.stdout });
    if (x.status !== 0) throw new Error(`tar failed: ${x.stderr.toString()}`);
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  });
  if (typeof committed === 'string') throw new Error(`no production build: ${tree}; ${committed}`);
  return committed;
}

export interface SizeRow {
  name: string;
  raw: number;
  gzip: number;
}

/** Raw and gzip (zlib default level 6) sizes in bytes. */
export function sizeOf(file: string): SizeRow {
  const buf = fs.readFileSync(file);
  return { name: path.basename(file), raw: buf.length, gzip: zlib.gzipSync(buf).length };
}

export function kb(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}

/** The entries of a zip (a .vsix) from its central directory: name and uncompressed/compressed sizes. */
export function zipEntries(file: string): Array<{ name: string; size: number; compressed: number }> {
  const buf = fs.readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out: Array<{ name: string; size: number; compressed: number }> = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${i}`);
    const compressed = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    out.push({ name: buf.toString('utf8', p + 46, p + 46 + nameLen), size, compressed });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

export interface ActivationLine {
  file: string;
  mtime: Date;
  line: string;
  activateMs: number;
  trusted?: boolean;
}

/**
 * The activation figures in the e2e's copies of the Hyperion output channel. Accepts both
 * `Hyperion activated {"ms":20,...}` (what extension.ts logs) and `Hyperion activated in 20 ms`.
 */
export function e2eActivations(dir: string): ActivationLine[] {
  if (!fs.existsSync(dir)) return [];
  const out: ActivationLine[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('Hyperion.log')).sort()) {
    const file = path.join(dir, name);
    const mtime = fs.statSync(file).mtime;
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const json = /Hyperion activated (\{.*\})\s*$/.exec(line);
      const plain = /Hyperion activated in (\d+(?:\.\d+)?) ?ms/.exec(line);
      if (json) {
        try {
          const data = JSON.parse(json[1]!) as { ms?: unknown; trusted?: unknown };
          if (typeof data.ms === 'number') {
            out.push({ file: name, mtime, line: line.trim(), activateMs: data.ms, ...(typeof data.trusted === 'boolean' ? { trusted: data.trusted } : {}) });
          }
        } catch {
          // a truncated log line: skip it
        }
      } else if (plain) {
        out.push({ file: name, mtime, line: line.trim(), activateMs: Number(plain[1]) });
      }
    }
  }
  return out;
}

/** "engine opened {"ms":N}" lines from the same logs: the lazy first load of the engine and sql.js. */
export function e2eEngineOpens(dir: string): number[] {
  if (!fs.existsSync(dir)) return [];
  const out: number[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('Hyperion.log')).sort()) {
    for (const line of fs.readFileSync(path.join(dir, name), 'utf8').split('\n')) {
      const m = /engine opened (\{.*\})\s*$/.exec(line);
      if (!m) continue;
      try {
        const ms = (JSON.parse(m[1]!) as { ms?: unknown }).ms;
        if (typeof ms === 'number') out.push(ms);
      } catch {
        // skip
      }
    }
  }
  return out;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The production options scripts/build.mjs uses, kept in step by hand: if build.mjs changes them, change them here. */
const BUNDLES = {
  extension: { entryPoints: ['src/extension/extension.ts'], platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] },
  webview: { entryPoints: ['src/webview/main.ts'], platform: 'browser', format: 'esm', target: 'es2022', external: [] },
} as const;

/**
 * What a production bundle is made of, by package (`node_modules/<pkg>`, or `src/<top
 * folder>` for our code; zod's locales apart, since they are most of zod), in bytes of
 * minified output. Rebuilds in memory, from the same sources as `buildProduction` (run in its
 * `dir`), with build.mjs's options plus a metafile.
 */
export async function bundleComposition(buildDir: string, which: keyof typeof BUNDLES): Promise<Array<{ part: string; bytes: number }>> {
  const esbuild = await import('esbuild');
  const b = BUNDLES[which];
  const r = await esbuild.build({
    absWorkingDir: buildDir,
    entryPoints: [...b.entryPoints], platform: b.platform, format: b.format, target: b.target, external: [...b.external],
    bundle: true, minify: true, legalComments: 'none', write: false, metafile: true, outfile: `out/${which}.js`, logLevel: 'silent',
  });
  const output = Object.values(r.metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (!output) throw new Error(`esbuild reported no output for ${which}`);
  const parts = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const ours = /(?:^|\/)src\/([^/]+)\//.exec(input);
    const part = input.includes('node_modules/zod/v4/locales/') ? 'zod (locales)' : nm ? nm[1]! : ours ? `src/${ours[1]}` : input;
    parts.set(part, (parts.get(part) ?? 0) + bytesInOutput);
  }
  return [...parts].map(([part, bytes]) => ({ part, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/**
 * A what-if, not what ships: the same production bundles with zod's locale index replaced
 * by one that exports only `en` (the locale zod configures by default; nothing in src reads
 * `z.locales`). esbuild cannot drop the unused locales behind zod's `export * as locales`,
 * so this shows what a build-side shim would save. Writes `<buildDir>/what-if/{extension,webview}.js`.
 */
export async function buildEnglishOnlyZod(buildDir: string): Promise<{ extension: string; webview: string }> {
  const esbuild = await import('esbuild');
  const outDir = path.join(buildDir, 'what-if');
  const enOnly = {
    name: 'zod-english-only',
    setup(build: import('esbuild').PluginBuild) {
      build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.c?js$/ }, (args) => ({
        contents: args.path.endsWith('.cjs') ? 'exports.en = require("./en.cjs").default;' : 'export { default as en } from "./en.js";',
        resolveDir: path.dirname(args.path),
        loader: 'js' as const,
      }));
    },
  };
  for (const which of ['extension', 'webview'] as const) {
    const b = BUNDLES[which];
    await esbuild.build({
      absWorkingDir: buildDir,
      entryPoints: [...b.entryPoints], platform: b.platform, format: b.format, target: b.target, external: [...b.external],
      bundle: true, minify: true, legalComments: 'none', outfile: path.join(outDir, `${which}.js`), logLevel: 'silent', plugins: [enOnly],
    });
  }
  return { extension: path.join(outDir, 'extension.js'), webview: path.join(outDir, 'webview.js') };
}
