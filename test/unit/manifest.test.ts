import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { COMMANDS, CONTEXT_KEYS, VIEWS } from '../../src/extension/commandIds';
import { settingsToEngineConfig } from '../../src/extension/settings';

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const contributes = pkg.contributes;
const manifestCommands: string[] = contributes.commands.map((c: { command: string }) => c.command);

/** Command ids passed to `registerCommand` in the extension sources, resolved through COMMANDS. */
function registeredInCode(): string[] {
  // The review commands (inline review, comments) register beside their controllers.
  const src = ['commands.ts', 'inlineReview.ts', 'reviewComments.ts'].map((f) => readFileSync(path.join(root, 'src/extension', f), 'utf8')).join('\n');
  const ids: string[] = [];
  for (const m of src.matchAll(/registerCommand\(\s*COMMANDS\.(\w+)/g)) ids.push((COMMANDS as Record<string, string>)[m[1]]);
  for (const m of src.matchAll(/registerCommand\(\s*'([^']+)'/g)) ids.push(m[1]);
  return ids;
}

describe('manifest', () => {
  it('declares exactly the commands the code registers, each once', () => {
    const code = registeredInCode();
    assert.equal(new Set(code).size, code.length, 'a command is registered twice');
    assert.deepEqual([...code].sort(), [...manifestCommands].sort());
    assert.deepEqual(Object.values(COMMANDS).sort(), [...manifestCommands].sort());
  });

  it('puts every command in the Hyperion category with a title', () => {
    for (const c of contributes.commands) {
      assert.equal(c.category, 'Hyperion', c.command);
      assert.ok(c.title && !c.title.startsWith('Hyperion'), c.command);
    }
  });

  it('has the eleven commands of the issue and those of issue 9', () => {
    const titles = contributes.commands.map((c: { title: string }) => c.title);
    for (const t of ['Approve Change', 'Cancel Run', 'Open Diff', 'Open Log', 'Plan Task', 'Reject Change', 'Retry Task', 'Revert Change', 'Select Models', 'Set API Key', 'Show Queue']) assert.ok(titles.includes(t), t);
    for (const t of ['Retry', 'Show Check Output', 'Open Graph in Editor', 'Delete Run']) assert.ok(titles.includes(t), t);
    assert.ok(titles.includes('Open Task Worktree'), 'issue 10');
  });

  it('offers Retry and Show Check Output on queue rows, and the graph in an editor from its view', () => {
    const ctx = contributes.menus['view/item/context'] as Array<{ command: string; when: string; group: string }>;
    const retry = ctx.filter((e) => e.command === COMMANDS.retryEntry);
    assert.ok(retry.some((e) => !e.group.startsWith('inline') && /view == hyperion\.approvals/.test(e.when) && /retryable/.test(e.when)), 'Retry in the right-click menu');
    assert.ok(ctx.some((e) => e.command === COMMANDS.showCheckOutput && /checkOutput/.test(e.when)));
    const open = ctx.find((e) => e.command === COMMANDS.openTaskWorktree);
    assert.ok(open && /view == hyperion\.runs/.test(open.when), 'Open Task Worktree on task rows');
    const rowMatches = (contextValue: string) => new RegExp(open.when.match(/viewItem =~ \/(.*)\/$/)![1]).test(contextValue);
    assert.ok(rowMatches('task failed retryable') && rowMatches('task cancelled retryable') && !rowMatches('task proposed change reviewable'));
    const titleMenu = contributes.menus['view/title'] as Array<{ command: string; when: string }>;
    assert.ok(titleMenu.some((e) => e.command === COMMANDS.openGraphInEditor && e.when === `view == ${VIEWS.graph}`));
  });

  it("hides the diff title's approve and reject once the change has settled", () => {
    for (const e of contributes.menus['editor/title'] as Array<{ command: string; when: string }>) {
      if (e.command === COMMANDS.approveChange || e.command === COMMANDS.rejectChange) assert.ok(e.when.includes(`resource in ${CONTEXT_KEYS.reviewableResources}`), e.command);
    }
  });

  it('refers only to declared commands in menus, and hides context-only commands from the palette', () => {
    for (const [menu, entries] of Object.entries(contributes.menus as Record<string, Array<{ command: string; when?: string }>>)) {
      for (const e of entries) assert.ok(manifestCommands.includes(e.command), `${menu} names unknown ${e.command}`);
    }
    const palette = new Map(contributes.menus.commandPalette.map((e: { command: string; when: string }) => [e.command, e.when]));
    assert.equal(palette.get(COMMANDS.retryTask), 'false');
    assert.equal(palette.get(COMMANDS.revertChange), 'false');
    assert.equal(palette.get(COMMANDS.deleteRun), 'false', 'Delete Run acts on a run in the tree');
    for (const id of [COMMANDS.approveChange, COMMANDS.rejectChange, COMMANDS.openDiff, COMMANDS.cancelRun]) assert.ok(palette.get(id), `${id} needs a when clause`);
    for (const id of [COMMANDS.planTask, COMMANDS.setApiKey, COMMANDS.selectModels, COMMANDS.openLog, COMMANDS.showQueue]) assert.ok(!palette.has(id), `${id} stays in the palette`);
  });

  it('declares the sidebar: a container with an icon, two trees and the graph webview, each with welcome text', () => {
    const container = contributes.viewsContainers.activitybar.find((c: { id: string }) => c.id === VIEWS.container);
    assert.ok(container && existsSync(path.join(root, container.icon)));
    const views = contributes.views[VIEWS.container].map((v: { id: string }) => v.id);
    assert.deepEqual(views, [VIEWS.runs, VIEWS.approvals, VIEWS.graph, VIEWS.workers]);
    assert.equal(contributes.views[VIEWS.container][2].type, 'webview');
    const welcomed = new Set(contributes.viewsWelcome.map((w: { view: string }) => w.view));
    assert.ok(welcomed.has(VIEWS.runs) && welcomed.has(VIEWS.approvals));
    assert.ok(contributes.viewsWelcome.some((w: { when: string; contents: string }) => w.when === '!isWorkspaceTrusted' && /not trusted/.test(w.contents)));
  });

  it('supports untrusted workspaces only in limited mode and restricts the settings that run or send things', () => {
    const u = pkg.capabilities.untrustedWorkspaces;
    assert.equal(u.supported, 'limited');
    assert.ok(u.restrictedConfigurations.includes('hyperion.checkCommand'));
  });

  it('activates on use, not at startup', () => {
    assert.ok(!pkg.activationEvents.includes('*'));
    assert.ok(!pkg.activationEvents.includes('onStartupFinished'));
    assert.equal(pkg.main, './dist/extension.js');
  });

  it('describes every setting, and every setting reaches the engine config mapping', () => {
    const props = contributes.configuration.properties as Record<string, { description?: string; markdownDescription?: string }>;
    const read = new Set<string>();
    settingsToEngineConfig((k) => { read.add(`hyperion.${k}`); return undefined; });
    for (const [key, p] of Object.entries(props)) {
      assert.ok(p.description || p.markdownDescription, `${key} has no description`);
      assert.ok(read.has(key), `${key} is not read by settingsToEngineConfig`);
      assert.doesNotMatch(key, /apiKey|secret|token/i, `${key}: keys belong in SecretStorage`);
    }
    for (const key of read) assert.ok(key in props, `${key} is read but not declared`);
    assert.equal((props['hyperion.autoApprove'] as { default?: unknown }).default, false);
  });

  it('has a walkthrough whose media exist, and packaging metadata vsce needs offline', () => {
    for (const w of contributes.walkthroughs) for (const s of w.steps) assert.ok(existsSync(path.join(root, s.media.markdown)), s.media.markdown);
    assert.ok(existsSync(path.join(root, pkg.icon)));
    assert.ok(pkg.repository);
    assert.ok(existsSync(path.join(root, 'LICENSE')));
    const ignore = readFileSync(path.join(root, '.vscodeignore'), 'utf8');
    for (const f of ['!dist/extension.js', '!dist/webview.js', '!dist/sql-wasm.wasm', '!media/**']) assert.ok(ignore.includes(f), f);
  });
});
