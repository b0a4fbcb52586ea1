import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isEngineError } from '../../src/engine/errors';
import {
  applyPatchToTree,
  checkPatchApplies,
  commitTree,
  diffTrees,
  readBlobAt,
  treeFromFiles,
} from '../../src/engine/git/plumbing';
import { filePatch, makeRepo, sh, type TempRepo } from '../support/queue-repo';

describe('git plumbing', () => {
  let repo: TempRepo;
  afterEach(() => repo?.cleanup());

  it('applies a patch to a tree without touching the worktree or the index', async () => {
    repo = makeRepo({ 'a.txt': 'one\ntwo\n', 'b.txt': 'bee\n' });
    repo.write('a.txt', 'user edit\n'); // an uncommitted edit that must survive
    sh(repo.dir, ['add', 'a.txt']);
    const indexBefore = sh(repo.dir, ['ls-files', '-s']);
    const tree = await applyPatchToTree(repo.dir, 'HEAD', filePatch('b.txt', 'bee\n', 'bee\nsting\n'));
    assert.equal(await readBlobAt(repo.dir, tree, 'b.txt'), 'bee\nsting\n');
    assert.equal(await readBlobAt(repo.dir, tree, 'a.txt'), 'one\ntwo\n');
    assert.equal(repo.read('a.txt'), 'user edit\n');
    assert.equal(repo.read('b.txt'), 'bee\n');
    assert.equal(sh(repo.dir, ['ls-files', '-s']), indexBefore);
  });

  it('throws patch/does-not-apply with a one-line reason for a stale hunk', async () => {
    repo = makeRepo({ 'a.txt': 'one\ntwo\n' });
    const bad = filePatch('a.txt', 'something else\n', 'x\n');
    await assert.rejects(applyPatchToTree(repo.dir, 'HEAD', bad), (e: unknown) => {
      assert.ok(isEngineError(e, 'patch/does-not-apply'));
      assert.ok(!e.message.includes('\n'));
      assert.match(e.message, /a\.txt/);
      return true;
    });
    const r = await checkPatchApplies(repo.dir, 'HEAD', bad);
    assert.equal(r.ok, false);
    assert.deepEqual(await checkPatchApplies(repo.dir, 'HEAD', filePatch('a.txt', 'one\ntwo\n', 'x\n')), { ok: true });
  });

  it('builds a tree from files, deleting nulls and keeping executable modes', async () => {
    repo = makeRepo({ 'run.sh': '#!/bin/sh\n', 'gone.txt': 'bye\n', 'keep.txt': 'k\n' });
    sh(repo.dir, ['update-index', '--chmod=+x', 'run.sh']);
    sh(repo.dir, ['commit', '-q', '-m', 'exec']);
    const tree = await treeFromFiles(repo.dir, 'HEAD', [
      { path: 'run.sh', content: '#!/bin/sh\necho hi\n' },
      { path: 'gone.txt', content: null },
      { path: 'dir/new.txt', content: 'new\n' },
    ]);
    const ls = sh(repo.dir, ['ls-tree', '-r', tree]);
    assert.match(ls, /^100755 blob \w+\trun\.sh$/m);
    assert.match(ls, /^100644 blob \w+\tdir\/new\.txt$/m);
    assert.doesNotMatch(ls, /gone\.txt/);
    assert.match(ls, /keep\.txt/);
    await assert.rejects(treeFromFiles(repo.dir, 'HEAD', [{ path: '../escape', content: 'x' }]), /outside|plain path/);
  });

  it('produces a diff between trees that git apply accepts, including deletions and binaries', async () => {
    repo = makeRepo({ 'a.txt': 'one\n', 'del.txt': 'x\n' });
    const base = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    const to = await treeFromFiles(repo.dir, base, [
      { path: 'a.txt', content: 'one\ntwo\n' },
      { path: 'del.txt', content: null },
      { path: 'bin.dat', content: 'a\0b\0c' },
    ]);
    const patch = await diffTrees(repo.dir, base, to);
    assert.match(patch, /^diff --git a\/a\.txt b\/a\.txt/m);
    assert.equal(await applyPatchToTree(repo.dir, base, patch), to);
  });

  it('commits a tree with explicit identity, parents and date, without user config', async () => {
    repo = makeRepo({ 'a.txt': 'one\n' });
    const head = repo.head();
    const tree = await treeFromFiles(repo.dir, 'HEAD', [{ path: 'a.txt', content: 'two\n' }]);
    const c = await commitTree(repo.dir, tree, [head], 'Subject\n\nHyperion-Change: c1', {
      author: { name: 'Bot', email: 'bot@x' },
      date: 1_700_000_000_000,
    });
    const info = sh(repo.dir, ['log', '-1', '--format=%an <%ae>|%at|%P|%B', c]);
    assert.equal(info.split('|')[0], 'Bot <bot@x>');
    assert.equal(info.split('|')[1], '1700000000');
    assert.equal(info.split('|')[2], head);
    assert.match(info, /Hyperion-Change: c1/);
    assert.equal(await readBlobAt(repo.dir, c, 'missing.txt'), undefined);
  });
});
