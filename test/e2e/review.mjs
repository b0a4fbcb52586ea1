// Issue 12's review steps for the real-VS Code e2e (run.mjs calls `reviewSteps`): inline review
// of a change hunk by hunk, and Request Changes from a line comment. Self-contained: they plan
// their own goal, commit their own base file, and check what lands in git.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CHANGELOG_V2, GOAL_REVIEW, NOTES_BASE, NOTES_PARTLY, REVIEW_COMMENT } from './loopback.mjs';
import { answer, approveFromPalette, contextMenu, palette, rowMatching, screenshot } from './workbench.mjs';

/**
 * @param {{ step: (name: string, fn: () => Promise<void>, ms?: number) => void, page: () => import('playwright-core').Page,
 *   ws: () => string, sh: (cmd: string, args: string[], opts?: object) => string, log: (m: string) => void }} o
 */
export function reviewSteps({ step, page, ws, sh, log }) {
  // A lens with a command is a link; one that only states a decision ("Accepted hunk 1") is plain text.
  const lens = (text) => page().locator('.monaco-editor .codelens-decoration a', { hasText: text }).first();
  const lensText = (text) => page().locator('.monaco-editor .codelens-decoration', { hasText: text }).first();
  const cursorLine = async () => Number(/Ln (\d+)/.exec(await page().locator('.statusbar-item[id="status.editor.selection"]').first().innerText())?.[1]);
  const waitLine = async (n, what) => {
    const deadline = Date.now() + 10_000;
    while ((await cursorLine()) !== n) {
      if (Date.now() > deadline) throw new Error(`${what}: the cursor is on line ${await cursorLine()}, not ${n}`);
      await page().waitForTimeout(200);
    }
  };
  const commitOf = (taskId) => sh('git', ['log', '--format=%H', '--grep', `Hyperion-Task: ${taskId}`, '-n', '1'], { cwd: ws() }).trim();

  step('Review Inline: accept 2 of 3 hunks in the file, and the landed commit holds exactly those 2', async () => {
    writeFileSync(path.join(ws(), 'notes.txt'), NOTES_BASE);
    sh('git', ['add', 'notes.txt'], { cwd: ws() });
    sh('git', ['commit', '-qm', 'Add notes'], { cwd: ws() });
    await palette('Hyperion: Plan Task');
    await answer(GOAL_REVIEW, 'Plan Task');
    await rowMatching('r1 · proposed').waitFor({ timeout: 120_000 });
    await rowMatching('r2 · proposed').waitFor({ timeout: 60_000 });
    await contextMenu(rowMatching('r1 · proposed'), 'Review Inline');
    await page().locator('.tab', { hasText: 'notes.txt' }).first().waitFor({ timeout: 20_000 });
    await lens('Accept hunk 1').waitFor({ timeout: 20_000 });
    await lensText('0 of 3 hunks decided').waitFor({ timeout: 10_000 });
    await screenshot('inline-review-opened');
    // The editor opens on the first hunk; Alt+F5 / Shift+Alt+F5 move between hunks.
    await waitLine(3, 'on opening');
    await page().keyboard.press('Alt+F5');
    await waitLine(15, 'after Alt+F5');
    await page().keyboard.press('Alt+F5');
    await waitLine(27, 'after a second Alt+F5');
    await page().keyboard.press('Shift+Alt+F5');
    await waitLine(15, 'after Shift+Alt+F5');
    await lens('Accept hunk 1').click();
    await lensText('Accepted hunk 1').waitFor({ timeout: 10_000 });
    await lens('Reject hunk 2').click();
    await lensText('Rejected hunk 2').waitFor({ timeout: 10_000 });
    await lens('Accept hunk 3').click();
    await lens('Apply review: land 2 of 3 hunks').waitFor({ timeout: 10_000 });
    await screenshot('inline-review-decided');
    await lens('Apply review: land 2 of 3 hunks').click();
    // The review tab closes and the diff of what lands (v2: hunks 1 and 3) opens in its place.
    await page().locator('.tab', { hasText: '(r1 v2)' }).first().waitFor({ timeout: 30_000 });
    if (await page().locator('.monaco-diff-editor .editor.modified .view-line', { hasText: 'NOTE FIFTEEN' }).count()) throw new Error('the diff of what lands shows the rejected hunk');
    await rowMatching('r1 · merged').waitFor({ timeout: 90_000 });
    const row = await rowMatching('r1 · merged').innerText();
    if (!/partly accepted/.test(row)) throw new Error(`the task row does not say it was partly accepted: ${JSON.stringify(row)}`);
    const sha = commitOf('r1');
    if (!sha) throw new Error('no commit for r1');
    const landed = sh('git', ['show', `${sha}:notes.txt`], { cwd: ws() });
    if (landed !== NOTES_PARTLY) throw new Error(`the landed notes.txt is not the base with hunks 1 and 3:\n${landed}`);
    const files = sh('git', ['diff', '--name-only', `${sha}~1`, sha], { cwd: ws() }).trim();
    if (files !== 'notes.txt') throw new Error(`the commit touches ${JSON.stringify(files)}`);
    if (readFileSync(path.join(ws(), 'notes.txt'), 'utf8') !== NOTES_PARTLY) throw new Error('the work tree does not hold the landed notes.txt');
    log(`r1 landed ${sha.slice(0, 10)} with hunks 1 and 3`);
    await screenshot('inline-review-landed');
  }, 300_000);

  step('Request Changes: a comment on a line goes to the agent, and version 2 answers it', async () => {
    await rowMatching('r2 · proposed').click();
    const modified = page().locator('.monaco-diff-editor .editor.modified');
    await modified.locator('.view-line', { hasText: 'Notes were edited' }).first().waitFor({ timeout: 30_000 });
    // The reviewer agent's note is a thread on the change; it approved, so the thread starts
    // collapsed over the diff and is read in the Comments view.
    await palette('Comments: Focus on Comments View');
    await page().locator('.comments-panel .comment-thread-container', { hasText: 'Reviewer agent' }).first().waitFor({ timeout: 20_000 });
    if (await page().locator('.review-widget:visible', { hasText: 'The reviewer approves' }).count() > 0) throw new Error("the approving reviewer's note opened expanded over the diff");
    await modified.locator('.view-line', { hasText: 'Notes were edited' }).first().click();
    await palette('Comments: Add Comment on Current Selection');
    const form = page().locator('.review-widget .comment-form').last();
    await form.waitFor({ timeout: 15_000 });
    await page().keyboard.type(REVIEW_COMMENT);
    await screenshot('request-changes-comment-typed');
    await page().locator('.review-widget .monaco-button', { hasText: 'Add Comment' }).last().click();
    await page().locator('.review-widget', { hasText: 'not sent yet' }).first().waitFor({ timeout: 15_000 });
    await screenshot('request-changes-comment-stored');
    await palette('Hyperion: Request Changes');
    const item = page().locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Write the changelog' }).first();
    await item.waitFor({ timeout: 20_000 });
    await item.click();
    // Version 2 comes back and the diff between the two versions opens.
    await page().locator('.tab', { hasText: 'v1 ↔ v2' }).first().waitFor({ timeout: 120_000 });
    await page().locator('.monaco-diff-editor .editor.modified .view-line', { hasText: 'Reviewed hunk by hunk' }).first().waitFor({ timeout: 30_000 });
    await screenshot('request-changes-version-diff');
    await rowMatching('r2 · proposed').click();
    await page().locator('.review-widget', { hasText: 'answered in v2' }).first().waitFor({ timeout: 30_000 });
    await page().locator('.review-widget', { hasText: 'Mentioned the inline review' }).first().waitFor({ timeout: 10_000 });
    await screenshot('request-changes-answered');
    await approveFromPalette('Write the changelog');
    await rowMatching('r2 · merged').waitFor({ timeout: 90_000 });
    const changelog = readFileSync(path.join(ws(), 'CHANGELOG.md'), 'utf8');
    if (changelog !== CHANGELOG_V2) throw new Error(`CHANGELOG.md after landing: ${JSON.stringify(changelog)}`);
  }, 300_000);
}
