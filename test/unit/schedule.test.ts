import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/engine/ports';
import { createRun } from '../../src/engine/runs/runs';
import { getChangeView, getRunView, listChangeViews } from '../../src/engine/runs/views';
import { runPlan, type RunPlanDeps } from '../../src/engine/schedule/scheduler';
import { applyPatchToTree } from '../../src/engine/git/plumbing';
import { sh } from '../support/queue-repo';
import { config, fastBackoff, makeRunFixture, plan, task, testClock, type RunFixture } from '../support/run-fixture';
import { ScriptedClient, finish, permanentError, transientError } from '../support/run-model';
import type { RunTaskInput } from '../../src/engine/runs/types';
import type { EngineConfig } from '../../src/engine/config';

let fx: RunFixture | undefined;
afterEach(() => {
  fx?.cleanup();
  fx = undefined;
});

async function setup(tasks: RunTaskInput[], client: ScriptedClient, cfg: Partial<EngineConfig> = {}, extra: Partial<RunPlanDeps> = {}) {
  fx = await makeRunFixture();
  const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan(tasks), approve: 'none', clock: testClock });
  const deps: RunPlanDeps = { db: fx.db, repo: fx.repo.dir, client, config: config(cfg), log: silentLogger, clock: testClock, backoff: fastBackoff, ...extra };
  return { runId, deps, fx };
}

/** Each task writes its own file `<id>.txt` in one call. */
const writesOwnFile = (taskId: string) => finish(`wrote ${taskId}`, { [`${taskId}.txt`]: `${taskId}\n` });

describe('scheduler', () => {
  it('runs independent tasks at the same time, never more than the concurrency limit', async () => {
    const client = new ScriptedClient({ dev: (id) => writesOwnFile(id), delayMs: 150 });
    const { runId, deps } = await setup(['a', 'b', 'c', 'd', 'e'].map((id) => task(id)), client, { concurrency: 2 });
    const view = await runPlan(deps, runId);
    assert.equal(view.status, 'awaiting-review', 'every change waits for review');
    assert.deepEqual(view.tasks.map((t) => t.status), ['proposed', 'proposed', 'proposed', 'proposed', 'proposed']);
    assert.equal(client.maxConcurrent(), 2, 'two developer calls overlapped, and never three');
    const a = client.span('a');
    const b = client.span('b');
    assert.ok(a.start < b.end && b.start < a.end, 'a and b overlapped in time');
    assert.equal(listChangeViews(fx!.db, { runId }).length, 5);
  });

  it('starts a dependent only after its dependency finished, from the dependency patch', async () => {
    const client = new ScriptedClient({
      delayMs: 80,
      dev: (id, _turn, req) => {
        if (id === 'base') return finish('added lib', { 'src/lib.ts': 'export const lib = 1;\n' });
        // The dependent sees the dependency's file at its base and extends it.
        const prompt = req.messages[1]!.content;
        assert.match(prompt, /added lib/, 'the dependency summary is in the dependent context');
        assert.match(prompt, /export const lib = 1;/, 'the dependency file is at the dependent base');
        return finish('extended lib', { 'src/lib.ts': 'export const lib = 1;\nexport const more = 2;\n' });
      },
    });
    const { runId, deps, fx } = await setup([task('base', { files: ['src/lib.ts'] }), task('dep', { dependsOn: ['base'], files: ['src/lib.ts'] })], client);
    const view = await runPlan(deps, runId);
    assert.equal(view.status, 'awaiting-review', 'every change waits for review');
    assert.ok(client.span('dep').start >= client.span('base').end, 'dependent started after the dependency finished');
    const [c1, c2] = ['base', 'dep'].map((id) => getChangeView(fx.db, view.tasks.find((t) => t.id === id)!.changeId!)!);
    // The dependent's base commit is the dependency-applied tree whose parent is the run base.
    assert.equal(c1.baseCommit, fx.repo.head());
    assert.equal(sh(fx.repo.dir, ['rev-parse', `${c2.baseCommit}^`]).trim(), fx.repo.head());
    // Both patches apply in order with real git, and the result has both changes.
    const t1 = await applyPatchToTree(fx.repo.dir, `${fx.repo.head()}^{tree}`, c1.patch);
    assert.equal(sh(fx.repo.dir, ['rev-parse', `${c2.baseCommit}^{tree}`]).trim(), t1);
    const t2 = await applyPatchToTree(fx.repo.dir, t1, c2.patch);
    assert.equal(sh(fx.repo.dir, ['cat-file', 'blob', `${t2}:src/lib.ts`]), 'export const lib = 1;\nexport const more = 2;\n');
    sh(fx.repo.dir, ['apply', '--index'], c1.patch);
    sh(fx.repo.dir, ['apply', '--index'], c2.patch);
    assert.equal(fx.repo.read('src/lib.ts'), 'export const lib = 1;\nexport const more = 2;\n');
  });

  it('never runs two unordered tasks with overlapping files at the same time', async () => {
    const client = new ScriptedClient({ dev: (id) => writesOwnFile(id), delayMs: 120 });
    const { runId, deps } = await setup(
      [task('x', { files: ['src/a.ts'] }), task('y', { files: ['src/a.ts', 'src/b.ts'] }), task('z', { files: ['src'] }), task('w', { files: ['docs/w.md'] })],
      client,
      { concurrency: 4 },
    );
    const view = await runPlan(deps, runId);
    assert.equal(view.status, 'awaiting-review', 'every change waits for review');
    const spans = ['x', 'y', 'z'].map((id) => client.span(id));
    for (let i = 0; i < spans.length; i++) for (let j = i + 1; j < spans.length; j++) {
      assert.ok(spans[i]!.end <= spans[j]!.start || spans[j]!.end <= spans[i]!.start, `tasks ${i} and ${j} did not overlap`);
    }
    const w = client.span('w');
    assert.ok(w.start < spans[0]!.end, 'a task with disjoint files ran alongside');
  });

  it('skips the dependents of a failed task with the reason; a permanent error fails at once', async () => {
    const client = new ScriptedClient({ dev: (id) => (id === 'a' ? permanentError() : writesOwnFile(id)) });
    const { runId, deps, fx } = await setup([task('a'), task('b', { dependsOn: ['a'] }), task('c', { dependsOn: ['b'] }), task('d')], client);
    const view = await runPlan(deps, runId);
    assert.equal(view.status, 'awaiting-review', 'd waits for review');
    assert.match(view.error ?? '', /a \(/, 'the run still names the failed task');
    const st = Object.fromEntries(view.tasks.map((t) => [t.id, t]));
    assert.equal(st.a!.status, 'failed');
    assert.equal(st.a!.attempts, 1);
    assert.equal(st.b!.status, 'skipped');
    assert.match(st.b!.error!, /dependency a failed/);
    assert.equal(st.c!.status, 'skipped');
    assert.match(st.c!.error!, /dependency b skipped/);
    assert.equal(st.d!.status, 'proposed');
    const rows = fx.db.all<{ error_category: string }>(`SELECT error_category FROM attempts WHERE run_id = ? AND task_id = 'a'`, [runId]);
    assert.deepEqual(rows.map((r) => r.error_category), ['permanent']);
    assert.equal(client.count((r) => r !== 'reviewer') , 2, 'a once, d once; b and c never called the model');
  });

  it('retries a transient failure with backoff and then succeeds, storing each category', async () => {
    const client = new ScriptedClient({ dev: (id, turn) => (turn < 2 ? transientError() : writesOwnFile(id)) });
    const { runId, deps, fx } = await setup([task('a')], client);
    const view = await runPlan(deps, runId);
    assert.equal(view.status, 'awaiting-review', 'every change waits for review');
    assert.equal(view.tasks[0]!.attempts, 3);
    const rows = fx.db.all<{ status: string; error_category: string | null }>(`SELECT status, error_category FROM attempts WHERE run_id = ? ORDER BY n`, [runId]);
    assert.deepEqual(rows.map((r) => [r.status, r.error_category]), [['error', 'transient'], ['error', 'transient'], ['ok', null]]);
  });

  it('fails a task that passes its timeout', async () => {
    const client = new ScriptedClient({ dev: (id) => ({ text: writesOwnFile(id), delayMs: 5_000 }) });
    const { runId, deps, fx } = await setup([task('slow'), task('after', { dependsOn: ['slow'] })], client, { taskTimeoutMs: 200 });
    const t0 = Date.now();
    const view = await runPlan(deps, runId);
    assert.ok(Date.now() - t0 < 3_000, 'the timeout stopped the model call');
    assert.equal(view.tasks[0]!.status, 'failed');
    assert.match(view.tasks[0]!.error!, /timed out/);
    assert.equal(view.tasks[1]!.status, 'skipped');
    const rows = fx.db.all<{ error_category: string }>(`SELECT error_category FROM attempts WHERE run_id = ?`, [runId]);
    assert.deepEqual(rows.map((r) => r.error_category), ['transient']);
  });

  it('stops model calls within a second when the run is cancelled', async () => {
    const client = new ScriptedClient({ dev: (id) => ({ text: writesOwnFile(id), delayMs: 30_000 }) });
    const ctrl = new AbortController();
    const { runId, deps } = await setup([task('a'), task('b'), task('c', { dependsOn: ['a'] })], client, {}, { signal: ctrl.signal });
    const p = runPlan(deps, runId);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    ctrl.abort();
    const view = await p;
    const stopped = Math.max(...client.calls.map((c) => c.end!)) - t0;
    assert.ok(stopped < 1_000, `the model calls stopped ${stopped} ms after the cancel`);
    assert.ok(performance.now() - t0 < 3_000, 'runPlan settled soon after');
    assert.equal(view.status, 'cancelled');
    assert.deepEqual(view.tasks.map((t) => t.status), ['cancelled', 'cancelled', 'cancelled']);
    assert.ok(client.calls.every((c) => c.outcome === 'cancelled'));
  });

  it('pauses the run when its cost reaches the budget and starts no new task', async () => {
    const client = new ScriptedClient({ dev: (id) => writesOwnFile(id), costUsd: 0.6 });
    const { runId, deps } = await setup([task('a'), task('b', { dependsOn: ['a'] }), task('c', { dependsOn: ['b'] })], client, { budgetUsd: 1 });
    const view = await runPlan(deps, runId);
    assert.equal(view.status, 'paused');
    assert.equal(view.tasks[0]!.status, 'proposed');
    assert.equal(view.tasks[1]!.status, 'ready');
    assert.equal(view.tasks[2]!.status, 'pending');
    assert.ok(view.costUsd >= 1);
    // Raising the budget and running again finishes the run.
    const done = await runPlan({ ...deps, config: { ...deps.config, budgetUsd: 100 } }, runId);
    assert.equal(done.status, 'awaiting-review');
  });

  it('uses a ready-made patch without calling a model', async () => {
    const client = new ScriptedClient({ dev: () => assert.fail('no model call') });
    const patch = 'diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-hello\n+hello world\n';
    const { runId, deps, fx } = await setup([task('p', { patch })], client);
    const view = await runPlan(deps, runId);
    assert.equal(view.status, 'awaiting-review', 'every change waits for review');
    assert.equal(client.count(), 0);
    const ch = getChangeView(fx.db, view.tasks[0]!.changeId!)!;
    assert.equal(ch.status, 'proposed');
    assert.deepEqual(ch.files, ['README.md']);
    assert.match(ch.patch, /\+hello world/);
  });

  it('rejects a change the policy blocks, with the rule, and skips its dependents', async () => {
    const client = new ScriptedClient({ dev: () => finish('big change', { 'big.txt': 'x'.repeat(400) + '\n' }) });
    const { runId, deps, fx } = await setup([task('a'), task('b', { dependsOn: ['a'] })], client, { maxPatchBytes: 200 });
    const view = await runPlan(deps, runId);
    assert.equal(view.tasks[0]!.status, 'rejected');
    assert.match(view.tasks[0]!.error!, /size-limit/);
    assert.equal(view.tasks[1]!.status, 'skipped');
    assert.match(view.tasks[1]!.error!, /dependency a rejected/);
    const ch = getChangeView(fx.db, view.tasks[0]!.changeId!)!;
    assert.equal(ch.status, 'rejected');
    assert.match(ch.error!, /^size-limit: /);
    assert.deepEqual(ch.policy.map((v) => v.rule), ['size-limit']);
    assert.equal(client.count((r) => r === 'reviewer'), 0, 'a blocked change is not reviewed');
  });

  it('proposes a change to a protected path but marks it as needing explicit approval', async () => {
    const client = new ScriptedClient({ dev: () => finish('touched ci', { '.github/workflows/ci.yml': 'on: push\n' }) });
    const proposed: string[] = [];
    const { runId, deps, fx } = await setup([task('a')], client, {}, { onChangeProposed: (id) => void proposed.push(id) });
    const view = await runPlan(deps, runId);
    assert.equal(view.tasks[0]!.status, 'proposed');
    const ch = getChangeView(fx.db, view.tasks[0]!.changeId!)!;
    assert.equal(ch.needsExplicitApproval, true);
    assert.deepEqual(ch.policy.map((v) => [v.rule, v.path]), [['protected-path', '.github/workflows/ci.yml']]);
    assert.deepEqual(proposed, [ch.id], 'onChangeProposed was called with the stored change');
  });

  it('records the review verdict, and a reviewer failure never fails the task', async () => {
    const client = new ScriptedClient({
      dev: (id) => writesOwnFile(id),
      review: (id) => (id === 'a' ? JSON.stringify({ verdict: 'request_changes', comments: 'missing tests' }) : permanentError()),
    });
    const { runId, deps, fx } = await setup([task('a'), task('b')], client);
    const view = await runPlan(deps, runId);
    assert.equal(view.status, 'awaiting-review', 'every change waits for review');
    const a = getChangeView(fx.db, view.tasks[0]!.changeId!)!;
    const b = getChangeView(fx.db, view.tasks[1]!.changeId!)!;
    assert.equal(a.reviewVerdict, 'request_changes');
    assert.equal(a.reviewComments, 'missing tests');
    assert.equal(b.reviewVerdict, undefined);
    assert.match(b.reviewComments!, /review unavailable: the request was refused/);
    assert.equal(getRunView(fx.db, runId)!.tasks[1]!.status, 'proposed');
  });
});
