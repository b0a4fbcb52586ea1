import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import type { Engine, RunnablePlan } from '../../src/engine/api';
import { EngineConfig } from '../../src/engine/config';
import { createEngine } from '../../src/engine/engine';
import { EngineError } from '../../src/engine/errors';
import { INPUT_LIMITS } from '../../src/engine/plan/limits';
import { Plan } from '../../src/engine/plan/schema';
import { silentLogger } from '../../src/engine/ports';
import type { ChatProvider, ChatResponse } from '../../src/engine/providers/types';
import { makeSampleRepo } from '../support/cli';

/** Counts calls; the limits must refuse before any model is asked. */
class CountingModel implements ChatProvider {
  readonly kind = 'recorded' as const;
  calls = 0;
  async chat(): Promise<ChatResponse> {
    this.calls++;
    throw new EngineError('provider/bad-request', 'not expected');
  }
}

const repos: string[] = [];
const engines: Engine[] = [];
after(async () => {
  for (const e of engines) await e.dispose().catch(() => undefined);
  for (const r of repos) fs.rmSync(r, { recursive: true, force: true });
});

async function setup() {
  const repo = makeSampleRepo();
  repos.push(repo);
  const model = new CountingModel();
  const config = EngineConfig.parse({ routes: { default: [{ provider: 'recorded', model: 'x' }] }, maxRetries: 0 });
  const engine = await createEngine({ repo, config, ports: { log: silentLogger, secrets: { get: async () => undefined } }, providerOverrides: { recorded: model } });
  engines.push(engine);
  return { engine, model };
}

function plan(over: { goal?: string; title?: string; prompt?: string } = {}): RunnablePlan {
  return {
    goal: over.goal ?? 'goal', rationale: '', confidence: 1, questions: [], assumptions: [],
    tasks: [{ id: 't1', title: over.title ?? 'title', type: 'docs', prompt: over.prompt ?? 'prompt', acceptanceCriteria: [], dependsOn: [], files: [], patch: 'diff --git a/n.txt b/n.txt\nnew file mode 100644\n--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1 @@\n+n\n' }],
  };
}

function tooLarge(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof EngineError, String(e));
    assert.equal(e.code, 'usage/too-large', e.message);
    assert.match(e.message, pattern);
    return true;
  };
}

describe('input limits', () => {
  it('refuses a goal over the limit before planning, without a model call', async () => {
    const { engine, model } = await setup();
    await assert.rejects(engine.plan('g'.repeat(INPUT_LIMITS.goalChars + 1)), tooLarge(/the goal is 20,001 characters; the limit is 20,000/));
    assert.equal(model.calls, 0);
  });

  it('stores nothing for a run whose goal, title or prompt is over its limit', async () => {
    const { engine } = await setup();
    await assert.rejects(engine.startRun(plan({ goal: 'g'.repeat(50 * 1024 * 1024) })), tooLarge(/the goal is 52,428,800 characters/));
    await assert.rejects(engine.startRun(plan({ title: 't'.repeat(INPUT_LIMITS.titleChars + 1) })), tooLarge(/the title of task "t1" is 201 characters; the limit is 200/));
    await assert.rejects(engine.startRun(plan({ prompt: 'p'.repeat(INPUT_LIMITS.promptChars + 1) })), tooLarge(/the prompt of task "t1" is 50,001 characters; the limit is 50,000/));
    assert.deepEqual(engine.listRuns(), []);
  });

  it('accepts inputs exactly at the limits', async () => {
    const { engine } = await setup();
    const { done } = await engine.startRun(plan({ goal: 'g'.repeat(INPUT_LIMITS.goalChars), title: 't'.repeat(INPUT_LIMITS.titleChars), prompt: 'p'.repeat(INPUT_LIMITS.promptChars) }));
    const run = await done;
    assert.equal(run.goal.length, INPUT_LIMITS.goalChars);
  });

  it('makes the planner repair a model plan whose prompt is over the limit', () => {
    const base = { goal: 'g', confidence: 1, tasks: [{ id: 't1', title: 't', type: 'docs', prompt: 'p'.repeat(INPUT_LIMITS.promptChars + 1) }] };
    assert.equal(Plan.safeParse(base).success, false);
    assert.equal(Plan.safeParse({ ...base, tasks: [{ ...base.tasks[0], prompt: 'p' }] }).success, true);
  });
});
