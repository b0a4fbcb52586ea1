import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeView, QueueEntryView, RunView, TaskStatus, TaskView } from '../../src/engine/api';
import { approvalSections, changeItem, fileItem, queueItem, sectionChildren } from '../../src/extension/viewmodel/approvals';
import { layoutGraph } from '../../src/extension/viewmodel/graph';
import { targetOf } from '../../src/extension/viewmodel/nodes';
import { formatCost, isModelNamePriced, isPriced } from '../../src/extension/viewmodel/format';
import { orderedTasks, runItem, runProgress, taskIcon, taskItem } from '../../src/extension/viewmodel/runs';
import { GraphModel } from '../../src/protocol/messages';

function task(id: string, dependsOn: string[] = [], status: TaskStatus = 'pending', extra: Partial<TaskView> = {}): TaskView {
  return { id, title: `Task ${id}`, type: 'code_gen', prompt: 'p', acceptanceCriteria: [], dependsOn, files: [], runId: 'r1', status, attempts: 0, costUsd: 0, ...extra };
}

function run(tasks: TaskView[], extra: Partial<RunView> = {}): RunView {
  return { id: 'r1', goal: 'Add a greeting', status: 'running', costUsd: 0.1234, createdAt: 1, tasks, ...extra };
}

function change(extra: Partial<ChangeView> = {}): ChangeView {
  return {
    id: 'c1', runId: 'r1', taskId: 't1', taskTitle: 'Write greet()', baseCommit: 'abc', patch: '', files: ['src/a.ts', 'src/b.ts'],
    excludedFiles: [], summary: 'adds greet', costUsd: 0.02, needsExplicitApproval: false, explicitApprovalReasons: [], version: 1, policy: [], status: 'proposed', ...extra,
  };
}

function entry(id: string, state: QueueEntryView['state'], updatedAt: number, extra: Partial<QueueEntryView> = {}): QueueEntryView {
  return { id, changeId: `c-${id}`, runId: 'r1', taskId: `t-${id}`, kind: 'land', state, attempts: 1, conflictPaths: [], updatedAt, ...extra };
}

describe('runs view model', () => {
  it('lists tasks after the tasks they depend on, whatever the stored order', () => {
    const r = run([task('c', ['b']), task('b', ['a']), task('a')]);
    assert.deepEqual(orderedTasks(r).map((t) => t.id), ['a', 'b', 'c']);
  });

  it('keeps the stored order when the graph has a cycle instead of throwing', () => {
    const r = run([task('a', ['b']), task('b', ['a'])]);
    assert.deepEqual(orderedTasks(r).map((t) => t.id), ['a', 'b']);
  });

  it('shows progress, cost and status of a run, and offers cancel only while it is active', () => {
    const r = run([task('a', [], 'merged'), task('b', ['a'], 'running'), task('c', ['b'], 'proposed')]);
    assert.deepEqual(runProgress(r), { done: 2, total: 3 });
    const item = runItem(r);
    assert.equal(item.description, 'running · 2/3 · $0.12');
    assert.match(item.contextValue, /\bcancellable\b/);
    assert.doesNotMatch(runItem({ ...r, status: 'done' }).contextValue, /\bcancellable\b/);
    assert.equal(runItem({ ...r, status: 'done' }).collapsible, 'collapsed');
    assert.equal(runItem({ ...r, status: 'done' }, true).collapsible, 'expanded', 'the newest run shows its tasks');
  });

  it('marks a proposed task as reviewable and makes clicking it open the diff', () => {
    const item = taskItem(task('t2', ['t1'], 'proposed', { changeId: 'c9', costUsd: 0.5 }));
    assert.match(item.contextValue, /\breviewable\b/);
    assert.match(item.contextValue, /\bchange\b/);
    assert.equal(item.description, 't2 · proposed · $0.50 · after t1');
    assert.equal(item.command?.command, 'hyperion.openDiff');
    assert.deepEqual(item.command?.args, [{ runId: 'r1', taskId: 't2', changeId: 'c9' }]);
  });

  it('offers retry for failed tasks only', () => {
    assert.match(taskItem(task('a', [], 'failed', { error: 'boom' })).contextValue, /\bretryable\b/);
    assert.doesNotMatch(taskItem(task('a', [], 'running')).contextValue, /\bretryable\b/);
    assert.match(taskItem(task('a', [], 'failed', { error: 'boom' })).tooltip!, /Error: boom/);
  });

  it('gives every task status its own icon', () => {
    const statuses: TaskStatus[] = ['pending', 'ready', 'running', 'proposed', 'approved', 'rejected', 'merged', 'failed', 'skipped', 'cancelled'];
    assert.equal(new Set(statuses.map((s) => taskIcon(s).id)).size, statuses.length);
    assert.equal(taskIcon('running').id, 'sync~spin');
  });

  it('keeps a hostile title as plain characters in the label and flattens newlines', () => {
    const item = taskItem(task('x', [], 'pending', { title: '<img src=x onerror=alert(1)>\nsecond line' }));
    assert.equal(item.label, '<img src=x onerror=alert(1)> second line');
  });
});

describe('approvals view model', () => {
  it('splits changes and queue entries into review, queue and recent, newest first', () => {
    const s = approvalSections({
      changes: [change(), change({ id: 'c2', status: 'merged' })],
      queue: [entry('q1', 'merged', 1), entry('q2', 'queued', 2), entry('q3', 'failed', 3, { lastError: 'check failed' }), entry('q4', 'checking', 4)],
    });
    assert.deepEqual(s.review.map((c) => c.id), ['c1']);
    assert.deepEqual(s.queue.map((e) => e.id), ['q4', 'q2']);
    assert.deepEqual(s.recent.map((e) => e.id), ['q3', 'q1']);
    assert.deepEqual(sectionChildren('queue', s).map((n) => n.kind), ['queue', 'queue']);
  });

  it('shows the reviewer verdict, file count and policy notes of a change', () => {
    const item = changeItem(change({ reviewVerdict: 'request_changes', reviewComments: 'missing test', policy: [{ rule: 'protected', path: '.github/x.yml', message: 'CI config' }], needsExplicitApproval: true }));
    assert.equal(item.description, 'reviewer: changes requested · 2 files · $0.02');
    assert.match(item.tooltip!, /Reviewer: missing test/);
    assert.match(item.tooltip!, /Policy protected \(\.github\/x\.yml\): CI config/);
    assert.match(item.contextValue, /\bexplicit\b/);
    assert.equal(item.icon?.id, 'warning');
  });

  it('marks excluded files and makes each file open its own diff', () => {
    const c = change({ excludedFiles: ['src/b.ts'] });
    assert.equal(fileItem(c, 'src/b.ts').description, 'excluded');
    assert.deepEqual(fileItem(c, 'src/a.ts').command?.args, [{ changeId: 'c1', path: 'src/a.ts' }]);
  });

  it('shows why a queue entry failed and offers revert only for landed changes', () => {
    const failed = queueItem(entry('q', 'conflicted', 1, { lastError: 'merge conflict in src/a.ts', conflictPaths: ['src/a.ts'] }), 'Write greet()');
    assert.match(failed.description!, /merge conflict in src\/a\.ts/);
    assert.match(failed.tooltip!, /Conflicts: src\/a\.ts/);
    assert.doesNotMatch(failed.contextValue, /\brevertable\b/);
    assert.match(queueItem(entry('q', 'merged', 1, { landedCommit: '0123456789abcdef' }), 'x').contextValue, /\brevertable\b/);
  });
});

describe('graph layout', () => {
  it('puts each task one column right of its latest dependency and marks the critical path', () => {
    const g = layoutGraph(run([task('a'), task('b', ['a']), task('c', ['a']), task('d', ['b', 'c']), task('e')]));
    const at = new Map(g.nodes.map((n) => [n.id, n]));
    assert.equal(at.get('a')!.level, 0);
    assert.equal(at.get('b')!.level, 1);
    assert.equal(at.get('d')!.level, 2);
    assert.ok(at.get('d')!.x > at.get('b')!.x);
    assert.equal(g.criticalPath.length, 3);
    assert.equal(g.criticalPath[0], 'a');
    assert.equal(g.criticalPath[2], 'd');
    assert.ok(at.get('a')!.critical && at.get('d')!.critical && !at.get('e')!.critical);
    assert.equal(g.edges.filter((e) => e.critical).length, 2);
    assert.equal(g.edges.length, 4);
  });

  it('lays out 50 tasks without overlapping boxes, inside the canvas, valid for the protocol', () => {
    const tasks = Array.from({ length: 50 }, (_, i) => task(`t${i}`, i === 0 ? [] : [`t${Math.floor((i - 1) / 3)}`]));
    const g = layoutGraph(run(tasks));
    assert.ok(GraphModel.safeParse(g).success);
    for (const a of g.nodes) {
      assert.ok(a.x >= 0 && a.y >= 0 && a.x + a.width <= g.width && a.y + a.height <= g.height, `${a.id} inside`);
      for (const b of g.nodes) {
        if (a === b) continue;
        const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
        assert.ok(!overlap, `${a.id} overlaps ${b.id}`);
      }
    }
  });

  it('drops edges to unknown tasks and survives a cycle', () => {
    const g = layoutGraph(run([task('a', ['ghost'])]));
    assert.equal(g.edges.length, 0);
    const cyc = layoutGraph(run([task('a', ['b']), task('b', ['a'])]));
    assert.equal(cyc.nodes.length, 2);
    assert.deepEqual(cyc.criticalPath, []);
  });
});

describe('command targets', () => {
  it('reads ids from tree nodes, plain strings and hyperion URIs', () => {
    assert.deepEqual(targetOf({ kind: 'task', runId: 'r', taskId: 't', changeId: 'c' }), { runId: 'r', taskId: 't', changeId: 'c', path: undefined });
    assert.deepEqual(targetOf('c7'), { changeId: 'c7' });
    assert.deepEqual(targetOf({ scheme: 'hyperion', path: '/proposed/c3/src/a.ts' }), { changeId: 'c3', path: 'src/a.ts' });
    assert.deepEqual(targetOf({ scheme: 'hyperion', path: '/src/a.ts', query: 'change=c3&side=proposed' }), { changeId: 'c3', path: 'src/a.ts' });
    assert.deepEqual(targetOf(undefined), {});
    assert.deepEqual(targetOf({ runId: 42 }), { runId: undefined, taskId: undefined, changeId: undefined, path: undefined });
  });
});

describe('derived run status and unknown cost (A7, E)', () => {
  it('shows a run waiting for review or landing as such', () => {
    assert.match(runItem(run([task('a', [], 'proposed')], { status: 'awaiting-review' })).description!, /^waiting for review · /);
    assert.match(runItem(run([task('a', [], 'approved')], { status: 'landing' })).description!, /^landing · /);
  });

  it('tells unknown cost from zero with the config prices table', () => {
    const route = { provider: 'openai-compatible' as const, model: 'llama3.1' };
    assert.equal(formatCost(0, false), '—');
    assert.equal(formatCost(0.5, false), '$0.50+', 'part priced: a lower bound');
    assert.equal(formatCost(0), '$0.00');
    assert.ok(isPriced({ 'openai-compatible:llama3.1': {} }, route));
    assert.ok(isPriced({ 'llama3.1': {} }, route));
    assert.ok(!isPriced({}, route));
    assert.ok(isPriced({}, undefined), 'no model, nothing to price');
    assert.ok(isModelNamePriced({ 'openai:gpt-4.1': {} }, 'gpt-4.1'));
    assert.ok(!isModelNamePriced({}, 'gpt-4.1'));
    const r = run([task('a', [], 'proposed', { route, attempts: 1 })], { costUsd: 0 });
    assert.match(runItem(r, false, {}).description!, / · —$/);
    assert.match(runItem(r, false, { 'llama3.1': {} }).description!, / · \$0\.00$/);
    assert.match(taskItem(r.tasks[0], {}).description!, / · —/);
    assert.match(changeItem(change({ model: 'llama3.1', costUsd: 0 }), {}).description!, / · —$/);
  });
});

