import { getTaskRows } from '../runs/runs';
import type { TaskRow } from '../runs/types';
import type { Db } from '../store/types';

/** What `buildTaskBase` needs to know about a run's tasks: their static fields and edges. */
export interface TaskGraph {
  /** The task as stored when the run started (its status may be stale: ask the index or the db). */
  row(id: string): TaskRow | undefined;
  dependsOn(id: string): readonly string[];
}

export interface IndexedTask {
  readonly row: TaskRow;
  readonly deps: readonly string[];
  readonly files: readonly string[];
  readonly dependents: string[];
  status: string;
}

/** Task ids per `IN (…)` query, below SQLite's default bound-parameter limit. */
const CHUNK = 400;

/**
 * The scheduler's in-memory view of one run: every task's static fields, status and
 * dependents, so a wake-up costs what changed instead of re-reading and re-parsing every row.
 *
 * The database stays the source of truth. Every task status change anywhere (this scheduler,
 * the engine's approve/reject/retry/cancel, another process on the same store) goes through
 * `transitionTask`, which appends a `task/state` event in the same transaction; `sync()` reads
 * the events after the last one it saw (one indexed range query on `events(run_id, id)`) and
 * re-reads the status of only those tasks. A status written without an event (the queue
 * marking a task `merged`) is only ever a done-to-done move, which changes no scheduling
 * decision; `finish` reads the rows themselves.
 */
export class RunIndex implements TaskGraph {
  private readonly tasks = new Map<string, IndexedTask>();
  /** Tasks in plan order (`seq`). */
  private readonly ordered: IndexedTask[] = [];
  private readonly readyIds = new Set<string>();
  private lastEventId = 0;

  private constructor(readonly runId: string) {}

  /** Loads every task of the run (one full read per `runPlan`). */
  static load(db: Db, runId: string): RunIndex {
    const index = new RunIndex(runId);
    // The event high-water mark first: a change committed between the two reads is then in
    // the rows AND replayed by the next sync (harmless), never in neither.
    index.lastEventId = db.get<{ id: number | null }>('SELECT MAX(id) AS id FROM events WHERE run_id = ?', [runId])?.id ?? 0;
    for (const row of getTaskRows(db, runId)) {
      const t: IndexedTask = { row, deps: JSON.parse(row.depends_json) as string[], files: JSON.parse(row.files_json) as string[], dependents: [], status: row.status };
      index.tasks.set(row.id, t);
      index.ordered.push(t);
      if (t.status === 'ready') index.readyIds.add(row.id);
    }
    for (const t of index.ordered) for (const d of t.deps) index.tasks.get(d)?.dependents.push(t.row.id);
    return index;
  }

  get size(): number {
    return this.ordered.length;
  }

  get(id: string): IndexedTask | undefined {
    return this.tasks.get(id);
  }

  row(id: string): TaskRow | undefined {
    return this.tasks.get(id)?.row;
  }

  dependsOn(id: string): readonly string[] {
    return this.tasks.get(id)?.deps ?? [];
  }

  status(id: string): string | undefined {
    return this.tasks.get(id)?.status;
  }

  /** Every task id in plan order. */
  ids(): string[] {
    return this.ordered.map((t) => t.row.id);
  }

  /** Ready tasks in plan order. */
  ready(): IndexedTask[] {
    return [...this.readyIds].map((id) => this.tasks.get(id)!).sort((a, b) => a.row.seq - b.row.seq);
  }

  /** Records a status this process just committed (or read). */
  setStatus(id: string, status: string): void {
    const t = this.tasks.get(id);
    if (!t) return;
    t.status = status;
    if (status === 'ready') this.readyIds.add(id);
    else this.readyIds.delete(id);
  }

  /** Re-reads every task's status (after a rolled-back transaction left the index unsure). */
  reload(db: Db): void {
    this.lastEventId = db.get<{ id: number | null }>('SELECT MAX(id) AS id FROM events WHERE run_id = ?', [this.runId])?.id ?? 0;
    for (const r of db.all<{ id: string; status: string }>('SELECT id, status FROM tasks WHERE run_id = ?', [this.runId])) this.setStatus(r.id, r.status);
  }

  /**
   * Catches up with task status changes committed since the last sync, by anyone. Returns the
   * ids whose status differs from what the index held.
   */
  sync(db: Db): string[] {
    const events = db.all<{ id: number; task_id: string | null }>(
      "SELECT id, task_id FROM events WHERE run_id = ? AND id > ? AND kind = 'task/state' ORDER BY id",
      [this.runId, this.lastEventId],
    );
    if (events.length === 0) return [];
    this.lastEventId = events[events.length - 1]!.id;
    const ids = [...new Set(events.map((e) => e.task_id).filter((id): id is string => id !== null && this.tasks.has(id)))];
    const changed: string[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK);
      const rows = db.all<{ id: string; status: string }>(`SELECT id, status FROM tasks WHERE run_id = ? AND id IN (${part.map(() => '?').join(', ')})`, [this.runId, ...part]);
      for (const r of rows) {
        if (this.tasks.get(r.id)!.status === r.status) continue;
        this.setStatus(r.id, r.status);
        changed.push(r.id);
      }
    }
    return changed;
  }
}
