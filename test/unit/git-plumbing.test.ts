import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isEngineError } from '../../src/engine/errors';
import fs from 'node:fs';
import path from 'node:path';
import { changedEntriesBatch } from '../../src/engine/git/mergeTree';
import {
  applyPatchToTree,
  checkPatchApplies,
  commitTree,
  diffTrees,
  IndexTemplates,
  patchChanges,
  readBlobAt,
  treeFromFiles,
  writeCommits,
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

  it('writes many commits in one process, byte-identical to commitTree, and leaves no ref behind', async () => {
    repo = makeRepo({ 'a.txt': 'one\n', 'dir/old.txt': 'old\n' });
    const head = repo.head();
    const tree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    const blob = sh(repo.dir, ['hash-object', '-w', '--stdin'], 'odd\n').trim();
    const refsBefore = sh(repo.dir, ['for-each-ref']);
    const odd = 'we"ird \\ name\twith tab ü.txt';
    const [same, chained, second] = await writeCommits(repo.dir, [
      { parent: head, tree, message: 'Subject\n\nbody', date: 1_700_000_000_000 },
      { parent: 0, changes: [{ path: 'dir/old.txt', mode: null }, { path: odd, mode: '100644', sha: blob }, { path: 'dir', mode: '100644', sha: blob }], message: 'two', date: 1_700_000_000_000 },
      { parent: 1, changes: [{ path: 'a.txt', mode: '100755', sha: blob }], message: 'three', date: 1_700_000_000_000 },
    ]);
    assert.equal(same, await commitTree(repo.dir, tree, [head], 'Subject\n\nbody', { date: 1_700_000_000_000 }));
    assert.equal(sh(repo.dir, ['rev-parse', `${chained}^`]).trim(), same);
    assert.equal(sh(repo.dir, ['rev-parse', `${second}^`]).trim(), chained);
    assert.equal(await readBlobAt(repo.dir, chained!, odd), 'odd\n');
    assert.equal(await readBlobAt(repo.dir, chained!, 'dir'), 'odd\n'); // a directory replaced by a file
    assert.match(sh(repo.dir, ['ls-tree', second!, 'a.txt']), /^100755 /);
    assert.equal(sh(repo.dir, ['for-each-ref']), refsBefore);
    await assert.rejects(writeCommits(repo.dir, [{ parent: 'f'.repeat(40), tree, message: 'x', date: 0 }]), /fast-import/);
    assert.deepEqual(fs.readdirSync(path.join(repo.dir, '.git')).filter((n) => n.startsWith('fast_import_crash')), []);
  });

  it('diffs many tree pairs in one process, in order, including pairs that do not differ', async () => {
    repo = makeRepo({ 'a.txt': 'one\n' });
    const t0 = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    const t1 = await treeFromFiles(repo.dir, t0, [{ path: 'a.txt', content: 'two\n' }, { path: 'b c.txt', content: 'b\n' }]);
    const [d1, same, d2] = await changedEntriesBatch(repo.dir, [{ from: t0, to: t1 }, { from: t0, to: t0 }, { from: t1, to: t0 }]);
    assert.deepEqual(d1!.paths, ['a.txt', 'b c.txt']);
    assert.deepEqual(same!.paths, []);
    assert.deepEqual(d2!.paths, ['a.txt', 'b c.txt']);
    assert.match(d2!.raw, /\0:100644 000000 [0-9a-f]+ 0+ D\0b c\.txt\0$/);
  });

  it('returns a patch as changes over its base, from a cached base index', async () => {
    repo = makeRepo({ 'a.txt': 'one\n', 'gone.txt': 'x\n' });
    const templates = new IndexTemplates(repo.dir);
    try {
      const patch = filePatch('a.txt', 'one\n', 'two\n') + filePatch('gone.txt', 'x\n', null) + filePatch('new.txt', null, 'n\n');
      const changes = await patchChanges(repo.dir, repo.head(), patch, { templates });
      assert.deepEqual(changes.map((c) => `${c.path}:${c.mode}`), ['a.txt:100644', 'gone.txt:null', 'new.txt:100644']);
      const again = await patchChanges(repo.dir, repo.head(), filePatch('a.txt', 'one\n', 'three\n'), { templates });
      assert.equal(again.length, 1);
      await assert.rejects(patchChanges(repo.dir, repo.head(), filePatch('a.txt', 'nope\n', 'x\n'), { templates }), (e: unknown) => isEngineError(e, 'patch/does-not-apply'));
    } finally {
      await templates.dispose();
    }
  });
});
