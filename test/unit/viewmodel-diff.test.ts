import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changeUriParts, parseChangeUri, parseChangeUriPath } from '../../src/extension/changeUris';
import { changeDiffResources } from '../../src/extension/viewmodel/diffResources';
import { targetOf } from '../../src/extension/viewmodel/nodes';

const PATCH = [
  'diff --git a/src/new.js b/src/new.js',
  'new file mode 100644',
  'index 0000000..e69de29',
  '--- /dev/null',
  '+++ b/src/new.js',
  '@@ -0,0 +1 @@',
  '+hello',
  'diff --git a/README.md b/README.md',
  'index 1111111..2222222 100644',
  '--- a/README.md',
  '+++ b/README.md',
  '@@ -1 +1 @@',
  '-# old',
  '+# new',
  'diff --git a/old.txt b/old.txt',
  'deleted file mode 100644',
  'index 3333333..0000000',
  '--- a/old.txt',
  '+++ /dev/null',
  '@@ -1 +0,0 @@',
  '-bye',
  'diff --git a/a.txt b/b.txt',
  'similarity index 100%',
  'rename from a.txt',
  'rename to b.txt',
  '',
].join('\n');

describe('the changes editor (E)', () => {
  const change = { id: 'ch_1', patch: PATCH, files: ['src/new.js', 'README.md', 'old.txt', 'a.txt', 'b.txt'], version: 1 };

  it('shows added, modified, deleted and renamed files as such, with no side for a file that does not exist there', () => {
    const r = changeDiffResources(change);
    assert.deepEqual(r.map((x) => [x.path, x.status]), [['src/new.js', 'added'], ['README.md', 'modified'], ['old.txt', 'deleted'], ['b.txt', 'renamed']]);
    const added = r[0];
    assert.equal(added.original, undefined, 'an added file has no left side');
    assert.deepEqual(added.modified, { side: 'proposed', changeId: 'ch_1', file: 'src/new.js' });
    assert.equal(r[2].modified, undefined, 'a deleted file has no right side');
    assert.equal(r[3].original?.file, 'a.txt');
  });

  it('gives both sides of a modified file the real repository path, so it is not shown as a rename', () => {
    const [, modified] = changeDiffResources(change);
    const left = changeUriParts(modified.original!.side, 'ch_1', modified.original!.file);
    const right = changeUriParts(modified.modified!.side, 'ch_1', modified.modified!.file);
    assert.equal(left.path, '/README.md');
    assert.equal(left.path, right.path, 'VS Code marks "R" when the two paths differ');
    assert.notEqual(left.query, right.query);
    assert.doesNotMatch(left.path + right.path, /proposed|ch_/);
  });

  it('limits to one file (by old or new name) and falls back to the file list for a patch it cannot read', () => {
    assert.deepEqual(changeDiffResources(change, ['a.txt']).map((x) => x.path), ['b.txt']);
    const fallback = changeDiffResources({ id: 'c', patch: 'not a patch', files: ['x.ts'], version: 1 });
    assert.deepEqual(fallback.map((x) => [x.path, x.status]), [['x.ts', 'modified']]);
  });

  it('gives a regenerated change new documents (its version is in the URI), so the new patch shows', () => {
    const v2 = changeDiffResources({ ...change, version: 2 })[1];
    assert.equal(v2.modified?.version, 2);
    const p = changeUriParts('proposed', 'ch_1', 'README.md', 2);
    assert.notEqual(p.query, changeUriParts('proposed', 'ch_1', 'README.md').query);
    assert.deepEqual(parseChangeUri(p), { side: 'proposed', changeId: 'ch_1', file: 'README.md', version: 2 });
  });
});

describe('change document URIs', () => {
  it('round-trips, refuses dot segments and still reads the older path form of restored editors', () => {
    const p = changeUriParts('base', 'ch 1', 'src/dir/a b.ts');
    assert.deepEqual(parseChangeUri(p), { side: 'base', changeId: 'ch 1', file: 'src/dir/a b.ts' });
    assert.equal(parseChangeUri({ path: '/../etc/passwd', query: 'change=c&side=base' }), undefined);
    assert.equal(parseChangeUri({ path: '/a.ts', query: 'change=c&side=other' }), undefined);
    assert.deepEqual(parseChangeUri({ path: '/proposed/c3/src/a.ts' }), { side: 'proposed', changeId: 'c3', file: 'src/a.ts' });
    assert.equal(parseChangeUriPath('/proposed/c1/../../etc/passwd'), undefined);
  });

  it('lets the diff title buttons find the change from the document URI', () => {
    const { path, query } = changeUriParts('proposed', 'c3', 'src/a.ts');
    assert.deepEqual(targetOf({ scheme: 'hyperion', path, query }), { changeId: 'c3', path: 'src/a.ts' });
  });
});
