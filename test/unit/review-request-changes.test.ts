import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunnablePlan } from '../../src/engine/api';
import { harnessPrompt } from '../../src/engine/agents/harness';
import { EngineError } from '../../src/engine/errors';
import type { ChatRequest } from '../../src/engine/providers/types';
import { BASE_NOTES, EDITED_NOTES, FnModel, finish, lines, proposeOne, reviewSetup } from '../support/review-fixture';

const REVISED = lines(30, (i) => (i === 3 ? 'NOTE THREE (as asked)' : `note ${i}`));

/** The developer answers the first time with three edits; asked for changes, it writes what the comment asks. */
function developer(review = 'fine') {
  return new FnModel((req: ChatRequest) => {
    if (req.tags?.role === 'reviewer') return JSON.stringify({ verdict: 'request_changes', comments: review });
    const prompt = req.messages.map((m) => m.content).join('\n');
    return prompt.includes('only touch line 3')
      ? finish('kept only the edit of line 3, as the comment asked', { 'notes.txt': REVISED })
      : finish('edited three notes', { 'notes.txt': EDITED_NOTES });
  });
}

const promptOf = (m: FnModel, n: number) => m.calls.filter((c) => c.tags?.role !== 'reviewer')[n]!.messages.map((x) => x.content).join('\n');

describe('request changes', () => {
  it('sends line comments to the agent, which makes version 2; the comments are answered and both versions stay readable', async () => {
    const m = developer();
    const { engine } = await reviewSetup(m);
    const { change } = await proposeOne(engine);
    const added = engine.addComment(change.id, { path: 'notes.txt', line: 3, body: 'only touch line 3, please' });
    assert.equal(added.version, 1);
    const res = await engine.requestChanges(change.id, { version: 1, comments: [{ body: 'and say so in the summary' }] });
    assert.equal(res.version, 2);

    const prompt = promptOf(m, 1);
    assert.ok(m.calls.filter((c) => c.tags?.role !== 'reviewer')[1]!.tools?.length, 'the revision runs the default (tool) developer');
    assert.match(prompt, /Changes requested on your previous version \(v1\)/);
    assert.match(prompt, /On notes\.txt line 3 \(`NOTE THREE`\): only touch line 3, please/, 'the line the comment is on is quoted');
    assert.match(prompt, /On the whole change: and say so in the summary/);
    assert.match(prompt, /\+NOTE FIFTEEN/, 'the previous patch is given to redo');

    const c = engine.getChange(change.id)!;
    assert.equal(c.status, 'proposed', 'a new version waits for review');
    assert.equal(c.version, 2);
    assert.equal(c.summary, 'kept only the edit of line 3, as the comment asked');
    assert.equal(await engine.readProposedFile(change.id, 'notes.txt'), REVISED);
    assert.equal(await engine.readVersionFile(change.id, 1, 'notes.txt'), EDITED_NOTES);
    assert.equal(await engine.readVersionFile(change.id, 2, 'notes.txt'), REVISED);
    assert.equal(await engine.readBaseFile(change.id, 'notes.txt'), BASE_NOTES);
    assert.deepEqual(engine.listVersions(change.id).map((v) => [v.version, v.reason ?? null]), [[1, 'changes requested (2 comments)'], [2, null]]);

    const user = engine.listComments(change.id).filter((x) => x.author === 'user');
    assert.deepEqual(user.map((x) => [x.path ?? null, x.line ?? null, x.sentInVersion, x.answeredInVersion, x.answer]), [
      ['notes.txt', 3, 1, 2, c.summary],
      [null, null, 1, 2, c.summary],
    ]);
    // The new version can be approved as usual.
    await engine.approveChange(change.id, { version: 2 });
    assert.equal(engine.getChange(change.id)!.status, 'queued');
  });

  it("shows the reviewer agent's comments as a comment, on the line it names", async () => {
    const { engine } = await reviewSetup(developer('notes.txt:15: shouting is not needed'));
    const { change } = await proposeOne(engine);
    const [reviewer] = engine.listComments(change.id);
    assert.equal(reviewer!.author, 'reviewer');
    assert.equal(reviewer!.path, 'notes.txt');
    assert.equal(reviewer!.line, 15);
    assert.match(reviewer!.body, /The reviewer requests changes: notes\.txt:15: shouting/);
  });

  it('keeps the comments unsent and the change as it was when the agent fails', async () => {
    let fail = false;
    const m = new FnModel((req) => {
      if (req.tags?.role === 'reviewer') return JSON.stringify({ verdict: 'approve', comments: '' });
      if (fail) return finish('nothing to do', {});
      return finish('edited three notes', { 'notes.txt': EDITED_NOTES });
    });
    const { engine } = await reviewSetup(m);
    const { change } = await proposeOne(engine);
    fail = true;
    await assert.rejects(engine.requestChanges(change.id, { comments: [{ path: 'notes.txt', line: 15, body: 'why?' }] }), (e) => EngineError.is(e, 'agent/model-output'));
    const c = engine.getChange(change.id)!;
    assert.equal(c.version, 1);
    assert.equal(c.status, 'proposed');
    const [comment] = engine.listComments(change.id);
    assert.equal(comment!.body, 'why?');
    assert.equal(comment!.sentInVersion, undefined, 'a retry sends it again');
  });

  it('refuses bad input before anything is sent', async () => {
    const { engine } = await reviewSetup(developer());
    const { change } = await proposeOne(engine);
    await assert.rejects(engine.requestChanges(change.id, {}), (e) => EngineError.is(e, 'usage/empty-comment'));
    assert.throws(() => engine.addComment(change.id, { body: '  ' }), (e) => EngineError.is(e, 'usage/empty-comment'));
    assert.throws(() => engine.addComment(change.id, { path: 'other.txt', line: 1, body: 'x' }), (e) => EngineError.is(e, 'usage/bad-state'));
    assert.throws(() => engine.addComment(change.id, { line: 1, body: 'x' }), (e) => EngineError.is(e, 'usage/bad-state'));
    await assert.rejects(engine.requestChanges(change.id, { version: 2, comments: [{ body: 'x' }] }), (e) => EngineError.is(e, 'usage/bad-state'));
    assert.equal(engine.listComments(change.id).filter((c) => c.author === 'user').length, 0);
    await engine.rejectChange(change.id);
    await assert.rejects(engine.requestChanges(change.id, { comments: [{ body: 'x' }] }), (e) => EngineError.is(e, 'usage/bad-state'));
    assert.throws(() => engine.addComment(change.id, { body: 'x' }), (e) => EngineError.is(e, 'usage/bad-state'), 'a comment on a settled change could never be sent');
  });

  it("sends the comments to a configured agent through its harness prompt", async () => {
    const agent = `if grep -q 'only touch line 3' {promptFile}; then sed -i 's/^note 3$/NOTE THREE (agent)/' notes.txt; else sed -i 's/^note 3$/NOTE THREE/; s/^note 15$/NOTE FIFTEEN/' notes.txt; fi; echo done`;
    const m = new FnModel(() => JSON.stringify({ verdict: 'approve', comments: '' }));
    const { engine } = await reviewSetup(m, { agents: { sh: { command: agent } } });
    const plan: RunnablePlan = {
      goal: 'g', rationale: '', confidence: 1, questions: [], assumptions: [],
      tasks: [{ id: 't1', title: 'Edit', type: 'code_gen', prompt: 'edit notes.txt', acceptanceCriteria: [], dependsOn: [], files: ['notes.txt'], agent: 'sh' }],
    };
    const { runId, done } = await engine.startRun(plan);
    await done;
    const [change] = engine.listChanges({ runId });
    assert.match(change!.patch, /NOTE FIFTEEN/);
    await engine.requestChanges(change!.id, { comments: [{ path: 'notes.txt', line: 3, body: 'only touch line 3' }] });
    assert.equal(await engine.readProposedFile(change!.id, 'notes.txt'), lines(30, (i) => (i === 3 ? 'NOTE THREE (agent)' : `note ${i}`)));
  });

  it('adds the feedback to the harness prompt and leaves it as it was without feedback', () => {
    const task = { runId: 'r', id: 't1', title: 'T', type: 'code_gen' as const, prompt: 'do it', acceptanceCriteria: [], dependsOn: [], files: [] };
    const plain = harnessPrompt(task, []);
    assert.doesNotMatch(plain, /Changes requested/);
    const withFeedback = harnessPrompt({ ...task, feedback: { version: 3, previousPatch: 'diff --git a/x b/x\n', comments: [{ path: 'x', line: 2, lineText: 'y', body: 'fix y' }] } }, []);
    assert.ok(withFeedback.startsWith(plain.slice(0, plain.indexOf('Work in the current directory'))), 'additive: the prompt before it is unchanged');
    assert.match(withFeedback, /Changes requested on your previous version \(v3\)[\s\S]*On x line 2 \(`y`\): fix y[\s\S]*diff --git a\/x b\/x/);
  });
});
