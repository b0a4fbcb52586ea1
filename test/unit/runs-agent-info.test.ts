import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TaskStatus, TaskView } from '../../src/engine/api';
import { EngineConfig } from '../../src/engine/config';
import { RunAgents, TaskActivity, withAgentInfo } from '../../src/engine/runs/taskActivity';
import { openDb } from '../../src/engine/store/db';

function task(id: string, status: TaskStatus, type: TaskView['type'] = 'code_gen'): TaskView {
  return { id, title: `Task ${id}`, type, prompt: 'p', acceptanceCriteria: [], dependsOn: [], files: [], runId: 'r1', status, attempts: 1, costUsd: 0 };
}

describe('the agent a task view names', () => {
  it('is the configured agent, else for a task that already ran, the agent recorded for its latest attempt', async () => {
    const db = await openDb({ dir: null });
    const transcript = (taskId: string, attempt: number, agent: string) =>
      db.run('INSERT INTO task_transcripts (run_id, task_id, attempt, agent, transcript, created_at) VALUES (?, ?, ?, ?, ?, 0)', ['r1', taskId, attempt, agent, 'out']);
    // Ran under claude, then codex; the config now gives code_gen to no agent.
    transcript('ran', 1, 'claude');
    transcript('ran', 2, 'codex');
    transcript('again', 1, 'claude');
    const none = EngineConfig.parse({});
    const views = withAgentInfo(new RunAgents(db, none), new TaskActivity(), [task('ran', 'merged'), task('builtin', 'merged'), task('again', 'ready'), task('new', 'pending')]);
    assert.deepEqual(views.map((t) => t.agent), ['codex', undefined, undefined, undefined], 'a task about to run again gets what the config gives it now');

    const routed = EngineConfig.parse({ agents: { claude: { kind: 'claude-code' } }, routes: { code_gen: [{ agent: 'claude' }] } });
    const now = withAgentInfo(new RunAgents(db, routed), new TaskActivity(), [task('new', 'pending'), task('ran', 'merged'), task('doc', 'pending', 'docs')]);
    assert.deepEqual(now.map((t) => t.agent), ['claude', 'claude', undefined], 'the config\'s choice first, as the engine will run it');
    db.close();
  });

  it('carries what a running agent last said, and drops it when the task stops running', async () => {
    const db = await openDb({ dir: null });
    const activity = new TaskActivity();
    activity.observe({ at: 0, actor: 'agent', kind: 'task/progress', runId: 'r1', taskId: 'a', data: { text: 'editing src/a.ts' } });
    const agents = new RunAgents(db, EngineConfig.parse({}));
    assert.equal(withAgentInfo(agents, activity, [task('a', 'running')])[0]!.activity, 'editing src/a.ts');
    activity.observe({ at: 1, actor: 'system', kind: 'task/state', runId: 'r1', taskId: 'a', from: 'running', to: 'proposed' });
    assert.equal(withAgentInfo(agents, activity, [task('a', 'running')])[0]!.activity, undefined);
    db.close();
  });
});
