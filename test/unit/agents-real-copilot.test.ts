import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/engine/ports';
import { createRun } from '../../src/engine/runs/runs';
import { runPlan } from '../../src/engine/schedule/scheduler';
import { config, fastBackoff, makeRunFixture, plan, task, testClock } from '../support/run-fixture';
import { ScriptedClient } from '../support/run-model';
import { useTempWorktrees } from '../support/worktrees';
import { startAnthropicAgentServer } from '../support/agents/anthropicAgentServer';
import { realAgents } from '../support/agents/realAgents';

useTempWorktrees();
const agents = realAgents();

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * The real GitHub Copilot CLI 1.0.102, with the command line the harness builds, offline: its
 * "bring your own key" mode (COPILOT_PROVIDER_BASE_URL, no GitHub login then) points it at a
 * loopback server that speaks the Anthropic Messages protocol and scripts its tool calls
 * (`create`, `edit`, `bash`: Copilot's own tool names). Copilot stars out the value of
 * COPILOT_PROVIDER_API_KEY wherever it appears in what it prints, so a key of "x" would mangle
 * every x: the key here is a string that appears nowhere else.
 */
describe('Copilot CLI as a task\'s agent', () => {
  it('creates, edits and runs a command in its worktree, is refused a write outside it, and its change is proposed', async () => {
    const fx = await makeRunFixture();
    cleanups.push(() => fx.cleanup());
    const outsideDir = fs.mkdtempSync(path.join(agents.cache, 'copilot-outside-'));
    const home = fs.mkdtempSync(path.join(agents.cache, 'copilot-home-'));
    cleanups.push(() => fs.rmSync(outsideDir, { recursive: true, force: true }), () => fs.rmSync(home, { recursive: true, force: true }));
    const outside = path.join(outsideDir, 'escaped.txt');
    const results: string[] = [];
    const server = await startAnthropicAgentServer((turn) => {
      const last = (turn.body.messages as Array<{ content: unknown }>).at(-1)?.content;
      if (Array.isArray(last)) for (const b of last) if (b?.type === 'tool_result') results.push(JSON.stringify(b.content));
      const file = `${turn.cwd}/hello.txt`;
      switch (turn.toolResults) {
        case 0: return [{ type: 'tool_use', name: 'create', input: { path: outside, file_text: 'escaped\n' } }];
        case 1: return [{ type: 'tool_use', name: 'create', input: { path: file, file_text: 'hello\n' } }];
        case 2: return [{ type: 'tool_use', name: 'edit', input: { path: file, old_str: 'hello', new_str: 'hello copilot' } }];
        case 3: return [{ type: 'tool_use', name: 'bash', input: { command: 'echo ran > ran.txt', description: 'write ran.txt' } }];
        default: return [{ type: 'text', text: 'Wrote hello.txt and ran.txt.' }];
      }
    });
    cleanups.push(() => server.close());
    const progress: string[] = [];
    const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('a', { agent: 'copilot', model: 'claude-sonnet-4' })]), approve: 'none', clock: testClock });
    const view = await runPlan({
      db: fx.db, repo: fx.repo.dir, client: new ScriptedClient({ dev: () => new Error('the built-in developer must not run') }), log: silentLogger, clock: testClock, backoff: fastBackoff,
      onEvent: (e) => void (e.kind === 'task/progress' && progress.push(String(e.data?.text))),
      config: config({
        maxRetries: 0,
        agents: { copilot: { kind: 'copilot', path: agents.copilot, env: { HOME: home, COPILOT_PROVIDER_BASE_URL: server.url, COPILOT_PROVIDER_TYPE: 'anthropic', COPILOT_PROVIDER_API_KEY: 'loopback-key-1' } } },
      }),
    }, runId);
    const t = view.tasks[0]!;
    assert.equal(t.status, 'proposed', t.error);
    assert.equal(t.summary, 'Wrote hello.txt and ran.txt.');
    assert.ok(!fs.existsSync(outside), 'Copilot did not write outside its worktree');
    assert.match(results[0] ?? '', /Permission denied/, 'Copilot refused the write outside its working directory');
    const patch = fx.db.get<{ patch: string }>('SELECT patch FROM change_requests WHERE run_id = ?', [runId])!.patch;
    assert.match(patch, /^\+hello copilot$/m);
    assert.match(patch, /^\+\+\+ b\/ran\.txt$/m, 'its shell command ran in the worktree');
    assert.equal(server.turns[0]!.body.model, 'claude-sonnet-4', "the route's model");
    // Throttled: the first tool run at once, the last when the agent ends.
    assert.equal(progress[0], `editing ${outside}`);
    assert.equal(progress.at(-1), 'running echo ran > ran.txt');
  });
});
