import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import type { Engine, RunnablePlan } from '../../src/engine/api';
import { EngineConfig } from '../../src/engine/config';
import { createEngine } from '../../src/engine/engine';
import { EngineError } from '../../src/engine/errors';
import type { EngineEvent } from '../../src/engine/events';
import { silentLogger } from '../../src/engine/ports';
import type { ChatProvider, ChatRequest, ChatResponse } from '../../src/engine/providers/types';
import { openDb } from '../../src/engine/store/db';
import { stateDirFor } from '../../src/engine/store/location';
import { gitOut, makeSampleRepo } from '../support/cli';
import { answerFor } from '../support/tool-answers';

/** Answers each task with a file of its own; `hold` makes every call wait until it is cancelled. */
class FileModel implements ChatProvider {
  readonly kind = 'recorded' as const;
  calls = 0;
  constructor(private readonly hold = false) {}
  async chat(req: ChatRequest): Promise<ChatResponse> {
    this.calls++;
    if (this.hold) {
      await new Promise<void>((_, reject) => req.signal?.addEventListener('abort', () => reject(new EngineError('cancelled', 'cancelled')), { once: true }));
    }
    const text = req.tags?.role === 'reviewer'
      ? JSON.stringify({ verdict: 'approve', comments: 'fine' })
      : JSON.stringify({ action: 'finish', summary: 'wrote a file', files: [{ path: `${req.tags?.runId}-${req.tags?.taskId}.txt`, content: 'x\n' }] });
    return { ...answerFor(req, text), usage: { inputTokens: 1, outputTokens: 1 }, model: 'file', provider: 'recorded' };
  }
}

const repos: string[] = [];
const engines: Engine[] = [];
after(async () => {
  for (const e of engines) await e.dispose().catch(() => undefined);
  for (const r of repos) fs.rmSync(r, { recursive: true, force: true });
});

async function setup(model: FileModel) {
  const repo = makeSampleRepo();
  repos.push(repo);
  const config = EngineConfig.parse({ routes: { default: [{ provider: 'recorded', model: 'file' }] }, maxRetries: 0 });
  const events: EngineEvent[] = [];
  const engine = await createEngine({ repo, config, ports: { log: silentLogger, secrets: { get: async () => undefined } }, providerOverrides: { recorded: model } });
  engines.push(engine);
  engine.onDidChange((e) => events.push(e));
  return { repo, engine, events };
}

function plan(goal: string, ids: string[]): RunnablePlan {
  return {
    goal, rationale: '', confidence: 1, questions: [], assumptions: [],
    tasks: ids.map((id) => ({ id, title: `Task ${id}`, type: 'code_gen', prompt: `do ${id}`, acceptanceCriteria: [], dependsOn: [], files: [] })),
  };
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof EngineError, String(e));
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

describe('deleting a run', () => {
  it('removes every row of the run from every table and leaves other runs and landed commits alone', async () => {
    const { repo, engine, events } = await setup(new FileModel());
    const landed = await engine.startRun(plan('landed run', ['t1', 't2']), { approve: 'all' });
    await landed.done;
    await engine.runQueue();
    const kept = await engine.startRun(plan('kept run', ['k1']));
    await kept.done;
    const headBefore = gitOut(repo, 'rev-parse', 'HEAD');
    assert.equal(engine.listQueue().filter((e) => e.runId === landed.runId && e.state === 'merged').length, 2);

    await engine.deleteRun(landed.runId);
    assert.deepEqual(engine.listRuns().map((r) => r.id), [kept.runId]);
    assert.deepEqual(engine.listRequests().map((r) => r.runId), [kept.runId]);
    assert.equal(engine.getRun(landed.runId), undefined);
    assert.equal(engine.listQueue().some((e) => e.runId === landed.runId), false);
    assert.equal(engine.listChanges({ runId: landed.runId }).length, 0);
    assert.equal(gitOut(repo, 'rev-parse', 'HEAD'), headBefore, 'history is not rewritten');
    assert.ok(events.some((e) => e.kind === 'run/deleted' && e.subjectId === landed.runId), 'hosts are told to refresh');
    await engine.dispose();

    const db = await openDb({ dir: await stateDirFor(repo), log: silentLogger });
    try {
      const tables = db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").map((t) => t.name);
      for (const t of tables) {
        const cols = db.all<{ name: string }>(`PRAGMA table_info(${t})`).map((c) => c.name);
        const key = t === 'runs' ? 'id' : cols.includes('run_id') ? 'run_id' : undefined;
        if (!key) continue;
        assert.equal(db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t} WHERE ${key} = ?`, [landed.runId])!.n, 0, `${t} still has rows of the deleted run`);
      }
      assert.equal(db.get<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE subject_id LIKE 'ch_%' AND subject_id NOT IN (SELECT id FROM change_requests)")!.n, 0, 'no event about a deleted change');
      assert.equal(db.get<{ n: number }>('SELECT COUNT(*) AS n FROM tasks WHERE run_id = ?', [kept.runId])!.n, 1);
      assert.equal(db.get<{ n: number }>('SELECT COUNT(*) AS n FROM change_requests WHERE run_id = ?', [kept.runId])!.n, 1);
      assert.ok(db.get<{ n: number }>('SELECT COUNT(*) AS n FROM model_calls WHERE run_id = ?', [kept.runId])!.n > 0);
    } finally {
      db.close();
    }
  });

  it('refuses a run that is still running, and deletes it once cancelled', async () => {
    const model = new FileModel(true);
    const { engine } = await setup(model);
    const { runId, done } = await engine.startRun(plan('busy run', ['t1']));
    const deadline = Date.now() + 10_000;
    while (model.calls === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await rejectsWith(engine.deleteRun(runId), 'usage/run-active', /still running; cancel it/);
    await engine.cancelRun(runId);
    await done;
    await engine.deleteRun(runId);
    assert.equal(engine.getRun(runId), undefined);
  });

  it('refuses a run with a change waiting in the merge queue, and an unknown run', async () => {
    const { engine } = await setup(new FileModel());
    const { runId, done } = await engine.startRun(plan('queued run', ['t1']));
    await done;
    const [change] = engine.listChanges({ runId });
    await engine.approveChange(change.id);
    await rejectsWith(engine.deleteRun(runId), 'usage/run-active', /merge queue/);
    await engine.runQueue();
    await engine.deleteRun(runId);
    await rejectsWith(engine.deleteRun(runId), 'usage/unknown-run');
  });

  it('lists requests newest first with their status and task counts, bounded by the limit', async () => {
    const { engine } = await setup(new FileModel());
    const ids: string[] = [];
    for (const goal of ['first', 'second', 'third']) {
      const r = await engine.startRun(plan(goal, ['a', 'b']));
      await r.done;
      ids.push(r.runId);
    }
    const all = engine.listRequests();
    assert.deepEqual(all.map((r) => r.goal), ['third', 'second', 'first']);
    assert.deepEqual(all[0].taskCounts, { proposed: 2 });
    assert.equal(all[0].status, engine.getRun(ids[2])!.status, 'the status is the run view status');
    assert.equal(typeof all[0].createdAt, 'number');
    assert.deepEqual(engine.listRequests(1).map((r) => r.runId), [ids[2]]);
  });
});
