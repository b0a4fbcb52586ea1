import type { RunStatus, TaskStatus } from '../api';

/**
 * A run's status as every host shows it, derived in ONE place from the stored run status
 * (what the scheduler last decided) and its tasks' statuses (which follow review and landing):
 *
 * - `draft`, `planning`, `cancelled`: as stored (a retry sets the stored status back to running);
 * - `running` (or `paused` when the budget stopped it): a task runs or waits to run;
 * - `awaiting-review`: a change waits for the user;
 * - `landing`: approved changes are still in the merge queue;
 * - `failed`: a task or its landing failed, or a task was refused by policy;
 * - `done`: everything settled and nothing failed (rejected by the user and skipped count as settled).
 */
export function deriveRunStatus(stored: RunStatus, tasks: ReadonlyArray<{ status: TaskStatus }>): RunStatus {
  const has = (...s: TaskStatus[]) => tasks.some((t) => s.includes(t.status));
  // A draft runs nothing until the user starts it (runs/draft.ts); its tasks all wait.
  if (stored === 'draft') return 'draft';
  if (stored === 'planning') return 'planning';
  // The user's cancel wins over what is left to review; a retry sets the stored status back to running.
  if (stored === 'cancelled') return has('running') ? 'running' : 'cancelled';
  if (has('running', 'ready', 'pending')) return stored === 'paused' ? 'paused' : 'running';
  if (has('proposed')) return 'awaiting-review';
  if (has('approved')) return 'landing';
  if (has('failed')) return 'failed';
  return 'done';
}
