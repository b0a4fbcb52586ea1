import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Engine, RunnablePlan } from '../../src/engine/api';
import { EngineConfig } from '../../src/engine/config';
import { createEngine } from '../../src/engine/engine';
import { EngineError } from '../../src/engine/errors';
import type { EngineEvent } from '../../src/engine/events';
import { silentLogger } from '../../src/engine/ports';
import type { ChatProvider, ChatRequest, ChatResponse } from '../../src/engine/providers/types';
import { createRun } from '../../src/engine/runs/runs';
import { openDb } from '../../src/engine/store/db';
import { stateDirFor } from '../../src/engine/store/location';
import { gitOut, makeSampleRepo } from '../support/cli';
import { answerFor } from '../support/tool-answers';

/** The model for these tests: answers per task from a table; it IS the model, the SDKs are tested elsewhere. */
class TableModel implements ChatProvider {
  readonly kind = 'recorded' as const;
  readonly calls: ChatRequest[] = [];
  constructor(private readonly answer: (req: ChatRequest) => string | Error) {}
  async chat(req: ChatRequest): Promise<ChatResponse> {
    this.calls.push(req);
    const a = this.answer(req);
    if (a instanceof Error) throw a;
    return { ...answerFor(req, a), usage: { inputTokens: 10, outputTokens: 10 }, model: 'table', provider: 'recorded' };
  }
}

const finish = (files: Record<string, string>) =>
  JSON.stringify({ action: 'finish', summary: `wrote ${Object.keys(files).join(', ')}`, files: Object.entries(files).map(([p, content]) => ({ path: p, content })) });

function answersByTask(table: Record<string, string | (() => string | Error)>) {
  return (req: ChatRequest): string | Error => {
    if (req.tags?.role === 'reviewer') return JSON.stringify({ verdict: 'approve', comments: 'fine' });
    const a = table[req.tags?.taskId ?? ''];
    if (a === undefined) return new Error(`no answer for ${req.tags?.taskId}`);
    return typeof a === 'function' ? a() : a;
  };
}

const repos: string[] = [];
const engines: Engine[] = [];
after(async () => {
  for (const e of engines) await e.dispose().catch(() => undefined);
  for (const r of repos) fs.rmSync(r, { recursive: true, force: true });
});

async function setup(model: TableModel, extra: Partial<EngineConfig> = {}, opts: { resumeRuns?: boolean; repo?: string } = {}) {
  const repo = opts.repo ?? makeSampleRepo();
  if (!opts.repo) repos.push(repo);
  const config = EngineConfig.parse({ routes: { default: [{ provider: 'recorded', model: 'table' }] }, maxRetries: 0, ...extra });
  const engine = await createEngine({ repo, config, ports: { log: silentLogger, secrets: { get: async () => undefined } }, providerOverrides: { recorded: model }, resumeRuns: opts.resumeRuns });
  engines.push(engine);
  return { repo, engine };
}

function plan(tasks: Array<{ id: string; dependsOn?: string[]; files?: string[] }>): RunnablePlan {
  return {
    goal: 'test goal', rationale: '', confidence: 1, questions: [], assumptions: [],
    tasks: tasks.map((t) => ({ id: t.id, title: `Task ${t.id}`, type: 'code_gen', prompt: `do ${t.id}`, acceptanceCriteria: [], dependsOn: t.dependsOn ?? [], files: t.files ?? [] })),
  };
}

async function runToEnd(engine: Engine, p: RunnablePlan, approve: 'none' | 'all' = 'none') {
  const { runId, done } = await engine.startRun(p, { approve });
  await done;
  return runId;
}

describe('engine', () => {
  it('approving a change without one of its files lands the rest', async () => {
    const { repo, engine } = await setup(new TableModel(answersByTask({ t1: finish({ 'a.txt': 'A\n', 'b.txt': 'B\n' }) })));
    const runId = await runToEnd(engine, plan([{ id: 't1' }]));
    const [change] = engine.listChanges({ runId });
    assert.deepEqual(change.files.sort(), ['a.txt', 'b.txt']);
    assert.equal(await engine.readBaseFile(change.id, 'a.txt'), undefined, 'a.txt does not exist at the base');
    assert.equal(await engine.readProposedFile(change.id, 'a.txt'), 'A\n');
    assert.equal(await engine.readBaseFile(change.id, 'README.md'), fs.readFileSync(path.join(repo, 'README.md'), 'utf8'));
    await engine.approveChange(change.id, { excludeFiles: ['b.txt'] });
    await engine.runQueue();
    assert.equal(gitOut(repo, 'show', 'HEAD:a.txt'), 'A\n');
    assert.throws(() => gitOut(repo, 'show', 'HEAD:b.txt'));
    assert.equal(engine.getRun(runId)!.tasks[0].status, 'merged');
    assert.equal(engine.queueSummary().merged, 1);
  });

  it('refuses to approve a change with every file excluded', async () => {
    const { engine } = await setup(new TableModel(answersByTask({ t1: finish({ 'a.txt': 'A\n' }) })));
    const runId = await runToEnd(engine, plan([{ id: 't1' }]));
    const [change] = engine.listChanges({ runId });
    await assert.rejects(engine.approveChange(change.id, { excludeFiles: ['a.txt'] }), (e: EngineError) => e.code === 'usage/nothing-left');
    assert.equal(engine.getChange(change.id)!.status, 'proposed');
  });

  it('rejecting a change skips its dependents, including ones that already proposed on top of it', async () => {
    const { engine } = await setup(new TableModel(answersByTask({ t1: finish({ 'a.txt': 'A\n' }), t2: finish({ 'b.txt': 'B\n' }), t3: finish({ 'c.txt': 'C\n' }) })));
    const runId = await runToEnd(engine, plan([{ id: 't1' }, { id: 't2', dependsOn: ['t1'] }, { id: 't3' }]));
    const byTask = Object.fromEntries(engine.listChanges({ runId }).map((c) => [c.taskId, c]));
    assert.equal(engine.queueSummary().awaitingReview, 3);
    await engine.rejectChange(byTask.t1.id, 'wrong approach');
    const tasks = Object.fromEntries(engine.getRun(runId)!.tasks.map((t) => [t.id, t]));
    assert.equal(tasks.t1.status, 'rejected');
    assert.equal(tasks.t2.status, 'skipped');
    assert.match(tasks.t2.error!, /dependency t1 was rejected/);
    assert.equal(tasks.t3.status, 'proposed', 'an unrelated task is untouched');
    assert.equal(engine.getChange(byTask.t2.id)!.status, 'superseded');
    await assert.rejects(engine.approveChange(byTask.t2.id), /not waiting for review/);
  });

  it('leaves a protected-path change for explicit approval even when approvals are automatic', async () => {
    const { repo, engine } = await setup(new TableModel(answersByTask({ t1: finish({ '.github/workflows/ci.yml': 'on: push\n' }), t2: finish({ 'ok.txt': 'ok\n' }) })));
    const runId = await runToEnd(engine, plan([{ id: 't1' }, { id: 't2' }]), 'all');
    await engine.runQueue();
    const byTask = Object.fromEntries(engine.listChanges({ runId }).map((c) => [c.taskId, c]));
    assert.equal(byTask.t1.status, 'proposed');
    assert.equal(byTask.t1.needsExplicitApproval, true);
    assert.equal(byTask.t2.status, 'merged');
    await engine.approveChange(byTask.t1.id, { explicit: true });
    await engine.runQueue();
    assert.equal(gitOut(repo, 'show', 'HEAD:.github/workflows/ci.yml'), 'on: push\n');
  });

  it('retries a failed task and then its skipped dependents', async () => {
    let fail = true;
    const { engine } = await setup(
      new TableModel(answersByTask({ t1: () => (fail ? new EngineError('provider/bad-request', 'refused', { details: { transient: false } }) : finish({ 'a.txt': 'A\n' })), t2: finish({ 'b.txt': 'B\n' }) })),
    );
    const runId = await runToEnd(engine, plan([{ id: 't1' }, { id: 't2', dependsOn: ['t1'] }]));
    let tasks = engine.getRun(runId)!.tasks;
    assert.deepEqual(tasks.map((t) => t.status), ['failed', 'skipped']);
    assert.match(tasks[0].error!, /refused/);
    fail = false;
    const events: EngineEvent[] = [];
    const sub = engine.onDidChange((e) => events.push(e));
    await engine.retryTask(runId, 't1');
    for (let i = 0; i < 200 && engine.getRun(runId)!.tasks.some((t) => !['proposed', 'failed', 'skipped'].includes(t.status)); i++) await new Promise((r) => setTimeout(r, 50));
    sub.dispose();
    tasks = engine.getRun(runId)!.tasks;
    assert.deepEqual(tasks.map((t) => t.status), ['proposed', 'proposed']);
    assert.ok(events.some((e) => e.kind === 'task/state' && e.taskId === 't2' && e.to === 'proposed'), 'live events reach listeners');
    await assert.rejects(engine.retryTask(runId, 't1'), /cannot be retried/);
  });

  it('continues a run that a previous process left unfinished when resuming', async () => {
    const repo = makeSampleRepo();
    repos.push(repo);
    const db = await openDb({ dir: await stateDirFor(repo) });
    const base = gitOut(repo, 'rev-parse', 'HEAD').trim();
    const runId = createRun(db, { goal: 'left over', repo, baseCommit: base, targetRef: 'refs/heads/main', plan: plan([{ id: 't1' }]), approve: 'none', clock: { now: () => Date.now() } });
    db.close();
    const model = new TableModel(answersByTask({ t1: finish({ 'z.txt': 'Z\n' }) }));
    const { engine } = await setup(model, {}, { resumeRuns: true, repo });
    for (let i = 0; i < 200 && engine.getRun(runId)!.status === 'running'; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(engine.getRun(runId)!.status, 'awaiting-review');
    assert.equal(engine.getRun(runId)!.tasks[0].status, 'proposed');
    assert.equal(engine.history(100)[0].runId, runId);
  });

  it('cancelRun stops a running run and marks its tasks', async () => {
    const model = new TableModel(() => new Error('unused'));
    model.chat = (req: ChatRequest) =>
      new Promise((_, reject) => req.signal?.addEventListener('abort', () => reject(new EngineError('cancelled', 'aborted')), { once: true }));
    const { engine } = await setup(model);
    const { runId, done } = await engine.startRun(plan([{ id: 't1' }, { id: 't2' }]));
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await engine.cancelRun(runId);
    await done;
    assert.ok(Date.now() - t0 < 5000);
    const run = engine.getRun(runId)!;
    assert.equal(run.status, 'cancelled');
    assert.ok(run.tasks.every((t) => t.status === 'cancelled'), JSON.stringify(run.tasks.map((t) => t.status)));
  });

  it('refuses a folder that is not a git repository with a clear error', async () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'hyperion-nogit-'));
    repos.push(dir);
    await assert.rejects(
      createEngine({ repo: dir, config: EngineConfig.parse({}), ports: { log: silentLogger, secrets: { get: async () => undefined } } }),
      (e: EngineError) => e.code === 'usage/not-a-repo',
    );
  });
});

describe('engine: task status follows the landing', () => {
  it('marks a task failed when its check fails, and merged once a retried landing succeeds', async () => {
    // The developer runs the check in the task's worktree before it finishes, where it passes;
    // the target then moves under the change, and the queue's check fails on the candidate.
    const { repo, engine } = await setup(new TableModel(answersByTask({ t1: finish({ 'a.txt': 'A\n' }) })), { checkCommand: 'test ! -e block-landing' });
    const runId = await runToEnd(engine, plan([{ id: 't1' }]), 'all');
    fs.writeFileSync(path.join(repo, 'block-landing'), '');
    gitOut(repo, 'add', 'block-landing');
    gitOut(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'block');
    await engine.runQueue();
    let task = engine.getRun(runId)!.tasks[0];
    assert.equal(task.status, 'failed');
    assert.match(task.error!, /check/);
    const entry = engine.listQueue().find((e) => e.taskId === 't1')!;
    assert.equal(entry.state, 'failed');
    // The check passes once the file is gone from the candidate tree: remove it on the target.
    gitOut(repo, 'rm', '-q', 'block-landing');
    gitOut(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'unblock');
    await engine.retryEntry(entry.id);
    assert.equal(engine.getRun(runId)!.tasks[0].status, 'approved');
    await engine.runQueue();
    task = engine.getRun(runId)!.tasks[0];
    assert.equal(task.status, 'merged');
    assert.match(task.commit ?? '', /^[0-9a-f]{40}$/);
  });
});

describe('engine: conflicts go back to the agent', () => {
  async function conflicted(regenerated: Record<string, string>) {
    let turn = 0;
    const model = new TableModel(answersByTask({ t1: () => (turn++ === 0 ? finish({ 'README.md': 'agent version\n' }) : finish(regenerated)) }));
    const { repo, engine } = await setup(model);
    const runId = await runToEnd(engine, plan([{ id: 't1' }]));
    // Meanwhile the user commits a conflicting edit of the same lines on the target branch.
    fs.writeFileSync(path.join(repo, 'README.md'), 'user version\n');
    gitOut(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qam', 'user edit');
    const [change] = engine.listChanges({ runId });
    await engine.approveChange(change.id);
    await engine.runQueue();
    return { repo, engine, runId, model, entry: engine.listQueue().find((e) => e.changeId === change.id)! };
  }

  it('sends the regenerated change back to review as v2; the old approval never lands it', async () => {
    const { repo, engine, runId, model, entry } = await conflicted({ 'README.md': 'user version\nagent addition\n' });
    assert.equal(entry.state, 'superseded', entry.lastError);
    const devCalls = model.calls.filter((c) => c.tags?.role !== 'reviewer');
    assert.equal(devCalls.length, 2);
    assert.ok(devCalls.every((c) => c.tools?.some((t) => t.name === 'edit_file')), 'the proposal and the regeneration both ran the default (tool) developer');
    const change = engine.getChange(entry.changeId)!;
    assert.equal(change.status, 'proposed');
    assert.equal(change.version, 2);
    assert.equal(change.approvedPatchHash, undefined, 'the approval of v1 does not carry over');
    assert.match(change.patch, /agent addition/);
    assert.equal(engine.getRun(runId)!.tasks[0].status, 'proposed');
    assert.equal(engine.getRun(runId)!.status, 'awaiting-review');
    assert.equal(gitOut(repo, 'show', 'HEAD:README.md'), 'user version\n', 'nothing landed on the old approval');
    // Approving the version the user reviewed before the regeneration is refused.
    await assert.rejects(engine.approveChange(change.id, { version: 1 }), (e: EngineError) => e.code === 'usage/bad-state' && /regenerated \(now v2\)/.test(e.message));
    await engine.approveChange(change.id, { version: 2 });
    await engine.runQueue();
    const landed = engine.listQueue().filter((e) => e.changeId === change.id);
    assert.deepEqual(landed.map((e) => e.state), ['superseded', 'merged']);
    assert.equal(gitOut(repo, 'show', 'HEAD:README.md'), 'user version\nagent addition\n');
    assert.equal(fs.readFileSync(path.join(repo, 'README.md'), 'utf8'), 'user version\nagent addition\n');
    assert.equal(engine.getRun(runId)!.tasks[0].status, 'merged');
  });

  it('under approve-all re-approves the regenerated change and says so', async () => {
    let turn = 0;
    const model = new TableModel(answersByTask({ t1: () => (turn++ === 0 ? finish({ 'README.md': 'agent version\n' }) : finish({ 'README.md': 'user version\nagent addition\n' })) }));
    const repo = makeSampleRepo();
    repos.push(repo);
    fs.writeFileSync(path.join(repo, 'README.md'), 'user version\n');
    gitOut(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qam', 'user edit');
    // The run's base is the commit before the user's edit, so the agent's first patch conflicts.
    const base = gitOut(repo, 'rev-parse', 'HEAD~1').trim();
    const db = await openDb({ dir: await stateDirFor(repo), log: silentLogger });
    const runId = createRun(db, { goal: 'g', repo, baseCommit: base, plan: plan([{ id: 't1' }]), approve: 'all', clock: { now: () => Date.now() } });
    db.close();
    const engine2 = (await setup(model, {}, { resumeRuns: true, repo })).engine;
    const deadline = Date.now() + 60_000;
    while (!['approved', 'merged'].includes(engine2.getRun(runId)!.tasks[0].status) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await engine2.runQueue();
    await engine2.runQueue();
    const change = engine2.listChanges({ runId })[0]!;
    assert.ok(change, JSON.stringify(engine2.getRun(runId)));
    assert.equal(change.version, 2);
    assert.equal(change.status, 'merged');
    assert.equal(gitOut(repo, 'show', 'HEAD:README.md'), 'user version\nagent addition\n');
    const db2 = await openDb({ dir: await stateDirFor(repo), log: silentLogger });
    const reasons = db2.all<{ reason: string }>("SELECT reason FROM events WHERE kind = 'change/state' AND subject_id = ? AND to_state = 'approved'", [change.id]).map((r) => r.reason);
    db2.close();
    assert.deepEqual(reasons, ['approved automatically (approve all)', 're-approved automatically after regeneration (v2)']);
  });

  it('retries a dependent from what its regenerated dependency actually landed', async () => {
    let t1Turn = 0;
    let t2Turn = 0;
    const model = new TableModel(answersByTask({
      t1: () => (t1Turn++ === 0 ? finish({ 'README.md': 'agent version\n' }) : finish({ 'README.md': 'user version\nagent addition\n' })),
      t2: () => finish({ 'b.txt': `dependent ${++t2Turn}\n` }),
    }));
    const { repo, engine } = await setup(model);
    const runId = await runToEnd(engine, plan([{ id: 't1' }, { id: 't2', dependsOn: ['t1'] }]));
    fs.writeFileSync(path.join(repo, 'README.md'), 'user version\n');
    gitOut(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qam', 'user edit');
    const c1 = engine.listChanges({ runId }).find((c) => c.taskId === 't1')!;
    const c2 = engine.listChanges({ runId }).find((c) => c.taskId === 't2')!;
    await engine.approveChange(c1.id);
    await engine.runQueue();
    assert.equal(engine.getChange(c1.id)!.version, 2, 'the conflict regenerated t1');
    await engine.approveChange(c1.id, { version: 2 });
    await engine.runQueue();
    assert.equal(engine.getChange(c1.id)!.status, 'merged');
    await engine.rejectChange(c2.id, 'try again');
    await engine.retryTask(runId, 't2');
    const deadline = Date.now() + 30_000;
    while (engine.getRun(runId)!.tasks.find((t) => t.id === 't2')!.status !== 'proposed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const t2 = engine.getRun(runId)!.tasks.find((t) => t.id === 't2')!;
    assert.equal(t2.status, 'proposed', t2.error);
    assert.equal(t2Turn, 2, 'the retry asked the agent again');
    const retried = engine.getChange(t2.changeId!)!;
    assert.equal(await engine.readBaseFile(retried.id, 'README.md'), 'user version\nagent addition\n', 'the dependent starts from what t1 landed');
    await engine.approveChange(retried.id);
    await engine.runQueue();
    assert.equal(engine.getChange(retried.id)!.status, 'merged');
    assert.equal(gitOut(repo, 'show', 'HEAD:b.txt'), 'dependent 2\n');
    assert.equal(engine.getRun(runId)!.status, 'done');
  });

  it('never lands a patch that differs from the approved one', async () => {
    const { repo, engine } = await setup(new TableModel(answersByTask({ t1: finish({ 'a.txt': 'A\n' }) })));
    const runId = await runToEnd(engine, plan([{ id: 't1' }]));
    const [change] = engine.listChanges({ runId });
    await engine.approveChange(change.id);
    // Another writer swaps the patch after the approval (a bug, a hostile process).
    const db = await openDb({ dir: await stateDirFor(repo), log: silentLogger });
    db.run('UPDATE change_requests SET patch = ? WHERE id = ?', [change.patch.replace('+A', '+EVIL'), change.id]);
    db.close();
    await engine.runQueue();
    const entry = engine.listQueue().find((e) => e.changeId === change.id)!;
    assert.equal(entry.state, 'failed');
    assert.match(entry.lastError!, /not the one that was approved/);
    assert.throws(() => gitOut(repo, 'show', 'HEAD:a.txt'));
  });

  it('quarantines a regenerated change that newly touches a protected path', async () => {
    const { repo, entry, engine, runId } = await conflicted({ 'README.md': 'user version\nagent addition\n', '.github/workflows/ci.yml': 'on: push\n' });
    assert.equal(entry.state, 'quarantined');
    assert.deepEqual(entry.conflictPaths, ['README.md']);
    assert.throws(() => gitOut(repo, 'show', 'HEAD:.github/workflows/ci.yml'));
    assert.equal(engine.getRun(runId)!.tasks[0].status, 'failed');
  });
});
