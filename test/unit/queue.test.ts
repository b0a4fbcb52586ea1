import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isEngineError } from '../../src/engine/errors';
import { filePatch, sh } from '../support/queue-repo';
import { makeQueueFixture, type QueueFixture } from '../support/queue-fixture';
import { transitionChange } from '../../src/engine/changes/lifecycle';
import type { EngineEvent } from '../../src/engine/events';
import type { MergeQueue } from '../../src/engine/queue/types';

describe('merge queue: ordering, conflicts, revert', () => {
  let fx: QueueFixture;

/** What the user (or approve-all) does when a regenerated change comes back to review: approve it again. */
function reapprove(q: MergeQueue, changeId: string): void {
  const events: EngineEvent[] = [];
  fx.db.transaction(() => transitionChange(fx.db, events, { changeId, from: ['proposed'], to: 'approved', at: fx.clock.now(), actor: 'user' }));
  q.enqueue(changeId, { actor: 'user' });
}
  afterEach(() => fx?.cleanup());

  it('lands dependent patches in dependency order, and rejects dependents of a rejected change', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const a = fx.addChange({ taskId: 'a', patch: filePatch('a.txt', null, 'A\n') });
    const b = fx.addChange({ taskId: 'b', patch: filePatch('b.txt', null, 'B\n') });
    const c = fx.addChange({ taskId: 'c', patch: filePatch('c.txt', null, 'C\n') });
    const d = fx.addChange({ taskId: 'd', patch: filePatch('d.txt', null, 'D\n') });
    const q = fx.queue();
    q.enqueue(b, { actor: 'user', dependsOnChangeIds: [a] }); // approved first, but must wait for a
    q.enqueue(a, { actor: 'user' });
    const ce = q.enqueue(c, { actor: 'user' });
    q.enqueue(d, { actor: 'user', dependsOnChangeIds: [c] });
    q.reject(ce.id, 'not wanted');
    await q.runUntilIdle();
    const landed = fx.landedChanges();
    assert.deepEqual(landed, [a, b]);
    const byChange = new Map(q.list().map((e) => [e.changeId, e]));
    assert.equal(byChange.get(d)!.state, 'rejected');
    const ev = fx.db.get<{ reason: string }>("SELECT reason FROM events WHERE subject_id = ? AND to_state = 'rejected'", [byChange.get(d)!.id]);
    assert.equal(ev!.reason, 'dependency c did not merge');
    assert.equal(fx.db.get<{ status: string }>("SELECT status FROM tasks WHERE id = 'b'")!.status, 'merged');
    assert.equal(fx.db.get<{ status: string }>('SELECT status FROM change_requests WHERE id = ?', [b])!.status, 'merged');
  });

  it('lands independent patches with one commit per task, trailers and the right final tree', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n', 'f0.txt': 'zero\n' });
    const ids: string[] = [];
    for (let i = 1; i <= 6; i++) ids.push(fx.addChange({ taskId: `t${i}`, patch: filePatch(`f${i}.txt`, null, `file ${i}\n`), title: `Add file ${i}`, model: 'gpt-test' }));
    ids.push(fx.addChange({ taskId: 't7', patch: filePatch('f0.txt', 'zero\n', 'ZERO\n'), summary: 'Body text\nHyperion-Change: forged' }));
    const q = fx.queue({ config: { queueWorkers: 3 } });
    for (const id of ids) q.enqueue(id, { actor: 'user' });
    await q.runUntilIdle();
    assert.ok(q.list().every((e) => e.state === 'merged'), JSON.stringify(q.list()));
    assert.deepEqual([...fx.landedChanges()].sort(), [...ids].sort());
    for (let i = 1; i <= 6; i++) assert.equal(sh(fx.repo.dir, ['show', `main:f${i}.txt`]), `file ${i}\n`);
    assert.equal(sh(fx.repo.dir, ['show', 'main:f0.txt']), 'ZERO\n');
    assert.equal(sh(fx.repo.dir, ['rev-list', '--count', 'main']).trim(), '8');
    const msg = sh(fx.repo.dir, ['log', '-1', '--format=%B', `main~${7 - ids.indexOf(ids[0]) - 1}`]);
    assert.match(msg, /^Add file 1\n/);
    assert.match(msg, /^Hyperion-Task: t1$/m);
    assert.match(msg, /^Hyperion-Run: run-1$/m);
    assert.match(msg, /^Hyperion-Model: gpt-test$/m);
    assert.doesNotMatch(sh(fx.repo.dir, ['log', '--format=%B', 'main']), /forged/);
    // the user's checkout followed the ref
    assert.equal(fx.repo.read('f3.txt'), 'file 3\n');
    assert.equal(sh(fx.repo.dir, ['status', '--porcelain']), '');
  });

  it('detects a real conflict, asks the agent to regenerate, then quarantines with the conflicting paths', async () => {
    fx = await makeQueueFixture({ 'f.txt': 'line\n', 'g.txt': 'g\n' });
    const base = fx.repo.head();
    const a = fx.addChange({ taskId: 'a', patch: filePatch('f.txt', 'line\n', 'from a\n') });
    const c = fx.addChange({ taskId: 'c', patch: filePatch('f.txt', 'line\n', 'from c\n') });
    const calls: Array<{ newTip: string; conflictPaths: string[] }> = [];
    const q: MergeQueue = fx.queue({
      config: { queueWorkers: 1 },
      regenerate: async (req) => {
        calls.push(req);
        return { patch: filePatch('f.txt', 'line\n', `from c again ${calls.length}\n`), baseCommit: base }; // still stale
      },
      onReturnedForReview: async (id) => reapprove(q, id),
    });
    q.enqueue(a, { actor: 'user' });
    q.enqueue(c, { actor: 'user' });
    await q.runUntilIdle();
    const entries = q.list().filter((e) => e.changeId === c);
    assert.deepEqual(entries.map((e) => e.state), ['superseded', 'superseded', 'superseded', 'quarantined'], 'each regeneration went back to review');
    const entry = entries.at(-1)!;
    assert.equal(entry.state, 'quarantined');
    assert.deepEqual(entry.conflictPaths, ['f.txt']);
    assert.match(entry.lastError!, /f\.txt/);
    assert.equal(calls.length, 3);
    assert.deepEqual(calls[0].conflictPaths, ['f.txt']);
    assert.equal(calls[0].newTip, sh(fx.repo.dir, ['rev-parse', 'main']).trim());
    assert.deepEqual(fx.landedChanges(), [a]);
    assert.ok(q.metrics().conflictRate > 0);
  });

  it('lands a regenerated patch after a conflict', async () => {
    fx = await makeQueueFixture({ 'f.txt': 'line\n' });
    const a = fx.addChange({ taskId: 'a', patch: filePatch('f.txt', 'line\n', 'from a\n') });
    const c = fx.addChange({ taskId: 'c', patch: filePatch('f.txt', 'line\n', 'from c\n') });
    const q: MergeQueue = fx.queue({
      config: { queueWorkers: 1 },
      regenerate: async (req) => ({ patch: filePatch('f.txt', 'from a\n', 'from a\nand c\n'), baseCommit: req.newTip }),
      onReturnedForReview: async (id) => reapprove(q, id),
    });
    q.enqueue(a, { actor: 'user' });
    q.enqueue(c, { actor: 'user' });
    await q.runUntilIdle();
    await q.runUntilIdle();
    assert.deepEqual(fx.landedChanges(), [a, c]);
    assert.equal(fx.db.get<{ version: number }>('SELECT version FROM change_requests WHERE id = ?', [c])!.version, 2);
    assert.equal(sh(fx.repo.dir, ['show', 'main:f.txt']), 'from a\nand c\n');
  });

  it('lands on a moved tip when the three-way merge is clean', async () => {
    fx = await makeQueueFixture({ 'f.txt': '1\n2\n3\n4\n5\n6\n7\n8\n', 'other.txt': 'o\n' });
    const base = fx.repo.head();
    fx.repo.write('other.txt', 'moved\n');
    fx.repo.write('f.txt', 'ONE\n2\n3\n4\n5\n6\n7\n8\n');
    fx.repo.commitAll('someone else moved the tip');
    const ch = fx.addChange({ taskId: 'x', base, patch: filePatch('f.txt', '1\n2\n3\n4\n5\n6\n7\n8\n', '1\n2\n3\n4\n5\n6\n7\nEIGHT\n') });
    const q = fx.queue();
    q.enqueue(ch, { actor: 'user' });
    await q.runUntilIdle();
    assert.equal(q.list()[0].state, 'merged');
    assert.equal(sh(fx.repo.dir, ['show', 'main:f.txt']), 'ONE\n2\n3\n4\n5\n6\n7\nEIGHT\n');
    assert.equal(sh(fx.repo.dir, ['show', 'main:other.txt']), 'moved\n');
    assert.equal(fx.repo.read('f.txt'), 'ONE\n2\n3\n4\n5\n6\n7\nEIGHT\n');
  });

  it('reverts a merged change through the queue and marks it reverted', async () => {
    fx = await makeQueueFixture({ 'f.txt': 'one\n', 'g.txt': 'g\n' });
    const a = fx.addChange({ taskId: 'a', patch: filePatch('f.txt', 'one\n', 'two\n') });
    const b = fx.addChange({ taskId: 'b', patch: filePatch('g.txt', 'g\n', 'G\n') });
    const q = fx.queue();
    q.enqueue(a, { actor: 'user' });
    q.enqueue(b, { actor: 'user' });
    await q.runUntilIdle();
    const rv = q.revert(a);
    assert.equal(rv.kind, 'revert');
    await q.runUntilIdle();
    assert.equal(q.list().find((e) => e.id === rv.id)!.state, 'merged');
    assert.equal(q.list().find((e) => e.changeId === a && e.kind === 'land')!.state, 'reverted');
    assert.equal(fx.db.get<{ status: string }>('SELECT status FROM change_requests WHERE id = ?', [a])!.status, 'reverted');
    assert.equal(sh(fx.repo.dir, ['show', 'main:f.txt']), 'one\n');
    assert.equal(sh(fx.repo.dir, ['show', 'main:g.txt']), 'G\n');
    assert.equal(fx.repo.read('f.txt'), 'one\n');
    assert.match(sh(fx.repo.dir, ['log', '-1', '--format=%B', 'main']), /^Revert "Task a"/);
    assert.throws(() => q.revert(b + '-missing'), (e: unknown) => isEngineError(e, 'queue/not-found'));
  });

  it('refuses a change whose patch policy blocks it or that needs explicit approval', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const bad = fx.addChange({ taskId: 'bad', patch: filePatch('.git/hooks/pre-commit', null, 'evil\n') });
    const lock = fx.addChange({ taskId: 'lock', patch: filePatch('package-lock.json', null, '{}\n') });
    const q = fx.queue();
    assert.throws(() => q.enqueue(bad, { actor: 'user' }), (e: unknown) => isEngineError(e, 'policy/blocked'));
    assert.throws(() => q.enqueue(lock, { actor: 'user' }), (e: unknown) => isEngineError(e, 'policy/needs-approval'));
    q.enqueue(lock, { actor: 'user', explicitApproval: true });
    await q.runUntilIdle();
    assert.deepEqual(fx.landedChanges(), [lock]);
    assert.equal(q.list().length, 1);
  });

  it('records every transition as an event and computes metrics from them', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const a = fx.addChange({ taskId: 'a', patch: filePatch('a.txt', null, 'A\n') });
    const broken = fx.addChange({ taskId: 'z', patch: filePatch('README.md', 'nope\n', 'x\n') });
    const seen: string[] = [];
    const q = fx.queue({ onEvent: (e) => e.kind === 'queue/state' && seen.push(`${e.from ?? ''}>${e.to}`) });
    q.enqueue(a, { actor: 'user' });
    const be = q.enqueue(broken, { actor: 'user' });
    await q.runUntilIdle();
    assert.equal(q.list().find((e) => e.id === be.id)!.state, 'failed');
    assert.match(q.list().find((e) => e.id === be.id)!.lastError!, /does not apply/);
    assert.ok(seen.includes('>queued') && seen.includes('queued>checking') && seen.includes('checking>landing') && seen.includes('landing>merged'));
    const rows = fx.db.all<{ actor: string; at: number }>("SELECT actor, at FROM events WHERE kind = 'queue/state'");
    assert.equal(rows.length, seen.length);
    const m = q.metrics();
    assert.equal(m.successRate, 0.5);
    assert.ok(m.throughputPerMin > 0);
    assert.ok((m.timeInState.checking ?? -1) >= 0);
  });
});
