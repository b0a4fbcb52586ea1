import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { git } from '../../src/engine/git/exec';
import { commitTree } from '../../src/engine/git/plumbing';
import { acquireLease, getEntry, renewLease } from '../../src/engine/queue/entries';
import { filePatch, sh } from '../support/queue-repo';
import { makeQueueFixture, type QueueFixture } from '../support/queue-fixture';

/** A commit on top of main's tip whose tree adds `entries` (crafted with mktree, bypassing index checks). */
async function craftedBase(fx: QueueFixture, entries: Array<{ mode: string; type: string; name: string; content?: string; sha?: string }>): Promise<string> {
  const dir = fx.repo.dir;
  const top = sh(dir, ['ls-tree', 'HEAD']).trimEnd().split('\n');
  for (const e of entries) {
    const sha = e.sha ?? (await git(['hash-object', '-w', '--stdin'], { cwd: dir, input: e.content ?? '' })).stdout.trim();
    top.push(`${e.mode} ${e.type} ${sha}\t${e.name}`);
  }
  const tree = sh(dir, ['mktree', '--missing'], top.join('\n') + '\n').trim();
  return commitTree(dir, tree, [fx.repo.head()], 'crafted');
}

describe('merge queue: the user worktree, policy, checks, leases', () => {
  let fx: QueueFixture;
  afterEach(() => fx?.cleanup());

  it('keeps uncommitted edits byte for byte, blocks only entries touching them, and lands them once clean', async () => {
    fx = await makeQueueFixture({ 'u.txt': 'original\n', 'v.txt': 'v\n', 'w.txt': 'w\n' });
    const userBytes = 'my edit\r\nno newline at end \u00e9';
    fx.repo.write('u.txt', userBytes);
    fx.repo.write('scratch.txt', 'untracked\n');
    fx.repo.write('in-the-way.txt', 'user file\n');
    const touchU = fx.addChange({ taskId: 'u', patch: filePatch('u.txt', 'original\n', 'agent\n') });
    const touchV = fx.addChange({ taskId: 'v', patch: filePatch('v.txt', 'v\n', 'V\n') });
    const addWay = fx.addChange({ taskId: 'way', patch: filePatch('in-the-way.txt', null, 'agent file\n') });
    const touchW = fx.addChange({ taskId: 'w', patch: filePatch('w.txt', 'w\n', 'W\n') });
    let editorDirty = true;
    const q = fx.queue({ isPathDirtyInEditor: (p) => editorDirty && p === 'w.txt' });
    for (const c of [touchU, touchV, addWay, touchW]) q.enqueue(c, { actor: 'user' });
    await q.runUntilIdle();
    const state = (c: string) => q.list().find((e) => e.changeId === c)!;
    assert.equal(state(touchV).state, 'merged');
    assert.equal(state(touchU).state, 'blocked');
    assert.match(state(touchU).lastError!, /u\.txt/);
    assert.equal(state(addWay).state, 'blocked');
    assert.equal(state(touchW).state, 'blocked');
    assert.equal(fx.repo.read('u.txt'), userBytes);
    assert.equal(fx.repo.read('scratch.txt'), 'untracked\n');
    assert.equal(fx.repo.read('in-the-way.txt'), 'user file\n');
    assert.equal(fx.repo.read('v.txt'), 'V\n');
    assert.equal(sh(fx.repo.dir, ['show', 'main:u.txt']), 'original\n');

    // Still dirty: a second pass keeps them waiting and changes nothing.
    await q.runUntilIdle();
    assert.equal(state(touchU).state, 'blocked');
    assert.equal(fx.repo.read('u.txt'), userBytes);

    // The user cleans up; the waiting entries land.
    fx.repo.write('u.txt', 'original\n');
    sh(fx.repo.dir, ['rm', '-q', '--cached', '--ignore-unmatch', 'in-the-way.txt']);
    (await import('node:fs')).rmSync(`${fx.repo.dir}/in-the-way.txt`);
    editorDirty = false;
    await q.runUntilIdle();
    assert.equal(state(touchU).state, 'merged', JSON.stringify(q.list()));
    assert.equal(state(addWay).state, 'merged');
    assert.equal(state(touchW).state, 'merged');
    assert.equal(fx.repo.read('u.txt'), 'agent\n');
    assert.equal(fx.repo.read('in-the-way.txt'), 'agent file\n');
    assert.equal(fx.repo.read('scratch.txt'), 'untracked\n');
    assert.equal(sh(fx.repo.dir, ['status', '--porcelain']), '?? scratch.txt\n');
  });

  // A hostile entry can only reach the landing through the change itself (e.g. a regenerated
  // patch, which skips the enqueue-time patch policy): the tree policy stops it there.
  for (const hostile of [
    { rule: 'symlink', patch: 'diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n' },
    { rule: 'exec-mode', patch: 'diff --git a/run.sh b/run.sh\nnew file mode 100755\n--- /dev/null\n+++ b/run.sh\n@@ -0,0 +1 @@\n+#!/bin/sh\n' },
    { rule: 'gitlink', patch: `diff --git a/sub b/sub\nnew file mode 160000\nindex 0000000..${'a'.repeat(40)}\n--- /dev/null\n+++ b/sub\n@@ -0,0 +1 @@\n+Subproject commit ${'a'.repeat(40)}\n` },
    { rule: 'git-dir', patch: filePatch('.GIT/config', null, 'x\n') },
  ]) {
    it(`fails an entry whose final tree breaks the tree policy (${hostile.rule})`, async () => {
      fx = await makeQueueFixture({ 'README.md': 'hi\n' });
      const ch = fx.addChange({ taskId: 'h', patch: filePatch('README.md', 'hi\n', 'hello\n') });
      const before = fx.repo.head();
      const q = fx.queue();
      q.enqueue(ch, { actor: 'user' });
      fx.db.run('UPDATE change_requests SET patch = ? WHERE id = ?', [hostile.patch, ch]);
      await q.runUntilIdle();
      const e = q.list()[0];
      assert.equal(e.state, 'failed');
      // git itself already refuses a `.GIT` path when applying; either refusal is fine.
      const refusal = hostile.rule === 'git-dir' ? /tree policy: .*git-dir|invalid path '\.GIT/ : new RegExp(`tree policy: .*${hostile.rule}`);
      assert.match(e.lastError!, refusal);
      assert.equal(fx.repo.head(), before);
    });
  }

  it('lands only the change itself, never content of its base that the target lacks', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const base = await craftedBase(fx, [{ mode: '120000', type: 'blob', name: 'link', content: '/etc/passwd' }]);
    const ch = fx.addChange({ taskId: 'h', base, patch: filePatch('README.md', 'hi\n', 'hello\n') });
    const q = fx.queue();
    q.enqueue(ch, { actor: 'user' });
    await q.runUntilIdle();
    assert.equal(q.list()[0].state, 'merged', q.list()[0].lastError);
    assert.equal(sh(fx.repo.dir, ['show', 'main:README.md']), 'hello\n');
    assert.equal(sh(fx.repo.dir, ['ls-tree', '--name-only', 'main']).trim(), 'README.md');
  });

  it('fails on a failing check command, merges on a passing one, and fails with a timeout reason', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const pass = fx.addChange({ taskId: 'pass', patch: filePatch('ok.txt', null, 'ok\n') });
    const q = fx.queue({ config: { checkCommand: 'test -f ok.txt || { echo "ok.txt missing"; exit 3; }', checkTimeoutMs: 20_000 } });
    q.enqueue(pass, { actor: 'user' });
    const fail = fx.addChange({ taskId: 'fail', patch: filePatch('other.txt', null, 'x\n') });
    await q.runUntilIdle();
    assert.equal(q.list()[0].state, 'merged');
    const q2 = fx.queue({ config: { checkCommand: 'test -f nope.txt || { echo "nope.txt missing"; exit 3; }' } });
    q2.enqueue(fail, { actor: 'user' });
    await q2.runUntilIdle();
    const f = q2.list().find((e) => e.changeId === fail)!;
    assert.equal(f.state, 'failed');
    assert.match(f.lastError!, /exit 3.*nope\.txt missing/);
    const slow = fx.addChange({ taskId: 'slow', patch: filePatch('slow.txt', null, 'x\n') });
    const q3 = fx.queue({ config: { checkCommand: 'sleep 30', checkTimeoutMs: 300 } });
    q3.enqueue(slow, { actor: 'user' });
    const t0 = Date.now();
    await q3.runUntilIdle();
    assert.ok(Date.now() - t0 < 20_000);
    const s = q3.list().find((e) => e.changeId === slow)!;
    assert.equal(s.state, 'failed');
    assert.match(s.lastError!, /timed out after 300 ms/);
    assert.equal(sh(fx.repo.dir, ['worktree', 'list']).trim().split('\n').length, 1);
  });

  it('gives an entry whose worker stopped renewing its lease to another worker', async () => {
    fx = await makeQueueFixture({ 'README.md': 'hi\n' });
    const ch = fx.addChange({ taskId: 'l', patch: filePatch('l.txt', null, 'l\n') });
    const q = fx.queue({ leaseMs: 5_000, workerId: 'second' });
    const view = q.enqueue(ch, { actor: 'user' });
    const row = getEntry(fx.db, view.id)!;
    assert.ok(acquireLease(fx.db, row, 'first/1', fx.clock.now(), 5_000));
    await q.runUntilIdle(); // the lease is live: nobody else may take it
    assert.equal(q.list()[0].state, 'checking');
    assert.deepEqual(fx.landedChanges(), []);
    fx.clock.advance(6_000); // the first worker never renewed
    await q.runUntilIdle();
    assert.equal(q.list()[0].state, 'merged');
    assert.deepEqual(fx.landedChanges(), [ch]);
    assert.equal(renewLease(fx.db, view.id, 'first/1', fx.clock.now(), 5_000), false);
    const reasons = fx.db.all<{ reason: string }>('SELECT reason FROM events WHERE subject_id = ? ORDER BY id', [view.id]).map((r) => r.reason);
    assert.ok(reasons.some((r) => /lease of first\/1 expired/.test(r)), reasons.join(' | '));
    assert.ok(reasons.some((r) => /leased by second\//.test(r)));
  });
});
