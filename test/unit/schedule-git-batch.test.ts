import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyAndDiff, applyPatches, readBlobsAt, treeFromFilesWithDiff, treeOfCommit, writeBlobs, writeKeptCommit } from '../../src/engine/git/batch';
import { applyPatchToTree, commitTree, diffTrees, readBlobAt, treeFromFiles } from '../../src/engine/git/plumbing';
import { isEngineError } from '../../src/engine/errors';
import { makeRepo, sh, type TempRepo } from '../support/queue-repo';

let repo: TempRepo;
let base: string;
let commit: string;
before(() => {
  repo = makeRepo({ 'README.md': 'hello\n', 'src/a.ts': 'export const a = 1;\n', 'bin/run.sh': '#!/bin/sh\necho run\n', 'dir/x y.txt': 'spaces\n', 'ünï.txt': 'héllo wörld\n' });
  sh(repo.dir, ['update-index', '--chmod=+x', 'bin/run.sh']);
  sh(repo.dir, ['commit', '-q', '-m', 'exec']);
  commit = repo.head();
  base = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
});
after(() => repo.cleanup());

const patchA = (from: number, to: number) =>
  `diff --git a/src/a.ts b/src/a.ts\n--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1 +1 @@\n-export const a = ${from};\n+export const a = ${to};\n`;
const newFile = (p: string, line: string) => `diff --git a/${p} b/${p}\nnew file mode 100644\n--- /dev/null\n+++ b/${p}\n@@ -0,0 +1 @@\n+${line}\n`;

describe('batched git helpers', () => {
  it('applies a sequence of patches in order on one index, like applying them one by one', async () => {
    const patches = [patchA(1, 2), '', newFile('src/b.ts', 'b'), patchA(2, 3)];
    let expected = base;
    for (const p of patches) if (p !== '') expected = await applyPatchToTree(repo.dir, expected, p);
    assert.equal(await applyPatches(repo.dir, base, patches), expected);
    assert.equal(await applyPatches(repo.dir, base, ['', '  ']), base);
  });

  it('names the first patch that does not apply, with git reason on one line', async () => {
    await assert.rejects(applyPatches(repo.dir, base, [patchA(1, 2), patchA(1, 5)]), (e) => {
      assert.ok(isEngineError(e, 'patch/does-not-apply'));
      assert.equal(e.details?.index, 1);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  });

  it('applies one patch and returns the same tree and canonical diff as plumbing', async () => {
    const r = await applyAndDiff(repo.dir, base, patchA(1, 7));
    assert.ok(r.ok);
    const tree = await applyPatchToTree(repo.dir, base, patchA(1, 7));
    assert.equal(r.tree, tree);
    assert.equal(r.patch, await diffTrees(repo.dir, base, tree));
    const bad = await applyAndDiff(repo.dir, base, patchA(9, 7));
    assert.equal(bad.ok, false);
  });

  it('writes many files into a tree like treeFromFiles, keeping the executable bit, with the same diff', async () => {
    const files = [
      { path: 'src/a.ts', content: 'export const a = 42;\n' },
      { path: 'bin/run.sh', content: '#!/bin/sh\necho changed\n' },
      { path: 'new/deep/file.md', content: 'new ünïcode\n' },
      { path: 'dir/x y.txt', content: null },
    ];
    const r = await treeFromFilesWithDiff(repo.dir, base, files);
    const tree = await treeFromFiles(repo.dir, base, files);
    assert.equal(r.tree, tree);
    assert.equal(r.patch, await diffTrees(repo.dir, base, tree));
    assert.match(sh(repo.dir, ['ls-tree', tree, 'bin/run.sh']), /^100755 /);
    const plain = await treeFromFilesWithDiff(repo.dir, base, [{ path: 'src/a.ts', content: 'export const a = 5;\n' }]);
    assert.equal(plain.tree, await treeFromFiles(repo.dir, base, [{ path: 'src/a.ts', content: 'export const a = 5;\n' }]));
    const same = await treeFromFilesWithDiff(repo.dir, base, [{ path: 'README.md', content: 'hello\n' }]);
    assert.deepEqual(same, { tree: base, patch: '' });
  });

  it('refuses paths outside the repository before writing anything', async () => {
    await assert.rejects(treeFromFilesWithDiff(repo.dir, base, [{ path: '../evil', content: 'x' }]), (e) => isEngineError(e, 'patch/outside-repo'));
  });

  it('writes blobs with the ids git gives them', async () => {
    const ids = await writeBlobs(repo.dir, ['one\n', '', 'ünï\n']);
    assert.deepEqual(ids, ['one\n', '', 'ünï\n'].map((c) => sh(repo.dir, ['hash-object', '--stdin'], c).trim()));
    assert.equal(sh(repo.dir, ['cat-file', 'blob', ids[2]!]), 'ünï\n');
  });

  it('reads several files in one go, undefined for missing paths, folders and odd names', async () => {
    const paths = ['src/a.ts', 'missing.txt', 'src', 'ünï.txt', 'dir/x y.txt', 'bad\nname'];
    const got = await readBlobsAt(repo.dir, base, paths);
    const one = await Promise.all(paths.map((p) => readBlobAt(repo.dir, base, p)));
    assert.deepEqual(got, one);
    assert.deepEqual(got, ['export const a = 1;\n', undefined, undefined, 'héllo wörld\n', 'spaces\n', undefined]);
    assert.deepEqual(await readBlobsAt(repo.dir, base, []), []);
  });

  it('caches the tree of a commit', async () => {
    assert.equal(await treeOfCommit(repo.dir, commit), base);
    assert.equal(await treeOfCommit(repo.dir, commit), base);
    assert.equal(await treeOfCommit(repo.dir, 'HEAD'), base);
  });
});

describe('batched base commits', () => {
  it('writes commits identical to commitTree, with their refs, batching calls made together', async () => {
    const trees = [base, await applyPatches(repo.dir, base, [patchA(1, 2)]), await applyPatches(repo.dir, base, [patchA(1, 3)])];
    const specs = trees.map((tree, i) => ({ tree, parent: commit, message: `base ${i}\n\nwhy`, date: 1_700_000_000_000 + i * 1000, ref: `refs/hyperion/bases/test/t${i}` }));
    const shas = await Promise.all(specs.map((s) => writeKeptCommit(repo.dir, s)));
    for (const [i, s] of specs.entries()) {
      assert.equal(shas[i], await commitTree(repo.dir, s.tree, [s.parent], s.message, { date: s.date }));
      assert.equal(sh(repo.dir, ['rev-parse', s.ref]).trim(), shas[i]);
    }
  });

  it('rejects every commit of a batch git refuses, and later batches still work', async () => {
    const bad = writeKeptCommit(repo.dir, { tree: 'f'.repeat(40), parent: commit, message: 'bad', date: 1, ref: 'refs/hyperion/bases/test/bad' });
    await assert.rejects(bad, (e) => isEngineError(e, 'git/'));
    const ok = await writeKeptCommit(repo.dir, { tree: base, parent: commit, message: 'ok', date: 1_700_000_000_000, ref: 'refs/hyperion/bases/test/ok' });
    assert.equal(sh(repo.dir, ['rev-parse', `${ok}^{tree}`]).trim(), base);
  });
});
