import { createHash } from 'node:crypto';
import type { DependencyResult } from '../agents/types';
import { EngineError, isEngineError } from '../errors';
import { applyPatches, treeOfCommit, writeKeptCommit } from '../git/batch';
import { topologicalOrder } from '../graph/dag';
import type { Db } from '../store/types';
import type { TaskRow } from '../runs/types';
import type { TaskGraph } from './runIndex';

/**
 * Where a task starts.
 *
 * A task without dependencies starts at the run's base commit. A dependent starts from its
 * dependencies' PROPOSED patches applied on the base commit, in topological order (every
 * transitive dependency, because a dependency's own patch is relative to ITS dependencies).
 *
 * The change's `base_commit` must be a commit the merge queue can three-way merge from, so
 * for a dependent we create one (as `commitTree` would): the dependency-applied tree with parent =
 * the run's base commit, and its patch is relative to that commit. The queue then lands
 * `base_commit → base_commit + patch` onto the target (cherry-pick semantics), which works
 * whether or not the dependencies have landed yet, and conflicts cleanly when they landed
 * differently. The commit is deterministic (fixed date = run creation) and kept alive by a
 * ref `refs/hyperion/bases/<run>/<task>` so `git gc` cannot prune it while the change is open.
 *
 * Cost: a dependency's change remembers (in this process) the tree its patch led to. A task
 * starts from the remembered tree of the direct dependency that covers the most ancestors
 * and applies only the patches that tree does not contain, on one private index. A task
 * with one dependency thus spawns no git process before its agent starts; after a restart
 * (no memory) every ancestor's patch is applied again, as N+2 processes.
 */
export interface TaskBase {
  /**
   * The commit the change's patch is relative to. For a dependent it is written in the
   * background (batched with other tasks' base commits and keep-alive refs, see
   * `writeKeptCommit`), because only the stored change needs it and the agent can start from
   * `baseTree` at once; await it before storing the change.
   * It never rejects unhandled: an unawaited failure is dropped.
   */
  baseCommit: Promise<string>;
  baseTree: string;
  /** Direct dependencies' results, for the agent's context. */
  deps: DependencyResult[];
}

const MAX_DEP_PATCH_CHARS = 12_000;

function refSafe(id: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : `t-${createHash('sha256').update(id).digest('hex').slice(0, 16)}`;
}

interface DepChange {
  id: string;
  base_commit: string;
  patch: string;
  summary: string;
}

function latestUsableChange(db: Db, runId: string, taskId: string): DepChange | undefined {
  return db.get<{ id: string; base_commit: string; patch: string; summary: string }>(
    `SELECT id, base_commit, patch, summary FROM change_requests WHERE run_id = ? AND task_id = ? AND status IN ('proposed', 'approved', 'queued', 'merged')
     ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    [runId, taskId],
  );
}

/** Result trees of changes made by this process, keyed by repo and change id; see `rememberResultTree`. */
const resultTrees = new Map<string, { baseCommit: string; patchHash: string; tree: string }>();
const RESULT_TREES_MAX = 5000;

function patchHash(patch: string): string {
  return createHash('sha1').update(patch).digest('hex');
}

/**
 * Records that `patch` applied to the tree of `baseCommit` gives `tree`, for change
 * `changeId`, so dependents can start from it. The entry is used only while the stored change
 * still has that base commit and patch (the queue may regenerate both).
 */
export function rememberResultTree(repo: string, changeId: string, baseCommit: string, patch: string, tree: string): void {
  if (resultTrees.size >= RESULT_TREES_MAX) resultTrees.delete(resultTrees.keys().next().value!);
  resultTrees.set(`${repo}\0${changeId}`, { baseCommit, patchHash: patchHash(patch), tree });
}

function resultTreeOf(repo: string, c: DepChange): string | undefined {
  const r = resultTrees.get(`${repo}\0${c.id}`);
  return r && r.baseCommit === c.base_commit && r.patchHash === patchHash(c.patch) ? r.tree : undefined;
}

/** `id`'s transitive dependencies (without `id`). */
function ancestorsOf(graph: TaskGraph, id: string): Set<string> {
  const seen = new Set<string>();
  const todo = [...graph.dependsOn(id)];
  while (todo.length > 0) {
    const d = todo.pop()!;
    if (seen.has(d) || !graph.row(d)) continue;
    seen.add(d);
    todo.push(...graph.dependsOn(d));
  }
  return seen;
}

export async function buildTaskBase(
  db: Db,
  repo: string,
  run: { id: string; base_commit: string; created_at: number },
  task: TaskRow,
  graph: TaskGraph,
  signal: AbortSignal,
): Promise<TaskBase> {
  const baseTreeOfRun = await treeOfCommit(repo, run.base_commit, { signal });
  const direct = graph.dependsOn(task.id);
  if (direct.length === 0) return { baseCommit: Promise.resolve(run.base_commit), baseTree: baseTreeOfRun, deps: [] };
  const all = ancestorsOf(graph, task.id);
  const changes = new Map<string, DepChange>();
  const changeOf = (id: string): DepChange => {
    let c = changes.get(id);
    if (!c) {
      c = latestUsableChange(db, run.id, id);
      if (!c) throw new EngineError('schedule/missing-dependency', `dependency ${id} has no usable change request`);
      changes.set(id, c);
    }
    return c;
  };
  // Start from the remembered result of the direct dependency that covers the most ancestors.
  let start = baseTreeOfRun;
  let covered = new Set<string>();
  for (const id of direct) {
    const tree = resultTreeOf(repo, changeOf(id));
    if (tree === undefined) continue;
    const closure = ancestorsOf(graph, id).add(id);
    if (closure.size > covered.size) {
      start = tree;
      covered = closure;
    }
  }
  // `covered` is closed under dependencies, so the rest in topological order keeps every patch after its own dependencies.
  const nodes = [...all].map((id) => ({ id, dependsOn: [...graph.dependsOn(id)], seq: graph.row(id)!.seq })).sort((a, b) => a.seq - b.seq);
  const order = topologicalOrder(nodes);
  const rest = order.filter((id) => !covered.has(id));
  const patches = rest.map((id) => changeOf(id).patch);
  let tree = start;
  try {
    if (patches.some((p) => p.trim() !== '')) tree = await applyPatches(repo, start, patches, { signal });
  } catch (e) {
    if (isEngineError(e, 'patch/')) {
      const at = rest[typeof e.details?.index === 'number' ? e.details.index : 0];
      throw new EngineError('schedule/dependencies-conflict', `the patches of the dependencies do not apply together (at ${at}): ${e.message}`, { cause: e });
    }
    throw e;
  }
  const message = `hyperion: base of task ${task.id} in run ${run.id}\n\nDependencies applied: ${order.join(', ')}`;
  // Written in a batch with other tasks' base commits (one fast-import + one update-ref for
  // the batch); the ref only protects the commit from `git gc` and is best effort.
  const baseCommit = writeKeptCommit(repo, { tree, parent: run.base_commit, message, date: run.created_at, ref: `refs/hyperion/bases/${refSafe(run.id)}/${refSafe(task.id)}` });
  baseCommit.catch(() => undefined);
  const deps = direct.map((id) => {
    const c = changes.get(id)!;
    const patch = c.patch.length > MAX_DEP_PATCH_CHARS ? `${c.patch.slice(0, MAX_DEP_PATCH_CHARS)}\n… (patch cut)` : c.patch;
    return { taskId: id, title: graph.row(id)?.title ?? id, summary: c.summary, patch };
  });
  return { baseCommit, baseTree: tree, deps };
}
