import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { applyPatches, treeFromFilesWithDiff } from '../../src/engine/git/batch';
import { diffTrees, treeFromFiles } from '../../src/engine/git/plumbing';
import { carryChanges, changesCarried, treesReadFromGit, treesWrittenHere, writeTreeFromFiles } from '../../src/engine/git/treeWriter';
import { makeRepo, sh, type TempRepo } from '../support/queue-repo';

type Files = Array<{ path: string; content: string | null }>;

/** Names that sort differently as files and as folders ('a' vs 'a.b' vs 'a-b' vs 'a0'), nested folders, an executable and a link. */
function sampleRepo(): { repo: TempRepo; base: string } {
  const repo = makeRepo({
    'a.b': 'dot\n', 'a-b': 'dash\n', a0: 'zero\n', 'a/x.txt': 'ax\n', 'a/deep/y.txt': 'y\n', 'a/deep/z.txt': 'z\n',
    'b/only.txt': 'only\n', 'run.sh': '#!/bin/sh\n', 'c/d/e/f.txt': 'f\n', '.github/ci.yml': 'ci\n', 'README.md': 'hi\n',
  });
  fs.chmodSync(path.join(repo.dir, 'run.sh'), 0o755);
  fs.symlinkSync('README.md', path.join(repo.dir, 'link'));
  repo.commitAll('base');
  return { repo, base: sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim() };
}

/** A small fixed-seed generator, so every run tries the same file sets. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('trees written from the engine', () => {
  let repo: TempRepo | undefined;
  afterEach(() => {
    repo?.cleanup();
    repo = undefined;
  });

  it('gives the tree git gives for the same whole files, deletions and modes included', async () => {
    const s = sampleRepo();
    repo = s.repo;
    const cases: Files[] = [
      [{ path: 'a/x.txt', content: 'ax!\n' }],
      [{ path: 'a/new/deeper/n.txt', content: 'n\n' }, { path: 'a.c', content: 'c\n' }],
      // The folder's last files go: the folder goes with them, and so does its parent.
      [{ path: 'a/deep/y.txt', content: null }, { path: 'a/deep/z.txt', content: null }],
      [{ path: 'c/d/e/f.txt', content: null }],
      [{ path: 'b/only.txt', content: null }, { path: 'b2/only.txt', content: 'moved\n' }],
      // An executable keeps its mode; a link overwritten becomes a file, as update-index makes it.
      [{ path: 'run.sh', content: '#!/bin/sh\necho hi\n' }, { path: 'link', content: 'now a file\n' }],
      [{ path: 'missing/never.txt', content: null }, { path: 'nope.txt', content: null }],
      [{ path: '.github/ci.yml', content: 'ci 2\n' }, { path: 'a-b', content: '' }, { path: 'sub/.gitmodules', content: 'a plain file\n' }],
      [],
    ];
    const next = lcg(11);
    const pool = ['a/x.txt', 'a/deep/y.txt', 'a/deep/z.txt', 'a/deep/w.txt', 'a.b', 'a-b', 'a0', 'b/only.txt', 'b/two.txt', 'c/d/e/f.txt', 'c/d/g.txt', 'z/1.txt', 'README.md', 'run.sh', 'a/a', 'a/a.b'];
    for (let i = 0; i < 30; i++) {
      const picked = pool.filter(() => next() < 0.3);
      cases.push(picked.map((p) => ({ path: p, content: next() < 0.35 ? null : `v${i} ${p}\n` })));
    }
    for (const files of cases) {
      const before = treesWrittenHere();
      const mine = await writeTreeFromFiles(repo.dir, s.base, files);
      assert.equal(treesWrittenHere(), before + 1, `written here: ${JSON.stringify(files)}`);
      const gits = await treeFromFiles(repo.dir, s.base, files);
      assert.equal(mine, gits, `same tree as git for ${JSON.stringify(files)}`);
    }
    execFileSync('git', ['fsck', '--strict', '--no-dangling'], { cwd: repo.dir, stdio: 'pipe' });
  });

  it('carries one change over another tree exactly as git apply of its diff does, or leaves it to git', async () => {
    const s = sampleRepo();
    repo = s.repo;
    const next = lcg(5);
    const pool = ['a/x.txt', 'a/deep/y.txt', 'a/deep/z.txt', 'a/deep/w.txt', 'a.b', 'b/only.txt', 'b/two.txt', 'c/d/e/f.txt', 'c/d/g.txt', 'z/1.txt', 'run.sh', 'link'];
    const pick = (i: number): Files => pool.filter(() => next() < 0.25).map((p) => ({ path: p, content: next() < 0.35 ? null : `v${i} ${p}\n` }));
    let carriedHere = 0;
    let leftToGit = 0;
    for (let i = 0; i < 25; i++) {
      const one = await treeFromFiles(repo.dir, s.base, pick(i));
      const other = await treeFromFiles(repo.dir, s.base, pick(100 + i));
      const before = changesCarried();
      const carried = await carryChanges(repo.dir, one, s.base, other);
      const byGit: string | undefined = await applyPatches(repo.dir, one, [await diffTrees(repo.dir, s.base, other)]).catch(() => undefined);
      if (carried === undefined) {
        leftToGit++;
        assert.equal(changesCarried(), before);
        continue;
      }
      carriedHere++;
      assert.equal(changesCarried(), before + 1);
      assert.equal(carried, byGit, `pair ${i}`);
    }
    assert.ok(carriedHere >= 5 && leftToGit >= 2, `both kinds were tried (${carriedHere} carried, ${leftToGit} left to git)`);
  });

  it('leaves to git what git must decide, with git’s result', async () => {
    const s = sampleRepo();
    repo = s.repo;
    const toGit: Files[] = [
      [{ path: 'a', content: 'a folder becomes a file\n' }],
      [{ path: 'a.b/inside.txt', content: 'a file becomes a folder\n' }],
      [{ path: 'link/inside.txt', content: 'through a link\n' }],
      [{ path: 'x/y', content: '1\n' }, { path: 'x', content: '2\n' }],
      [{ path: 'a', content: null }],
      [{ path: 'wëird.txt', content: 'non-ASCII names are git’s\n' }],
      [{ path: 'sub/.GIT/config', content: 'never\n' }],
      [{ path: 'trailing.', content: 'dot\n' }],
    ];
    for (const files of toGit) {
      const before = treesWrittenHere();
      assert.equal(await writeTreeFromFiles(repo.dir, s.base, files), undefined, JSON.stringify(files));
      assert.equal(treesWrittenHere(), before);
      // The caller still gets git's answer (or git's refusal).
      const viaBatch: string = await treeFromFilesWithDiff(repo.dir, s.base, files).then((r) => r.tree, (e: Error) => `error: ${e.message}`);
      const viaGit: string = await treeFromFiles(repo.dir, s.base, files).then((t) => t, (e: Error) => `error: ${e.message}`);
      assert.equal(viaBatch.startsWith('error') ? 'error' : viaBatch, viaGit.startsWith('error') ? 'error' : viaGit, JSON.stringify(files));
    }
    // A commit instead of a tree: git resolves it.
    assert.equal(await writeTreeFromFiles(repo.dir, repo.head(), [{ path: 'a.b', content: '1\n' }]), undefined);
  });

  it('gives a finishing answer its tree and diff with the diff as the only git process', async () => {
    const s = sampleRepo();
    repo = s.repo;
    const files: Files = [{ path: 'a/deep/y.txt', content: 'changed\n' }, { path: 'b/only.txt', content: null }, { path: 'run.sh', content: '#!/bin/sh\nexit 0\n' }];
    const before = treesWrittenHere();
    const out = await treeFromFilesWithDiff(repo.dir, s.base, files);
    assert.equal(treesWrittenHere(), before + 1);
    assert.equal(out.tree, await treeFromFiles(repo.dir, s.base, files));
    assert.equal(out.patch, await diffTrees(repo.dir, s.base, out.tree));
    assert.doesNotMatch(out.patch, /old mode/, 'the executable kept its mode');
    // A dependent's answer on the tree written here is written here too, without reading
    // back from git the trees this process just wrote.
    const reads = treesReadFromGit();
    const second = await treeFromFilesWithDiff(repo.dir, out.tree, [{ path: 'a/deep/y.txt', content: null }, { path: 'a/deep/z.txt', content: null }]);
    assert.equal(treesWrittenHere(), before + 2);
    assert.equal(treesReadFromGit(), reads, 'the trees along a/deep were known');
    assert.equal(second.tree, await treeFromFiles(repo.dir, out.tree, [{ path: 'a/deep/y.txt', content: null }, { path: 'a/deep/z.txt', content: null }]));
    assert.equal(sh(repo.dir, ['ls-tree', second.tree, 'a']).trim().split('\n').length, 1);
  });
});
