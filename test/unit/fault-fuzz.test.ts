import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunnablePlan, TaskStatus } from '../../src/engine/api';
import { EngineError } from '../../src/engine/errors';
import { validatePlan } from '../../src/engine/plan/validate';
import { openDb } from '../../src/engine/store/db';
import { faultConfig, isOneSentence, openHarness, taskLine, within } from '../support/fault-engine';
import { randomPatch, randomRawPlan } from '../support/fault-fuzz';
import { instantModel, prng } from '../support/fault-load';

/**
 * Fuzzing with a seeded PRNG (replay with FAULT_SEED=<seed>; the seed is in every failure):
 * random plans through `validatePlan`, and the valid ones through `startRun` with random,
 * mostly malformed ready-made patches. The engine may refuse input only with an EngineError,
 * every task ends settled with a sentence saying why when it did not succeed, and the store
 * reopens afterwards with `PRAGMA integrity_check` = ok.
 */
// Fixed by default so every CI run tests the same input; FAULT_SEED explores others.
const seed = Number(process.env.FAULT_SEED ?? 838662);
const PLANS = 400;
const ENGINE_RUNS = 14;
const SETTLED: ReadonlySet<TaskStatus> = new Set(['proposed', 'approved', 'merged', 'rejected', 'failed', 'skipped', 'cancelled']);
const FAILED: ReadonlySet<TaskStatus> = new Set(['rejected', 'failed', 'skipped', 'cancelled']);

/** Awaits an engine call; anything thrown must be an EngineError with a one-line message. */
async function engineCall<T>(what: string, f: () => Promise<T> | T): Promise<T | EngineError> {
  try {
    return await f();
  } catch (e) {
    assert.ok(e instanceof EngineError, `seed ${seed}: ${what} threw something that is not an EngineError: ${e instanceof Error ? e.stack : String(e)}`);
    assert.ok(isOneSentence(e.message), `seed ${seed}: ${what} threw a message that is not one sentence: ${JSON.stringify(e.message)}`);
    return e;
  }
}

test(`random plans and malformed patches never break the engine or the store (seed ${seed})`, { timeout: 120_000 }, async (t) => {
  t.diagnostic(`FAULT_SEED=${seed}`);
  const rand = prng(seed);

  // 1. validatePlan never throws and explains every refusal in single lines.
  const valid: RunnablePlan[] = [];
  const invalid: unknown[] = [];
  // At least PLANS, and on until there are enough valid ones to run (most random plans are invalid).
  for (let i = 0; i < PLANS || (valid.length < ENGINE_RUNS && i < 20 * PLANS); i++) {
    const raw = randomRawPlan(rand);
    let res: ReturnType<typeof validatePlan>;
    try {
      res = validatePlan(raw, { maxTasks: 20 });
    } catch (e) {
      assert.fail(`seed ${seed} plan ${i}: validatePlan threw ${e instanceof Error ? e.stack : String(e)}`);
    }
    if (res.ok) {
      valid.push(res.plan);
      continue;
    }
    invalid.push(raw);
    assert.ok(res.errors.length > 0, `seed ${seed} plan ${i}: refused without a reason`);
    for (const err of res.errors) assert.ok(!err.includes('\n') && err.trim() !== '', `seed ${seed} plan ${i}: error is not one line: ${JSON.stringify(err)}`);
  }
  t.diagnostic(`${valid.length} valid and ${invalid.length} invalid plans`);
  assert.ok(valid.length >= ENGINE_RUNS, `seed ${seed}: only ${valid.length} valid plans`);

  // 2. Valid plans with random patches through the engine.
  const model = instantModel();
  const h = await openHarness(faultConfig(undefined, { concurrency: 4, maxPatchBytes: 20_000 }), { providerOverrides: { openai: model } });
  const runIds: string[] = [];
  const tally = new Map<string, number>();
  try {
    for (let i = 0; i < ENGINE_RUNS; i++) {
      const plan: RunnablePlan = { ...valid[i], tasks: valid[i].tasks.map((task, k) => (rand() < 0.85 ? { ...task, patch: randomPatch(rand, k) } : task)) };
      const approve = rand() < 0.6 ? 'all' : 'none';
      const started = await engineCall(`startRun of valid plan ${i}`, () => h.engine.startRun(plan, { approve }));
      if (started instanceof EngineError) continue;
      runIds.push(started.runId);
      const view = await within(30_000, started.done, `seed ${seed} run ${i}`);
      if (approve === 'all') await engineCall(`runQueue after run ${i}`, () => within(30_000, h.engine.runQueue(), `seed ${seed} queue ${i}`));
      const after = h.engine.getRun(view.id)!;
      const ctx = `seed ${seed} run ${i}: ${taskLine(after.tasks)}`;
      assert.ok(['done', 'failed', 'awaiting-review'].includes(after.status), `${ctx} (run ${after.status})`);
      for (const task of after.tasks) {
        assert.ok(SETTLED.has(task.status), `${ctx}: ${task.id} is ${task.status}`);
        tally.set(task.status, (tally.get(task.status) ?? 0) + 1);
        if (FAILED.has(task.status)) assert.ok(isOneSentence(task.error), `${ctx}: ${task.id} is ${task.status} without a sentence: ${JSON.stringify(task.error)}`);
      }
      for (const e of h.engine.listQueue().filter((x) => x.runId === view.id && ['failed', 'conflicted', 'quarantined', 'blocked'].includes(x.state))) {
        assert.ok(isOneSentence(e.lastError), `${ctx}: queue entry ${e.taskId} is ${e.state} without a sentence: ${JSON.stringify(e.lastError)}`);
      }
    }

    t.diagnostic(`task outcomes: ${[...tally].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    // A fuzz that only ever exercised one path would prove little.
    assert.ok(tally.size >= 3, `seed ${seed}: outcomes too uniform: ${[...tally].join('; ')}`);

    // 3. Invalid plans straight to startRun (hosts validate first, but a bug there must not wedge a run).
    // Only objects: a non-object is outside the TypeScript contract of startRun.
    const objects = invalid.filter((x) => typeof x === 'object' && x !== null && !Array.isArray(x));
    for (let i = 0; i < 25 && i < objects.length; i++) {
      const raw = objects[i] as RunnablePlan;
      const started = await engineCall(`startRun of invalid plan ${i}`, () => h.engine.startRun(raw));
      if (started instanceof EngineError) continue;
      runIds.push(started.runId);
      const view = await within(30_000, started.done, `seed ${seed} invalid run ${i}`);
      for (const task of view.tasks) {
        assert.ok(SETTLED.has(task.status), `seed ${seed} invalid plan ${i} was accepted and left ${task.id} ${task.status}: ${taskLine(view.tasks)}`);
      }
    }
  } finally {
    await h.engine.dispose();
  }

  // 4. The store reopens intact with every run in it.
  const db = await openDb({ dir: h.stateDir });
  try {
    assert.equal(db.get<{ integrity_check: string }>('PRAGMA integrity_check')?.integrity_check, 'ok', `seed ${seed}`);
    const stored = new Set(db.all<{ id: string }>('SELECT id FROM runs').map((r) => r.id));
    for (const id of runIds) assert.ok(stored.has(id), `seed ${seed}: run ${id} is missing after reopening`);
  } finally {
    db.close();
    await h.cleanup();
  }
});
