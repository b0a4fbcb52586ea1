import type { DraftView, RunView } from '../../engine/api';
import { criticalPath, findCycle, topologicalLevels, type DagNode } from '../../engine/graph/dag';
import { BACK_EDGE_ROOM, type GraphEdge, type GraphModel, type GraphNode } from '../../protocol/messages';
import type { TaskAgentView } from './agents';
import { isPriced, runStatusText, type PriceTable } from './format';

export interface LayoutOptions {
  nodeWidth: number;
  nodeHeight: number;
  gapX: number;
  gapY: number;
  margin: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = { nodeWidth: 156, nodeHeight: 44, gapX: 40, gapY: 14, margin: 12 };

/** Height of the line that names a node's agent (and its activity), added when some task has an agent. */
export const AGENT_LINE_HEIGHT = 16;

export type GraphDirection = 'right' | 'down';

/** Below this width (CSS px) the graph is laid out top to bottom: the default sidebar is ~300 px. */
export const NARROW_WIDTH = 420;

/** Top to bottom in a narrow view, left to right otherwise (and before the width is known). */
export function directionFor(width: number | undefined): GraphDirection {
  return width !== undefined && width > 0 && width < NARROW_WIDTH ? 'down' : 'right';
}

/**
 * Layered layout, left to right: a column per topological level (tasks in one column can
 * run in parallel), stacked top to bottom inside a column. Within a column tasks are sorted
 * by the mean row of their dependencies (one barycenter sweep), which keeps edges short
 * and mostly uncrossed for the plans planners write. The critical path is computed here on
 * the host with unit weights (the longest chain of tasks), so the webview only draws.
 * Unknown dependency ids are dropped rather than drawn as dangling edges.
 */
export function layoutGraph(run: RunView, layout: LayoutOptions = DEFAULT_LAYOUT, direction: GraphDirection = 'right', prices?: PriceTable, draft?: Pick<DraftView, 'errors' | 'cycleEdges'>, agentOf?: (t: RunView['tasks'][number]) => TaskAgentView): GraphModel {
  const down = direction === 'down';
  const agents = new Map(run.tasks.map((t) => [t.id, agentOf?.(t) ?? {}]));
  // Boxes grow by a line when some task has an agent to name, so every box keeps one size.
  const opts = [...agents.values()].some((a) => a.agent || a.activity) ? { ...layout, nodeHeight: layout.nodeHeight + AGENT_LINE_HEIGHT } : layout;
  const ids = new Set(run.tasks.map((t) => t.id));
  const dag: DagNode[] = run.tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn.filter((d) => ids.has(d)) }));
  let levels: string[][];
  let critical: string[];
  try {
    levels = topologicalLevels(dag);
    critical = criticalPath(dag).path;
  } catch {
    // A cyclic draft is layered without as few of its cycle's edges as it takes (in order, so
    // the edge the user just drew, listed first on its task, goes first): drawing one edge
    // then moves nothing else. A graph still cyclic goes in one column rather than nothing.
    const cut = new Set<string>();
    const without = () => dag.map((n) => ({ id: n.id, dependsOn: n.dependsOn.filter((d) => !cut.has(`${d}->${n.id}`)) }));
    levels = [dag.map((n) => n.id)];
    for (const e of draft?.cycleEdges ?? []) {
      cut.add(`${e.from}->${e.to}`);
      if (findCycle(without())) continue;
      levels = topologicalLevels(without());
      break;
    }
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
        // Across levels the gap leaves room for edges; inside a level boxes sit close.
        x: down ? opts.margin + r * (opts.nodeWidth + opts.gapY) : opts.margin + li * (opts.nodeWidth + opts.gapX),
        y: down ? opts.margin + li * (opts.nodeHeight + opts.gapX) : opts.margin + r * (opts.nodeHeight + opts.gapY),
        width: opts.nodeWidth,
        height: opts.nodeHeight,
        critical: onPath.has(id),
        costUsd: t.costUsd,
        costKnown: prices === undefined || isPriced(prices, t.route),
        hasChange: t.changeId !== undefined,
        ...agents.get(id),
      });
    });
  });
  const edges: GraphEdge[] = [];
  const onCycle = new Set((draft?.cycleEdges ?? []).map((e) => `${e.from}->${e.to}`));
  for (const n of dag) {
    for (const d of n.dependsOn) {
      const edge: GraphEdge = { from: d, to: n.id, critical: criticalEdges.has(`${d}->${n.id}`) };
      if (onCycle.has(`${d}->${n.id}`)) edge.cycle = true;
      edges.push(edge);
    }
  }
  const backRoom = (draft?.cycleEdges.length ?? 0) > 0;
  const widest = levels.reduce((m, l) => Math.max(m, l.length), 0);
  const across = (n: number, size: number, gap: number) => (n === 0 ? 0 : opts.margin * 2 + n * size + (n - 1) * gap);
  return {
    runId: run.id,
    goal: run.goal,
    runStatus: runStatusText(run.status),
    costUsd: run.costUsd,
    costKnown: prices === undefined || run.tasks.every((t) => isPriced(prices, t.route)),
    direction,
    // A draft's back edge (it closes a cycle) bulges out beside the boxes: leave it room.
    width: down ? across(widest, opts.nodeWidth, opts.gapY) + (backRoom && widest > 0 ? BACK_EDGE_ROOM : 0) : across(levels.length, opts.nodeWidth, opts.gapX),
    height: down ? across(levels.length, opts.nodeHeight, opts.gapX) : across(widest, opts.nodeHeight, opts.gapY) + (backRoom && widest > 0 ? BACK_EDGE_ROOM : 0),
    nodes,
    edges,
    criticalPath: critical,
    ...(draft ? { draft: { errors: draft.errors } } : {}),
  };
}
