import { createHash } from 'node:crypto';
import type { DependencyResult } from '../agents/types';
import { EngineError, isEngineError } from '../errors';
import { git } from '../git/exec';
import { applyPatchToTree, commitTree } from '../git/plumbing';
import { topologicalOrder, transitiveDependencies } from '../graph/dag';
import type { Db } from '../store/types';
import type { TaskRow } from '../runs/types';

/**
 * Where a task starts.
 *
 * A task without dependencies starts at the run's base commit. A dependent starts from its
 * dependencies' PROPOSED patches applied on the base commit, in topological order (every
 * transitive dependency, because a dependency's own patch is relative to ITS dependencies).
 *
 * The change's `base_commit` must be a commit the merge queue can three-way merge from, so
 * for a dependent we create one with `commitTree`: the dependency-applied tree with parent =
 * the run's base commit, and its patch is relative to that commit. The queue then lands
 * `base_commit → base_commit + patch` onto the target (cherry-pick semantics), which works
 * whether or not the dependencies have landed yet, and conflicts cleanly when they landed
 * differently. The commit is deterministic (fixed date = run creation) and kept alive by a
 * ref `refs/hyperion/bases/<run>/<task>` so `git gc` cannot prune it while the change is open.
 */
export interface TaskBase {
  baseCommit: string;
  baseTree: string;
  /** Direct dependencies' results, for the agent's context. */
  deps: DependencyResult[];
}

const MAX_DEP_PATCH_CHARS = 12_000;

function refSafe(id: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : `t-${createHash('sha256').update(id).digest('hex').slice(0, 16)}`;
}

interface DepChange {
  patch: string;
  summary: string;
}

function latestUsableChange(db: Db, runId: string, taskId: string): DepChange | undefined {
  return db.get<{ patch: string; summary: string }>(
    `SELECT patch, summary FROM change_requests WHERE run_id = ? AND task_id = ? AND status IN ('proposed', 'approved', 'queued', 'merged')
     ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    [runId, taskId],
  );
}

export async function buildTaskBase(
  db: Db,
  repo: string,
  run: { id: string; base_commit: string; created_at: number },
  task: TaskRow,
  tasks: readonly TaskRow[],
  signal: AbortSignal,
): Promise<TaskBase> {
  const nodes = tasks.map((t) => ({ id: t.id, dependsOn: JSON.parse(t.depends_json) as string[] }));
  const all = transitiveDependencies(nodes, task.id);
  const baseTreeOfRun = (await git(['rev-parse', `${run.base_commit}^{tree}`], { cwd: repo, signal })).stdout.trim();
  if (all.size === 0) return { baseCommit: run.base_commit, baseTree: baseTreeOfRun, deps: [] };
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const order = topologicalOrder(nodes).filter((id) => all.has(id));
  let tree = baseTreeOfRun;
  const changes = new Map<string, DepChange>();
  for (const id of order) {
    const c = latestUsableChange(db, run.id, id);
    if (!c) throw new EngineError('schedule/missing-dependency', `dependency ${id} has no usable change request`);
    changes.set(id, c);
    if (c.patch.trim() === '') continue;
    try {
      tree = await applyPatchToTree(repo, tree, c.patch, { signal });
    } catch (e) {
      if (isEngineError(e, 'patch/')) {
        throw new EngineError('schedule/dependencies-conflict', `the patches of the dependencies do not apply together (at ${id}): ${e.message}`, { cause: e });
      }
      throw e;
    }
  }
  const message = `hyperion: base of task ${task.id} in run ${run.id}\n\nDependencies applied: ${order.join(', ')}`;
  const baseCommit = await commitTree(repo, tree, [run.base_commit], message, { date: run.created_at, signal });
  // Best effort: the ref only protects the commit from `git gc` (which keeps loose objects for
  // two weeks anyway); a stale ref lock left by a killed process must not fail the task.
  await git(['update-ref', `refs/hyperion/bases/${refSafe(run.id)}/${refSafe(task.id)}`, baseCommit], { cwd: repo, signal, check: false });
  const direct = JSON.parse(task.depends_json) as string[];
  const deps = direct.map((id) => {
    const c = changes.get(id)!;
    const patch = c.patch.length > MAX_DEP_PATCH_CHARS ? `${c.patch.slice(0, MAX_DEP_PATCH_CHARS)}\n… (patch cut)` : c.patch;
    return { taskId: id, title: byId.get(id)?.title ?? id, summary: c.summary, patch };
  });
  return { baseCommit, baseTree: tree, deps };
}
