import type { QueueState } from '../api';
import type { Db } from '../store/types';
import type { QueueMetrics } from './types';

interface StateEvent {
  subject_id: string;
  at: number;
  from_state: string | null;
  to_state: string;
}

const END: ReadonlySet<string> = new Set(['merged', 'failed', 'quarantined', 'rejected']);

/** Queue metrics computed only from the audit log (`queue/state` events). */
export function computeMetrics(db: Db, now: number): QueueMetrics {
  const events = db.all<StateEvent>(
    "SELECT subject_id, at, from_state, to_state FROM events WHERE kind = 'queue/state' ORDER BY id",
  );
  const entered = new Map<string, { state: string; at: number }>();
  const totals = new Map<string, { ms: number; n: number }>();
  const conflicted = new Set<string>();
  const ended = new Map<string, string>();
  let firstAt = Infinity;
  let lastMergeAt = -Infinity;
  let merged = 0;
  for (const e of events) {
    firstAt = Math.min(firstAt, e.at);
    const prev = entered.get(e.subject_id);
    if (prev) {
      const t = totals.get(prev.state) ?? { ms: 0, n: 0 };
      t.ms += e.at - prev.at;
      t.n += 1;
      totals.set(prev.state, t);
    }
    entered.set(e.subject_id, { state: e.to_state, at: e.at });
    if (e.to_state === 'conflicted') conflicted.add(e.subject_id);
    if (e.to_state === 'merged') {
      merged++;
      lastMergeAt = Math.max(lastMergeAt, e.at);
    }
    if (END.has(e.to_state)) ended.set(e.subject_id, e.to_state);
    else if (e.to_state !== 'reverted') ended.delete(e.subject_id);
  }
  // Entries still sitting in a non-end state count up to now.
  for (const { state, at } of entered.values()) {
    if (END.has(state) || state === 'reverted') continue;
    const t = totals.get(state) ?? { ms: 0, n: 0 };
    t.ms += Math.max(0, now - at);
    t.n += 1;
    totals.set(state, t);
  }
  const timeInState: Partial<Record<QueueState, number>> = {};
  for (const [state, t] of totals) timeInState[state as QueueState] = t.n === 0 ? 0 : t.ms / t.n;
  const spanMin = merged > 0 ? Math.max(lastMergeAt - firstAt, 1) / 60_000 : 0;
  const endedCount = ended.size;
  const mergedEnded = [...ended.values()].filter((s) => s === 'merged').length;
  return {
    throughputPerMin: spanMin > 0 ? merged / spanMin : 0,
    conflictRate: endedCount > 0 ? [...ended.keys()].filter((id) => conflicted.has(id)).length / endedCount : 0,
    successRate: endedCount > 0 ? mergedEnded / endedCount : 0,
    timeInState,
  };
}
