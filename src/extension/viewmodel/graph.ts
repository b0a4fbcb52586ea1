import type { RunView } from '../../engine/api';
import { criticalPath, topologicalLevels, type DagNode } from '../../engine/graph/dag';
import type { GraphEdge, GraphModel, GraphNode } from '../../protocol/messages';

export interface LayoutOptions {
  nodeWidth: number;
  nodeHeight: number;
  gapX: number;
  gapY: number;
  margin: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = { nodeWidth: 156, nodeHeight: 44, gapX: 40, gapY: 14, margin: 12 };

/**
 * Layered layout, left to right: a column per topological level (tasks in one column can
 * run in parallel), stacked top to bottom inside a column. Within a column tasks are sorted
 * by the mean row of their dependencies (one barycenter sweep), which keeps edges short
 * and mostly uncrossed for the plans planners write. The critical path is computed here on
 * the host with unit weights (the longest chain of tasks), so the webview only draws.
 * Unknown dependency ids are dropped rather than drawn as dangling edges.
 */
export function layoutGraph(run: RunView, opts: LayoutOptions = DEFAULT_LAYOUT): GraphModel {
  const ids = new Set(run.tasks.map((t) => t.id));
  const dag: DagNode[] = run.tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn.filter((d) => ids.has(d)) }));
  let levels: string[][];
  let critical: string[];
  try {
    levels = topologicalLevels(dag);
    critical = criticalPath(dag).path;
  } catch {
    // A cyclic graph cannot be layered; show the tasks in one column rather than nothing.
    levels = [dag.map((n) => n.id)];
    critical = [];
  }
  const row = new Map<string, number>();
  const deps = new Map(dag.map((n) => [n.id, n.dependsOn]));
  levels.forEach((level, li) => {
    const sorted = li === 0 ? level : [...level].sort((a, b) => barycenter(a) - barycenter(b));
    sorted.forEach((id, r) => row.set(id, r));
    levels[li] = sorted;
  });
  function barycenter(id: string): number {
    const ds = deps.get(id) ?? [];
    if (ds.length === 0) return Number.MAX_SAFE_INTEGER;
    return ds.reduce((s, d) => s + (row.get(d) ?? 0), 0) / ds.length;
  }

  const onPath = new Set(critical);
  const criticalEdges = new Set(critical.slice(1).map((id, i) => `${critical[i]}->${id}`));
  const byId = new Map(run.tasks.map((t) => [t.id, t]));
  const nodes: GraphNode[] = [];
  levels.forEach((level, li) => {
    level.forEach((id, r) => {
      const t = byId.get(id)!;
      nodes.push({
        id,
        title: t.title,
        status: t.status,
        type: t.type,
        level: li,
        x: opts.margin + li * (opts.nodeWidth + opts.gapX),
        y: opts.margin + r * (opts.nodeHeight + opts.gapY),
        width: opts.nodeWidth,
        height: opts.nodeHeight,
        critical: onPath.has(id),
        costUsd: t.costUsd,
        hasChange: t.changeId !== undefined,
      });
    });
  });
  const edges: GraphEdge[] = [];
  for (const n of dag) for (const d of n.dependsOn) edges.push({ from: d, to: n.id, critical: criticalEdges.has(`${d}->${n.id}`) });
  const tallest = levels.reduce((m, l) => Math.max(m, l.length), 0);
  return {
    runId: run.id,
    goal: run.goal,
    runStatus: run.status,
    costUsd: run.costUsd,
    width: levels.length === 0 ? 0 : opts.margin * 2 + levels.length * opts.nodeWidth + (levels.length - 1) * opts.gapX,
    height: tallest === 0 ? 0 : opts.margin * 2 + tallest * opts.nodeHeight + (tallest - 1) * opts.gapY,
    nodes,
    edges,
    criticalPath: critical,
  };
}
