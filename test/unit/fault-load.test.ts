import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RunnablePlan } from '../../src/engine/api';
import { faultConfig, openHarness, taskLine, within } from '../support/fault-engine';
import { getGc, heapMb, instantModel, prng, randomDagPlan } from '../support/fault-load';
import { filePatch, sh } from '../support/queue-repo';

/**
 * Load: a 50-task random DAG through the agents, then a large batch of ready-made patches
 * through the merge queue, on one engine with a real repo and a real on-disk store.
 * The query timings are a responsiveness guard for the UI (each view query answers well under
 * the bound at this size), not a benchmark; speed claims live in bench/.
 *
 * FAULT_LOAD_N sets the batch size (default 150). FAULT_VERBOSE=1 prints the measurements.
 */
// 500 takes ~75 s on the 2-core box (≈96 ms to propose and approve each ready-made patch, ≈32 ms to land it),
// over the test budget (250 took 40 s alone and 95 s inside `npm test`); 150 keeps the same shape
// in about a minute under `npm test`. `FAULT_LOAD_N=500` runs the full size.
const N = Number(process.env.FAULT_LOAD_N ?? 150);
const QUERY_BOUND_MS = 1500;
/** Generous per-entry allowance so a slow shared box does not fail the bound, only a hang does. */
const BATCH_LIMIT_MS = 60_000 + N * 600;
// Fixed by default so every CI run tests the same input; FAULT_SEED explores others.
const seed = Number(process.env.FAULT_SEED ?? 424242);
const say = (s: string) => process.env.FAULT_VERBOSE && process.stderr.write(`  ${s}\n`);

function trailerCount(repo: string): Map<string, number> {
  const counts = new Map<string, number>();
  const out = sh(repo, ['log', '--format=%(trailers:key=Hyperion-Change,valueonly)', 'main']);
  for (const line of out.split('\n')) {
    const id = line.trim();
    if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

function patchPlan(n: number): RunnablePlan {
  const tasks = Array.from({ length: n }, (_, i) => {
    const rel = `load/f${String(i).padStart(4, '0')}.txt`;
    return { id: `p${i}`, title: `add ${rel}`, type: 'code_gen' as const, prompt: `add ${rel}`, acceptanceCriteria: [], dependsOn: [], files: [rel], patch: filePatch(rel, null, `line ${i}\n`) };
  });
  return { goal: `${n} ready-made patches`, rationale: '', confidence: 1, questions: [], assumptions: [], tasks };
}

function timed<T>(f: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = f();
  return { ms: performance.now() - t0, value };
}

describe('load', () => {
  test(`runs a 50-task random DAG, then lands ${N} queue entries exactly once with bounded memory and responsive views`, { timeout: 90_000 + 2 * BATCH_LIMIT_MS }, async (t) => {
    const gc = getGc();
    const model = instantModel();
    const h = await openHarness(faultConfig(undefined, { concurrency: 8, queueWorkers: 3 }), { providerOverrides: { openai: model } });
    try {
      // 1. A wide random DAG through the developer and reviewer agents.
      const dag = randomDagPlan(50, prng(seed));
      const t0 = performance.now();
      const first = await h.engine.startRun(dag, { approve: 'all' });
      const view = await within(60_000, first.done, 'the 50-task run');
      const dagMs = performance.now() - t0;
      assert.equal(view.status, 'landing', 'every change is approved and waits in the queue; '+ `seed ${seed}: ${taskLine(view.tasks)}`);
      const byId = new Map(view.tasks.map((x) => [x.id, x]));
      for (const task of view.tasks) {
        for (const d of task.dependsOn) {
          assert.ok(task.startedAt! >= byId.get(d)!.finishedAt!, `seed ${seed}: ${task.id} started before its dependency ${d} finished`);
        }
      }
      assert.equal(model.calls, 100, 'one developer and one reviewer call per task');
      await within(60_000, h.engine.runQueue(), 'landing the DAG');
      const dagMerged = h.engine.listQueue().filter((e) => e.state === 'merged').length;
      assert.equal(dagMerged, 50, `seed ${seed}: ${h.engine.listQueue().filter((e) => e.state !== 'merged').map((e) => `${e.taskId}=${e.state} ${e.lastError ?? ''}`).join('; ')}`);
      say(`50-task DAG (seed ${seed}): agents ${dagMs.toFixed(0)} ms, total with landing ${(performance.now() - t0).toFixed(0)} ms`);

      gc();
      const before = heapMb();

      // 2. N ready-made, non-conflicting patches, approved automatically, then landed.
      const t1 = performance.now();
      const batch = await h.engine.startRun(patchPlan(N), { approve: 'all' });
      const batchView = await within(BATCH_LIMIT_MS, batch.done, `the ${N}-task run`);
      const proposeMs = performance.now() - t1;
      const bad = batchView.tasks.filter((x) => x.status !== 'approved');
      assert.equal(bad.length, 0, taskLine(bad.slice(0, 5)));
      const t2 = performance.now();
      await within(BATCH_LIMIT_MS, h.engine.runQueue(), `landing ${N} entries`);
      const landMs = performance.now() - t2;

      const entries = h.engine.listQueue();
      const merged = entries.filter((e) => e.state === 'merged');
      assert.equal(merged.length, N + 50, entries.filter((e) => e.state !== 'merged').slice(0, 5).map((e) => `${e.taskId}=${e.state} ${e.lastError ?? ''}`).join('; '));
      const trailers = trailerCount(h.repo.dir);
      const changeIds = new Set(entries.map((e) => e.changeId));
      assert.equal(changeIds.size, N + 50, 'one entry per change');
      for (const id of changeIds) assert.equal(trailers.get(id), 1, `change ${id} landed ${trailers.get(id) ?? 0} times`);
      assert.equal(trailers.size, N + 50, 'no commit for an unknown change');

      // 3. The view queries the UI calls on every change notification.
      const queries: Array<[string, () => unknown]> = [
        ['listRuns', () => h.engine.listRuns()],
        ['getRun', () => h.engine.getRun(batch.runId)],
        ['listChanges', () => h.engine.listChanges()],
        ['listQueue', () => h.engine.listQueue()],
        ['queueSummary', () => h.engine.queueSummary()],
        ['history', () => h.engine.history()],
      ];
      const timings: string[] = [];
      for (const [name, q] of queries) {
        q(); // warm the statement cache, as a UI refresh loop would
        const { ms } = timed(q);
        timings.push(`${name} ${ms.toFixed(1)} ms`);
        assert.ok(ms < QUERY_BOUND_MS, `${name} took ${ms.toFixed(0)} ms at ${N + 50} entries`);
      }
      assert.equal(h.engine.getRun(batch.runId)!.tasks.filter((x) => x.status === 'merged').length, N);
      assert.equal(h.engine.queueSummary().merged, N + 50);

      gc();
      const after = heapMb();
      const growth = after.heap - before.heap;
      say(`${N} patches: proposed+approved ${proposeMs.toFixed(0)} ms (${(proposeMs / N).toFixed(1)} ms each), landed ${landMs.toFixed(0)} ms (${(landMs / N).toFixed(1)} ms each)`);
      say(`views at ${N + 50} entries: ${timings.join(', ')}`);
      say(`memory after gc: heapUsed ${before.heap.toFixed(1)} -> ${after.heap.toFixed(1)} MB (+${growth.toFixed(1)}), rss ${before.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MB, external ${before.external.toFixed(1)} -> ${after.external.toFixed(1)} MB`);
      t.diagnostic(`seed ${seed}; heap +${growth.toFixed(1)} MB; land ${(landMs / N).toFixed(1)} ms/entry; ${timings.join(', ')}`);
      // Generous: what is retained is the store's statement cache and the events of N tasks, not N patches' worth of git output.
      assert.ok(growth < 64, `heapUsed grew by ${growth.toFixed(1)} MB over ${N} landings`);
      assert.ok(after.rss - before.rss < 400, `rss grew by ${(after.rss - before.rss).toFixed(0)} MB`);
    } finally {
      await h.cleanup();
    }
  });
});
