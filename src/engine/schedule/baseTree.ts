import { createHash } from 'node:crypto';
import type { DependencyResult } from '../agents/types';
import { EngineError, isEngineError } from '../errors';
import { applyPatches, treeOfCommit, writeKeptCommit } from '../git/batch';
import { mergeTrees } from '../git/mergeTree';
import { carryChanges } from '../git/treeWriter';
import { commitTree } from '../git/plumbing';
import { topologicalOrder } from '../graph/dag';
import type { Db } from '../store/types';
import type { TaskRow } from '../runs/types';
import type { TaskGraph } from './runIndex';

/**
 * Where a task starts.
 *
 * A task without dependencies starts at the run's base commit. A dependent starts from what
 * its dependencies actually landed (the target commit that holds the last of them), plus the
 * latest changes of those that have not landed, applied in topological order (every
 * transitive dependency, because a dependency's own patch is relative to ITS dependencies).
 * A change regenerated on a newer tip is applied as a cherry-pick from the commit it was made
 * on, so a dependent can always be retried after the queue regenerated its dependency.
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
const resultTrees = new Map<string, { baseCommit: string; patchHash: string; tree: string; baseTree?: string }>();
const RESULT_TREES_MAX = 5000;

function patchHash(patch: string): string {
  return createHash('sha1').update(patch).digest('hex');
}

/**
 * Records that `patch` applied to the tree of `baseCommit` gives `tree`, for change
 * `changeId`, so dependents can start from it. The entry is used only while the stored change
 * still has that base commit and patch (the queue may regenerate both).
 */
export function rememberResultTree(repo: string, changeId: string, baseCommit: string, patch: string, tree: string, baseTree?: string): void {
  if (resultTrees.size >= RESULT_TREES_MAX) resultTrees.delete(resultTrees.keys().next().value!);
  resultTrees.set(`${repo}\0${changeId}`, { baseCommit, patchHash: patchHash(patch), tree, baseTree });
}

function resultOf(repo: string, c: DepChange): { tree: string; baseTree?: string } | undefined {
  const r = resultTrees.get(`${repo}\0${c.id}`);
  return r && r.baseCommit === c.base_commit && r.patchHash === patchHash(c.patch) ? r : undefined;
}

function resultTreeOf(repo: string, c: DepChange): string | undefined {
  return resultOf(repo, c)?.tree;
}

/**
 * `start` with the remembered changes of `ids` laid over it, one after the other, from the
 * engine (treeWriter.ts `carryChanges`): what applying their patches gives when each touches
 * only paths `start` holds as the change found them. Undefined when one of them is not
 * remembered or not that simple; the caller then applies the patches with git.
 */
async function carryRemembered(repo: string, start: string, ids: readonly string[], changeOf: (id: string) => DepChange, signal: AbortSignal): Promise<string | undefined> {
  let tree = start;
  for (const id of ids) {
    const c = changeOf(id);
    if (c.patch.trim() === '') continue;
    const r = resultOf(repo, c);
    if (r?.baseTree === undefined) return undefined;
    const next = await carryChanges(repo, tree, r.baseTree, r.tree, signal);
    if (next === undefined) return undefined;
    tree = next;
  }
  return tree;
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

/**
 * The ancestors of a task whose latest change has landed, and the target commit that holds
 * them all (the one landed last: the queue lands one change at a time on one line of history).
 */
function landedAncestors(db: Db, runId: string, ancestors: ReadonlySet<string>): { commit: string; landed: Set<string> } | undefined {
  // One query for the run (a merged change is final: a task never has another after it).
  const rows = db.all<{ task_id: string; landed_commit: string | null; seq: number | null }>(
    `SELECT c.task_id, q.landed_commit, q.seq FROM change_requests c
     LEFT JOIN queue_entries q ON q.change_id = c.id AND q.kind = 'land' AND q.state = 'merged'
     WHERE c.run_id = ? AND c.status = 'merged'`,
    [runId],
  );
  let best: { seq: number; commit: string } | undefined;
  const landed = new Set<string>();
  for (const r of rows) {
    if (!ancestors.has(r.task_id)) continue;
    landed.add(r.task_id);
    if (r.landed_commit && r.seq !== null && (!best || r.seq > best.seq)) best = { seq: r.seq, commit: r.landed_commit };
  }
  return best ? { commit: best.commit, landed } : undefined;
}

/**
 * Applies a dependency's change onto `tree` as a cherry-pick: a three-way merge whose base is
 * the commit the change was made on. For a change regenerated on a newer tip (its patch is
 * relative to that tip, not to the run's base). Throws `schedule/dependencies-conflict`.
 */
async function cherryPick(repo: string, tree: string, dep: DepChange, depId: string, signal: AbortSignal): Promise<string> {
  const depTree = await applyPatches(repo, await treeOfCommit(repo, dep.base_commit, { signal }), [dep.patch], { signal });
  const ours = await commitTree(repo, tree, [dep.base_commit], 'hyperion: dependency base', { date: 0, signal });
  const theirs = await commitTree(repo, depTree, [dep.base_commit], `hyperion: change of ${depId}`, { date: 0, signal });
  const m = await mergeTrees(repo, ours, theirs, { signal });
  if (!m.clean) throw new EngineError('schedule/dependencies-conflict', `the change of dependency ${depId} conflicts with the other dependencies in ${m.conflictPaths.join(', ')}`);
  return m.tree;
}

export async function buildTaskBase(
  db: Db,
  repo: string,
  run: { id: string; base_commit: string; created_at: number },
  task: TaskRow,
  graph: TaskGraph,
  signal: AbortSignal,
): Promise<TaskBase> {
  const direct = graph.dependsOn(task.id);
  if (direct.length === 0) return { baseCommit: Promise.resolve(run.base_commit), baseTree: await treeOfCommit(repo, run.base_commit, { signal }), deps: [] };
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
  // Start from what the dependencies actually landed, when some have: their patches may have
  // been regenerated on a newer tip, so re-applying them on the run's base would not work.
  const landed = landedAncestors(db, run.id, all);
  const startCommit = landed?.commit ?? run.base_commit;
  let start = await treeOfCommit(repo, startCommit, { signal });
  let covered = new Set<string>(landed?.landed ?? []);
  if (!landed) {
    // Start from the remembered result of the direct dependency that covers the most ancestors.
    for (const id of direct) {
      const tree = resultTreeOf(repo, changeOf(id));
      if (tree === undefined) continue;
      const closure = ancestorsOf(graph, id).add(id);
      if (closure.size > covered.size) {
        start = tree;
        covered = closure;
      }
    }
  }
  // `covered` is closed under dependencies, so the rest in topological order keeps every patch after its own dependencies.
  const nodes = [...all].map((id) => ({ id, dependsOn: [...graph.dependsOn(id)], seq: graph.row(id)!.seq })).sort((a, b) => a.seq - b.seq);
  const order = topologicalOrder(nodes);
  const rest = order.filter((id) => !covered.has(id));
  for (const id of direct) changeOf(id);
  const patches = rest.map((id) => changeOf(id).patch);
  let tree = start;
  // Usually the other dependencies touched other files: their changes are laid over the start from here, without git.
  const carried = patches.some((p) => p.trim() !== '') ? await carryRemembered(repo, start, rest, changeOf, signal) : undefined;
  if (carried !== undefined) tree = carried;
  else if (patches.some((p) => p.trim() !== '')) {
    try {
      tree = await applyPatches(repo, start, patches, { signal });
    } catch (e) {
      if (!isEngineError(e, 'patch/')) throw e;
      // A dependency's change was made on another commit (regenerated after a conflict):
      // apply each one as a cherry-pick from the commit it was made on.
      tree = start;
      for (const id of rest) {
        const c = changeOf(id);
        if (c.patch.trim() === '') continue;
        try {
          tree = await applyPatches(repo, tree, [c.patch], { signal });
        } catch (e2) {
          if (!isEngineError(e2, 'patch/')) throw e2;
          tree = await cherryPick(repo, tree, c, id, signal);
        }
      }
    }
  }
  const message = `hyperion: base of task ${task.id} in run ${run.id}\n\nDependencies applied: ${order.join(', ')}${landed ? ` (landed up to ${landed.commit.slice(0, 10)})` : ''}`;
  // Written in a batch with other tasks' base commits (one fast-import + one update-ref for
  // the batch); the ref only protects the commit from `git gc` and is best effort.
  const baseCommit = writeKeptCommit(repo, { tree, parent: startCommit, message, date: run.created_at, ref: `refs/hyperion/bases/${refSafe(run.id)}/${refSafe(task.id)}` });
  baseCommit.catch(() => undefined);
  const deps = direct.map((id) => {
    const c = changes.get(id)!;
    const patch = c.patch.length > MAX_DEP_PATCH_CHARS ? `${c.patch.slice(0, MAX_DEP_PATCH_CHARS)}\n… (patch cut)` : c.patch;
    return { taskId: id, title: graph.row(id)?.title ?? id, summary: c.summary, patch };
  });
  return { baseCommit, baseTree: tree, deps };
}
