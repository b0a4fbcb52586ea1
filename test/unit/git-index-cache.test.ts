import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { applyAndDiff, applyPatches, readBlobsAt, treeFromFilesWithDiff } from '../../src/engine/git/batch';
import { diffTrees } from '../../src/engine/git/plumbing';
import { keptIndexReads } from '../../src/engine/git/indexCache';
import { filePatch, makeRepo, sh, type TempRepo } from '../support/queue-repo';

describe('kept private indexes of known trees', () => {
  let repo: TempRepo | undefined;
  afterEach(() => {
    repo?.cleanup();
    repo = undefined;
  });

  it('starts a change on a tree a previous change wrote from a copy of its index, with the same result', async () => {
    repo = makeRepo({ 'a.txt': 'one\n', 'dir/b.txt': 'two\n', 'dir/sub/c.txt': 'three\n' });
    const base = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    const first = await applyAndDiff(repo.dir, base, filePatch('dir/b.txt', 'two\n', 'two!\n') + filePatch('new.txt', null, 'new\n'));
    assert.ok(first.ok);
    const before = keptIndexReads();
    // A dependent: starts from the tree the first change wrote.
    const second = await applyAndDiff(repo.dir, first.tree, filePatch('dir/sub/c.txt', 'three\n', null) + filePatch('a.txt', 'one\n', 'one!\n'));
    assert.ok(second.ok);
    assert.equal(keptIndexReads(), before + 1, 'the dependent started from the kept index');
    assert.equal(second.patch, await diffTrees(repo.dir, first.tree, second.tree));
    assert.deepEqual(await readBlobsAt(repo.dir, second.tree, ['a.txt', 'dir/b.txt', 'dir/sub/c.txt', 'new.txt']), ['one!\n', 'two!\n', undefined, 'new\n']);
    // The same result as a fresh read-tree gives: git's own tree of those files.
    const plain = sh(repo.dir, ['ls-tree', '-r', second.tree]);
    assert.match(plain, /\ta\.txt\n/);
    assert.doesNotMatch(plain, /c\.txt/);
    // A tree written by applyPatches is kept and reused as well.
    const third = await applyPatches(repo.dir, second.tree, [filePatch('new.txt', 'new\n', 'newer\n')]);
    assert.equal(keptIndexReads(), before + 2);
    const fourth = await applyPatches(repo.dir, third, [filePatch('z.txt', null, 'z\n')]);
    assert.equal(keptIndexReads(), before + 3);
    // A whole-file answer needs no index at all (its trees are written from the engine, treeWriter.ts).
    const fifth = await treeFromFilesWithDiff(repo.dir, fourth, [{ path: 'y.txt', content: 'y\n' }]);
    assert.equal(keptIndexReads(), before + 3);
    assert.deepEqual(await readBlobsAt(repo.dir, fifth.tree, ['new.txt', 'z.txt', 'a.txt', 'y.txt']), ['newer\n', 'z\n', 'one!\n', 'y\n']);
  });
});
