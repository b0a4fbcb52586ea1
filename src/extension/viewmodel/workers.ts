import type { Engine, WorkerView } from '../../engine/api';
import { assertNever, isEngineError } from '../../engine/errors';
import { COMMANDS } from '../commandIds';
import { oneLine, plural } from './format';
import type { ItemView } from './nodes';

/**
 * The Workers view without VS Code: what to show for the workers `Engine.listWorkers()`
 * returns, when it fails, and when to ask again. Times are relative to a `now` the caller
 * passes in, so rows read the same in a test as on screen.
 */

/** What the view last learnt. `problem` is a settings sentence (workers not used), `error` a failed listing. */
export type WorkersState =
  | { kind: 'none' }
  | { kind: 'problem'; text: string }
  | { kind: 'workers'; workers: WorkerView[] }
  | { kind: 'error'; error: unknown };

/**
 * A worker beats every 2 s (HEARTBEAT_MS in src/engine/distributed/workerRegistry.ts, which
 * the extension bundle cannot import: it loads ioredis). Three missed beats read as "late";
 * Redis drops the worker 15 s after its last one.
 */
export const LATE_HEARTBEAT_MS = 6000;

/** While the view is visible it asks Redis this often: heartbeats expire, and no event says so. */
export const WORKERS_POLL_MS = 5000;

/** "just now", "4 s ago", "2 min ago", "1 h ago": how long before `now` something happened. */
export function formatAgo(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 1) return 'just now';
  if (s < 60) return `${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ago`;
  return `${Math.floor(min / 60)} h ago`;
}

/** Looks up a task's title for a worker's current task; undefined when the run is not in this store. */
export type TaskTitle = (runId: string, taskId: string) => string | undefined;

function currentTasks(w: WorkerView, title: TaskTitle | undefined): string[] {
  return w.running.map((t) => {
    const name = title?.(t.runId, t.taskId);
    // A check job is listed as run "check", task <commit prefix> (src/engine/distributed/worker.ts).
    return name ? `${oneLine(name, 40)} (${t.taskId})` : t.runId === 'check' ? `check of ${t.taskId}` : `${t.runId}/${t.taskId}`;
  });
}

/** One worker's row: name, then host, current task and heartbeat; agents in the tooltip and description. */
export function workerItem(w: WorkerView, now: number, title?: TaskTitle): ItemView {
  const tasks = currentTasks(w, title);
  const late = now - w.heartbeatAt > LATE_HEARTBEAT_MS;
  const heartbeat = formatAgo(w.heartbeatAt, now);
  const busy = tasks.length > 0;
  const agents = w.agents.length > 0 ? w.agents.join(', ') : 'no agents';
  return {
    id: `worker/${w.name}`,
    label: w.name,
    description: [w.host, busy ? tasks.join(', ') : 'idle', `♥ ${heartbeat}`, agents].join(' · '),
    tooltip: [
      `Worker ${w.name} on ${w.host} (pid ${w.pid})`,
      busy ? `Running: ${tasks.join(', ')}` : 'Idle',
      `Last heartbeat: ${heartbeat}${late ? ' (late: the worker may have stopped; Redis drops it 15 s after its last heartbeat)' : ''}`,
      `Agents: ${agents}${w.checks ? ', and the merge queue\'s checks' : ''}`,
      `Up to ${plural(w.concurrency, 'task')} at once per agent`,
      `Started ${formatAgo(w.startedAt, now)}`,
    ].join('\n'),
    icon: late ? { id: 'warning', color: 'list.warningForeground' } : busy ? { id: 'sync~spin' } : { id: 'vm' },
    contextValue: `worker${busy ? ' busy' : ''}${late ? ' late' : ''}`,
    collapsible: 'none',
  };
}

/**
 * The sentence for a listing that failed. Engine messages about Redis already hide the
 * password; a refused password points to the command that stores it, since in VS Code the
 * URL setting holds none.
 */
export function workersErrorText(e: unknown): string {
  if (isEngineError(e, 'distributed/auth')) return 'Redis refused the password or user: set the password with "Hyperion: Set Redis Password" (an ACL user goes in hyperion.distributed.redisUrl as redis://USER@HOST:PORT).';
  const text = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return `Could not list the workers: ${text}`;
}

function messageItem(id: string, label: string, icon: ItemView['icon'], command?: ItemView['command']): ItemView {
  return { id: `workers/${id}`, label, tooltip: label, icon, contextValue: 'message', collapsible: 'none', ...(command ? { command } : {}) };
}

/** The view's rows: one per worker, or one message row (never a thrown error). */
export function workerRows(state: WorkersState, now: number, title?: TaskTitle): ItemView[] {
  switch (state.kind) {
    case 'none': return [];
    case 'problem': return [messageItem('problem', state.text, { id: 'warning', color: 'list.warningForeground' })];
    case 'error': {
      const auth = isEngineError(state.error, 'distributed/auth');
      return [messageItem('error', workersErrorText(state.error), { id: 'error', color: 'list.errorForeground' },
        auth ? { command: COMMANDS.setRedisPassword, title: 'Set Redis Password', args: [] } : undefined)];
    }
    case 'workers':
      return state.workers.length === 0
        ? [messageItem('empty', 'No worker is connected: start one with "hyperion worker --redis … --repo …" (README, Running workers).', { id: 'info' })]
        : state.workers.map((w) => workerItem(w, now, title));
    default: return assertNever(state, 'workers state');
  }
}

/** A task's title from the engine's store, for rows that name a worker's current task. */
export function engineTaskTitle(engine: Engine): TaskTitle {
  return (runId, taskId) => engine.getRun(runId)?.tasks.find((t) => t.id === taskId)?.title;
}

/** Engine events come in bursts during a run; the view asks Redis at most this often for them. */
export const WORKERS_REUSE_MS = 1000;

/**
 * Asks the engine for the workers, at most one listing at a time: each listing opens a Redis
 * connection (and waits up to its connect timeout when Redis is down), so a poll tick or an
 * engine event that comes while one is under way shares it instead of piling up connections.
 */
export class WorkersModel {
  private inFlight: Promise<WorkersState> | undefined;
  private last: WorkersState = { kind: 'none' };
  private loadedAt: number | undefined;

  /** The state of the last finished listing. */
  get state(): WorkersState {
    return this.last;
  }

  /**
   * Lists the workers; never rejects (a failure becomes an `error` state). With `reuse`, a
   * listing that finished less than `maxAgeMs` before `now` is returned as it is.
   */
  load(engine: Pick<Engine, 'listWorkers'>, reuse?: { now: number; maxAgeMs: number }): Promise<WorkersState> {
    if (reuse && !this.inFlight && this.loadedAt !== undefined && reuse.now - this.loadedAt < reuse.maxAgeMs) return Promise.resolve(this.last);
    const startedAt = reuse?.now;
    this.inFlight ??= engine.listWorkers().then(
      (workers): WorkersState => ({ kind: 'workers', workers }),
      (error: unknown): WorkersState => ({ kind: 'error', error }),
    ).then((s) => {
      this.last = s;
      this.loadedAt = startedAt;
      this.inFlight = undefined;
      return s;
    });
    return this.inFlight;
  }

  /** Forgets the last listing (the engine was replaced, or workers are no longer configured). */
  reset(state: WorkersState = { kind: 'none' }): void {
    this.last = state;
    this.loadedAt = undefined;
  }
}

/** The timer functions the poll uses; the extension passes the global ones, tests their own. */
export interface PollTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/**
 * Calls `refresh` every `everyMs` while the view is visible and workers are configured, and
 * never otherwise: a hidden view costs no Redis connection. `dispose` stops the timer.
 */
export class WorkersPoll {
  private handle: unknown;
  private visible = false;
  private enabled = false;
  private disposed = false;

  constructor(private readonly o: { refresh: () => void; timers: PollTimers; everyMs?: number }) {}

  get running(): boolean {
    return this.handle !== undefined;
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    this.update();
  }

  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    this.update();
  }

  private update(): void {
    const want = this.visible && this.enabled && !this.disposed;
    if (want && this.handle === undefined) {
      this.handle = this.o.timers.setInterval(() => this.o.refresh(), this.o.everyMs ?? WORKERS_POLL_MS);
      // Becoming visible shows fresh heartbeats at once, not one interval later.
      this.o.refresh();
    } else if (!want && this.handle !== undefined) {
      this.o.timers.clearInterval(this.handle);
      this.handle = undefined;
    }
  }

  dispose(): void {
    this.disposed = true;
    this.update();
  }
}
