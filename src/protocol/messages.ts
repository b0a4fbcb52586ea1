import { z } from 'zod';

/**
 * Messages between the extension host and the graph webview. One source of truth for both
 * ends: each side parses what it receives with `safeParse` and drops (and logs) anything
 * that does not match, and validates what it sends with `parse` so a bug shows up at the
 * sender. Names are `noun/verb`. Model-written strings (titles, goals) travel as plain data
 * and the webview inserts them with `textContent` only.
 */

export const NODE_STATUSES = [
  'pending', 'ready', 'running', 'proposed', 'approved', 'rejected',
  'merged', 'failed', 'skipped', 'cancelled',
] as const;
export const NodeStatus = z.enum(NODE_STATUSES);
export type NodeStatus = z.infer<typeof NodeStatus>;

const Id = z.string().min(1).max(200);

/** One task drawn as a box; positions are computed on the host (layered layout). */
export const GraphNode = z.object({
  id: Id,
  title: z.string().max(400),
  status: NodeStatus,
  type: z.string().max(40),
  level: z.number().int().nonnegative(),
  x: z.number().finite(),
  y: z.number().finite(),
  width: z.number().positive(),
  height: z.number().positive(),
  critical: z.boolean(),
  costUsd: z.number().nonnegative(),
  /** False when the node's model has no price: its cost shows "—", not "$0.00". */
  costKnown: z.boolean().optional(),
  hasChange: z.boolean(),
  /** The coding agent that runs the task (absent: the built-in developer). */
  agent: z.string().max(80).optional(),
  /** What the agent is doing now, while the task runs. */
  activity: z.string().max(200).optional(),
});
export type GraphNode = z.infer<typeof GraphNode>;

export const GraphEdge = z.object({
  from: Id,
  to: Id,
  critical: z.boolean(),
  /** The edge lies on a dependency cycle of a draft plan: drawn red until the user deletes it. */
  cycle: z.boolean().optional(),
});
export type GraphEdge = z.infer<typeof GraphEdge>;

export const GraphModel = z.object({
  runId: Id,
  goal: z.string().max(4000),
  runStatus: z.string().max(40),
  costUsd: z.number().nonnegative(),
  costKnown: z.boolean().optional(),
  /** `right`: levels are columns (wide views); `down`: levels are rows (a narrow sidebar). */
  direction: z.enum(['right', 'down']).optional(),
  width: z.number().nonnegative(),
  height: z.number().nonnegative(),
  nodes: z.array(GraphNode).max(500),
  edges: z.array(GraphEdge).max(5000),
  criticalPath: z.array(Id),
  /** Present while the run is a draft plan: the graph is editable and shows the validator's errors. */
  draft: z.object({ errors: z.array(z.string().max(2000)).max(50) }).optional(),
});
export type GraphModel = z.infer<typeof GraphModel>;

export const RunChoice = z.object({ id: Id, label: z.string().max(400) });
export type RunChoice = z.infer<typeof RunChoice>;

/** Host → webview. */
export const ToWebview = z.discriminatedUnion('type', [
  z.object({ type: z.literal('graph/show'), graph: GraphModel, runs: z.array(RunChoice).max(100) }),
  z.object({ type: z.literal('graph/empty'), reason: z.string().max(400) }),
]);
export type ToWebview = z.infer<typeof ToWebview>;

/** Webview → host. */
export const FromWebview = z.discriminatedUnion('type', [
  z.object({ type: z.literal('webview/ready') }),
  z.object({ type: z.literal('node/open'), runId: Id, taskId: Id }),
  z.object({ type: z.literal('run/select'), runId: Id }),
  /** The webview's width in CSS pixels, on load and when it changes: the host picks the layout. */
  z.object({ type: z.literal('view/size'), width: z.number().finite().nonnegative().max(100_000) }),
  z.object({ type: z.literal('graph/openEditor') }),
  // Draft plans: the host edits through the engine, which validates each edit at once.
  z.object({ type: z.literal('draft/start'), runId: Id }),
  z.object({ type: z.literal('draft/editTask'), runId: Id, taskId: Id }),
  z.object({ type: z.literal('draft/addTask'), runId: Id }),
  /** `to` waits for `from` (link), or no longer does (unlink). */
  z.object({ type: z.literal('draft/link'), runId: Id, from: Id, to: Id }),
  z.object({ type: z.literal('draft/unlink'), runId: Id, from: Id, to: Id }),
]);
export type FromWebview = z.infer<typeof FromWebview>;

export type DraftMessage = Extract<FromWebview, { type: `draft/${string}` }>;

/** Pixels a back edge (one closing a draft's cycle) bulges beside the boxes: the host's layout leaves this room, the webview draws into it. */
export const BACK_EDGE_ROOM = 36;
