import { randomBytes } from 'node:crypto';
import { SETTLED_ENTRY_STATES, type ChangeStatus, type QueueState, type TaskStatus } from '../api';
import { transitionChange } from '../changes/lifecycle';
import { assertNever, EngineError } from '../errors';
import { appendEvent, type Actor, type EngineEvent } from '../events';
import { transitionTask } from '../runs/runs';
import type { Db, SqlValue } from '../store/types';
import type { ChangeRow, EntryRow } from './types';

/**
 * Queue entries as a state machine over the `queue_entries` table.
 *
 * Every state change is one transaction that (1) compare-and-sets the row on its current
 * state and, when given, its lease owner, (2) appends a `queue/state` event, and (3) moves
 * the change request and task statuses along, so the audit log and the state never disagree.
 */

export const END_STATES: ReadonlySet<QueueState> = new Set(SETTLED_ENTRY_STATES);
/** End states after which a change may be queued again (retried by a new approval, or regenerated and re-approved). */
const SUPERSEDABLE: readonly QueueState[] = ['failed', 'quarantined', 'rejected', 'reverted', 'superseded'];
/** States a dependency can end in without having merged. */
const DID_NOT_MERGE: ReadonlySet<QueueState> = new Set(['failed', 'quarantined', 'rejected', 'reverted']);

type Columns = Partial<Pick<EntryRow,
  'lease_owner' | 'lease_expires_at' | 'attempts' | 'last_error' | 'proposal_commit' | 'candidate_commit' |
  'landed_commit' | 'old_tip' | 'repairs_json' | 'conflict_paths_json' | 'blocked_paths_json'>>;

export function getEntry(db: Db, id: string): EntryRow | undefined {
  return db.get<EntryRow>('SELECT * FROM queue_entries WHERE id = ?', [id]);
}

export function getChange(db: Db, id: string): ChangeRow | undefined {
  return db.get<ChangeRow>('SELECT * FROM change_requests WHERE id = ?', [id]);
}

export function listEntries(db: Db): EntryRow[] {
  return db.all<EntryRow>('SELECT * FROM queue_entries ORDER BY seq');
}

/** Change statuses the queue may move a change out of (a superseded or re-proposed change is not the queue's). */
const MIRRORED_FROM: readonly ChangeStatus[] = ['approved', 'queued', 'merged', 'failed', 'rejected'];

/** The change request status that mirrors a queue state (undefined = leave it). */
function changeStatusFor(kind: EntryRow['kind'], to: QueueState): ChangeStatus | undefined {
  if (kind === 'revert') return undefined;
  switch (to) {
    case 'queued': return 'queued';
    case 'merged': return 'merged';
    case 'failed':
    case 'quarantined': return 'failed';
    case 'rejected': return 'rejected';
    case 'reverted': return 'reverted';
    case 'checking':
    case 'landing':
    case 'conflicted':
    case 'blocked':
    case 'superseded': return undefined;
    default: return assertNever(to, 'queue state');
  }
}

export interface TransitionOptions {
  actor: Actor;
  at: number;
  reason?: string;
  /** Compare-and-set on the lease owner too (the caller's lease). */
  owner?: string;
  set?: Columns;
  data?: Record<string, unknown>;
}

/**
 * Moves `entry` from its current state to `to`. Returns the event to publish.
 * Throws `queue/lease-lost` when the row is no longer in that state or no longer ours.
 */
export function transition(db: Db, entry: EntryRow, to: QueueState, o: TransitionOptions): EngineEvent {
  return transitionMany(db, [{ entry, to, o }])[0]!;
}

/**
 * Several moves in ONE durable transaction (one fsync instead of one each): all of them
 * happen or none. Throws `queue/lease-lost` (and writes nothing) when any row is no longer
 * in its expected state or lease.
 */
export function transitionMany(db: Db, moves: ReadonlyArray<{ entry: EntryRow; to: QueueState; o: TransitionOptions }>): EngineEvent[] {
  const planned = moves.map(({ entry, to, o }) => {
    const set: Columns = { ...o.set };
    if (END_STATES.has(to) || to === 'queued' || to === 'blocked') {
      set.lease_owner = null;
      set.lease_expires_at = null;
    }
    const ev: EngineEvent = {
      at: o.at, actor: o.actor, kind: 'queue/state', runId: entry.run_id, taskId: entry.task_id, subjectId: entry.id,
      from: entry.state, to, reason: o.reason, data: { changeId: entry.change_id, kind: entry.kind, ...o.data },
    };
    return { entry, to, o, set, ev };
  });
  if (planned.length === 0) return [];
  const taskEvents: EngineEvent[] = [];
  db.transaction(() => {
    for (const { entry, to, o, set, ev } of planned) {
      const cols = Object.keys(set) as Array<keyof Columns>;
      const assigns = ['state = ?', 'updated_at = ?', ...cols.map((c) => `${c} = ?`)].join(', ');
      const params: SqlValue[] = [to, o.at, ...cols.map((c) => (set[c] ?? null) as SqlValue), entry.id, entry.state];
      let where = 'id = ? AND state = ?';
      if (o.owner !== undefined) {
        where += ' AND lease_owner = ?';
        params.push(o.owner);
      }
      const r = db.run(`UPDATE queue_entries SET ${assigns} WHERE ${where}`, params);
      if (r.changes !== 1) throw new EngineError('queue/lease-lost', `queue entry ${entry.id} is no longer ${entry.state}${o.owner ? ` under ${o.owner}` : ''}`);
      appendEvent(db, ev);
      const cs = changeStatusFor(entry.kind, to);
      if (cs !== undefined) {
        transitionChange(db, taskEvents, {
          changeId: entry.change_id, to: cs, from: MIRRORED_FROM.filter((s) => s !== cs), at: o.at, actor: o.actor, reason: o.reason,
          set: { error: END_STATES.has(to) && to !== 'merged' ? (o.reason ?? null) : null }, data: { entryId: entry.id },
        });
      }
      const task = entry.kind === 'land' ? taskOutcome(to, o.reason) : undefined;
      if (task) {
        transitionTask(db, taskEvents, {
          runId: entry.run_id, taskId: entry.task_id, from: task.from, to: task.status, at: o.at, actor: 'queue',
          reason: o.reason, error: task.status === 'merged' ? null : (o.reason ?? `landing ended ${to}`),
        });
      }
    }
  });
  for (const { entry, to, o, set } of planned) Object.assign(entry, set, { state: to, updated_at: o.at });
  return [...planned.map((p) => p.ev), ...taskEvents];
}

/**
 * What a landing's end state means for its task, so a run's task list tells the truth:
 * merged only when the commit is on the target; a dependency that did not merge skips it.
 */
function taskOutcome(to: QueueState, reason: string | undefined): { status: TaskStatus; from: TaskStatus[] } | undefined {
  const waiting: TaskStatus[] = ['approved', 'proposed'];
  const landingFailed: TaskStatus[] = ['failed', 'rejected', 'skipped'];
  switch (to) {
    case 'merged':
      return { status: 'merged', from: [...waiting, ...landingFailed] };
    case 'failed':
    case 'quarantined':
      return { status: 'failed', from: waiting };
    case 'rejected':
      return { status: reason?.startsWith('dependency ') ? 'skipped' : 'rejected', from: waiting };
    case 'queued':
      // A retried entry: its task waits to land again.
      return { status: 'approved', from: landingFailed };
    default:
      return undefined;
  }
}

export function newEntryId(): string {
  return `q-${randomBytes(6).toString('hex')}`;
}

export function insertEntry(
  db: Db,
  e: { changeId: string; runId: string; taskId: string; kind: EntryRow['kind']; targetRef: string; dependsOn: string[] },
  actor: Actor,
  at: number,
  extra?: { reason?: string; data?: Record<string, unknown> },
): { row: EntryRow; event: EngineEvent; changeEvents: EngineEvent[] } {
  const id = newEntryId();
  let event!: EngineEvent;
  const changeEvents: EngineEvent[] = [];
  db.transaction(() => {
    // Checked inside the write transaction (which first catches up with other processes), so
    // two processes approving one change at once cannot both queue it.
    if (e.kind === 'land') {
      const active = db.get<{ id: string; state: string }>(
        `SELECT id, state FROM queue_entries WHERE change_id = ? AND kind = 'land' AND state NOT IN (${[...SUPERSEDABLE].map(() => '?').join(', ')}) LIMIT 1`,
        [e.changeId, ...SUPERSEDABLE],
      );
      if (active) throw new EngineError('queue/already-queued', `change ${e.changeId} is already in the queue (${active.id}, ${active.state})`);
    }
    const seq = (db.get<{ m: number | null }>('SELECT MAX(seq) AS m FROM queue_entries')?.m ?? 0) + 1;
    db.run(
      `INSERT INTO queue_entries (id, change_id, run_id, task_id, kind, target_ref, state, seq, depends_json, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
      [id, e.changeId, e.runId, e.taskId, e.kind, e.targetRef, seq, JSON.stringify(e.dependsOn), at, at],
    );
    event = {
      at, actor, kind: 'queue/state', runId: e.runId, taskId: e.taskId, subjectId: id, to: 'queued',
      reason: extra?.reason, data: { changeId: e.changeId, kind: e.kind, ...extra?.data },
    };
    appendEvent(db, event);
    if (e.kind === 'land') {
      const moved = transitionChange(db, changeEvents, { changeId: e.changeId, to: 'queued', from: ['approved', 'failed', 'rejected'], at, actor, reason: `queued as ${id}`, data: { entryId: id } });
      if (!moved) throw new EngineError('queue/bad-state', `change ${e.changeId} is not approved; it cannot be queued`);
    }
  });
  return { row: getEntry(db, id)!, event, changeEvents };
}

/**
 * Compare-and-set lease acquisition: takes `entry` for `owner` only if it is still in the
 * expected state and unleased (or its lease has expired). Moves queued/blocked → checking.
 */
export function acquireLease(db: Db, entry: EntryRow, owner: string, now: number, leaseMs: number): EngineEvent | undefined {
  try {
    const ev = transition(db, entry, 'checking', {
      actor: 'queue', at: now, reason: `leased by ${owner}`,
      set: { lease_owner: owner, lease_expires_at: now + leaseMs, attempts: entry.attempts + 1 },
      data: { owner },
    });
    return ev;
  } catch (e) {
    if (e instanceof EngineError && e.code === 'queue/lease-lost') return undefined;
    throw e;
  }
}

/**
 * Leases as many of `entries` as are still free, in ONE transaction (queued/blocked or an
 * expired lease → checking). Returns the leased rows and their events; rows someone else
 * took meanwhile are left out.
 */
export function acquireLeases(db: Db, entries: EntryRow[], owner: string, now: number, leaseMs: number): { rows: EntryRow[]; events: EngineEvent[] } {
  const rows: EntryRow[] = [];
  const events: EngineEvent[] = [];
  db.transaction(() => {
    for (const e of entries) {
      const r = db.run(
        `UPDATE queue_entries SET state = 'checking', updated_at = ?, lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1
         WHERE id = ? AND state = ? AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < ? OR state IN ('queued', 'blocked'))`,
        [now, owner, now + leaseMs, e.id, e.state, now],
      );
      if (r.changes !== 1) continue;
      const ev: EngineEvent = {
        at: now, actor: 'queue', kind: 'queue/state', runId: e.run_id, taskId: e.task_id, subjectId: e.id,
        from: e.state, to: 'checking', reason: `leased by ${owner}`, data: { changeId: e.change_id, kind: e.kind, owner },
      };
      appendEvent(db, ev);
      rows.push(e);
      events.push(ev);
    }
  });
  for (const e of rows) Object.assign(e, { state: 'checking', updated_at: now, lease_owner: owner, lease_expires_at: now + leaseMs, attempts: e.attempts + 1 });
  return { rows, events };
}

/** Extends every lease `owner` holds in one write. Returns the ids still ours. */
export function renewLeases(db: Db, owner: string, now: number, leaseMs: number): Set<string> {
  db.run("UPDATE queue_entries SET lease_expires_at = ? WHERE lease_owner = ? AND state IN ('checking', 'landing')", [now + leaseMs, owner]);
  return new Set(db.all<{ id: string }>("SELECT id FROM queue_entries WHERE lease_owner = ? AND state IN ('checking', 'landing')", [owner]).map((r) => r.id));
}

/** Extends our lease. Returns false when it is no longer ours. */
export function renewLease(db: Db, entryId: string, owner: string, now: number, leaseMs: number): boolean {
  return db.run('UPDATE queue_entries SET lease_expires_at = ? WHERE id = ? AND lease_owner = ?', [now + leaseMs, entryId, owner]).changes === 1;
}

export type DependencyState = { kind: 'ready' } | { kind: 'waiting'; taskId: string } | { kind: 'failed'; taskId: string };

/** Whether every change `entry` depends on has merged. */
export function dependencyState(db: Db, entry: EntryRow): DependencyState {
  const deps = JSON.parse(entry.depends_json) as string[];
  for (const changeId of deps) {
    const latest = db.get<{ state: QueueState; task_id: string }>(
      "SELECT state, task_id FROM queue_entries WHERE change_id = ? AND kind = 'land' ORDER BY seq DESC LIMIT 1",
      [changeId],
    );
    const change = db.get<{ status: string; task_id: string }>('SELECT status, task_id FROM change_requests WHERE id = ?', [changeId]);
    const taskId = latest?.task_id ?? change?.task_id ?? changeId;
    if (latest && latest.state !== 'superseded') {
      if (latest.state === 'merged') continue;
      if (DID_NOT_MERGE.has(latest.state)) return { kind: 'failed', taskId };
      return { kind: 'waiting', taskId };
    }
    if (change?.status === 'merged') continue;
    if (change?.status === 'rejected' || change?.status === 'failed' || change?.status === 'superseded') return { kind: 'failed', taskId };
    return { kind: 'waiting', taskId };
  }
  return { kind: 'ready' };
}
