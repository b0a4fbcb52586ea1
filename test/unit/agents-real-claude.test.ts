import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { claudeCodeHarness } from '../../src/engine/agents/claudeCodeHarness';
import type { HarnessEvent } from '../../src/engine/agents/harness';
import { EngineError } from '../../src/engine/errors';
import { claudeLoopbackEnv, startAnthropicAgentServer, writeReadEditScript, type AnthropicAgentServer } from '../support/agents/anthropicAgentServer';
import { realAgents, type RealAgents } from '../support/agents/realAgents';
import { gitOut, makeSampleRepo, runCli } from '../support/cli';
import { useTempWorktrees } from '../support/worktrees';
import { worktreeBaseFor } from '../../src/engine/store/location';
import { groupAlive, waitFor } from '../support/processes';

useTempWorktrees();

// The real Claude Code CLI (installed once into a cache by scripts/agents-setup.sh) against
// a loopback Anthropic server that scripts its tool calls. No skipping: a machine that
// cannot install it fails here with the reason.
const dirs: string[] = [];
const servers: AnthropicAgentServer[] = [];
let agents: RealAgents;
// A first install downloads about 650 MB: more than the suite's 5-minute test timeout.
before(() => {
  agents = realAgents();
}, { timeout: 30 * 60_000 });
after(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Loopback env plus a config folder of its own, so the user's ~/.claude is never touched. */
function claudeEnv(url: string): Record<string, string> {
  return { ...claudeLoopbackEnv(url), CLAUDE_CONFIG_DIR: tmp('hyperion-claude-home-') };
}

const SUMMARY = 'Wrote notes/hello.txt and edited it.';

describe('Claude Code as a task\'s agent', () => {
  it('lands the file it wrote, read and edited, with its own summary in the commit (hyperion request)', async () => {
    const server = await startAnthropicAgentServer(writeReadEditScript('notes/hello.txt', SUMMARY));
    servers.push(server);
    const dir = makeSampleRepo();
    dirs.push(dir);
    const out = tmp('hyperion-claude-cli-');
    const config = path.join(out, 'config.json');
    // The default permission mode (acceptEdits): task worktrees live outside .git, which
    // Claude Code refuses to edit below.
    const env = claudeEnv(server.url);
    fs.writeFileSync(config, JSON.stringify({ agents: { claude: { kind: 'claude-code', path: agents.claude, env, maxTurns: 10 } }, maxRetries: 0 }));
    const request = path.join(out, 'request.json');
    fs.writeFileSync(request, JSON.stringify({ goal: 'claude work', approve: 'all', tasks: [{ id: 'c1', title: 'Add a note', type: 'code_gen', prompt: 'Create notes/hello.txt', agent: 'claude' }] }));
    const r = await runCli(['request', request, '--json', '--config', config], { cwd: dir, timeoutMs: 180_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const res = JSON.parse(r.stdout);
    assert.equal(res.tasks[0].status, 'merged', r.stdout);
    assert.equal(gitOut(dir, 'show', 'main:notes/hello.txt'), 'hello, edited\n');
    assert.match(gitOut(dir, 'log', '-1', '--format=%B', 'main'), new RegExp(SUMMARY.replace(/\./g, '\\.')));
    // Write, Read, Edit, then the end: four turns of the agent, each in the task's worktree.
    assert.equal(server.turns.length, 4);
    const base = await worktreeBaseFor(dir);
    assert.ok(server.turns.every((t) => t.cwd.startsWith(path.join(base, 'worktrees')) && !t.cwd.includes(`${path.sep}.git${path.sep}`)), server.turns.map((t) => t.cwd).join(', '));
    assert.equal(gitOut(dir, 'status', '--porcelain'), '', 'the checkout holds only what landed');
  });

  it('ends its whole process group when the task is cancelled', async () => {
    const server = await startAnthropicAgentServer(() => 'hang');
    servers.push(server);
    const base = tmp('hyperion-claude-cancel-');
    fs.mkdirSync(path.join(base, 'wt'));
    fs.mkdirSync(path.join(base, 'scratch'));
    const ac = new AbortController();
    let pid: number | undefined;
    const task = { runId: 'r', id: 't', title: 'Stall', type: 'code_gen' as const, prompt: 'x', acceptanceCriteria: [], dependsOn: [], files: [] };
    const run = claudeCodeHarness('claude', { kind: 'claude-code', path: agents.claude, env: claudeEnv(server.url) }).run({
      task, deps: [], worktree: path.join(base, 'wt'), scratchDir: path.join(base, 'scratch'), model: undefined, budget: {}, signal: ac.signal,
      onEvent: (e) => { if (e.type === 'started') pid = e.pid; },
    });
    const deadline = Date.now() + 60_000;
    while (server.turns.length === 0) {
      if (Date.now() > deadline) throw new Error('Claude Code never asked the model');
      await new Promise((r) => setTimeout(r, 50));
    }
    ac.abort();
    await assert.rejects(run, (e: unknown) => e instanceof EngineError && e.code === 'cancelled');
    assert.ok(pid !== undefined);
    await waitFor(() => !groupAlive(pid!), 'no process of its group is left');
  });

  it('reports progress, the summary, tokens and cost from its result event, and fails on an error result', async () => {
    const server = await startAnthropicAgentServer(writeReadEditScript('a.txt', SUMMARY), { inputTokens: 1000, outputTokens: 50 });
    servers.push(server);
    const base = tmp('hyperion-claude-harness-');
    fs.mkdirSync(path.join(base, 'wt'));
    fs.mkdirSync(path.join(base, 'scratch'));
    const events: HarnessEvent[] = [];
    const task = { runId: 'r', id: 't', title: 'Note', type: 'code_gen' as const, prompt: 'Write a.txt', acceptanceCriteria: [], dependsOn: [], files: [] };
    const input = { task, deps: [], worktree: path.join(base, 'wt'), scratchDir: path.join(base, 'scratch'), model: undefined, budget: {}, signal: new AbortController().signal, onEvent: (e: HarnessEvent) => events.push(e) };
    const res = await claudeCodeHarness('claude', { kind: 'claude-code', path: agents.claude, env: claudeEnv(server.url) }).run(input);
    assert.equal(res.summary, SUMMARY);
    assert.equal(res.usage?.inputTokens, 4000);
    assert.equal(res.usage?.outputTokens, 200);
    assert.ok((res.usage?.costUsd ?? 0) > 0, `cost ${res.usage?.costUsd}`);
    assert.deepEqual(events.flatMap((e) => (e.type === 'progress' ? [e.text] : [])), ['editing a.txt', 'reading a.txt', 'editing a.txt']);
    assert.equal(fs.readFileSync(path.join(base, 'wt/a.txt'), 'utf8'), 'hello, edited\n');
    assert.match(fs.readFileSync(path.join(base, 'scratch/transcript.log'), 'utf8'), /"type":"result"/);

    // One turn allowed, and the script wants four: Claude Code ends with error_max_turns.
    fs.rmSync(path.join(base, 'wt/a.txt'));
    await assert.rejects(claudeCodeHarness('claude', { kind: 'claude-code', path: agents.claude, env: claudeEnv(server.url), maxTurns: 1 }).run(input), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.code, 'agent/failed');
      assert.match(e.message, /the agent "claude" ended with error_max_turns/);
      return true;
    });
  });
  it('stops itself at --max-budget-usd, which the harness reports as agent/over-budget, having streamed its usage', async () => {
    // Every turn reads a file again, forever; each response costs about $3 at Sonnet's prices.
    const server = await startAnthropicAgentServer((turn) => [{ type: 'tool_use', name: 'Read', input: { file_path: `${turn.cwd}/README.md` } }], { inputTokens: 1000, outputTokens: 200_000 });
    servers.push(server);
    const base = tmp('hyperion-claude-budget-');
    fs.mkdirSync(path.join(base, 'wt'));
    fs.mkdirSync(path.join(base, 'scratch'));
    fs.writeFileSync(path.join(base, 'wt/README.md'), 'hello\n');
    const events: HarnessEvent[] = [];
    const task = { runId: 'r', id: 't', title: 'Spend', type: 'code_gen' as const, prompt: 'Read README.md', acceptanceCriteria: [], dependsOn: [], files: [] };
    await assert.rejects(claudeCodeHarness('claude', { kind: 'claude-code', path: agents.claude, env: claudeEnv(server.url), maxTurns: 20 }).run({
      task, deps: [], worktree: path.join(base, 'wt'), scratchDir: path.join(base, 'scratch'), model: 'claude-sonnet-4-5', budget: { maxUsd: 1 },
      signal: new AbortController().signal, onEvent: (e) => events.push(e),
    }), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.code, 'agent/over-budget', e.message);
      assert.match(e.message, /stopped at its budget of \$1\.0000/);
      return true;
    });
    assert.ok(server.turns.length < 20, `it stopped early (${server.turns.length} turns)`);
    const usage = events.flatMap((e) => (e.type === 'usage' ? [e.usage] : []));
    // Claude Code's assistant events carry a response's usage as it started (output tokens: 1),
    // so the streamed tokens undercount; its own --max-budget-usd is what stops it in time.
    assert.ok(usage.some((u) => u.costUsd === null && u.inputTokens === 1000), `tokens stream in before the result: ${JSON.stringify(usage)}`);
    const last = usage.at(-1)!;
    assert.ok((last.costUsd ?? 0) >= 1, `the result's cost is the last usage (${last.costUsd})`);
    assert.ok(last.inputTokens >= 1000, 'an error result without tokens keeps the streamed ones');
  });
});
