import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HunkView, TaskView } from '../../src/engine/api';
import { hunkUnits } from '../../src/engine/changes/hunks';
import { changeUriParts, parseChangeUri } from '../../src/extension/changeUris';
import { commentPlacement, threadExpanded, threadLabel } from '../../src/extension/viewmodel/comments';
import { placeHunks, ReviewSession } from '../../src/extension/viewmodel/inlineReview';
import { taskItem } from '../../src/extension/viewmodel/runs';

// base: l1..l12; the change replaces l2 with two lines, and deletes l10 and l11.
const PATCH = `diff --git a/f.txt b/f.txt
index 1111111..2222222 100644
--- a/f.txt
+++ b/f.txt
@@ -1,5 +1,6 @@
 l1
-l2
+two
+TWO
 l3
 l4
 l5
@@ -7,6 +8,4 @@
 l7
 l8
 l9
-l10
-l11
 l12
diff --git a/new.txt b/new.txt
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new.txt
@@ -0,0 +1,2 @@
+a
+b
`;

function views(): HunkView[] {
  return hunkUnits(PATCH).map((u) => ({
    path: u.path, index: u.index, wholeFile: u.wholeFile, oldStart: u.hunk!.oldStart, oldLines: u.hunk!.oldLines,
    newStart: u.hunk!.newStart, newLines: u.hunk!.newLines, lines: u.hunk!.lines,
  }));
}

describe('inline review view model', () => {
  it('places added lines, removed lines and each hunk lens in the proposed file', () => {
    // The proposed f.txt has 11 lines (+ the empty line after the last newline).
    const placed = placeHunks(views(), 'f.txt', 12);
    assert.deepEqual(placed.map((p) => [p.index, p.anchorLine, p.addedLines, p.removed]), [
      [0, 1, [1, 2], [{ line: 1, texts: ['l2'] }]],
      [1, 10, [], [{ line: 10, texts: ['l10', 'l11'] }]],
    ]);
    assert.deepEqual(placeHunks(views(), 'new.txt', 3).map((p) => [p.anchorLine, p.addedLines, p.wholeFile]), [[0, [0, 1], true]]);
  });

  it('turns per-hunk decisions into one outcome: undecided, approve, reject or the accepted hunks', () => {
    const s = new ReviewSession('ch1', 1, views());
    assert.deepEqual(s.outcome(), { kind: 'undecided', left: [{ path: 'f.txt', index: 0 }, { path: 'f.txt', index: 1 }, { path: 'new.txt', index: 0 }] });
    s.decide('f.txt', 0, 'accept');
    s.decide('f.txt', 1, 'reject');
    s.decide('new.txt', 0, 'accept');
    s.decide('f.txt', 7, 'accept');
    assert.deepEqual(s.outcome(), { kind: 'partial', hunks: [{ path: 'f.txt', index: 0 }, { path: 'new.txt', index: 0 }] });
    assert.deepEqual(s.counts(), { accepted: 2, rejected: 1, total: 3 });
    s.decide('f.txt', 1, undefined);
    assert.equal(s.outcome().kind, 'undecided');
    s.decide('f.txt', 1, 'accept');
    assert.deepEqual(s.outcome(), { kind: 'approve' });
    for (const h of views()) s.decide(h.path, h.index, 'reject');
    assert.deepEqual(s.outcome(), { kind: 'reject' });
  });

  it('steps to the next and previous hunk, wrapping around', () => {
    const placed = placeHunks(views(), 'f.txt', 12);
    assert.equal(ReviewSession.step(placed, 0, 1)?.index, 0);
    assert.equal(ReviewSession.step(placed, 1, 1)?.index, 1);
    assert.equal(ReviewSession.step(placed, 10, 1)?.index, 0, 'wraps to the first');
    assert.equal(ReviewSession.step(placed, 1, -1)?.index, 1, 'wraps to the last');
    assert.equal(ReviewSession.step([], 0, 1), undefined);
  });

  it('places comment threads and says whether the agent answered', () => {
    const change = { files: ['f.txt', 'new.txt'] };
    assert.deepEqual(commentPlacement(change, { path: 'new.txt', line: 2 }), { path: 'new.txt', line: 1, onWholeChange: false });
    assert.deepEqual(commentPlacement(change, {}), { path: 'f.txt', line: 0, onWholeChange: true });
    assert.equal(threadLabel({ author: 'user', line: 3, path: 'f.txt' }, false), 'Comment on line 3 (not sent yet: Request Changes sends it)');
    assert.equal(threadLabel({ author: 'user', sentInVersion: 1, answeredInVersion: 2 }, true), 'Comment on the whole change (answered in v2)');
    assert.equal(threadLabel({ author: 'reviewer', path: 'f.txt' }, false), 'Reviewer agent, on this file');
  });

  it('opens every thread but the approving reviewer\'s note on the whole change', () => {
    assert.equal(threadExpanded({ reviewVerdict: 'approve' }, { author: 'reviewer' }, true), false, 'nothing to act on: collapsed');
    assert.equal(threadExpanded({ reviewVerdict: 'request_changes' }, { author: 'reviewer' }, true), true);
    assert.equal(threadExpanded({ reviewVerdict: 'approve' }, { author: 'reviewer' }, false), true, 'a line the reviewer pointed at is read');
    assert.equal(threadExpanded({ reviewVerdict: 'approve' }, { author: 'user' }, true), true);
    assert.equal(threadExpanded({}, { author: 'reviewer' }, true), true, 'no verdict: shown');
  });

  it('addresses a file as a given version left it, for the diff between versions', () => {
    const parts = changeUriParts('proposed', 'ch1', 'src/a.ts', 3, 1);
    assert.deepEqual(parseChangeUri(parts), { side: 'proposed', changeId: 'ch1', file: 'src/a.ts', version: 3, at: 1 });
    assert.equal(parseChangeUri(changeUriParts('proposed', 'ch1', 'src/a.ts', 3))?.at, undefined);
  });

  it('shows a partly accepted task as such', () => {
    const task: TaskView = {
      id: 't1', title: 'T', type: 'code_gen', prompt: '', acceptanceCriteria: [], dependsOn: [], files: [],
      runId: 'r', status: 'approved', attempts: 1, costUsd: 0, changeId: 'ch1', partlyAccepted: true,
    };
    assert.match(taskItem(task).description!, /^t1 · approved \(partly accepted\)/);
    assert.doesNotMatch(taskItem({ ...task, partlyAccepted: undefined }).description!, /partly/);
  });
});
