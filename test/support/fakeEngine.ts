import { defaultConfig, type EngineConfig } from '../../src/engine/config';
import type {
  DraftView, RunSummary,
  ChangeView, CheckOutputView, Engine, QueueEntryView, QueueSummary, RunView, RunnablePlan,
  ChangeCommentView, ChangeVersionView, HunkView, NewComment, WorkerRunView, WorkerView,
} from '../../src/engine/api';
import { EngineError } from '../../src/engine/errors';
import { Emitter, type EngineEvent } from '../../src/engine/events';

/**
 * An in-memory `Engine` for testing what hosts do with views and events: the test puts
 * hand-built views in `runs`, `changes`, `queue` and `checkOutputs`, fires events with
 * `emit`, and reads what the host called in `calls`. Methods that would need a model or a
 * repository throw `usage/unsupported`; nothing here pretends to plan, run or land.
 */
export class FakeEngine implements Engine {
  readonly config: EngineConfig;
  runs: RunView[] = [];
  changes: ChangeView[] = [];
  queue: QueueEntryView[] = [];
  checkOutputs = new Map<string, CheckOutputView>();
  /** Agent transcripts by `runId/taskId`. */
  transcripts = new Map<string, string>();
  /** Every mutating call, as `name(arg, …)`, in order. */
  readonly calls: string[] = [];
  private readonly emitter = new Emitter<EngineEvent>();
  readonly onDidChange = this.emitter.event;

  constructor(config: Partial<EngineConfig> = {}) {
    this.config = { ...defaultConfig(), ...config };
  }

  emit(e: Omit<EngineEvent, 'at' | 'actor'> & Partial<Pick<EngineEvent, 'at' | 'actor'>>): void {
    this.emitter.fire({ at: 0, actor: 'queue', ...e });
  }

  private unsupported(what: string): never {
    throw new EngineError('usage/unsupported', `the fake engine does not ${what}`);
  }

  plan(): Promise<RunnablePlan> { return this.unsupported('plan'); }
  startRun(): Promise<{ runId: string; done: Promise<RunView> }> { return this.unsupported('run agents'); }
  async cancelRun(runId: string): Promise<void> { this.calls.push(`cancelRun(${runId})`); }
  async retryTask(runId: string, taskId: string): Promise<void> { this.calls.push(`retryTask(${runId}, ${taskId})`); }
  listRuns(limit = 20): RunView[] { return this.runs.slice(0, limit); }
  getRun(runId: string): RunView | undefined { return this.runs.find((r) => r.id === runId); }
  listChanges(filter: { runId?: string; status?: ChangeView['status'] } = {}): ChangeView[] {
    return this.changes.filter((c) => (!filter.runId || c.runId === filter.runId) && (!filter.status || c.status === filter.status));
  }
  getChange(changeId: string): ChangeView | undefined { return this.changes.find((c) => c.id === changeId); }
  async approveChange(changeId: string, opts: { excludeFiles?: string[]; explicit?: boolean } = {}): Promise<void> {
    this.calls.push(`approveChange(${changeId}${opts.explicit ? ', explicit' : ''})`);
  }
  async rejectChange(changeId: string): Promise<void> { this.calls.push(`rejectChange(${changeId})`); }
  async revertChange(changeId: string): Promise<void> { this.calls.push(`revertChange(${changeId})`); }
  listQueue(): QueueEntryView[] { return [...this.queue]; }
  async retryEntry(entryId: string): Promise<void> { this.calls.push(`retryEntry(${entryId})`); }
  async runQueue(): Promise<void> { this.calls.push('runQueue()'); }
  queueSummary(): QueueSummary {
    const count = (s: QueueEntryView['state']) => this.queue.filter((e) => e.state === s).length;
    return {
      running: this.runs.flatMap((r) => r.tasks).filter((t) => t.status === 'running').length,
      awaitingReview: this.changes.filter((c) => c.status === 'proposed').length,
      queued: count('queued') + count('checking') + count('landing'),
      merged: count('merged'),
      failed: count('failed') + count('quarantined') + count('conflicted'),
      blocked: count('blocked'),
      costUsd: this.runs.reduce((s, r) => s + r.costUsd, 0),
    };
  }
  queueMetrics() { return { throughputPerMin: 0, conflictRate: 0, successRate: 0, timeInState: {} }; }
  async readBaseFile(): Promise<string | undefined> { return undefined; }
  async readProposedFile(): Promise<string | undefined> { return undefined; }
  history() { return this.runs.flatMap((r) => r.tasks); }
  listRequests() { return []; }
  async deleteRun(runId: string): Promise<void> { this.calls.push(`deleteRun(${runId})`); }
  /** What `listWorkers` resolves with; `workersError` makes it throw instead, `workersGate` holds it until it settles. */
  workers: WorkerView[] = [];
  workersError: unknown;
  workersGate: Promise<void> | undefined;
  async listWorkers(): Promise<WorkerView[]> {
    this.calls.push('listWorkers()');
    await this.workersGate;
    if (this.workersError !== undefined) throw this.workersError;
    return this.workers.map((w) => ({ ...w }));
  }
  listWorkerRuns(): WorkerRunView[] { return []; }
  async taskWorktreePath(runId: string, taskId: string): Promise<string | undefined> { this.calls.push(`taskWorktreePath(${runId}, ${taskId})`); return undefined; }
  getCheckOutput(entryId: string): CheckOutputView | undefined { return this.checkOutputs.get(entryId); }
  async recheckBlocked(): Promise<void> { this.calls.push('recheckBlocked()'); }
  draftRun(): Promise<string> { return this.unsupported('store drafts'); }
  getDraft(): DraftView | undefined { return undefined; }
  editDraft(): Promise<DraftView> { return this.unsupported('edit drafts'); }
  startDraft(): Promise<{ runId: string; done: Promise<RunView> }> { return this.unsupported('run agents'); }
  runSummary(): Promise<RunSummary> { return this.unsupported('summarise runs'); }
  async taskTranscript(runId: string, taskId: string): Promise<string | undefined> { this.calls.push(`taskTranscript(${runId}, ${taskId})`); return this.transcripts.get(`${runId}/${taskId}`); }
  listHunks(): HunkView[] { return this.unsupported('read patches'); }
  async acceptHunks(changeId: string, o: { hunks: Array<{ path: string; index: number }>; version: number }): Promise<{ version: number }> {
    this.calls.push(`acceptHunks(${changeId}, ${o.hunks.map((h) => `${h.path}#${h.index}`).join(' ')}, v${o.version})`);
    return { version: o.version + 1 };
  }
  comments: ChangeCommentView[] = [];
  addComment(changeId: string, c: NewComment): ChangeCommentView {
    this.calls.push(`addComment(${changeId}, ${c.path ?? ''}:${c.line ?? ''}, ${c.body})`);
    const view: ChangeCommentView = { ...c, id: `cm${this.comments.length + 1}`, changeId, version: 1, author: 'user', createdAt: 0 };
    this.comments.push(view);
    return view;
  }
  listComments(changeId: string): ChangeCommentView[] { return this.comments.filter((c) => c.changeId === changeId); }
  async requestChanges(changeId: string, o: { version?: number } = {}): Promise<{ version: number }> {
    this.calls.push(`requestChanges(${changeId}, v${o.version ?? '?'})`);
    return { version: (o.version ?? 1) + 1 };
  }
  listVersions(): ChangeVersionView[] { return this.unsupported('keep versions'); }
  readVersionFile(): Promise<string | undefined> { return this.unsupported('read versions'); }
  async dispose(): Promise<void> { this.emitter.dispose(); }
}
