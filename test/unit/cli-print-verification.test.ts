import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeVerification, RunView, TaskView } from '../../src/engine/api';
import { printRun } from '../../src/cli/print';

/** What printRun writes to stdout. */
function captured(fn: () => void): string {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = write;
  }
  return out;
}

const task = (id: string, changeId?: string): TaskView => ({
  id, runId: 'run_1', title: `Task ${id}`, type: 'code_gen', prompt: '', acceptanceCriteria: [], dependsOn: [], files: [], status: 'proposed', attempts: 1, costUsd: 0, ...(changeId ? { changeId } : {}),
}) as TaskView;

describe("the CLI prints a change's own check under its task", () => {
  const run: RunView = { id: 'run_1', goal: 'g', status: 'awaiting-review', costUsd: 0, createdAt: 0, tasks: [task('t1', 'ch_1'), task('t2', 'ch_2'), task('t3')] };
  const checks: Record<string, ChangeVerification> = {
    ch_1: { command: 'npm test', passed: true, exitCode: 0, timedOut: false, counts: { passed: 14, failed: 0, total: 14 }, failingLines: [], durationMs: 10 },
    ch_2: { command: 'npm test', passed: false, exitCode: 1, timedOut: false, counts: { passed: 3, failed: 1, total: 4 }, failingLines: ['not ok 4 - adds'], durationMs: 10 },
  };

  it('says passed with the counts, or how it failed, and nothing for a change without a check', () => {
    const out = captured(() => printRun(run, [], (id) => checks[id]));
    const lines = out.split('\n');
    const after = (id: string) => lines[lines.findIndex((l) => l.includes(`Task ${id}`)) + 1];
    assert.match(after('t1'), /^ {6}tests passed in the task's worktree: 14\/14 \(npm test\)$/);
    assert.match(after('t2'), /^ {6}.*fail/i);
    assert.match(after('t2'), /not ok 4 - adds|1 failed|3\/4/);
    assert.doesNotMatch(after('t3') ?? '', /tests|check/);
  });

  it('prints the task lines alone when no lookup is given', () => {
    assert.doesNotMatch(captured(() => printRun(run, [])), /worktree/);
  });
});
