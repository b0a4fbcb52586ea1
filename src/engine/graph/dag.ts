/**
 * Pure DAG algorithms over tasks identified by id. A node lists the ids it depends on.
 * None of these functions mutate their input. Functions other than `findCycle` assume
 * the graph was validated (no unknown ids, no cycle) and throw when it was not.
 */
export interface DagNode {
  id: string;
  dependsOn: readonly string[];
  /** Estimated duration, for the critical path. Defaults to 1. */
  weight?: number;
}

function index(nodes: readonly DagNode[]): Map<string, DagNode> {
  return new Map(nodes.map((n) => [n.id, n]));
}

/**
 * Returns one cycle as a list of ids that starts and ends with the same id
 * (e.g. ['t2', 't4', 't2']), or undefined when the graph is acyclic.
 * Unknown dependency ids are ignored here (validation reports them separately).
 */
export function findCycle(nodes: readonly DagNode[]): string[] | undefined {
  const byId = index(nodes);
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  // Iterative DFS so deep chains cannot overflow the call stack.
  for (const root of nodes) {
    if (state.has(root.id)) continue;
    const frames: Array<{ id: string; next: number }> = [{ id: root.id, next: 0 }];
    state.set(root.id, 'open');
    stack.push(root.id);
    while (frames.length > 0) {
      const top = frames[frames.length - 1];
      const deps = byId.get(top.id)?.dependsOn ?? [];
      if (top.next < deps.length) {
        const dep = deps[top.next++];
        if (!byId.has(dep)) continue;
        const s = state.get(dep);
        if (s === 'open') return [...stack.slice(stack.indexOf(dep)), dep];
        if (s === undefined) {
          state.set(dep, 'open');
          stack.push(dep);
          frames.push({ id: dep, next: 0 });
        }
      } else {
        state.set(top.id, 'done');
        stack.pop();
        frames.pop();
      }
    }
  }
  return undefined;
}

/**
 * Groups ids into levels: level 0 has no dependencies, level k depends only on earlier
 * levels. Tasks in one level can run in parallel. Order inside a level follows input order.
 */
export function topologicalLevels(nodes: readonly DagNode[]): string[][] {
  const level = new Map<string, number>();
  const byId = index(nodes);
  for (const id of topologicalOrder(nodes)) {
    const n = byId.get(id)!;
    level.set(id, n.dependsOn.reduce((m, d) => Math.max(m, (level.get(d) ?? 0) + 1), 0));
  }
  const levels: string[][] = [];
  for (const n of nodes) {
    const l = level.get(n.id)!;
    (levels[l] ??= []).push(n.id);
  }
  return levels;
}

/** Kahn's algorithm; stable with respect to input order. Throws on a cycle. */
export function topologicalOrder(nodes: readonly DagNode[]): string[] {
  const byId = index(nodes);
  const indegree = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const n of nodes) {
    indegree.set(n.id, n.dependsOn.filter((d) => byId.has(d)).length);
    for (const d of n.dependsOn) if (byId.has(d)) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(n.id);
  }
  const ready = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  const order: string[] = [];
  for (let i = 0; i < ready.length; i++) {
    const id = ready[i];
    order.push(id);
    for (const m of dependents.get(id) ?? []) {
      const k = indegree.get(m)! - 1;
      indegree.set(m, k);
      if (k === 0) ready.push(m);
    }
  }
  if (order.length !== nodes.length) throw new Error(`graph has a cycle: ${(findCycle(nodes) ?? []).join(' -> ')}`);
  return order;
}

/** Longest chain of dependencies by weight: the lower bound of a run under unlimited parallelism. */
export function criticalPath(nodes: readonly DagNode[]): { path: string[]; length: number } {
  const byId = index(nodes);
  const best = new Map<string, { length: number; prev?: string }>();
  for (const id of topologicalOrder(nodes)) {
    const n = byId.get(id)!;
    let prev: string | undefined;
    let base = 0;
    for (const d of n.dependsOn) {
      const b = best.get(d);
      if (b && b.length > base) {
        base = b.length;
        prev = d;
      }
    }
    best.set(id, { length: base + (n.weight ?? 1), prev });
  }
  let end: string | undefined;
  let length = 0;
  for (const [id, b] of best) if (b.length > length) [end, length] = [id, b.length];
  const path: string[] = [];
  for (let cur = end; cur !== undefined; cur = best.get(cur)!.prev) path.unshift(cur);
  return { path, length };
}

/** Number of levels (the longest chain counted in tasks). 0 for an empty graph. */
export function depth(nodes: readonly DagNode[]): number {
  return topologicalLevels(nodes).length;
}

/** Every id that `id` depends on, directly or not. */
export function transitiveDependencies(nodes: readonly DagNode[], id: string): Set<string> {
  const byId = index(nodes);
  const seen = new Set<string>();
  const todo = [...(byId.get(id)?.dependsOn ?? [])];
  while (todo.length > 0) {
    const d = todo.pop()!;
    if (seen.has(d) || !byId.has(d)) continue;
    seen.add(d);
    todo.push(...byId.get(d)!.dependsOn);
  }
  return seen;
}

/** True when a and b are ordered by a dependency path, in either direction. */
export function areOrdered(nodes: readonly DagNode[], a: string, b: string): boolean {
  return transitiveDependencies(nodes, a).has(b) || transitiveDependencies(nodes, b).has(a);
}
