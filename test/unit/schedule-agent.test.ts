import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/engine/ports';
import { createRun } from '../../src/engine/runs/runs';
import { RunRegistry } from '../../src/engine/schedule/registry';
import { runPlan, type RunPlanDeps } from '../../src/engine/schedule/scheduler';
import type { EngineConfig } from '../../src/engine/config';
import { config, fastBackoff, makeRunFixture, plan, task, testClock, type RunFixture } from '../support/run-fixture';
import { ScriptedClient } from '../support/run-model';
import { useTempWorktrees } from '../support/worktrees';
import { worktreeBaseFor } from '../../src/engine/store/location';
import { alive, waitFor } from '../support/processes';

useTempWorktrees();

let fx: RunFixture | undefined;
afterEach(() => {
  fx?.cleanup();
  fx = undefined;
});

/**
 * An agent that starts a child which ignores SIGTERM, writes that child's pid to `pidFile`
 * (outside the worktree) and then waits for it forever.
 */
function hangingAgent(pidFile: string): string {
  return `node -e "process.on('SIGTERM', () => {}); require('fs').writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 1000)" ${JSON.stringify(pidFile)} & echo started > started.txt; wait`;
}

async function setup(cfg: Partial<EngineConfig>, extra: Partial<RunPlanDeps> = {}) {
  fx = await makeRunFixture();
  const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('a', { agent: 'hang' }), task('b', { dependsOn: ['a'] })]), approve: 'none', clock: testClock });
  const client = new ScriptedClient({ dev: () => new Error('the built-in developer must not run') });
  const deps: RunPlanDeps = { db: fx.db, repo: fx.repo.dir, client, config: config({ maxRetries: 0, ...cfg }), log: silentLogger, clock: testClock, backoff: fastBackoff, ...extra };
  return { runId, deps, fx, client };
}

async function worktreeOf(repo: string, runId: string, taskId: string): Promise<string> {
  return path.join(await worktreeBaseFor(repo), 'worktrees', runId, taskId);
}

describe('agent tasks in the scheduler', () => {
  it('cancelling an agent task kills its whole process group and keeps its worktree', async () => {
    const pidFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-pid-')), 'pid');
    const registry = new RunRegistry();
    const { runId, deps, client } = await setup({ agents: { hang: { command: hangingAgent(pidFile) } } }, { registry });
    const p = runPlan(deps, runId);
    await waitFor(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8') !== '', 'the agent to start');
    const child = Number(fs.readFileSync(pidFile, 'utf8'));
    assert.ok(alive(child));
    assert.ok(registry.cancelTask(runId, 'a'));
    const view = await p;
    assert.deepEqual(view.tasks.map((t) => [t.id, t.status]), [['a', 'cancelled'], ['b', 'skipped']]);
    await waitFor(() => !alive(child), 'the agent process to be gone', 5000);
    assert.ok(fs.existsSync(path.join(await worktreeOf(deps.repo, runId, 'a'), 'started.txt')), 'the worktree is kept to look into');
    assert.equal(client.count(), 0, 'no model was called');
    fs.rmSync(path.dirname(pidFile), { recursive: true, force: true });
  });

  it('a task timeout kills the agent and fails the task', async () => {
    const pidFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-pid-')), 'pid');
    const { runId, deps } = await setup({ agents: { hang: { command: hangingAgent(pidFile) } }, taskTimeoutMs: 1500 });
    const view = await runPlan(deps, runId);
    assert.equal(view.tasks[0]!.status, 'failed');
    assert.match(view.tasks[0]!.error ?? '', /timed out/);
    const child = Number(fs.readFileSync(pidFile, 'utf8'));
    await waitFor(() => !alive(child), 'the agent process to be gone', 5000);
    fs.rmSync(path.dirname(pidFile), { recursive: true, force: true });
  });
});
