import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { EngineConfig } from '../../src/engine/config';
import { keptTaskWorktree } from '../../src/engine/git/taskWorktree';
import { silentLogger } from '../../src/engine/ports';
import { createRun } from '../../src/engine/runs/runs';
import { runPlan, type RunPlanDeps } from '../../src/engine/schedule/scheduler';
import { config, fastBackoff, makeRunFixture, plan, task, testClock, type RunFixture } from '../support/run-fixture';
import { ScriptedClient } from '../support/run-model';
import { useTempWorktrees } from '../support/worktrees';
import { alive, waitFor } from '../support/processes';

useTempWorktrees();

let fx: RunFixture | undefined;
const tmp: string[] = [];
afterEach(() => {
  fx?.cleanup();
  fx = undefined;
  for (const d of tmp.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const node = (script: string) => `${JSON.stringify(process.execPath)} -e ${JSON.stringify(script)}`;

async function runAgent(agent: { command: string; env?: Record<string, string> }, cfg: Partial<EngineConfig> = {}) {
  fx = await makeRunFixture();
  const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('a', { agent: 'x' })]), approve: 'none', clock: testClock });
  const client = new ScriptedClient({ dev: () => new Error('the built-in developer must not run') });
  const deps: RunPlanDeps = { db: fx.db, repo: fx.repo.dir, client, config: config({ maxRetries: 0, agents: { x: agent }, ...cfg }), log: silentLogger, clock: testClock, backoff: fastBackoff };
  const view = await runPlan(deps, runId);
  const attempts = fx.db.all<{ error_category: string | null; error: string | null }>('SELECT error_category, error FROM attempts WHERE run_id = ? AND task_id = ? ORDER BY n', [runId, 'a']);
  const changes = fx.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM change_requests WHERE run_id = ?', [runId])!.n;
  return { view, attempts, changes, task: view.tasks[0]! };
}

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-guard-'));
  tmp.push(d);
  return d;
}

describe('agent stalls', () => {
  it('an agent silent for agentStallMs is killed and retried as transient, and no process is left', async () => {
    const pids = path.join(tempDir(), 'pids');
    // Records its pid, prints once, then sleeps without a word. A shell, not node: node's own
    // start can take longer than the 300 ms stall on a loaded machine, and the stall would then
    // kill it before it recorded its pid.
    const agent = { command: 'echo $$ >> "$PIDS"; echo thinking; exec sleep 600', env: { PIDS: pids } };
    const { task: t, attempts, changes } = await runAgent(agent, { agentStallMs: 300, maxRetries: 2 });
    assert.equal(t.status, 'failed');
    assert.match(t.error ?? '', /the agent "x" printed nothing for 300 ms and was stopped/);
    assert.equal(attempts.length, 3, 'the first attempt and two retries');
    assert.deepEqual(attempts.map((a) => a.error_category), ['transient', 'transient', 'transient']);
    assert.equal(changes, 0);
    const started = fs.readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    assert.equal(started.length, 3, 'each attempt started the agent once');
    await waitFor(() => started.every((p) => !alive(p)), 'every stalled agent to be gone', 5000);
  });
});

describe('agent confinement', () => {
  it('refuses the change of an agent that writes into the user\'s checkout', async () => {
    const agent = (target: string) => ({ command: `echo inside > inside.txt && ${node(`require('fs').writeFileSync(process.env.TARGET, 'escaped\\n')`)}`, env: { TARGET: target } });
    const { task: t, changes, runId, repo } = await runWithTarget(agent, (r) => path.join(r, 'escaped.txt'));
    assert.equal(t.status, 'failed');
    assert.match(t.error ?? '', /the agent changed files outside its worktree: the user's checkout moved while it ran/);
    assert.equal(changes, 0, 'no change is stored');
    // Open Task Worktree finds the kept worktree, with what the agent did inside it.
    const kept = await keptTaskWorktree(repo, runId, 'a');
    assert.ok(kept, 'the worktree is kept');
    assert.equal(fs.readFileSync(path.join(kept, 'inside.txt'), 'utf8'), 'inside\n');
    assert.equal(await keptTaskWorktree(repo, runId, 'nope'), undefined);
  });

  it('refuses the change of an agent that edits .git/config', async () => {
    const agent = (target: string) => ({ command: node(`require('fs').appendFileSync(process.env.TARGET, '[hyperion]\\n\\tescaped = true\\n')`), env: { TARGET: target } });
    const { task: t, changes } = await runWithTarget(agent, (repo) => path.join(repo, '.git/config'));
    assert.equal(t.status, 'failed');
    assert.match(t.error ?? '', /outside its worktree: \.git\/config moved/);
    assert.equal(changes, 0);
  });

  it('refuses the change of an agent that adds a git hook', async () => {
    const agent = (target: string) => ({ command: node(`require('fs').writeFileSync(process.env.TARGET, '#!/bin/sh\\n', { mode: 0o755 })`), env: { TARGET: target } });
    const { task: t } = await runWithTarget(agent, (repo) => path.join(repo, '.git/hooks/pre-commit'));
    assert.equal(t.status, 'failed');
    assert.match(t.error ?? '', /outside its worktree: the git hooks moved/);
  });
});

/** Runs an agent whose env points at a path in the run's own repository. */
async function runWithTarget(agent: (target: string) => { command: string; env: Record<string, string> }, target: (repo: string) => string) {
  fx?.cleanup();
  fx = await makeRunFixture();
  const f = fx;
  const runId = createRun(f.db, { goal: 'g', repo: f.repo.dir, baseCommit: f.repo.head(), plan: plan([task('a', { agent: 'x' })]), approve: 'none', clock: testClock });
  const client = new ScriptedClient({ dev: () => new Error('the built-in developer must not run') });
  const deps: RunPlanDeps = { db: f.db, repo: f.repo.dir, client, config: config({ maxRetries: 0, agents: { x: agent(target(f.repo.dir)) } }), log: silentLogger, clock: testClock, backoff: fastBackoff };
  const view = await runPlan(deps, runId);
  const changes = f.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM change_requests WHERE run_id = ?', [runId])!.n;
  return { task: view.tasks[0]!, changes, runId, repo: f.repo.dir };
}
