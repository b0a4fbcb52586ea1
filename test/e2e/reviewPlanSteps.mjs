// Issue 12's e2e steps, items 1, 4 and 5: a draft plan edited in the tree and the graph
// (including a cycle made and fixed), started, landed; its run summary read back against git;
// the graph zoomed and fitted. Each step stands alone: it opens the workbench and sets the key
// when an earlier step did not, and plans its own goal.
import { execFileSync } from 'node:child_process';
import { GOAL_DRAFT } from './loopback.mjs';
import {
  answer, approveFromPalette, contextMenu, graphFrame, openSidebar, palette, rowMatching, screenshot, treeRow,
} from './workbench.mjs';

/**
 * Registers the steps. `ctx()` returns what run.mjs set up: `{ page, url, ws, goodKey, log }`.
 * `step(name, fn, ms)` is run.mjs's step (a node:test test with a screenshot on failure).
 */
export function reviewPlanSteps(step, ctx) {
  /** Loads the workbench and sets the good key, unless an earlier step left it so. */
  async function ready() {
    const { page, url, goodKey } = ctx();
    if (!(await page.locator('.monaco-workbench').count())) {
      await page.goto(url);
      await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    }
    await openSidebar();
    await palette('Hyperion: Set API Key');
    await answer('openai-compatible', 'Set API Key');
    await answer(goodKey, 'API key for openai-compatible');
    await page.waitForTimeout(1500);
  }

  async function showGraph() {
    const { page } = ctx();
    const header = page.locator('.part.sidebar .pane-header', { hasText: 'Task Graph' });
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
  }

  /** The classes of the draft graph's edges that are drawn as part of a cycle. */
  async function cycleEdges() {
    return graphFrame().locator('svg.graph path.edge.cycle').count();
  }

  let draftRunGoal;
  step('a plan with an assumption waits as a draft; edit it, make a cycle in the graph and fix it, then Start Run', async () => {
    const { page, ws, log } = ctx();
    await ready();
    await palette('Hyperion: Plan Task');
    await answer(GOAL_DRAFT, 'Plan Task');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'is a draft' }).first();
    await toast.waitFor({ timeout: 90_000 });
    if (!/notes live in notes/.test(await toast.innerText())) throw new Error(`the draft notice does not say why: ${await toast.innerText()}`);
    await rowMatching('e1 · pending').waitFor({ timeout: 30_000 });
    await rowMatching(GOAL_DRAFT, /draft/).waitFor({ timeout: 30_000 });
    await screenshot('draft-notice-and-tree');
    const before = model().requests.length;

    // Edit a field from the tree: e1's title.
    const e1 = rowMatching('e1 · pending');
    await e1.hover();
    await e1.locator('.actions [aria-label*="Edit Task"]').first().click();
    await answer('Title', 'Edit e1');
    await answer('Write the notes index (edited)', 'e1: Title');
    await treeRow('Write the notes index (edited)').waitFor({ timeout: 20_000 });
    // And its files, through the same picker.
    await e1.hover();
    await e1.locator('.actions [aria-label*="Edit Task"]').first().click();
    await answer('Files', 'Edit e1');
    await answer('notes/index.md, notes/README.md', 'e1: Files');

    // The graph shows the draft with its toolbar; Link e3 → e1 closes e1 → e2 → e3 into a cycle.
    await showGraph();
    const frame = graphFrame();
    await frame.locator('.draft-tools').waitFor({ timeout: 30_000 });
    if ((await frame.locator('svg.graph g.node').count()) !== 3) throw new Error('the draft graph does not show 3 tasks');
    await frame.locator('.draft-tools button', { hasText: 'Link' }).click();
    await frame.locator('g.node[data-task-id="e3"]').click();
    await frame.locator('g.node[data-task-id="e1"]').click();
    await frame.locator('.draft-error', { hasText: 'dependency cycle' }).waitFor({ timeout: 20_000 });
    const red = await cycleEdges();
    if (red !== 3) throw new Error(`expected the 3 edges of the cycle drawn red, saw ${red}`);
    if (!(await frame.locator('.draft-tools button', { hasText: 'Start Run' }).isDisabled())) throw new Error('Start Run is enabled on a cyclic draft');
    await screenshot('draft-cycle-in-graph');

    // Delete the edge that closed the cycle, with the keyboard, as the hint says.
    await frame.locator('path.edge-hit[data-from="e3"][data-to="e1"]').focus();
    await page.keyboard.press('Delete');
    await frame.locator('.draft-error').waitFor({ state: 'detached', timeout: 20_000 });
    if ((await cycleEdges()) !== 0) throw new Error('cycle edges are still drawn after the fix');

    // Add a task from the graph and remove it again from the tree.
    await frame.locator('.draft-tools button', { hasText: '+ Task' }).click();
    await answer('A task added by hand', 'Add Task');
    await frame.locator('svg.graph g.node').nth(3).waitFor({ timeout: 20_000 });
    await contextMenu(treeRow('A task added by hand'), 'Remove Task');
    await treeRow('A task added by hand').waitFor({ state: 'detached', timeout: 20_000 });
    await screenshot('draft-fixed');
    if (model().requests.length !== before) throw new Error('a model was called while the plan was a draft');

    // Start Run from the graph; the node colours follow the run without a reload.
    await frame.locator('.draft-tools button', { hasText: 'Start Run' }).click();
    await frame.locator('g.node.status-proposed[data-task-id="e1"]').waitFor({ timeout: 90_000 });
    await rowMatching('e3 · proposed').waitFor({ timeout: 120_000 });
    await screenshot('draft-started-proposed');
    for (const title of ['Write the notes index (edited)', 'Write note A', 'Write note B']) await approveFromPalette(title);
    await rowMatching('e3 · merged').waitFor({ timeout: 150_000 });
    await frame.locator('g.node.status-merged[data-task-id="e3"]').waitFor({ timeout: 30_000 });
    await screenshot('draft-run-merged');
    const subjects = execFileSync('git', ['log', '--format=%s', '-n', '3'], { cwd: ws, encoding: 'utf8' });
    if (!subjects.includes('Write the notes index (edited)')) throw new Error(`the edited title is not the commit subject:\n${subjects}`);
    draftRunGoal = GOAL_DRAFT;
    log(`draft run landed:\n${subjects}`);
  }, 420_000);

  step('the run summary opens from the run row and its numbers match git and the queue', async () => {
    const { page, ws } = ctx();
    if (!draftRunGoal) throw new Error('the draft run did not land (previous step)');
    const row = rowMatching(GOAL_DRAFT, /done/);
    await row.waitFor({ timeout: 60_000 });
    await row.hover();
    await row.locator('.actions [aria-label*="Open Run Summary"]').first().click();
    await page.locator('.tab', { hasText: 'run-summary.md' }).first().waitFor({ timeout: 20_000 });
    const lines = page.locator('.monaco-editor .view-lines').last();
    await lines.filter({ hasText: 'Run summary' }).waitFor({ timeout: 20_000 });
    await screenshot('run-summary');
    const text = (await lines.innerText()).replace(/\u00a0/g, ' ');
    const git = (...a) => execFileSync('git', a, { cwd: ws, encoding: 'utf8' });
    for (const id of ['e1', 'e2', 'e3']) {
      const commit = git('log', '--format=%H', '-n', '1', `--grep=Hyperion-Task: ${id}$`).trim();
      if (!commit) throw new Error(`no commit for ${id}`);
      let added = 0;
      let removed = 0;
      let files = 0;
      for (const l of git('show', '--numstat', '--format=', commit).split('\n')) {
        const m = /^(\d+)\t(\d+)\t/.exec(l);
        if (m) (added += Number(m[1]), removed += Number(m[2]), files++);
      }
      // The editor wraps a long table row over several view lines: join them back, spaces aside.
      const all = text.split('\n');
      const start = all.findIndex((l) => l.startsWith(`| \`${id}\``));
      if (start < 0) throw new Error(`no summary row for ${id}:\n${text}`);
      let rowText = all[start];
      // A row has 9 cells, so 10 unescaped pipes.
      const pipes = (x) => (x.match(/(?<!\\)\|/g) ?? []).length;
      for (let i = start + 1; pipes(rowText) < 10 && i < all.length; i++) rowText += all[i];
      const bare = (x) => x.replace(/\s+/g, '');
      const want = [`| merged | ${files} | +${added} −${removed} | approve | 1 passed |`, `\`${commit.slice(0, 12)}\` |`];
      for (const w of want) if (!bare(rowText).includes(bare(w))) throw new Error(`${id}: the summary row ${JSON.stringify(rowText)} lacks ${JSON.stringify(w)} (from git show ${commit.slice(0, 12)})`);
    }
    if (!/Tasks: 3, landed: 3/.test(text)) throw new Error(`totals: ${text}`);
    if (!/Checks: 3 run, 0 failed/.test(text)) throw new Error('the summary does not count the 3 checks the queue ran');
    if (!/Nothing: every task has settled/.test(text)) throw new Error('the summary says something still waits');
    // Read-only: typing changes nothing.
    await lines.click();
    await page.keyboard.type('xyz');
    if (((await lines.innerText()).includes('xyz'))) throw new Error('the summary document took an edit');
  }, 120_000);

  step('the graph zooms in and fits back to the sidebar width', async () => {
    const { page } = ctx();
    await showGraph();
    const frame = graphFrame();
    await frame.locator('svg.graph').waitFor({ timeout: 30_000 });
    const width = async () => Number(await frame.locator('svg.graph').getAttribute('width'));
    const view = await frame.locator('body').evaluate(() => window.innerWidth);
    const fit = await width();
    if (fit > view) throw new Error(`the fitted graph is ${fit} px in a ${view} px view`);
    await frame.locator('button[aria-label="Zoom in"]').click();
    await frame.locator('button[aria-label="Zoom in"]').click();
    const zoomed = await width();
    if (!(zoomed > fit)) throw new Error(`zoom in did not enlarge the graph (${fit} → ${zoomed})`);
    await screenshot('graph-zoomed');
    await frame.locator('button[aria-label="Fit the graph to the view"]').click();
    const back = await width();
    if (back !== fit) throw new Error(`Fit did not return to ${fit} px (got ${back})`);
    await page.waitForTimeout(200);
  }, 60_000);

  function model() {
    return ctx().model;
  }
}
