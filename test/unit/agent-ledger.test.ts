import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { EngineConfig } from '../../src/engine/config';
import type { EngineEvent } from '../../src/engine/events';
import { silentLogger, type SecretReader } from '../../src/engine/ports';
import { MAX_STORED_TRANSCRIPT, boundTranscript, readTaskTranscript } from '../../src/engine/runs/agentAttempts';
import { deleteRun } from '../../src/engine/runs/deleteRun';
import { createRun } from '../../src/engine/runs/runs';
import { throttleProgress } from '../../src/engine/schedule/progressThrottle';
import { runPlan, type RunPlanDeps } from '../../src/engine/schedule/scheduler';
import { config, fastBackoff, makeRunFixture, plan, task, testClock, type RunFixture } from '../support/run-fixture';
import { ScriptedClient } from '../support/run-model';
import { alive, waitFor } from '../support/processes';
import { useTempWorktrees } from '../support/worktrees';
import { fakeClaude, resultLine, toolUseLine } from '../support/agents/fakeClaude';

useTempWorktrees();

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const secrets: SecretReader = { get: async (name) => `hyperion-${name}-key` };

/** Runs one task `a` with the fake Claude Code as agent "cc"; every event the run fires is kept. */
async function runWithFake(fake: ReturnType<typeof fakeClaude>, cfg: Partial<EngineConfig> = {}) {
  const fx: RunFixture = await makeRunFixture();
  cleanups.push(() => fx.cleanup(), fake.cleanup);
  const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('a', { agent: 'cc' })]), approve: 'none', clock: testClock });
  const events: EngineEvent[] = [];
  const deps: RunPlanDeps = {
    db: fx.db, repo: fx.repo.dir, client: new ScriptedClient({ dev: () => new Error('the built-in developer must not run') }),
    config: config({ maxRetries: 2, agents: { cc: { kind: 'claude-code', path: fake.bin } }, ...cfg }),
    log: silentLogger, clock: testClock, backoff: fastBackoff, secrets, onEvent: (e) => events.push(e),
  };
  const view = await runPlan(deps, runId);
  return { fx, runId, view, events, task: view.tasks[0]! };
}

describe('an agent task reports progress, usage and its transcript', () => {
  it('fires task/progress live without writing it to the audit log, and stores usage, cost and the transcript', async () => {
    const fake = fakeClaude([
      { type: 'system', subtype: 'init', model: 'claude-test' },
      toolUseLine('m1', 'Write', { file_path: 'src/new.ts', content: 'x' }),
      { $write: ['src/new.ts', 'export const n = 1;\n'] },
      toolUseLine('m2', 'Bash', { command: 'npm test' }),
      resultLine('Added src/new.ts', 0.0123),
    ]);
    const { fx, runId, events, task: t } = await runWithFake(fake);
    assert.equal(t.status, 'proposed', t.error);
    const progress = events.filter((e) => e.kind === 'task/progress');
    assert.ok(progress.length >= 1 && progress.length <= 2, `the throttle lets the first line through at once and the last at the end (${progress.length})`);
    assert.deepEqual(progress[0], { at: progress[0]!.at, actor: 'agent', kind: 'task/progress', runId, taskId: 'a', data: { text: 'editing src/new.ts' } });
    assert.equal(progress.at(-1)!.data!.text, progress.length === 2 ? 'running npm test' : 'editing src/new.ts');
    assert.equal(fx.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE kind = 'task/progress'")!.n, 0, 'progress is not history');

    const call = fx.db.get<{ provider: string; model: string; input_tokens: number; output_tokens: number; cost_usd: number }>(
      "SELECT provider, model, input_tokens, output_tokens, cost_usd FROM model_calls WHERE run_id = ? AND task_id = 'a'", [runId])!;
    assert.deepEqual(call, { provider: 'agent:cc', model: 'claude-test', input_tokens: 300, output_tokens: 60, cost_usd: 0.0123 });
    // The reviewer's model call is the task's other cost.
    const review = fx.db.get<{ c: number }>("SELECT COALESCE(SUM(cost_usd), 0) AS c FROM model_calls WHERE run_id = ? AND provider != 'agent:cc'", [runId])!.c;
    const near = (a: number, b: number) => Math.abs(a - b) < 1e-9;
    assert.ok(near(t.costUsd, 0.0123 + review), `the task's cost counts the agent (${t.costUsd})`);
    assert.ok(near(fx.db.get<{ c: number }>('SELECT cost_usd AS c FROM runs WHERE id = ?', [runId])!.c, 0.0123 + review), "and so does the run's");
    assert.ok(near(fx.db.get<{ c: number }>("SELECT cost_usd AS c FROM change_requests WHERE run_id = ? AND task_id = 'a'", [runId])!.c, 0.0123 + review), "and the change's");
    assert.ok(events.some((e) => e.kind === 'model/call' && e.data?.provider === 'agent:cc'));

    const transcript = readTaskTranscript(fx.db, runId, 'a');
    assert.match(transcript ?? '', /"Added src\/new.ts"/);
    assert.equal(readTaskTranscript(fx.db, runId, 'a', 1), transcript);
    assert.equal(readTaskTranscript(fx.db, runId, 'a', 2), undefined);
    deleteRun(fx.db, runId, { clock: testClock });
    assert.equal(readTaskTranscript(fx.db, runId, 'a'), undefined, 'deleting the run deletes its transcripts');
    assert.equal(fx.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM task_transcripts')!.n, 0);
  });

  it('stores the transcript of each failed attempt too', async () => {
    const fake = fakeClaude([toolUseLine('m1', 'Read', { file_path: 'README.md' }), resultLine('I could not do it', 0.001, undefined, 'error_during_execution')]);
    const { fx, runId, task: t } = await runWithFake(fake);
    assert.equal(t.status, 'failed');
    assert.match(readTaskTranscript(fx.db, runId, 'a') ?? '', /I could not do it/);
    assert.equal(fx.db.get<{ c: number }>('SELECT cost_usd AS c FROM runs WHERE id = ?', [runId])!.c, 0.001, 'a failed attempt is paid for too');
  });
});

describe('the run budget stops an agent', () => {
  it('kills an agent whose streamed cost reaches the remaining budget, fails the task without retrying it, and books what it spent', async () => {
    // Each response: 1000 output tokens at $10 per million = $0.01; the budget is $0.05.
    const fake = fakeClaude([{ type: 'system', subtype: 'init', model: 'claude-test' }], { forever: toolUseLine('m$n', 'Read', { file_path: 'README.md' }, { input_tokens: 0, output_tokens: 1000 }) });
    const { fx, runId, task: t, view } = await runWithFake(fake, { budgetUsd: 0.05, prices: { 'claude-test': { input: 0, output: 10 } } });
    assert.equal(t.status, 'failed');
    assert.match(t.error ?? '', /reached the run's remaining budget of \$0\.0500/);
    const attempts = fx.db.all<{ error_category: string }>('SELECT error_category FROM attempts WHERE run_id = ?', [runId]);
    assert.deepEqual(attempts.map((a) => a.error_category), ['permanent'], 'not retried as transient');
    const [call] = fake.calls();
    assert.ok(call!.argv.includes('--max-budget-usd') && call!.argv[call!.argv.indexOf('--max-budget-usd') + 1] === '0.0500', 'Claude Code is told the budget too');
    await waitFor(() => !alive(call!.pid), 'the agent to be killed', 5000);
    const spent = fx.db.get<{ c: number }>('SELECT cost_usd AS c FROM runs WHERE id = ?', [runId])!.c;
    assert.ok(spent >= 0.05 && spent < 0.1, `what it spent is booked (${spent})`);
    assert.equal(view.status, 'failed');
  });

  it("fails with the budget error when Claude Code stops itself at --max-budget-usd", async () => {
    // Claude Code's own estimate stopped it a little under what Hyperion would have stopped it at.
    const fake = fakeClaude([resultLine('', 0.015, undefined, 'error_max_budget_usd')]);
    const { task: t } = await runWithFake(fake, { budgetUsd: 0.02 });
    assert.equal(t.status, 'failed');
    assert.match(t.error ?? '', /stopped at its budget of \$0\.0200/);
  });
});

describe('progress throttle', () => {
  it('sends the first line at once, holds the rest to one per interval, and flushes the newest', () => {
    const sent: string[] = [];
    const th = throttleProgress((t) => sent.push(t), 60_000);
    for (let i = 0; i < 1000; i++) th.push(`line ${i}`);
    assert.deepEqual(sent, ['line 0']);
    th.flush();
    assert.deepEqual(sent, ['line 0', 'line 999']);
    th.push('line 999');
    assert.deepEqual(sent, ['line 0', 'line 999'], 'the same line twice in a row is sent once');
    th.flush();
  });
});

describe('stored transcripts are bounded', () => {
  it('keeps the head and the tail of a long transcript', () => {
    const long = `START${'x'.repeat(MAX_STORED_TRANSCRIPT * 2)}END`;
    const b = boundTranscript(long);
    assert.ok(b.truncated);
    assert.ok(b.text.length <= MAX_STORED_TRANSCRIPT);
    assert.ok(b.text.startsWith('START') && b.text.endsWith('END'));
    assert.match(b.text, /characters left out/);
    assert.deepEqual(boundTranscript('short'), { text: 'short', truncated: false });
  });
});

// Keeps the import of fs/os/path used when debugging a failing run by hand.
void [fs, os, path];
