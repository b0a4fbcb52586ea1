import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import type { Engine, RunnablePlan } from '../../src/engine/api';
import { EngineConfig } from '../../src/engine/config';
import { createEngine } from '../../src/engine/engine';
import { EngineError } from '../../src/engine/errors';
import type { EngineEvent } from '../../src/engine/events';
import { cycleEdgesOf } from '../../src/engine/plan/draftEdit';
import { silentLogger } from '../../src/engine/ports';
import type { ChatProvider, ChatRequest, ChatResponse } from '../../src/engine/providers/types';
import { makeSampleRepo } from '../support/cli';
import { answerFor } from '../support/tool-answers';

/** Answers each developer call with one file named after its task, and records the prompts. */
class TaskModel implements ChatProvider {
  readonly kind = 'recorded' as const;
  readonly calls: ChatRequest[] = [];
  async chat(req: ChatRequest): Promise<ChatResponse> {
    this.calls.push(req);
    const text = req.tags?.role === 'reviewer'
      ? JSON.stringify({ verdict: 'approve', comments: 'fine' })
      : JSON.stringify({ action: 'finish', summary: 'done', files: [{ path: `out/${req.tags?.taskId}.txt`, content: `${req.tags?.taskId}\n` }] });
    return { ...answerFor(req, text), usage: { inputTokens: 10, outputTokens: 10 }, model: 'table', provider: 'recorded' };
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
  const model = new TaskModel();
  const config = EngineConfig.parse({
    routes: { default: [{ provider: 'recorded', model: 'table' }], docs: [{ provider: 'recorded', model: 'docs-model' }] },
    // A command agent that writes the model it was given: what the draft's agent and model edits reach.
    agents: { scribe: { command: 'printf %s {model} > model.txt' } },
    maxRetries: 0,
  });
  const engine = await createEngine({ repo, config, ports: { log: silentLogger, secrets: { get: async () => undefined } }, providerOverrides: { recorded: model } });
  engines.push(engine);
  const events: EngineEvent[] = [];
  engine.onDidChange((e) => events.push(e));
  return { repo, engine, model, events };
}

const PLAN: RunnablePlan = {
  goal: 'draft goal', rationale: '', confidence: 0.6, questions: [], assumptions: ['the repo uses plain text files'],
  tasks: [
    { id: 't1', title: 'First', type: 'code_gen', prompt: 'do t1', acceptanceCriteria: [], dependsOn: [], files: [], route: { provider: 'recorded', model: 'table' } },
    { id: 't2', title: 'Second', type: 'code_gen', prompt: 'do t2', acceptanceCriteria: [], dependsOn: ['t1'], files: [], route: { provider: 'recorded', model: 'table' } },
    { id: 't3', title: 'Third', type: 'code_gen', prompt: 'do t3', acceptanceCriteria: [], dependsOn: ['t2'], files: [], route: { provider: 'recorded', model: 'table' } },
  ],
};

function code(e: unknown): string | undefined {
  return e instanceof EngineError ? e.code : undefined;
}

describe('draft plans', () => {
  it('stores a draft that runs nothing and shows in the run views as draft', async () => {
    const { engine, model } = await setup();
    const runId = await engine.draftRun(PLAN);
    const run = engine.getRun(runId)!;
    assert.equal(run.status, 'draft');
    assert.deepEqual(run.tasks.map((t) => t.status), ['pending', 'pending', 'pending']);
    const draft = engine.getDraft(runId)!;
    assert.deepEqual(draft.errors, []);
    assert.deepEqual(draft.assumptions, ['the repo uses plain text files']);
    assert.equal(model.calls.length, 0, 'no model was called for a draft');
    assert.equal(engine.listRequests(5)[0].status, 'draft');
  });

  it('edits every field, adds and removes tasks, shows a cycle on its edges, refuses to start it, and runs once fixed', async () => {
    const { engine, model, events } = await setup();
    const runId = await engine.draftRun(PLAN);
    await engine.editDraft(runId, { kind: 'task/update', taskId: 't1', fields: { title: 'First, edited', prompt: 'do t1 carefully', acceptanceCriteria: ['out/t1.txt exists', ' '], files: ['out/t1.txt'] } });
    await engine.editDraft(runId, { kind: 'task/update', taskId: 't2', fields: { type: 'docs', agent: 'scribe', model: 'm-2' } });
    await engine.editDraft(runId, { kind: 'task/add', task: { title: 'Added by the user', prompt: 'do the new one', dependsOn: ['t1'] } });
    await engine.editDraft(runId, { kind: 'task/remove', taskId: 't3' });
    let draft = engine.getDraft(runId)!;
    const byId = new Map(draft.plan.tasks.map((t) => [t.id, t]));
    assert.deepEqual([...byId.keys()], ['t1', 't2', 't4']);
    assert.equal(byId.get('t1')!.title, 'First, edited');
    assert.equal(byId.get('t1')!.prompt, 'do t1 carefully');
    assert.deepEqual(byId.get('t1')!.acceptanceCriteria, ['out/t1.txt exists']);
    assert.deepEqual(byId.get('t1')!.files, ['out/t1.txt']);
    assert.equal(byId.get('t2')!.type, 'docs');
    assert.equal(byId.get('t2')!.agent, 'scribe');
    assert.equal(byId.get('t2')!.model, 'm-2');
    assert.deepEqual(byId.get('t2')!.route, { provider: 'recorded', model: 'docs-model' }, 'the route follows the new type');
    assert.deepEqual(byId.get('t4')!.dependsOn, ['t1']);
    // The tree reads task rows: they follow the draft.
    assert.deepEqual(engine.getRun(runId)!.tasks.map((t) => `${t.id}:${t.title}`), ['t1:First, edited', 't2:Second', 't4:Added by the user']);

    // t1 → t2 exists; t2 → t1 closes a cycle: kept, reported, drawn on both edges.
    draft = await engine.editDraft(runId, { kind: 'dependency/add', from: 't2', to: 't1' });
    assert.equal(draft.errors.length, 1);
    assert.match(draft.errors[0], /dependency cycle (t1 -> t2 -> t1|t2 -> t1 -> t2)/);
    assert.deepEqual(draft.cycleEdges.map((e) => `${e.from}->${e.to}`).sort(), ['t1->t2', 't2->t1']);
    await assert.rejects(engine.startDraft(runId), (e) => code(e) === 'plan/invalid' && /cycle/.test((e as Error).message));
    assert.equal(engine.getRun(runId)!.status, 'draft', 'a refused start leaves the draft as it was');
    assert.equal(model.calls.length, 0);

    draft = await engine.editDraft(runId, { kind: 'dependency/remove', from: 't2', to: 't1' });
    assert.deepEqual(draft.errors, []);
    assert.deepEqual(draft.cycleEdges, []);

    const edits = events.filter((e) => e.kind === 'run/draft-edited' && e.runId === runId);
    assert.equal(edits.length, 6, 'one audit event per stored edit');
    assert.equal(edits[4].data?.kind, 'dependency/add');

    const { done } = await engine.startDraft(runId);
    const run = await done;
    assert.deepEqual(run.tasks.map((t) => `${t.id}:${t.status}`).sort(), ['t1:proposed', 't2:proposed', 't4:proposed']);
    const prompts = model.calls.filter((c) => c.tags?.role !== 'reviewer').map((c) => c.messages.map((m) => m.content).join('\n'));
    assert.ok(prompts.some((p) => p.includes('do t1 carefully')), 'the developer got the edited prompt');
    assert.ok(prompts.some((p) => p.includes('do the new one')), 'the added task ran');
    assert.ok(!prompts.some((p) => p.includes('do t3')), 'the removed task did not run');
    assert.ok(!prompts.some((p) => p.includes('# Subtask t2')), 'the agent, not the built-in developer, ran t2');
    const t2 = engine.getChange(run.tasks.find((t) => t.id === 't2')!.changeId!)!;
    assert.equal(await engine.readProposedFile(t2.id, 'model.txt'), 'm-2', 'the edited agent ran with the edited model');
    await assert.rejects(engine.editDraft(runId, { kind: 'task/remove', taskId: 't1' }), (e) => code(e) === 'plan/not-draft');
  });

  it('refuses an edit the validator refuses and stores nothing', async () => {
    const { engine, events } = await setup();
    const runId = await engine.draftRun(PLAN);
    const before = JSON.stringify(engine.getDraft(runId)!.plan);
    const refused: Array<[Parameters<Engine['editDraft']>[1], RegExp]> = [
      [{ kind: 'task/update', taskId: 't1', fields: { title: '' } }, /title/],
      [{ kind: 'task/update', taskId: 't1', fields: { files: ['../outside.txt'] } }, /outside the repository/],
      [{ kind: 'task/update', taskId: 'nope', fields: { title: 'x' } }, /no task "nope"/],
      [{ kind: 'task/add', task: { id: 't2', title: 'dup' } }, /already has a task "t2"/],
      [{ kind: 'task/add', task: { id: 'bad id!', title: 'x' } }, /not a task id/],
      [{ kind: 'dependency/add', from: 't1', to: 't2' }, /already depends/],
      [{ kind: 'dependency/add', from: 't1', to: 't1' }, /itself/],
      [{ kind: 'dependency/remove', from: 't3', to: 't1' }, /does not depend/],
    ];
    for (const [edit, msg] of refused) {
      await assert.rejects(engine.editDraft(runId, edit), (e) => code(e) === 'plan/bad-edit' && msg.test((e as Error).message), JSON.stringify(edit));
    }
    await assert.rejects(engine.editDraft(runId, { kind: 'task/update', taskId: 't1', fields: { title: 'x'.repeat(201) } }), (e) => code(e) === 'usage/too-large');
    assert.equal(JSON.stringify(engine.getDraft(runId)!.plan), before);
    assert.equal(events.filter((e) => e.kind === 'run/draft-edited').length, 0);
  });

  it('marks every edge on a cycle, not only the first cycle found', () => {
    const nodes = [
      { id: 'a', dependsOn: ['c'] }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: ['b'] },
      { id: 'd', dependsOn: ['a'] }, { id: 'e', dependsOn: ['f'] }, { id: 'f', dependsOn: ['e'] },
    ];
    assert.deepEqual(cycleEdgesOf(nodes).map((e) => `${e.from}->${e.to}`).sort(), ['a->b', 'b->c', 'c->a', 'e->f', 'f->e']);
    assert.deepEqual(cycleEdgesOf([{ id: 'a', dependsOn: [] }, { id: 'b', dependsOn: ['a'] }]), []);
  });
});
