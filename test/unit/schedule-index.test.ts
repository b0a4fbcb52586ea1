import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isEngineError } from '../../src/engine/errors';
import { applyPatches, treeFromFilesWithDiff } from '../../src/engine/git/batch';
import { changesCarried } from '../../src/engine/git/treeWriter';
import { silentLogger } from '../../src/engine/ports';
import { createRun, setTaskStatus } from '../../src/engine/runs/runs';
import { openDb } from '../../src/engine/store/db';
import { buildTaskBase, rememberResultTree } from '../../src/engine/schedule/baseTree';
import { RunIndex } from '../../src/engine/schedule/runIndex';
import { runPlan } from '../../src/engine/schedule/scheduler';
import { sh } from '../support/queue-repo';
import { config, fastBackoff, makeRunFixture, plan, task, testClock, type RunFixture } from '../support/run-fixture';
import { ScriptedClient, finish } from '../support/run-model';

let fx: RunFixture | undefined;
afterEach(() => {
  fx?.cleanup();
  fx = undefined;
});

const newFile = (p: string, line: string) => `diff --git a/${p} b/${p}\nnew file mode 100644\n--- /dev/null\n+++ b/${p}\n@@ -0,0 +1 @@\n+${line}\n`;

function addChange(f: RunFixture, runId: string, taskId: string, patch: string, baseCommit: string): string {
  const id = `ch_${taskId}_${Math.random().toString(36).slice(2, 8)}`;
  f.db.run(
    `INSERT INTO change_requests (id, run_id, task_id, base_commit, patch, files_json, summary, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, '[]', ?, 'proposed', ?, ?)`,
    [id, runId, taskId, baseCommit, patch, `did ${taskId}`, testClock.now(), testClock.now()],
  );
  return id;
}

describe('scheduler bookkeeping', () => {
  it('sees a task another process cancelled while it waited, never starts it, and skips its dependents', async () => {
    fx = await makeRunFixture();
    const f = fx;
    const runId = createRun(f.db, { goal: 'g', repo: f.repo.dir, baseCommit: f.repo.head(), plan: plan([task('a'), task('b'), task('c', { dependsOn: ['b'] }), task('d')]), approve: 'none', clock: testClock });
    const other = await openDb({ dir: f.stateDir });
    try {
      const client = new ScriptedClient({
        delayMs: 30,
        dev: (id) => {
          // While `a` runs (concurrency 1), another process cancels the waiting `b`.
          if (id === 'a') setTaskStatus(other, { runId, taskId: 'b', from: ['ready'], to: 'cancelled', at: testClock.now(), actor: 'user', reason: 'cancelled elsewhere' });
          return finish(`did ${id}`, { [`${id}.txt`]: `${id}\n` });
        },
      });
      const view = await runPlan({ db: f.db, repo: f.repo.dir, client, config: config({ concurrency: 1 }), log: silentLogger, clock: testClock, backoff: fastBackoff }, runId);
      assert.deepEqual(view.tasks.map((t) => [t.id, t.status]), [['a', 'proposed'], ['b', 'cancelled'], ['c', 'skipped'], ['d', 'proposed']]);
      assert.equal(client.count((r) => r !== 'reviewer'), 2, 'only a and d reached the model');
      assert.match(view.tasks[2]!.error ?? '', /dependency b cancelled/);
      assert.equal(view.status, 'awaiting-review', 'every change waits for review');
    } finally {
      other.close();
    }
  });

  it('runs a deep chain with each task built on every task before it', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `t${i}`);
    fx = await makeRunFixture();
    const f = fx;
    const tasks = ids.map((id, i) => task(id, { dependsOn: i === 0 ? [] : [ids[i - 1]!, ...(i > 2 ? [ids[i - 3]!] : [])] }));
    const runId = createRun(f.db, { goal: 'g', repo: f.repo.dir, baseCommit: f.repo.head(), plan: plan(tasks), approve: 'none', clock: testClock });
    const client = new ScriptedClient({
      dev: (id) => finish(`did ${id}`, { [`out/${id}.txt`]: `${id}\n` }),
    });
    const view = await runPlan({ db: f.db, repo: f.repo.dir, client, config: config({ concurrency: 4 }), log: silentLogger, clock: testClock, backoff: fastBackoff }, runId);
    assert.equal(view.status, 'awaiting-review', 'every change waits for review');
    const last = f.db.get<{ base_commit: string }>('SELECT base_commit FROM change_requests WHERE run_id = ? AND task_id = ?', [runId, 't7'])!;
    const listing = sh(f.repo.dir, ['ls-tree', '--name-only', `${last.base_commit}:out`]).trim().split('\n');
    assert.deepEqual(listing, ids.slice(0, 7).map((id) => `${id}.txt`));
  });

  it('builds the same base from a remembered dependency tree as from every patch, and ignores a stale memory', async () => {
    fx = await makeRunFixture();
    const f = fx;
    const head = f.repo.head();
    const tasks = [task('a'), task('b', { dependsOn: ['a'] }), task('c', { dependsOn: ['a'] }), task('d', { dependsOn: ['b', 'c'] })];
    const runId = createRun(f.db, { goal: 'g', repo: f.repo.dir, baseCommit: head, plan: plan(tasks), approve: 'none', clock: testClock });
    const run = { id: runId, base_commit: head, created_at: 1_700_000_000_000 };
    addChange(f, runId, 'a', newFile('a.txt', 'a'), head);
    const b = addChange(f, runId, 'b', newFile('b.txt', 'b'), head);
    const c = addChange(f, runId, 'c', newFile('c.txt', 'c'), head);
    const index = RunIndex.load(f.db, runId);
    const signal = new AbortController().signal;
    const fromPatches = await buildTaskBase(f.db, f.repo.dir, run, index.row('d')!, index, signal);
    assert.deepEqual(sh(f.repo.dir, ['ls-tree', '--name-only', fromPatches.baseTree]).trim().split('\n').filter((n) => n.endsWith('.txt')), ['a.txt', 'b.txt', 'c.txt']);
    assert.deepEqual(fromPatches.deps.map((d) => [d.taskId, d.summary]), [['b', 'did b'], ['c', 'did c']]);

    const baseTree = sh(f.repo.dir, ['rev-parse', `${head}^{tree}`]).trim();
    // A memory for another patch than the stored one must not be used (here it would lose a.txt and b.txt);
    // the valid memory of c is used instead, and b's patch applied on it.
    rememberResultTree(f.repo.dir, b, head, newFile('b.txt', 'OTHER'), baseTree);
    rememberResultTree(f.repo.dir, c, head, newFile('c.txt', 'c'), await applyPatches(f.repo.dir, baseTree, [newFile('a.txt', 'a'), newFile('c.txt', 'c')]));
    const fromMemory = await buildTaskBase(f.db, f.repo.dir, run, index.row('d')!, index, signal);
    assert.equal(fromMemory.baseTree, fromPatches.baseTree);
    assert.equal(await fromMemory.baseCommit, await fromPatches.baseCommit);
    assert.equal(sh(f.repo.dir, ['rev-parse', `${await fromMemory.baseCommit}^{tree}`]).trim(), fromPatches.baseTree);
  });

  it('lays remembered changes of other dependencies over the start from the engine, as git apply would, and leaves shared files to git', async () => {
    fx = await makeRunFixture();
    const f = fx;
    const lines = Array.from({ length: 12 }, (_, i) => `line ${i}`).join('\n') + '\n';
    f.repo.write('shared.txt', lines);
    f.repo.write('lib/keep.txt', 'keep\n');
    f.repo.write('lib/gone.txt', 'gone\n');
    const head = f.repo.commitAll('more files');
    const baseTree = sh(f.repo.dir, ['rev-parse', `${head}^{tree}`]).trim();
    const tasks = [task('a'), task('b'), task('c', { dependsOn: ['a', 'b'] })];
    const runId = createRun(f.db, { goal: 'g', repo: f.repo.dir, baseCommit: head, plan: plan(tasks), approve: 'none', clock: testClock });
    const run = { id: runId, base_commit: head, created_at: 1_700_000_000_000 };
    const signal = new AbortController().signal;
    const remembered = async (taskId: string, files: Array<{ path: string; content: string | null }>) => {
      const out = await treeFromFilesWithDiff(f.repo.dir, baseTree, files);
      const id = addChange(f, runId, taskId, out.patch, head);
      rememberResultTree(f.repo.dir, id, head, out.patch, out.tree, baseTree);
      return out.patch;
    };
    // Different files (a new folder, a deleted last-but-one file, an edit): carried from here.
    const pa = await remembered('a', [{ path: 'src/a.ts', content: 'a\n' }, { path: 'lib/gone.txt', content: null }]);
    const pb = await remembered('b', [{ path: 'shared.txt', content: lines.replace('line 1\n', 'line one\n') }, { path: 'src/b.ts', content: 'b\n' }]);
    const index = RunIndex.load(f.db, runId);
    const before = changesCarried();
    const built = await buildTaskBase(f.db, f.repo.dir, run, index.row('c')!, index, signal);
    assert.equal(changesCarried(), before + 1, "b's change was laid over a's tree");
    assert.equal(built.baseTree, await applyPatches(f.repo.dir, baseTree, [pa, pb]), 'the tree git apply gives');

    // Both edit shared.txt (in different places): git applies the second patch.
    f.db.run('DELETE FROM change_requests WHERE run_id = ?', [runId]);
    const qa = await remembered('a', [{ path: 'shared.txt', content: lines.replace('line 10\n', 'line ten\n') }]);
    const qb = await remembered('b', [{ path: 'shared.txt', content: lines.replace('line 1\n', 'line one\n') }]);
    const again = await buildTaskBase(f.db, f.repo.dir, run, index.row('c')!, index, signal);
    assert.equal(changesCarried(), before + 1, 'a file both changed is left to git');
    assert.equal(again.baseTree, await applyPatches(f.repo.dir, baseTree, [qa, qb]));
    assert.match(sh(f.repo.dir, ['cat-file', 'blob', `${again.baseTree}:shared.txt`]), /line one\n[^]*line ten\n/);
  });

  it('names the dependency whose patch does not apply on the others', async () => {
    fx = await makeRunFixture();
    const f = fx;
    const head = f.repo.head();
    const runId = createRun(f.db, { goal: 'g', repo: f.repo.dir, baseCommit: head, plan: plan([task('a'), task('b'), task('c', { dependsOn: ['a', 'b'] })]), approve: 'none', clock: testClock });
    addChange(f, runId, 'a', newFile('same.txt', 'a'), head);
    addChange(f, runId, 'b', newFile('same.txt', 'b'), head);
    const index = RunIndex.load(f.db, runId);
    await assert.rejects(buildTaskBase(f.db, f.repo.dir, { id: runId, base_commit: head, created_at: 1 }, index.row('c')!, index, new AbortController().signal), (e) => {
      assert.ok(isEngineError(e, 'schedule/dependencies-conflict'));
      assert.match(e.message, /dependency b\b/);
      return true;
    });
  });
});
