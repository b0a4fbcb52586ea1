// The workbench as a person sees it, for the e2e steps: palette, quick inputs, the Hyperion
// sidebar and its rows, context menus, the status bar, the graph webview and screenshots.
// Steps call these after `usePage(page)`; everything waits with a bounded timeout.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const artifacts = path.join(root, 'artifacts/e2e');

let page;
let shot = 0;

export function usePage(p) {
  page = p;
}

export async function screenshot(name) {
  if (!page) return;
  const file = path.join(artifacts, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file }).catch(() => undefined);
  return file;
}

export async function palette(command) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(`>${command}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
}

/**
 * Approves a change from the palette and its picker, by the task title the picker shows. Used
 * where the sidebar rows re-render under the pointer while the queue works (a hover or an
 * inline click on a detached row then misses).
 */
export async function approveFromPalette(title) {
  await palette('Hyperion: Approve Change');
  const item = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: title }).first();
  await item.waitFor({ timeout: 30_000 });
  await item.click();
}

/** Types into the open quick input (input box or quick pick filter) and accepts. */
export async function answer(text, expectTitle) {
  const widget = page.locator('.quick-input-widget');
  await widget.waitFor({ state: 'visible', timeout: 20_000 });
  if (expectTitle) await page.locator('.quick-input-widget .quick-input-title', { hasText: expectTitle }).waitFor({ timeout: 20_000 });
  const input = page.locator('.quick-input-widget input');
  await input.fill(text);
  await page.waitForTimeout(300);
  await page.keyboard.press('Enter');
}

/** Shows the Hyperion sidebar; after a reload VS Code may restore it on its own, so look first. */
export async function openSidebar() {
  const runsHeader = page.locator('.part.sidebar .pane-header', { hasText: 'Runs' });
  if (await runsHeader.waitFor({ timeout: 8_000 }).then(() => true, () => false)) return;
  const icon = page.locator('.part.activitybar [aria-label^="Hyperion"], .part.activitybar .action-item[aria-label^="Hyperion"] a').first();
  await icon.waitFor({ timeout: 30_000 });
  // force: while the workbench finishes restoring, hovers can sit over the activity bar.
  await icon.click({ force: true, timeout: 15_000 });
  await runsHeader.waitFor({ timeout: 30_000 });
}

export function treeRow(text) {
  return page.locator('.part.sidebar .monaco-list-row', { hasText: text }).first();
}

export function statusItem() {
  return page.locator('.statusbar-item[id$="hyperion.queue"]').first();
}

export function graphFrame() {
  return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

/** A sidebar row whose text matches every pattern (task rows read "t1 · merged", queue rows "blocked · …"). */
export function rowMatching(...patterns) {
  let loc = page.locator('.part.sidebar .monaco-list-row');
  for (const p of patterns) loc = loc.filter({ hasText: p });
  return loc.first();
}

/** A row of the Approvals & Queue view (task rows in Runs carry the same titles). */
export function queueRow(...patterns) {
  let loc = page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: 'Approvals' }) }).locator('.monaco-list-row');
  for (const p of patterns) loc = loc.filter({ hasText: p });
  return loc.first();
}

/** Hovers a task row in the Runs tree and clicks one of its inline actions. */
export async function inlineAction(rowText, action) {
  const row = rowMatching(rowText);
  await row.waitFor({ timeout: 30_000 });
  await row.hover();
  await row.locator(`.actions [aria-label*="${action}"]`).first().click();
}

/** Right-clicks a row and picks `item` from its context menu. */
export async function contextMenu(row, item) {
  await row.click({ button: 'right' });
  const entry = page.locator('.context-view .action-item', { hasText: item }).first();
  await entry.waitFor({ timeout: 10_000 });
  await screenshot(`context-menu-${item.replace(/\W+/g, '-').toLowerCase()}`);
  await entry.click();
}

/** A row of the open quick pick whose text matches every pattern. */
export function quickPickRow(...patterns) {
  let loc = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  for (const p of patterns) loc = loc.filter({ hasText: p });
  return loc.first();
}

/** The workbench page, for the few checks the helpers above do not cover. */
export function workbenchPage() {
  return page;
}
