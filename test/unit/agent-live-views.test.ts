import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Engine, RunnablePlan } from '../../src/engine/api';
import { EngineConfig } from '../../src/engine/config';
import { createEngine } from '../../src/engine/engine';
import type { EngineEvent } from '../../src/engine/events';
import { silentLogger } from '../../src/engine/ports';
import { makeSampleRepo } from '../support/cli';
import { waitFor } from '../support/processes';
import { useTempWorktrees } from '../support/worktrees';
import { fakeClaude, resultLine, toolUseLine } from '../support/agents/fakeClaude';

useTempWorktrees();

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function plan(): RunnablePlan {
  const t = (id: string, over: object) => ({ id, title: `Task ${id}`, type: 'code_gen' as const, prompt: `do ${id}`, acceptanceCriteria: [], dependsOn: [], files: [], ...over });
  return { goal: 'g', rationale: '', confidence: 1, questions: [], assumptions: [], tasks: [t('a', { agent: 'cc' }), t('b', { dependsOn: ['a'] })] };
}

describe('an agent task in the engine views', () => {
  it('shows the agent of each task, what a running agent is doing, and its transcript afterwards', async () => {
    const repo = makeSampleRepo();
    const release = path.join(repo, '..', `${path.basename(repo)}-release`);
    const fake = fakeClaude([
      { type: 'system', subtype: 'init', model: 'claude-test' },
      toolUseLine('m1', 'Write', { file_path: 'src/new.ts', content: 'x' }),
      { $write: ['new.txt', 'new\n'] },
      { $waitFor: release },
      resultLine('Wrote new.txt', 0.002),
    ]);
    cleanups.push(() => fs.rmSync(repo, { recursive: true, force: true }), () => fs.rmSync(release, { force: true }), fake.cleanup);
    const config = EngineConfig.parse({ maxRetries: 0, agents: { cc: { kind: 'claude-code', path: fake.bin } } });
    const engine: Engine = await createEngine({ repo, config, ports: { log: silentLogger, secrets: { get: async () => undefined } } });
    cleanups.push(() => engine.dispose());
    const live: EngineEvent[] = [];
    engine.onDidChange((e) => live.push(e));

    const { runId, done } = await engine.startRun(plan());
    await waitFor(() => engine.getRun(runId)?.tasks[0]?.activity !== undefined, 'the agent to report what it does');
    const running = engine.getRun(runId)!.tasks;
    assert.equal(running[0]!.status, 'running');
    assert.equal(running[0]!.activity, 'editing src/new.ts');
    assert.equal(running[0]!.agent, 'cc');
    assert.equal(running[1]!.agent, undefined, 'the built-in developer is no named agent');
    assert.equal(running[1]!.activity, undefined);
    assert.ok(live.some((e) => e.kind === 'task/progress' && e.taskId === 'a' && e.data?.text === 'editing src/new.ts'));
    assert.equal(engine.history().find((t) => t.id === 'a')?.activity, 'editing src/new.ts', 'history shows it too');

    fs.writeFileSync(release, '');
    await done;
    const a = engine.getRun(runId)!.tasks[0]!;
    assert.equal(a.status, 'proposed', a.error);
    assert.equal(a.activity, undefined, 'a finished task shows no activity');
    assert.equal(a.agent, 'cc', 'the agent that ran it');
    assert.match((await engine.taskTranscript(runId, 'a')) ?? '', /Wrote new\.txt/);
    // b ran the built-in developer (and failed: this test gives it no model); its attempt is recorded, yet it names no agent.
    const b = engine.getRun(runId)!.tasks[1]!;
    assert.equal(b.status, 'failed');
    assert.equal(b.agent, undefined, 'a task the built-in developer ran names no agent, after it ran too');
    // The built-in (tool) developer keeps a transcript of its own, never the agent's.
    assert.doesNotMatch((await engine.taskTranscript(runId, 'b')) ?? '', /Wrote new\.txt/, "b's transcript is not a's");

    await engine.deleteRun(runId);
    assert.equal(await engine.taskTranscript(runId, 'a'), undefined, 'deleting the run deletes its transcripts');
  });
});
