// Issue 10 in the real VS Code: one task routed (with Select Models) to the real Claude Code,
// which works in its own worktree against a loopback Anthropic server that scripts its tool
// calls (write, read, edit a file), and is approved from the sidebar. Claude Code is installed
// into a cache by scripts/agents-setup.sh (through test/support/agents/realAgents.ts, which
// also waits for an install the unit tests may be running), so a clean clone sets it up here.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tsImport } from 'tsx/esm/api';
import { AGENT_TASK_TITLE, GOAL_AGENT } from './loopback.mjs';
import {
  answer, approveFromPalette, contextMenu, graphFrame, inlineAction, palette, quickPickRow, rowMatching, screenshot, workbenchPage,
} from './workbench.mjs';
import { until } from './util.mjs';

export const AGENT_FILE = 'notes/agent.txt';
export const AGENT_SUMMARY = 'Wrote notes/agent.txt, read it back and edited it.';

/**
 * Installs (or finds) the real Claude Code and starts its scripted loopback model. Returns
 * the `hyperion.agents` user setting that runs it, and the server (its `turns` are checked).
 * The caller closes the server.
 */
export async function setUpClaude(base) {
  const { realAgents } = await tsImport('../support/agents/realAgents.ts', import.meta.url);
  const server = await tsImport('../support/agents/anthropicAgentServer.ts', import.meta.url);
  const agents = realAgents();
  const model = await server.startAnthropicAgentServer(server.writeReadEditScript(AGENT_FILE, AGENT_SUMMARY));
  // A config folder of its own, so the user's ~/.claude is never read or written.
  const home = path.join(base, 'claude-home');
  mkdirSync(home, { recursive: true });
  const env = { ...server.claudeLoopbackEnv(model.url), CLAUDE_CONFIG_DIR: home };
  const version = /\d+\.\d+\.\d+/.exec(execFileSync(agents.claude, ['--version'], { encoding: 'utf8', timeout: 30_000 }))?.[0] ?? '?';
  return { model, version, settings: { claude: { kind: 'claude-code', path: agents.claude, env, maxTurns: 10 } } };
}

/**
 * The step. `ctx`: { ws, settingsFile, goodKey, claude (from setUpClaude), sh, log }.
 * Returns how the change was approved ('sidebar' or 'palette').
 */
export async function routeTaskToClaude(ctx) {
  const { ws, settingsFile, goodKey, claude, sh, log } = ctx;
  const page = workbenchPage();
  // The planner's key, so this step also runs alone (--test-name-pattern); harmless after step 2.
  await palette('Hyperion: Set API Key');
  await answer('openai-compatible', 'Set API Key');
  await answer(goodKey, 'API key for openai-compatible');

  // Select Models lists the configured Claude Code with its version; choosing it routes `optimize` to it.
  await palette('Hyperion: Select Models');
  await answer('optimize', 'Select Models');
  const pick = quickPickRow('claude', `Claude Code ${claude.version}`);
  await pick.waitFor({ timeout: 30_000 });
  await screenshot('select-models-agents');
  await pick.click();
  await until(() => /"agent:claude"/.test(readFileSync(settingsFile, 'utf8')), 'hyperion.models.optimize routed to agent:claude in the user settings', 15_000);
  await page.waitForTimeout(1500); // the engine reopens with the new route

  const turnsBefore = claude.model.turns.length;
  await palette('Hyperion: Plan Task');
  await answer(GOAL_AGENT, 'Plan Task');
  // The row names the agent from the plan on (the running state may pass before a look).
  await rowMatching('[claude] Add a note', /a1 · (pending|ready|running|proposed)/).waitFor({ timeout: 90_000 });
  await screenshot('agent-row-first-seen');
  await rowMatching('[claude] Add a note', 'a1 · proposed').waitFor({ timeout: 240_000 });
  await screenshot('agent-row-proposed');

  const header = page.locator('.part.sidebar .pane-header', { hasText: 'Task Graph' });
  if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
  await graphFrame().locator('svg.graph g.node text.agent', { hasText: 'claude' }).first().waitFor({ timeout: 30_000 });
  await screenshot('agent-graph-node');

  // The sidebar first; its rows re-render while the queue works, so a missed click falls back to the palette.
  let how = 'sidebar';
  try {
    await inlineAction('a1 · proposed', 'Approve Change');
    await rowMatching(/a1 · (approved|merged)/).waitFor({ timeout: 20_000 });
  } catch (e) {
    how = 'palette';
    log(`approving a1 from the sidebar did not take (${String(e?.message ?? e).split('\n')[0]}); approving from the palette`);
    await approveFromPalette(AGENT_TASK_TITLE);
  }
  await rowMatching('[claude] Add a note', 'a1 · merged').waitFor({ timeout: 120_000 });
  await screenshot('agent-row-merged');

  const landed = sh('git', ['show', `HEAD:${AGENT_FILE}`], { cwd: ws });
  if (landed !== 'hello, edited\n') throw new Error(`${AGENT_FILE} at HEAD is ${JSON.stringify(landed)}, not Claude Code's edit`);
  const message = sh('git', ['log', '-1', '--format=%B'], { cwd: ws });
  if (!message.includes('Hyperion-Task: a1') || !message.includes(AGENT_SUMMARY)) throw new Error(`the landed commit is not Claude Code's: ${message}`);
  const turns = claude.model.turns.slice(turnsBefore);
  if (turns.length !== 4) throw new Error(`Claude Code took ${turns.length} turns, the script has 4`);
  if (turns.some((t) => !t.cwd || t.cwd.startsWith(ws))) throw new Error(`Claude Code did not work in a worktree outside the checkout: ${turns.map((t) => t.cwd).join(', ')}`);

  await contextMenu(rowMatching('[claude] Add a note', 'a1 · merged'), 'Show Transcript');
  await page.locator('.tab', { hasText: 'transcript.log' }).first().waitFor({ timeout: 20_000 });
  await page.locator('.monaco-editor .view-lines', { hasText: 'Transcript of the agent "claude"' }).first().waitFor({ timeout: 20_000 });
  await screenshot('agent-transcript');
  return how;
}
