import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ChangeView, CheckOutputView, QueueEntryView, QueueState } from '../../src/engine/api';
import type { EngineEvent } from '../../src/engine/events';
import { changeItem, queueItem, SectionIds, sectionItem } from '../../src/extension/viewmodel/approvals';
import { CHECK_SCHEME, checkOutputPath, formatCheckOutput, parseCheckOutputPath } from '../../src/extension/viewmodel/checkOutput';
import { reactTo } from '../../src/extension/viewmodel/events';
import { targetOf } from '../../src/extension/viewmodel/nodes';

const root = path.resolve(__dirname, '../..');
const menus = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).contributes.menus as Record<string, Array<{ command: string; when?: string; group?: string }>>;

function entry(state: QueueState, extra: Partial<QueueEntryView> = {}): QueueEntryView {
  return { id: 'q1', changeId: 'c1', runId: 'r1', taskId: 't1', kind: 'land', state, attempts: 1, conflictPaths: [], updatedAt: 1, ...extra };
}

function change(extra: Partial<ChangeView> = {}): ChangeView {
  return {
    id: 'c1', runId: 'r1', taskId: 't1', taskTitle: 'Edit README', baseCommit: 'abc', patch: '', files: ['README.md'], excludedFiles: [],
    summary: '', costUsd: 0, needsExplicitApproval: false, explicitApprovalReasons: [], version: 1, policy: [], status: 'proposed', ...extra,
  };
}

/** The context-menu entries of the approvals view whose `when` matches a row's contextValue. */
function contextCommands(contextValue: string): string[] {
  const out: string[] = [];
  for (const e of menus['view/item/context']) {
    const m = /^view == hyperion\.approvals && viewItem =~ \/(.+)\/$/.exec(e.when ?? '');
    if (m && !e.group?.startsWith('inline') && new RegExp(m[1]).test(contextValue)) out.push(e.command);
  }
  return out;
}

const check: CheckOutputView = {
  entryId: 'q1', attempt: 2, command: 'npm test', exitCode: 1, timedOut: false,
  output: 'TAP version 13\nnot ok 1 - greets\n  ---\n  expected: Hello\n# fail 1\n# duration_ms 1011\n', truncated: false,
  failingLines: ['not ok 1 - greets', 'expected: Hello'],
};

describe('queue rows (A4, A6, A7)', () => {
  it('offers Retry in the right-click menu of blocked, failed, conflicted and quarantined entries, and not of others', () => {
    for (const s of ['blocked', 'failed', 'conflicted', 'quarantined'] as const) {
      assert.ok(contextCommands(queueItem(entry(s), 'x').contextValue).includes('hyperion.retryEntry'), `${s} offers Retry`);
    }
    for (const s of ['queued', 'checking', 'landing', 'merged'] as const) {
      assert.ok(!contextCommands(queueItem(entry(s), 'x').contextValue).includes('hyperion.retryEntry'), `${s} has no Retry`);
    }
  });

  it('never leaves the right-click menu of a blocked entry empty', () => {
    assert.ok(contextCommands(queueItem(entry('blocked'), 'x').contextValue).length >= 2);
  });

  it("shows the engine's reason in the description and the tooltip, in its own words (unsaved is not uncommitted)", () => {
    const item = queueItem(entry('blocked', { reason: 'blocked: README.md has unsaved edits', lastError: 'waiting for uncommitted changes' }), 'Edit README');
    assert.equal(item.description, 'blocked · README.md has unsaved edits');
    assert.doesNotMatch(item.description!, /uncommitted/);
    assert.match(item.tooltip!, /Reason: blocked: README\.md has unsaved edits/);
    const waiting = queueItem(entry('queued', { reason: 'waiting for t1' }), 'x');
    assert.match(waiting.description!, /waiting for t1/);
  });

  it('keeps a whole test name in the description, not the first 60 characters', () => {
    const reason = 'check command failed (exit 1): not ok 1 - usage page names greet() in its first example';
    assert.ok(queueItem(entry('failed', { reason }), 'x').description!.endsWith(reason));
  });

  it('shows the first failing line of the check, not the tail of its output, and offers Show Check Output', () => {
    const item = queueItem(entry('failed', { hasCheckOutput: true, reason: '# duration_ms 1011', lastError: '# duration_ms 1011' }), { title: 'x', check });
    assert.match(item.description!, /not ok 1 - greets/);
    assert.doesNotMatch(item.description!, /duration_ms/);
    assert.match(item.tooltip!, /Check failed at:\n {2}not ok 1 - greets\n {2}expected: Hello/);
    assert.ok(contextCommands(item.contextValue).includes('hyperion.showCheckOutput'));
    assert.ok(!contextCommands(queueItem(entry('failed'), 'x').contextValue).includes('hyperion.showCheckOutput'), 'no output, no command');
  });

  it('says a regenerated change was re-approved automatically under approve-all, with its version', () => {
    const auto = queueItem(entry('queued'), { title: 'x', version: 2, autoApprove: true });
    assert.match(auto.description!, /\bv2\b/);
    assert.match(auto.tooltip!, /re-approved automatically after regeneration \(v2\)/i);
    const manual = queueItem(entry('queued'), { title: 'x', version: 2, autoApprove: false });
    assert.doesNotMatch(manual.tooltip!, /automatically/);
    assert.doesNotMatch(queueItem(entry('queued'), { title: 'x', version: 1 }).description!, /\bv1\b/);
  });

  it('reads the entry id from a queue row for Retry and Show Check Output', () => {
    assert.equal(targetOf({ kind: 'queue', entryId: 'q7', changeId: 'c', runId: 'r', taskId: 't' }).entryId, 'q7');
  });
});

describe('changes waiting for review (A5, A7)', () => {
  it('marks a regenerated change "v2" as a new tree item, so the new diff is what opens', () => {
    const v1 = changeItem(change());
    const v2 = changeItem(change({ version: 2 }));
    assert.match(v2.description!, /^v2 · /);
    assert.match(v2.tooltip!, /Regenerated after a conflict \(v2\)/);
    assert.notEqual(v1.id, v2.id);
    assert.doesNotMatch(v1.description!, /v1/);
  });

  it('shows the change\'s own check: short on the row, its whole line in the tooltip', () => {
    const verification = { command: "if [ -e '/tmp/x/check-fails' ]; then echo 'TAP version 13'; exit 1; fi; npm test", passed: true, exitCode: 0, timedOut: false, counts: { passed: 14, failed: 0, total: 14 }, failingLines: [], durationMs: 900 };
    const item = changeItem(change({ verification }));
    assert.match(item.description!, / · tests passed 14\/14 · /);
    assert.match(item.tooltip!, /\ntests passed in the task's worktree: 14\/14 \(if \[ -e '\/tmp\/x\/check-fails' \]; then echo 'TAP version 13';…\)$/m, 'a long check is cut to its start');
    assert.doesNotMatch(changeItem(change()).tooltip!, /task's worktree/, 'no check, no line');
  });

  it('says which rule asked for an explicit approval', () => {
    const item = changeItem(change({ needsExplicitApproval: true, explicitApprovalReasons: ['package.json: a lifecycle script (postinstall) runs code on install'] }));
    assert.match(item.tooltip!, /Needs explicit approval[^\n]*because:\npackage\.json: a lifecycle script \(postinstall\) runs code on install/);
  });
});

describe('approvals sections (E)', () => {
  it('gives a section a new id each time it gains items, so VS Code shows it expanded again', () => {
    const ids = new SectionIds();
    const first = ids.next('review', 0);
    const gained = ids.next('review', 2);
    assert.notEqual(gained, first);
    assert.equal(ids.next('review', 2), gained, 'no change, same id: the user keeps what they folded');
    assert.equal(ids.next('review', 1), gained, 'shrinking keeps the id');
    assert.notEqual(ids.next('review', 3), gained, 'a new item gets a new id');
    assert.equal(sectionItem('review', 3, 'section:review:7').id, 'section:review:7');
    assert.equal(sectionItem('review', 3).collapsible, 'expanded');
  });
});

describe('engine events (A5, A6)', () => {
  const lookup = { taskTitle: (id: string | undefined) => (id === 'c1' ? 'Edit README' : undefined) };
  const ev = (e: Partial<EngineEvent>): EngineEvent => ({ at: 1, actor: 'queue', kind: 'queue/state', ...e });

  it('notifies that a regenerated change waits for review again, naming the task and the version', () => {
    const r = reactTo(ev({ kind: 'change/state', subjectId: 'c1', from: 'queued', to: 'proposed', data: { regenerated: true, version: 2 } }), lookup);
    const note = r.find((x) => x.kind === 'regenerated');
    assert.ok(note && note.kind === 'regenerated');
    assert.equal(note.changeId, 'c1');
    assert.equal(note.message, 'The change for "Edit README" was regenerated after a conflict (v2); review the new diff.');
    assert.deepEqual(reactTo(ev({ kind: 'change/state', subjectId: 'c1', to: 'proposed' }), lookup), [], 'a first proposal is not a regeneration');
  });

  it('logs every landing failure with its reason: failed, quarantined, conflicted, blocked', () => {
    for (const to of ['failed', 'quarantined', 'conflicted', 'blocked']) {
      const r = reactTo(ev({ subjectId: 'q1', from: 'checking', to, reason: 'not ok 1 - greets', data: { changeId: 'c1' } }), lookup);
      assert.equal(r.length, 1, to);
      assert.equal(r[0].kind, 'log');
      if (r[0].kind === 'log') {
        assert.match(r[0].message, /Edit README/);
        assert.match(r[0].message, /not ok 1 - greets/);
        assert.equal(r[0].level, to === 'failed' || to === 'quarantined' ? 'error' : 'warn');
      }
    }
    assert.deepEqual(reactTo(ev({ subjectId: 'q1', to: 'merged' }), lookup), []);
  });
});

describe('check output document (A6)', () => {
  it('round-trips its URI path and has a .log name so VS Code uses the log language', () => {
    assert.equal(CHECK_SCHEME, 'hyperion-check');
    const p = checkOutputPath('qe_1/x');
    assert.match(p, /\.log$/);
    assert.deepEqual(parseCheckOutputPath(p), { entryId: 'qe_1/x' });
    assert.equal(parseCheckOutputPath('/a/b/c.log'), undefined);
  });

  it('says which command ran, how it ended and what failed, then the full output', () => {
    const text = formatCheckOutput({ ...check, truncated: true }, 'Edit README');
    assert.match(text, /# Command: npm test/);
    assert.match(text, /# Result: failed \(exit code 1\)/);
    assert.match(text, /# What failed:\n# {3}not ok 1 - greets/);
    assert.match(text, /only its beginning and its end/);
    assert.ok(text.endsWith(check.output));
    assert.match(formatCheckOutput({ ...check, timedOut: true, exitCode: null }), /# Result: timed out/);
  });
});
