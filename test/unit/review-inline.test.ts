import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approvalHash } from '../../src/engine/changes/lifecycle';
import { EngineError } from '../../src/engine/errors';
import { gitOut } from '../support/cli';
import { BASE_NOTES, EDITED_NOTES, FnModel, finish, lines, proposeOne, reviewSetup } from '../support/review-fixture';

const model = () => new FnModel((req) =>
  req.tags?.role === 'reviewer' ? JSON.stringify({ verdict: 'approve', comments: 'fine' }) : finish('edited three notes', { 'notes.txt': EDITED_NOTES }));

describe('inline review: accepting some hunks', () => {
  it('lands exactly the accepted hunks as a new version, approved and bound to its patch', async () => {
    const { repo, engine } = await reviewSetup(model());
    const { runId, change } = await proposeOne(engine);
    const hunks = engine.listHunks(change.id);
    assert.deepEqual(hunks.map((h) => [h.path, h.index, h.wholeFile]), [['notes.txt', 0, false], ['notes.txt', 1, false], ['notes.txt', 2, false]]);
    assert.ok(hunks[1]!.lines.includes('+NOTE FIFTEEN'));

    const res = await engine.acceptHunks(change.id, { hunks: [{ path: 'notes.txt', index: 0 }, { path: 'notes.txt', index: 2 }], version: 1 });
    assert.equal(res.version, 2);
    const v2 = engine.getChange(change.id)!;
    assert.equal(v2.status, 'queued');
    assert.equal(v2.version, 2);
    assert.equal(v2.partlyAccepted, true);
    assert.equal(v2.approvedPatchHash, approvalHash(v2.patch), 'the approval is bound to the sub-patch');
    assert.equal(engine.getRun(runId)!.tasks[0]!.partlyAccepted, true);

    // The rejected hunk is kept with the version it came from.
    const versions = engine.listVersions(change.id);
    assert.deepEqual(versions.map((v) => [v.version, v.current]), [[1, false], [2, true]]);
    assert.match(versions[0]!.reason ?? '', /accepted 2 of 3 hunks; rejected notes\.txt #2/);
    assert.match(versions[0]!.rejectedPatch ?? '', /\+NOTE FIFTEEN/);
    assert.doesNotMatch(versions[0]!.rejectedPatch ?? '', /NOTE THREE|TWENTY-SEVEN/);
    assert.equal(await engine.readVersionFile(change.id, 1, 'notes.txt'), EDITED_NOTES);

    await engine.runQueue();
    const task = engine.getRun(runId)!.tasks[0]!;
    assert.equal(task.status, 'merged');
    const expected = lines(30, (i) => (i === 3 ? 'NOTE THREE' : i === 27 ? 'NOTE TWENTY-SEVEN' : `note ${i}`));
    assert.equal(gitOut(repo, 'show', `${task.commit}:notes.txt`), expected, 'the landed commit holds exactly the two accepted hunks');
    assert.equal(gitOut(repo, 'show', `${task.commit}~1:notes.txt`), BASE_NOTES);
  });

  it('accepting every hunk is a plain approval of the same version', async () => {
    const { engine } = await reviewSetup(model());
    const { change } = await proposeOne(engine);
    const res = await engine.acceptHunks(change.id, { hunks: [0, 1, 2].map((index) => ({ path: 'notes.txt', index })), version: 1 });
    assert.equal(res.version, 1);
    const c = engine.getChange(change.id)!;
    assert.equal(c.status, 'queued');
    assert.equal(c.partlyAccepted, false);
    assert.equal(c.patch, change.patch);
  });

  it('refuses a stale version, an unknown hunk and an empty choice, and leaves the change as it was', async () => {
    const { engine } = await reviewSetup(model());
    const { change } = await proposeOne(engine);
    await assert.rejects(engine.acceptHunks(change.id, { hunks: [{ path: 'notes.txt', index: 0 }], version: 2 }), (e) => EngineError.is(e, 'usage/bad-state'));
    await assert.rejects(engine.acceptHunks(change.id, { hunks: [{ path: 'notes.txt', index: 3 }], version: 1 }), (e) => EngineError.is(e, 'usage/unknown-hunk'));
    await assert.rejects(engine.acceptHunks(change.id, { hunks: [], version: 1 }), (e) => EngineError.is(e, 'usage/nothing-left'));
    const c = engine.getChange(change.id)!;
    assert.equal(c.status, 'proposed');
    assert.equal(c.version, 1);
    assert.equal(engine.listQueue().length, 0);
    // A partly accepted change cannot be accepted again: it is no longer waiting for review.
    await engine.acceptHunks(change.id, { hunks: [{ path: 'notes.txt', index: 1 }], version: 1 });
    await assert.rejects(engine.acceptHunks(change.id, { hunks: [{ path: 'notes.txt', index: 0 }], version: 2 }), (e) => EngineError.is(e, 'usage/bad-state'));
  });

  it('checks the accepted hunks against the policy again: dropping the protected file no longer needs an explicit approval', async () => {
    const m = new FnModel((req) => req.tags?.role === 'reviewer'
      ? JSON.stringify({ verdict: 'approve', comments: 'ok' })
      : finish('notes and config', { 'notes.txt': EDITED_NOTES, '.hyperion.json': '{}\n' }));
    const { engine } = await reviewSetup(m);
    const { change } = await proposeOne(engine, ['notes.txt', '.hyperion.json']);
    assert.equal(change.needsExplicitApproval, true);
    const units = engine.listHunks(change.id);
    assert.deepEqual(units.find((u) => u.path === '.hyperion.json')?.wholeFile, true);
    await engine.acceptHunks(change.id, { hunks: [{ path: 'notes.txt', index: 0 }], version: 1 });
    const c = engine.getChange(change.id)!;
    assert.equal(c.needsExplicitApproval, false);
    assert.deepEqual(c.files, ['notes.txt']);
  });
});
