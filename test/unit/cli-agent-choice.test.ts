import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT, gitOut, makeSampleRepo, runCli } from '../support/cli';
import { useTempWorktrees } from '../support/worktrees';

useTempWorktrees();

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const AGENT = path.join(ROOT, 'test/fixtures/choice-agent.mjs');
const agentCommand = (name: string) => `${JSON.stringify(process.execPath)} ${JSON.stringify(AGENT)} ${name} {model}`;
const AGENTS = { one: { command: agentCommand('one') }, two: { command: agentCommand('two') } };

function repo(): string {
  const r = makeSampleRepo();
  dirs.push(r);
  return r;
}

/** A file outside the repository (the user's own, so no trust question). */
function outside(name: string, body: unknown): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-choice-cli-'));
  dirs.push(d);
  const f = path.join(d, name);
  fs.writeFileSync(f, JSON.stringify(body));
  return f;
}

/** Runs a request with every change approved and returns what each task's agent wrote on main. */
async function runRequest(tasks: unknown[], cfg: Record<string, unknown>, args: string[] = [], env: Record<string, string | undefined> = {}) {
  const dir = repo();
  const config = outside('config.json', { agents: AGENTS, maxRetries: 0, ...cfg });
  const request = outside('request.json', { goal: 'choose agents', approve: 'all', tasks });
  const r = await runCli(['request', request, '--json', '--config', config, ...args], { cwd: dir, timeoutMs: 120_000, env: { HYPERION_AGENT: undefined, ...env } });
  const out = r.stdout ? JSON.parse(r.stdout) : undefined;
  const chosen = (taskId: string) => gitOut(dir, 'show', `main:chosen-${taskId}.txt`).trim();
  return { r, out, chosen, byId: Object.fromEntries((out?.tasks ?? []).map((t: { id: string }) => [t.id, t])) };
}

describe('choosing the agent of a task', () => {
  it('--agent runs every task that names none; the task\'s own agent and model win; the flag wins over HYPERION_AGENT', async () => {
    const { r, chosen } = await runRequest(
      [
        { id: 't1', title: 'Default agent, own model', type: 'code_gen', model: 'm-1' },
        { id: 't2', title: 'Own agent', type: 'docs', agent: 'two', model: 'm-2' },
      ],
      {},
      ['--agent', 'one'],
      { HYPERION_AGENT: 'two' },
    );
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(chosen('t1'), 'one m-1');
    assert.equal(chosen('t2'), 'two m-2');
  });

  it('HYPERION_AGENT sets the default agent when no flag is given', async () => {
    const { r, chosen } = await runRequest([{ id: 't1', title: 'Env agent', type: 'code_gen' }], {}, [], { HYPERION_AGENT: 'two' });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(chosen('t1'), 'two', 'no model: {model} is empty');
  });

  it('an agent route for a task type runs that agent with the route\'s model', async () => {
    const { r, chosen } = await runRequest(
      [{ id: 't1', title: 'Routed', type: 'code_gen' }],
      { routes: { code_gen: [{ agent: 'one', model: 'r-1' }], planner: [{ provider: 'openai-compatible', model: 'p' }] } },
    );
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(chosen('t1'), 'one r-1');
  });

  it('a default agent that is not configured fails the task with what to add to the config', async () => {
    const { r, byId } = await runRequest([{ id: 't1', title: 'Nobody', type: 'code_gen' }], {}, ['--agent', 'nobody']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(byId.t1.status, 'failed');
    assert.match(byId.t1.error, /no agent "nobody" is configured: add "agents": \{ "nobody": \{ "command": "…" \} \} to \.hyperion\.json \(configured: one, two\)/);
  });

  it('refuses an --agent name no config could hold, before anything runs', async () => {
    const { r } = await runRequest([{ id: 't1', title: 'Bad', type: 'code_gen' }], {}, ['--agent', 'a b']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--agent must name a configured agent/);
  });
});
