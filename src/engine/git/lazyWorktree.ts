import { fingerprintRepo, type RepoFingerprint } from './confinement';
import { createTaskWorktree, type TaskWorktree } from './taskWorktree';

/**
 * A task's worktree made only when something needs real files (issue 11, item 6): the built-in
 * developer reads and writes through git objects and needs a checkout only to run a command.
 * `start()` begins the checkout in the background (a task with a check will run it), so it is
 * usually ready by the time the first command runs; `materialize()` waits for it (starting it
 * if nobody did) and takes the repository's fingerprint before any command can run, so the
 * harness can tell afterwards whether a command wrote outside the worktree.
 */
export interface LazyWorktreeSpec {
  repo: string;
  /** The repository's worktree base (`worktreeBaseFor`). */
  stateDir: () => Promise<string>;
  runId: string;
  taskId: string;
  baseCommit: Promise<string>;
  baseTree: string;
  signal: AbortSignal;
}

export class LazyTaskWorktree {
  private making: Promise<TaskWorktree> | undefined;
  private made: TaskWorktree | undefined;
  private before: RepoFingerprint | undefined;

  constructor(readonly spec: LazyWorktreeSpec) {}

  get repo(): string {
    return this.spec.repo;
  }

  get baseTree(): string {
    return this.spec.baseTree;
  }

  /** The worktree once it exists (made, or being made and finished). */
  get created(): TaskWorktree | undefined {
    return this.made;
  }

  /** Whether a checkout was started at all. */
  get started(): boolean {
    return this.making !== undefined;
  }

  /** Starts the checkout in the background; a failure is kept for `materialize()` to throw. */
  start(): void {
    if (this.making) return;
    const s = this.spec;
    this.making = (async () => createTaskWorktree(s.repo, await s.stateDir(), { runId: s.runId, taskId: s.taskId, baseCommit: await s.baseCommit, baseTree: s.baseTree, signal: s.signal }))();
    this.making.then((wt) => (this.made = wt), () => undefined);
  }

  /** The worktree, checked out at the task's base (starts the checkout when nobody did). Throws `git/…`, `cancelled`. */
  async materialize(): Promise<TaskWorktree> {
    this.start();
    const wt = await this.making!;
    this.made = wt;
    this.before ??= await fingerprintRepo(this.spec.repo, { signal: this.spec.signal });
    return wt;
  }

  /** The fingerprint taken before the first command could run, when the worktree was materialized. */
  get fingerprintBefore(): RepoFingerprint | undefined {
    return this.before;
  }

  /** Waits for a checkout still under way (it may fail; then there is nothing to remove). */
  async settled(): Promise<TaskWorktree | undefined> {
    if (!this.making) return undefined;
    return this.making.then((wt) => wt, () => undefined);
  }
}
