import type { QueueEntryView } from '../api';
import { assertNever } from '../errors';
import type { Db } from '../store/types';
import { entriesWithCheckOutput } from './checkOutput';
import { dependencyState } from './entries';
import { toView, type EntryRow } from './types';

/**
 * Why an entry waits or stopped, as the one sentence a queue row shows: "waiting for t1",
 * "checking", "blocked: README.md has unsaved edits", "check failed (exit 1): not ok 2 - adds",
 * "conflict in a.ts, regenerating". Derived from the row (and its dependencies) on every read,
 * so it can never disagree with the state.
 */
export function entryReason(db: Db, r: EntryRow, now: number): string | undefined {
  const leased = r.lease_owner !== null && r.lease_expires_at !== null && r.lease_expires_at >= now;
  switch (r.state) {
    case 'queued': {
      const dep = dependencyState(db, r);
      if (dep.kind === 'waiting') return `waiting for ${dep.taskId}`;
      if (dep.kind === 'failed') return `dependency ${dep.taskId} did not merge`;
      return r.last_error ? `queued again after: ${r.last_error}` : 'queued';
    }
    case 'checking':
      return leased ? 'checking' : 'checking (its worker stopped; another takes it over)';
    case 'landing':
      return 'landing';
    case 'blocked':
      return `blocked: ${r.last_error ?? "waiting for the user's files"}`;
    case 'conflicted':
      return leased ? `${r.last_error ?? 'conflict'}, regenerating` : (r.last_error ?? 'conflict');
    case 'failed':
    case 'quarantined':
      return r.last_error ?? lastReason(db, r.id) ?? r.state;
    case 'rejected':
      return lastReason(db, r.id) ?? 'rejected';
    case 'merged':
      return r.landed_commit ? `landed as ${r.landed_commit.slice(0, 10)}` : 'nothing to land (no changes)';
    case 'reverted':
      return lastReason(db, r.id) ?? 'reverted';
    case 'superseded':
      return lastReason(db, r.id) ?? 'regenerated; the new version waits for review';
    default:
      return assertNever(r.state, 'queue state');
  }
}

function lastReason(db: Db, entryId: string): string | undefined {
  return db.get<{ reason: string | null }>(
    "SELECT reason FROM events WHERE kind = 'queue/state' AND subject_id = ? ORDER BY id DESC LIMIT 1",
    [entryId],
  )?.reason ?? undefined;
}

/** The rows as hosts see them: state, reason, and whether a check output can be shown. */
export function entryViews(db: Db, rows: EntryRow[], now: number): QueueEntryView[] {
  const withOutput = entriesWithCheckOutput(db);
  return rows.map((r) => ({
    ...toView(r),
    reason: entryReason(db, r, now),
    hasCheckOutput: withOutput.has(r.id),
    blockedPaths: r.state === 'blocked' ? (JSON.parse(r.blocked_paths_json || '[]') as string[]) : undefined,
  }));
}
