// Issue 11 in the real VS Code: the built-in developer as the tool-calling agent
// (the default `hyperion.developer`, not set by the e2e). Every earlier step already ran it (the loopback answers with
// native tool calls); this step checks that it did, with edits in place, and looks at what a
// person sees of it: the task row while it works and the change's verification in review.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GOAL_TOOLS, TOOLS_TASK_TITLE, USAGE_PAGE } from './loopback.mjs';
import { answer, openSidebar, palette, queueRow, rowMatching, screenshot, workbenchPage } from './workbench.mjs';

/**
 * Registers the step. `ctx()` returns what run.mjs set up: `{ url, ws, goodKey, model, sh, log }`;
 * `step(name, fn, ms)` is run.mjs's step.
 */
export function toolDeveloperSteps(step, ctx) {
  step('the built-in developer works with tool calls, edits in place, and its check shows in review', async () => {
    const { url, goodKey, model, log, ws, sh } = ctx();
    const page = workbenchPage();
    if (!(await page.locator('.monaco-workbench').count())) {
      await page.goto(url);
      await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    }
    await openSidebar();
    await palette('Hyperion: Set API Key');
    await answer('openai-compatible', 'Set API Key');
    await answer(goodKey, 'API key for openai-compatible');
    // w1 edits d2's page; when this step runs alone, the page is committed here first.
    if (!existsSync(path.join(ws, 'docs/usage.md'))) {
      mkdirSync(path.join(ws, 'docs'), { recursive: true });
      writeFileSync(path.join(ws, 'docs/usage.md'), USAGE_PAGE);
      sh('git', ['add', 'docs/usage.md'], { cwd: ws });
      sh('git', ['commit', '-qm', 'Add the usage page'], { cwd: ws });
    }
    const first = model.requests.length;
    await palette('Hyperion: Plan Task');
    await answer(GOAL_TOOLS, 'Plan Task');

    // What the row says while the task runs (the loopback answers at once, so this is sampled, not awaited).
    const row = rowMatching(TOOLS_TASK_TITLE, 'w1 ·');
    const seen = new Set();
    const deadline = Date.now() + 90_000;
    for (;;) {
      const text = (await row.innerText({ timeout: 1_000 }).catch(() => '')).replace(/\s+/g, ' ');
      if (text && !seen.has(text)) {
        seen.add(text);
        if (/running/.test(text)) await screenshot('tool-developer-row-running');
      }
      if (/w1 · proposed/.test(text)) break;
      if (Date.now() > deadline) throw new Error(`w1 was not proposed; the row read: ${JSON.stringify([...seen])}`);
      await page.waitForTimeout(25);
    }
    log(`w1's row read, in turn: ${[...seen].map((t) => JSON.stringify(t)).join(' → ')}`);

    // The developer's turns for w1: an edit in place, then finish; never a whole-file answer.
    const mine = model.requests.slice(first);
    const turns = mine.filter((r) => r.tools).map((r) => r.calls);
    if (JSON.stringify(turns) !== JSON.stringify([['edit_file'], ['finish']])) throw new Error(`w1's developer turns were ${JSON.stringify(turns)}, not an edit_file then finish`);
    const whole = model.requests.filter((r) => r.schema === 'agent_action');
    if (whole.length) throw new Error(`${whole.length} developer requests of this run asked for whole files (the tool developer is not in use)`);
    // Over the whole e2e (more than this step when the earlier steps ran).
    const tally = {};
    for (const r of model.requests) for (const c of r.calls ?? []) tally[c] = (tally[c] ?? 0) + 1;
    log(`developer tool calls over the whole e2e: ${JSON.stringify(tally)} in ${model.requests.filter((r) => r.tools).length} turns`);
    if (!tally.edit_file || !tally.finish) throw new Error(`the e2e did not exercise edit_file and finish: ${JSON.stringify(tally)}`);

    // In review: the change's own check, on its row and in its tooltip.
    const change = queueRow(TOOLS_TASK_TITLE);
    await change.waitFor({ timeout: 30_000 });
    const description = (await change.innerText()).replace(/\s+/g, ' ');
    log(`w1's change row: ${JSON.stringify(description)}`);
    if (!/tests passed/.test(description)) throw new Error(`the change row does not say its check passed: ${JSON.stringify(description)}`);
    // The tooltip's text (the check's full line) is the view model's, asserted in
    // test/unit/viewmodel-queue.test.ts: hovering for it here was flaky, as any tree refresh
    // (the queue, another process's writes) closes an open tooltip.
    await screenshot('tool-developer-change-row');
  }, 180_000);
}
