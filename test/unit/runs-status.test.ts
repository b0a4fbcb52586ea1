import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunStatus, TaskStatus } from '../../src/engine/api';
import { deriveRunStatus } from '../../src/engine/runs/status';

const tasks = (...s: TaskStatus[]) => s.map((status) => ({ status }));

describe('run status, derived in one place', () => {
  const cases: Array<[string, RunStatus, TaskStatus[], RunStatus]> = [
    ['changes waiting for review are not "failed", even next to a failed task', 'failed', ['proposed', 'failed'], 'awaiting-review'],
    ['changes waiting for review are not "done"', 'done', ['proposed', 'merged'], 'awaiting-review'],
    ['approved changes still in the queue are landing', 'done', ['approved', 'merged'], 'landing'],
    ['a run whose only change failed to land is failed, not done', 'done', ['failed'], 'failed'],
    ['everything merged is done', 'done', ['merged', 'merged'], 'done'],
    ['rejected by the user and skipped count as settled', 'done', ['merged', 'rejected', 'skipped'], 'done'],
    ['a task running wins over review', 'running', ['running', 'proposed'], 'running'],
    ['a budget pause stays paused while work is left', 'paused', ['pending', 'proposed'], 'paused'],
    ['the user cancel wins over what is left to review', 'cancelled', ['proposed', 'cancelled'], 'cancelled'],
    ['planning stays planning', 'planning', [], 'planning'],
  ];
  for (const [name, stored, ts, want] of cases) {
    it(name, () => assert.equal(deriveRunStatus(stored, tasks(...ts)), want));
  }
});
