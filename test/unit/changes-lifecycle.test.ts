import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import type { Engine, RunnablePlan } from '../../src/engine/api';
import { EngineConfig } from '../../src/engine/config';
import { createEngine } from '../../src/engine/engine';
import { EngineError } from '../../src/engine/errors';
import { silentLogger } from '../../src/engine/ports';
import { createRun } from '../../src/engine/runs/runs';
import { openDb } from '../../src/engine/store/db';
import { stateDirFor } from '../../src/engine/store/location';
import { makeSampleRepo } from '../support/cli';

const repos: string[] = [];
const engines: Engine[] = [];
after(async () => {
  for (const e of engines) await e.dispose().catch(() => undefined);
  for (const r of repos) fs.rmSync(r, { recursive: true, force: true });
});

const NEW_FILE = (name: string, line: string) =>
  `diff --git a/${name} b/${name}\nnew file mode 100644\n--- /dev/null\n+++ b/${name}\n@@ -0,0 +1 @@\n+${line}\n`;

async function open(repo: string, o: { readOnly?: boolean } = {}): Promise<Engine> {
  const config = EngineConfig.parse({ routes: { default: [{ provider: 'recorded', model: 'none' }] } });
  const engine = await createEngine({ repo, config, ports: { log: silentLogger, secrets: { get: async () => undefined } }, readOnly: o.readOnly });
  engines.push(engine);
  return engine;
}

/** A run of ready-made patches (no model), left waiting for review. */
async function proposed(files: Record<string, string>) {
  const repo = makeSampleRepo();
  repos.push(repo);
  const engine = await open(repo);
  const plan: RunnablePlan = {
    goal: 'g', rationale: '', confidence: 1, questions: [], assumptions: [],
    tasks: Object.entries(files).map(([name, line], i) => ({
      id: `t${i + 1}`, title: `Write ${name}`, type: 'code_gen', prompt: 'p', acceptanceCriteria: [], dependsOn: [], files: [name], patch: NEW_FILE(name, line),
    })),
  };
  const { runId, done } = await engine.startRun(plan);
  await done;
  return { repo, engine, runId, changes: engine.listChanges({ runId }) };
}

async function rows(repo: string) {
  const db = await openDb({ dir: await stateDirFor(repo) });
  try {
    return {
      changes: db.all<{ id: string; status: string }>('SELECT id, status FROM change_requests ORDER BY id'),
      entries: db.all<{ change_id: string; state: string }>('SELECT change_id, state FROM queue_entries ORDER BY seq'),
      approvedEvents: db.get<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE kind = 'change/state' AND to_state = 'approved'")!.n,
    };
  } finally {
    db.close();
  }
}

describe('change requests: one owner, approve and enqueue as one step', () => {
  it('two engines approving one change at once queue it exactly once', async () => {
    const { repo, engine, changes } = await proposed({ 'a.txt': 'a' });
    const other = await open(repo);
    const results = await Promise.allSettled([engine.approveChange(changes[0]!.id), other.approveChange(changes[0]!.id)]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results));
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(EngineError.is(refused.reason, 'usage/bad-state'), String(refused.reason));
    const r = await rows(repo);
    assert.deepEqual(r.entries.map((e) => e.state), ['queued']);
    assert.equal(r.approvedEvents, 1);
  });

  it('a change the queue refuses stays waiting for review, with no approval recorded', async () => {
    const { repo, engine, changes, runId } = await proposed({ '.hyperion.json': '{}' });
    const change = changes[0]!;
    assert.equal(change.needsExplicitApproval, true);
    assert.ok(change.explicitApprovalReasons.some((r) => /\.hyperion\.json/.test(r)), change.explicitApprovalReasons.join('; '));
    await assert.rejects(engine.approveChange(change.id, { explicit: false }), (e: EngineError) => e.code === 'policy/needs-approval');
    assert.equal(engine.getChange(change.id)!.status, 'proposed');
    assert.equal(engine.getRun(runId)!.tasks[0]!.status, 'proposed');
    const r = await rows(repo);
    assert.deepEqual(r.entries, []);
    assert.equal(r.approvedEvents, 0, 'the approval was rolled back with the refused enqueue');
  });

  it('queues an approved change an older version left without an entry, or sends it back to review', async () => {
    const { repo, engine, changes } = await proposed({ 'a.txt': 'a', '.hyperion.json': '{}' });
    await engine.dispose();
    const db = await openDb({ dir: await stateDirFor(repo) });
    db.run("UPDATE change_requests SET status = 'approved'");
    db.run("UPDATE tasks SET status = 'approved'");
    db.close();
    const reopened = await open(repo);
    const byFile = (f: string) => reopened.getChange(changes.find((c) => c.files.includes(f))!.id)!;
    assert.equal(byFile('a.txt').status, 'queued');
    assert.equal(byFile('.hyperion.json').status, 'proposed', 'a protected change needs a person again');
    assert.match(byFile('.hyperion.json').error ?? '', /could not be queued after a restart/);
    assert.deepEqual((await rows(repo)).entries.map((e) => e.state), ['queued']);
  });

  it('a read-only engine leaves a stranded approval alone', async () => {
    const { repo, engine } = await proposed({ 'a.txt': 'a' });
    await engine.dispose();
    const db = await openDb({ dir: await stateDirFor(repo) });
    db.run("UPDATE change_requests SET status = 'approved'");
    db.run("UPDATE runs SET approve = 'all'");
    db.close();
    await open(repo, { readOnly: true });
    const r = await rows(repo);
    assert.deepEqual(r.changes.map((c) => c.status), ['approved']);
    assert.deepEqual(r.entries, []);
  });

  it('every change write has its audit event', async () => {
    const { repo, engine, changes } = await proposed({ 'a.txt': 'a', 'b.txt': 'b' });
    await engine.approveChange(changes[0]!.id);
    await engine.rejectChange(changes[1]!.id, 'not needed');
    await engine.runQueue();
    const db = await openDb({ dir: await stateDirFor(repo) });
    try {
      for (const c of db.all<{ id: string; status: string }>('SELECT id, status FROM change_requests')) {
        const last = db.get<{ to_state: string }>("SELECT to_state FROM events WHERE subject_id = ? AND kind IN ('change/state', 'change/proposed') ORDER BY id DESC LIMIT 1", [c.id]);
        assert.equal(last?.to_state, c.status, `the last event of ${c.id} says ${c.status}`);
      }
    } finally {
      db.close();
    }
  });

  it('retrying a cancelled task brings back its cancelled dependents', async () => {
    const repo = makeSampleRepo();
    repos.push(repo);
    const engine = await open(repo);
    const plan: RunnablePlan = {
      goal: 'g', rationale: '', confidence: 1, questions: [], assumptions: [],
      tasks: [
        { id: 'a', title: 'A', type: 'code_gen', prompt: 'p', acceptanceCriteria: [], dependsOn: [], files: ['a.txt'], patch: NEW_FILE('a.txt', 'a') },
        { id: 'b', title: 'B', type: 'code_gen', prompt: 'p', acceptanceCriteria: [], dependsOn: ['a'], files: ['b.txt'], patch: NEW_FILE('b.txt', 'b') },
      ],
    };
    // Store the run without starting it here, then cancel it as another window would.
    const db = await openDb({ dir: await stateDirFor(repo) });
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
    const runId = createRun(db, { goal: 'g', repo, baseCommit: head, plan, approve: 'none', clock: { now: () => Date.now() } });
    db.close();
    await engine.cancelRun(runId);
    assert.deepEqual(engine.getRun(runId)!.tasks.map((t) => t.status), ['cancelled', 'cancelled']);
    assert.equal(engine.getRun(runId)!.status, 'cancelled');
    await engine.retryTask(runId, 'a');
    const deadline = Date.now() + 30_000;
    while (engine.getRun(runId)!.tasks.some((t) => t.status !== 'proposed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(engine.getRun(runId)!.tasks.map((t) => t.status), ['proposed', 'proposed'], 'b waited for a again and ran');
    assert.equal(engine.getRun(runId)!.status, 'awaiting-review');
  });
});
