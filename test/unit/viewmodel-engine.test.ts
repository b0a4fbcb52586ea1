import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeView, QueueEntryView, TaskView } from '../../src/engine/api';
import type { EngineEvent } from '../../src/engine/events';
import type { Logger } from '../../src/engine/ports';
import { approvalSections, queueItem } from '../../src/extension/viewmodel/approvals';
import { engineLookup, reactTo } from '../../src/extension/viewmodel/events';
import { recheckFor, type Scheduler } from '../../src/extension/viewmodel/recheck';
import { formatStatusBar } from '../../src/extension/viewmodel/statusbar';
import { FakeEngine } from '../support/fakeEngine';

/**
 * The extension's view models over a whole (fake) engine: the views and events the real
 * engine returns by contract, the calls the extension makes back.
 */

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (m: string) => { lines.push(`${level} ${m}`); };
  return { lines, trace: rec('trace'), debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

const manual = (): Scheduler & { fire(): void } => {
  const fns: Array<() => void> = [];
  return { set: (fn) => fns.push(fn), clear: () => { fns.length = 0; }, fire: () => fns.splice(0).forEach((f) => f()) };
};
const settle = () => new Promise((r) => setImmediate(r));

function entry(id: string, state: QueueEntryView['state'], extra: Partial<QueueEntryView> = {}): QueueEntryView {
  return { id, changeId: 'c1', runId: 'r1', taskId: 't1', kind: 'land', state, attempts: 1, conflictPaths: [], updatedAt: 1, ...extra };
}

function change(extra: Partial<ChangeView> = {}): ChangeView {
  return {
    id: 'c1', runId: 'r1', taskId: 't1', taskTitle: 'Edit README', baseCommit: 'abc', patch: '', files: ['README.md'], excludedFiles: [],
    summary: '', costUsd: 0, needsExplicitApproval: false, explicitApprovalReasons: [], version: 1, policy: [], status: 'proposed', ...extra,
  };
}

const task = (id: string, title: string): TaskView => ({
  id, title, type: 'docs', prompt: 'p', acceptanceCriteria: [], dependsOn: [], files: [], runId: 'r1', status: 'approved', attempts: 1, costUsd: 0,
});

describe('blocked entries resume through the engine (A4)', () => {
  it('calls recheckBlocked once for a burst of file events while an entry is blocked, never otherwise', async () => {
    const engine = new FakeEngine();
    const timers = manual();
    const log = recordingLog();
    const r = recheckFor(() => engine, log, timers);
    r.poke();
    timers.fire();
    await settle();
    assert.deepEqual(engine.calls, [], 'nothing blocked: no re-check');
    engine.queue = [entry('q1', 'blocked', { reason: 'blocked: README.md has uncommitted changes' })];
    r.poke();
    r.poke();
    timers.fire();
    await settle();
    assert.deepEqual(engine.calls, ['recheckBlocked()']);
    assert.ok(log.lines.some((l) => l.startsWith('info re-checking blocked')));
    r.dispose();
  });

  it('does nothing before the engine is open', async () => {
    const timers = manual();
    const r = recheckFor(() => undefined, recordingLog(), timers);
    r.poke();
    timers.fire();
    await settle();
    assert.equal(r.calls, 0);
  });
});

describe('engine events through the fake engine (A5, A6)', () => {
  it('names the task of a regenerated change and of a failed landing from the engine', () => {
    const engine = new FakeEngine();
    engine.changes = [change({ version: 2 })];
    engine.runs = [{ id: 'r1', goal: 'g', status: 'awaiting-review', costUsd: 0, createdAt: 0, tasks: [task('t9', 'Write the docs')] }];
    const seen: EngineEvent[] = [];
    const sub = engine.onDidChange((e) => seen.push(e));
    engine.emit({ kind: 'change/state', subjectId: 'c1', runId: 'r1', taskId: 't1', to: 'proposed', data: { regenerated: true, version: 2 } });
    engine.emit({ kind: 'queue/state', subjectId: 'q2', runId: 'r1', taskId: 't9', from: 'checking', to: 'failed', reason: 'not ok 3 - docs build', data: {} });
    sub.dispose();
    const out = seen.flatMap((e) => reactTo(e, engineLookup(engine)));
    assert.equal(out[0].kind, 'regenerated');
    assert.match(out[0].kind === 'regenerated' ? out[0].message : '', /"Edit README" was regenerated after a conflict \(v2\)/);
    const failed = out.find((x) => x.kind === 'log' && x.level === 'error');
    assert.ok(failed && failed.kind === 'log');
    assert.equal(failed.message, 'landing "Write the docs" failed: not ok 3 - docs build');
  });
});

describe('a regenerated change under approve-all (A5)', () => {
  it('says it was re-approved automatically when policy allows, and asks for review when it does not', () => {
    const engine = new FakeEngine();
    engine.changes = [change({ version: 2 }), change({ id: 'c2', version: 3, needsExplicitApproval: true, explicitApprovalReasons: ['.husky/pre-commit: runs on commit'] })];
    const regen = (id: string, version: number): EngineEvent => ({ at: 0, actor: 'queue', kind: 'change/state', subjectId: id, to: 'proposed', data: { regenerated: true, version } });
    const msg = (id: string, v: number, auto: boolean) => {
      const r = reactTo(regen(id, v), engineLookup(engine, auto))[0];
      return r.kind === 'regenerated' ? r.message : '';
    };
    assert.match(msg('c1', 2, true), /\(v2\) and re-approved automatically/);
    assert.match(msg('c2', 3, true), /\(v3\); review the new diff/, 'explicit approval: never re-approved by policy');
    assert.match(msg('c1', 2, false), /review the new diff/);
  });
});

describe('queue rows and the status bar from one engine state (A6, A7)', () => {
  it('shows the failing line from the stored check output and counts the entry as failed', () => {
    const engine = new FakeEngine();
    engine.changes = [change({ status: 'failed' })];
    engine.queue = [entry('q1', 'failed', { hasCheckOutput: true, reason: 'not ok 1 - greets' }), entry('q2', 'blocked', { reason: 'blocked: README.md has unsaved edits' })];
    engine.checkOutputs.set('q1', { entryId: 'q1', attempt: 1, command: 'npm test', exitCode: 1, timedOut: false, output: 'x', truncated: false, failingLines: ['not ok 1 - greets'] });
    const s = approvalSections({ changes: engine.listChanges({ status: 'proposed' }), queue: engine.listQueue() });
    assert.deepEqual(s.queue.map((e) => e.id), ['q2'], 'blocked is still in the queue');
    assert.deepEqual(s.recent.map((e) => e.id), ['q1']);
    const row = queueItem(s.recent[0], { title: engine.getChange('c1')?.taskTitle, check: engine.getCheckOutput('q1') });
    assert.equal(row.description, 'failed · not ok 1 - greets');
    const bar = formatStatusBar(engine.queueSummary());
    assert.equal(bar.needsAttention, true);
    assert.match(bar.tooltip, /1 failed\n1 blocked/);
  });
});
