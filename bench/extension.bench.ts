// Extension benchmark: what the user pays for Hyperion in the editor, side by side.
//  1. bundle sizes of a fresh production build (raw and gzip; of the working tree, or of HEAD
//     if the shared tree does not build right now), what they are made of, a what-if without
//     zod's unused locales, and the packaged .vsix as found;
//  2. activation: the figures the last real-VS Code e2e logged, plus the cost of loading and
//     evaluating dist/extension.js in plain Node (a stub `vscode`; activate() is NOT called);
//  3. graph view render time in headless Chromium: the real page, CSP and webview.js, fed a
//     `graph/show` built by the host's own layoutGraph for seeded random runs of 50 and 200 tasks.
// Run: ./node_modules/.bin/node --import tsx bench/extension.bench.ts   (~1 minute)
// Needs /usr/bin/chromium (apt-get install -y chromium). Writes bench/out/graph-50*.png.
// Last lines: `bundle extension.js: <KB> KB`, `graph render 50: <ms> ms`, `graph render 200: <ms> ms`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { layoutGraph } from '../src/extension/viewmodel/graph';
import { ToWebview } from '../src/protocol/messages';
import { randomRun } from './support/extension-graphs';
import { buildEnglishOnlyZod, buildProduction, bundleComposition, e2eActivations, e2eEngineOpens, kb, median, sizeOf, zipEntries } from './support/extension-files';
import { cspViolations, openGraphPage, servePage, timeRender, type CspViolation, type PageProblems, type RenderTiming } from './support/extension-page';
import { loadNow, machineLine, table } from './support/machine';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const localNode = path.join(root, 'node_modules', '.bin', 'node');
const node = fs.existsSync(localNode) ? localNode : process.execPath;
const CHROMIUM = '/usr/bin/chromium';
const LOAD_RUNS = 15;
const PAGES = 7;
const WARM_PER_PAGE = 4;
const SIZES = [50, 200] as const;
const SEED = 7;

const ms = (x: number) => x.toFixed(1);

function bundles(dist: string): number {
  const rows = ['extension.js', 'webview.js', 'cli.js', 'sql-wasm.wasm'].map((f) => sizeOf(path.join(dist, f)));
  const found = path.join(root, 'dist');
  const asFound = (name: string) => (fs.existsSync(path.join(found, name)) ? kb(fs.statSync(path.join(found, name)).size) : '-');
  console.log(table(
    ['file', '', 'KB raw', 'KB gzip', 'gzip %', 'dist/ as found, KB raw'],
    rows.map((r) => [r.name, '', kb(r.raw), kb(r.gzip), `${((100 * r.gzip) / r.raw).toFixed(0)}%`, asFound(r.name)]),
  ));
  const css = sizeOf(path.join(root, 'media', 'graph.css'));
  console.log(`media/graph.css (the webview's stylesheet): ${kb(css.raw)} KB raw, ${kb(css.gzip)} KB gzip`);

  const vsix = path.join(found, 'hyperion.vsix');
  if (!fs.existsSync(vsix)) {
    console.log('dist/hyperion.vsix: not present (npm run package makes it)');
  } else {
    const st = fs.statSync(vsix);
    console.log(`dist/hyperion.vsix: ${kb(st.size)} KB, written ${st.mtime.toISOString()} (not rebuilt by this bench)`);
    const packed = zipEntries(vsix).find((e) => e.name === 'extension/dist/extension.js');
    const prod = rows[0]!.raw;
    if (packed) {
      const verdict = Math.abs(packed.size - prod) <= prod * 0.02
        ? 'matches the production build'
        : `does NOT match this production build (${kb(prod)} KB): it was packaged from another build, e.g. a development build written by a concurrent \`npm run build\``;
      console.log(`  its extension/dist/extension.js: ${kb(packed.size)} KB raw, ${kb(packed.compressed)} KB deflated — ${verdict}`);
    }
  }
  return rows[0]!.raw;
}

function activation(prodBundle: string, englishOnly: string): void {
  const dir = path.join(root, 'artifacts', 'e2e');
  const lines = e2eActivations(dir);
  if (lines.length === 0) {
    console.log('real VS Code: no "Hyperion activated" lines in artifacts/e2e/*Hyperion.log (run npm run test:e2e)');
  } else {
    console.log(`real VS Code (from the last npm run test:e2e, logs written ${lines[0]!.mtime.toISOString()}):`);
    for (const l of lines) console.log(`  ${l.file}: activate() took ${l.activateMs} ms${l.trusted === undefined ? '' : l.trusted ? ' (trusted workspace)' : ' (untrusted workspace)'}`);
    const opens = e2eEngineOpens(dir);
    if (opens.length > 0) console.log(`  engine opened (lazy, after activation) in ${opens.join(', ')} ms`);
    console.log('  (activate()\'s own figure; it excludes VS Code loading the module, which the next lines estimate)');
  }

  const loader = path.join(root, 'bench', 'support', 'extension-load.mjs');
  const variants: Array<{ label: string; arg: string }> = [{ label: 'baseline (same script, no bundle)', arg: 'none' }, { label: 'production extension.js', arg: prodBundle }, { label: 'what-if: zod English locale only', arg: englishOnly }];
  const asFound = path.join(root, 'dist', 'extension.js');
  if (fs.existsSync(asFound)) variants.push({ label: `dist/extension.js as found (${kb(fs.statSync(asFound).size)} KB)`, arg: asFound });
  const env = { ...process.env };
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_OPTIONS;
  const wall = variants.map(() => [] as number[]);
  const evalMs = variants.map(() => [] as number[]);
  for (let i = 0; i < LOAD_RUNS; i++) {
    variants.forEach((v, vi) => {
      const t0 = performance.now();
      const r = spawnSync(node, [loader, v.arg], { encoding: 'utf8', env });
      wall[vi]!.push(performance.now() - t0);
      if (r.status !== 0) throw new Error(`loading ${v.arg} failed: ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { requireMs: number; activateType: string };
      if (v.arg !== 'none' && out.activateType !== 'function') throw new Error(`${v.arg} exports no activate()`);
      evalMs[vi]!.push(out.requireMs);
    });
  }
  const base = median(wall[0]!);
  console.log(`\nloading the bundle in plain Node (${path.basename(node)} ${process.version}), median of ${LOAD_RUNS} fresh processes each;`);
  console.log('a stub `vscode` module lets the bundle evaluate; activate() is not called, so this is module load + evaluation only:');
  console.log(table(
    ['variant', '', 'process wall ms', 'minus baseline ms', 'require() in-process ms'],
    variants.map((v, vi) => [v.label, '', ms(median(wall[vi]!)), vi === 0 ? '-' : ms(median(wall[vi]!) - base), vi === 0 ? '-' : ms(median(evalMs[vi]!))]),
  ));
}

interface SizeResult {
  n: number;
  levels: number;
  edges: number;
  critical: number;
  payloadKb: string;
  hostMs: number;
  cold: RenderTiming[];
  warm: RenderTiming[];
}

function payload(n: number): { msg: ToWebview; hostMs: number; levels: number; edges: number; critical: number } {
  const run = randomRun(n, SEED + n);
  const runs = [{ id: run.id, label: `${run.goal} (${run.status})` }];
  const times: number[] = [];
  let msg: ToWebview | undefined;
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    msg = ToWebview.parse({ type: 'graph/show', graph: layoutGraph(run), runs });
    times.push(performance.now() - t0);
  }
  if (!msg || msg.type !== 'graph/show') throw new Error('layoutGraph did not produce a graph/show message');
  const levels = new Set(msg.graph.nodes.map((x) => x.level)).size;
  return { msg, hostMs: median(times), levels, edges: msg.graph.edges.length, critical: msg.graph.criticalPath.length };
}

const pick = (ts: RenderTiming[], k: keyof RenderTiming) => median(ts.map((t) => t[k]));

async function graphRender(dist: string): Promise<Map<number, SizeResult>> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get update && apt-get install -y chromium`);
  const inputs = new Map(SIZES.map((n) => [n, payload(n)]));
  const results = new Map<number, SizeResult>(SIZES.map((n) => {
    const p = inputs.get(n)!;
    return [n, { n, levels: p.levels, edges: p.edges, critical: p.critical, payloadKb: kb(JSON.stringify(p.msg).length), hostMs: p.hostMs, cold: [], warm: [] }];
  }));
  const server = await servePage(dist, path.join(root, 'media'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const seen: PageProblems = { exceptions: [], errors: [], warnings: [] };
  const violations: CspViolation[] = [];
  let loads = 0;
  try {
    for (let p = 0; p < PAGES; p++) {
      // Alternate the order so drift in the machine's load does not favour one size.
      for (const n of p % 2 === 0 ? SIZES : [...SIZES].reverse()) {
        const { page, problems: pp } = await openGraphPage(browser, server.origin, { width: 1280, height: 800 });
        const r = results.get(n)!;
        const msg = inputs.get(n)!.msg;
        r.cold.push(await timeRender(page, msg, n));
        for (let w = 0; w < WARM_PER_PAGE; w++) r.warm.push(await timeRender(page, msg, n));
        violations.push(...(await cspViolations(page)));
        seen.exceptions.push(...pp.exceptions);
        seen.errors.push(...pp.errors);
        seen.warnings.push(...pp.warnings);
        loads++;
        await page.close();
      }
    }
    await screenshots(browser, server.origin, inputs.get(50)!.msg);
  } finally {
    await browser.close();
    await server.close();
  }
  reportProblems(seen, violations, loads, fs.readFileSync(path.join(dist, 'webview.js'), 'utf8'));
  return results;
}

function counted(xs: readonly string[]): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m];
}

/**
 * What the page said while it was measured, each distinct item once with its count. A CSP
 * violation is shown with the bundle text at the blocked spot, which names the library.
 */
function reportProblems(seen: PageProblems, violations: CspViolation[], loads: number, bundle: string): void {
  const lines = bundle.split('\n');
  const where = (v: CspViolation) => {
    const text = v.file === 'webview.js' ? (lines[v.line - 1] ?? '') : '';
    const at = Math.max(0, v.column - 1);
    return text ? ` near «${text.slice(Math.max(0, at - 70), at + 50).replace(/\s+/g, ' ')}»` : '';
  };
  const normalise = (m: string) => m
    .replace(/'nonce-[^']+'/g, "'nonce-…'").replace(/sha256-[A-Za-z0-9+/=]+/g, 'sha256-…').replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
    .slice(0, 170);
  console.log(`page problems over ${loads} page loads:`);
  if (seen.exceptions.length + seen.errors.length + seen.warnings.length + violations.length === 0) console.log('  none: no exceptions, no CSP violations, no console errors or warnings');
  for (const [m, c] of counted(seen.exceptions)) console.log(`  exception ×${c}: ${m}`);
  const byKey = new Map(violations.map((v) => [`${v.directive}|${v.file}:${v.line}:${v.column}`, v]));
  for (const [key, c] of counted(violations.map((v) => `${v.directive}|${v.file}:${v.line}:${v.column}`))) {
    const v = byKey.get(key)!;
    console.log(`  CSP ×${c}: ${v.directive} blocked ${v.blocked || '?'} at ${v.file}:${v.line}:${v.column}${where(v)}`);
  }
  for (const [m, c] of counted(seen.errors.map(normalise))) console.log(`  console.error ×${c}: ${m}`);
  for (const [m, c] of counted(seen.warnings.map(normalise))) console.log(`  console.warn ×${c}: ${m}`);
}

/** The whole 50-task graph at a viewport that fits it, and what a ~360 px VS Code sidebar shows first. */
async function screenshots(browser: import('playwright-core').Browser, origin: string, msg: ToWebview): Promise<void> {
  if (msg.type !== 'graph/show') return;
  const out = path.join(root, 'bench', 'out');
  fs.mkdirSync(out, { recursive: true });
  const full = { width: Math.ceil(msg.graph.width) + 30, height: Math.min(4000, Math.ceil(msg.graph.height) + 130) };
  for (const [file, viewport] of [['graph-50.png', full], ['graph-50-sidebar.png', { width: 360, height: 640 }]] as const) {
    const { page } = await openGraphPage(browser, origin, viewport);
    await timeRender(page, msg, msg.graph.nodes.length);
    await page.screenshot({ path: path.join(out, file) });
    await page.close();
    console.log(`screenshot: bench/out/${file} (${viewport.width}×${viewport.height})`);
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`machine: ${machineLine()}`);

  console.log('\n## 1. bundle sizes (fresh `node scripts/build.mjs --production` into a temp dir)');
  const build = buildProduction(root, node);
  try {
    console.log(`built ${build.source} in ${(build.ms / 1000).toFixed(1)} s`);
    const extBytes = bundles(build.dist);
    for (const which of ['extension', 'webview'] as const) {
      const parts = await bundleComposition(build.dir, which);
      const total = parts.reduce((a, p) => a + p.bytes, 0);
      console.log(`${which}.js by part (top 6 of ${parts.length}): ${parts.slice(0, 6).map((p) => `${p.part} ${kb(p.bytes)} KB (${((100 * p.bytes) / total).toFixed(0)}%)`).join(', ')}`);
    }
    const whatIf = await buildEnglishOnlyZod(build.dir);
    for (const which of ['extension', 'webview'] as const) {
      const w = sizeOf(whatIf[which]);
      const shipped = sizeOf(path.join(build.dist, `${which}.js`));
      console.log(`what-if, not shipped: ${which}.js with only zod's English locale: ${kb(w.raw)} KB raw, ${kb(w.gzip)} KB gzip (${(100 * (1 - w.raw / shipped.raw)).toFixed(0)}% smaller)`);
    }

    console.log('\n## 2. activation');
    activation(path.join(build.dist, 'extension.js'), whatIf.extension);

    console.log(`\n## 3. graph view render in headless Chromium (load ${loadNow()})`);
    const results = await graphRender(build.dist);
    console.log(`medians; cold = first graph/show in a fresh page (${PAGES} pages), warm = the same snapshot re-posted (${PAGES * WARM_PER_PAGE} times);`);
    console.log('ms from window.postMessage: handled = zod-validated and SVG in the DOM, layout = forced layout done,');
    console.log('frame = next requestAnimationFrame, painted = a task after that frame. host = layoutGraph + ToWebview.parse in Node.');
    const rows: string[][] = [];
    for (const r of results.values()) {
      for (const [kind, ts] of [['cold', r.cold], ['warm', r.warm]] as const) {
        rows.push([`${r.n} tasks ${kind}`, `${r.levels} levels, ${r.edges} edges, crit ${r.critical}, ${r.payloadKb} KB`, ms(r.hostMs), ms(pick(ts, 'handledMs')), ms(pick(ts, 'layoutMs')), ms(pick(ts, 'frameMs')), ms(pick(ts, 'paintedMs'))]);
      }
    }
    console.log(table(['run', 'graph', 'host', 'handled', 'layout', 'frame', 'painted'], rows));
    const a = results.get(50)!;
    const b = results.get(200)!;
    for (const kind of ['cold', 'warm'] as const) {
      console.log(`ratio 200/50 (${kind}): painted ×${(pick(b[kind], 'paintedMs') / pick(a[kind], 'paintedMs')).toFixed(2)}, handled ×${(pick(b[kind], 'handledMs') / pick(a[kind], 'handledMs')).toFixed(2)}`);
    }
    console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
    console.log(`bundle extension.js: ${kb(extBytes)} KB`);
    console.log(`graph render 50: ${ms(pick(a.cold, 'paintedMs'))} ms`);
    console.log(`graph render 200: ${ms(pick(b.cold, 'paintedMs'))} ms`);
  } finally {
    fs.rmSync(build.dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
