import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/engine/ports';
import { recordingClient } from '../../src/engine/runs/modelCalls';
import { recoverRuns } from '../../src/engine/runs/recovery';
import { createRun, getTaskRows, setTaskStatus } from '../../src/engine/runs/runs';
import { getRunView, history, listRunViews } from '../../src/engine/runs/views';
import { RunRegistry } from '../../src/engine/schedule/registry';
import { runPlan, skipDependents } from '../../src/engine/schedule/scheduler';
import type { EngineEvent } from '../../src/engine/events';
import { config, fastBackoff, makeRunFixture, plan, task, testClock, type RunFixture } from '../support/run-fixture';
import { ScriptedClient, finish } from '../support/run-model';

let fx: RunFixture | undefined;
afterEach(() => {
  fx?.cleanup();
  fx = undefined;
});

describe('run persistence', () => {
  it('stores a run with its tasks in plan order, ready or pending, with an event per change', async () => {
    fx = await makeRunFixture();
    const events: EngineEvent[] = [];
    const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('b'), task('a', { dependsOn: ['b'] })]), approve: 'none', clock: testClock, onEvent: (e) => events.push(e) });
    const view = getRunView(fx.db, runId)!;
    assert.equal(view.status, 'running');
    assert.equal(view.baseCommit, fx.repo.head());
    assert.deepEqual(view.tasks.map((t) => [t.id, t.status, t.attempts, t.costUsd]), [['b', 'ready', 0, 0], ['a', 'pending', 0, 0]]);
    assert.deepEqual(view.tasks[1]!.dependsOn, ['b']);
    assert.equal(events[0]!.kind, 'run/state');
    assert.ok(setTaskStatus(fx.db, { runId, taskId: 'b', from: ['ready'], to: 'running', at: testClock.now() }));
    assert.ok(!setTaskStatus(fx.db, { runId, taskId: 'b', from: ['ready'], to: 'running', at: testClock.now() }), 'compare-and-set refuses a stale move');
    const ev = fx.db.all<{ kind: string; to_state: string }>(`SELECT kind, to_state FROM events WHERE run_id = ? ORDER BY id`, [runId]);
    assert.deepEqual(ev.map((e) => `${e.kind}:${e.to_state}`), ['run/state:running', 'task/state:running']);
    assert.throws(() => createRun(fx!.db, { goal: 'g', repo: '.', baseCommit: 'x', plan: plan([task('a', { dependsOn: ['zz'] })]), approve: 'none', clock: testClock }), /unknown task "zz"/);
  });

  it('requeues tasks that were running when the process died and never touches finished ones', async () => {
    fx = await makeRunFixture();
    const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('a'), task('b'), task('c')]), approve: 'none', clock: testClock });
    const at = testClock.now();
    fx.db.run(`UPDATE tasks SET status = 'running', attempts = 1 WHERE id IN ('a', 'b')`);
    fx.db.run(`UPDATE tasks SET status = 'proposed' WHERE id = 'b'`);
    fx.db.run(`INSERT INTO attempts (run_id, task_id, n, status, started_at) VALUES (?, 'a', 1, 'running', ?)`, [runId, at]);
    const r = recoverRuns(fx.db, testClock);
    assert.deepEqual(r.requeued, [`${runId}/a`]);
    assert.deepEqual(r.runs, [runId]);
    const rows = getTaskRows(fx.db, runId);
    assert.deepEqual(rows.map((t) => t.status), ['ready', 'proposed', 'ready']);
    const att = fx.db.get<{ status: string; error_category: string; error: string }>(`SELECT status, error_category, error FROM attempts WHERE task_id = 'a'`)!;
    assert.deepEqual([att.status, att.error_category], ['error', 'transient']);
    assert.match(att.error, /interrupted/);
  });

  it('answers a repeated model request from model_calls without paying again', async () => {
    fx = await makeRunFixture();
    const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('a')]), approve: 'none', clock: testClock });
    const model = new ScriptedClient({ dev: () => 'hello', costUsd: 0.25 });
    const c = recordingClient(fx.db, model, testClock, { runId, taskId: 'a' });
    const req = { messages: [{ role: 'user' as const, content: 'hi' }] };
    const first = await c.chat('code_gen', req);
    const second = await c.chat('code_gen', { ...req, signal: new AbortController().signal, tags: { attempt: 3 } });
    assert.equal(model.count(), 1);
    assert.equal(second.text, first.text);
    assert.equal(second.cached, true);
    assert.equal(second.costUsd, 0);
    assert.equal(getRunView(fx.db, runId)!.costUsd, 0.25);
    assert.equal(getRunView(fx.db, runId)!.tasks[0]!.costUsd, 0.25);
    const other = recordingClient(fx.db, model, testClock, { runId, taskId: 'a', generation: 1 });
    await other.chat('code_gen', req);
    assert.equal(model.count(), 2, 'a new generation asks afresh');
  });

  it('holds a deferred call back until the caller stores it in its own transaction', async () => {
    fx = await makeRunFixture();
    const f = fx;
    const runId = createRun(f.db, { goal: 'g', repo: f.repo.dir, baseCommit: f.repo.head(), plan: plan([task('a')]), approve: 'none', clock: testClock });
    const model = new ScriptedClient({ dev: () => 'code', review: () => 'fine', costUsd: 0.5 });
    const c = recordingClient(f.db, model, testClock, { runId, taskId: 'a' }, undefined, { defer: (role) => role === 'reviewer' });
    const req = { messages: [{ role: 'user' as const, content: 'review this' }] };
    await c.chat('code_gen', req);
    await c.chat('reviewer', req);
    const stored = () => f.db.all<{ role: string }>('SELECT role FROM model_calls WHERE run_id = ? ORDER BY id', [runId]).map((r) => r.role);
    assert.deepEqual(stored(), ['code_gen'], 'the review is not written on its own');
    assert.equal((await c.chat('reviewer', req)).text, 'fine', 'a repeated deferred request is answered from memory');
    assert.equal(model.count(), 2);
    const events: EngineEvent[] = [];
    f.db.transaction(() => c.flushDeferred(events));
    assert.deepEqual(stored(), ['code_gen', 'reviewer']);
    assert.deepEqual(events.map((e) => [e.kind, e.data?.role]), [['model/call', 'reviewer']]);
    assert.equal(getRunView(f.db, runId)!.costUsd, 1);
    f.db.transaction(() => c.flushDeferred([]));
    assert.deepEqual(stored(), ['code_gen', 'reviewer'], 'flushing twice stores nothing twice');
  });

  it('lists the last 100 task requests with their status in one query', async () => {
    fx = await makeRunFixture();
    for (let r = 0; r < 12; r++) {
      const id = createRun(fx.db, { goal: `g${r}`, repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan(Array.from({ length: 10 }, (_, i) => task(`t${i}`))), approve: 'none', clock: testClock });
      if (r === 11) setTaskStatus(fx.db, { runId: id, taskId: 't0', to: 'failed', at: testClock.now(), error: 'boom' });
    }
    const h = history(fx.db);
    assert.equal(h.length, 100);
    assert.equal(h[0]!.id, 't0');
    assert.equal(h[0]!.status, 'failed');
    assert.equal(h[0]!.error, 'boom');
    assert.equal(h[1]!.status, 'ready');
    assert.equal(new Set(h.map((t) => t.runId)).size, 10, 'the newest ten runs');
    assert.equal(history(fx.db, 5).length, 5);
    assert.equal(listRunViews(fx.db, 3)[0]!.goal, 'g11');
  });

  it('cancels one task of a running plan and skips its dependents; skipDependents stops running dependents', async () => {
    const client = new ScriptedClient({ dev: (id) => ({ text: finish(id, { [`${id}.txt`]: `${id}\n` }), delayMs: id === 'slow' || id === 'dep2' ? 20_000 : 50 }) });
    fx = await makeRunFixture();
    const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('slow'), task('after', { dependsOn: ['slow'] }), task('base'), task('dep2', { dependsOn: ['base'] })]), approve: 'none', clock: testClock });
    const registry = new RunRegistry();
    const deps = { db: fx.db, repo: fx.repo.dir, client, config: config(), log: silentLogger, clock: testClock, backoff: fastBackoff, registry };
    const p = runPlan(deps, runId);
    while (!client.calls.some((c) => c.taskId === 'dep2')) await new Promise((r) => setTimeout(r, 20));
    assert.ok(registry.cancelTask(runId, 'slow'));
    assert.deepEqual(skipDependents(fx.db, registry, runId, 'base', 'change of base was rejected', testClock), ['dep2']);
    const view = await p;
    const st = Object.fromEntries(view.tasks.map((t) => [t.id, t]));
    assert.equal(st.slow!.status, 'cancelled');
    assert.equal(st.after!.status, 'skipped');
    assert.match(st.after!.error!, /dependency slow cancelled/);
    assert.equal(st.dep2!.status, 'skipped');
    assert.equal(st.dep2!.error, 'change of base was rejected');
    assert.equal(st.base!.status, 'proposed');
    assert.ok(client.calls.filter((c) => c.taskId === 'slow' || c.taskId === 'dep2').every((c) => c.outcome === 'cancelled'));
    assert.equal(registry.cancelTask(runId, 'slow'), false, 'nothing to cancel once the run ended');
  });
});
