import type { ModelRef } from '../config';
import type { EngineEvent } from '../events';
import type { Plan, PlanTask } from '../plan/schema';
import type { SqlValue } from '../store/types';

/**
 * A plan ready to run: the planner's `RoutedPlan` (every task has a `route`), or a headless
 * TaskRequest file whose tasks may carry a ready-made `patch` (then no model is called).
 */
export type RunTaskInput = PlanTask & { route?: ModelRef; patch?: string; agent?: string; model?: string };
export type RunPlanInput = Omit<Plan, 'tasks'> & { tasks: RunTaskInput[] };

/** Called after a state change is durable, for live UI. Must not throw (errors are ignored). */
export type OnEvent = (e: EngineEvent) => void;

/** A `tasks` row as stored (schema v1). */
export interface TaskRow {
  [k: string]: SqlValue;
  run_id: string;
  id: string;
  seq: number;
  title: string;
  type: string;
  prompt: string;
  acceptance_json: string;
  depends_json: string;
  files_json: string;
  route_json: string | null;
  status: string;
  result_summary: string | null;
  error: string | null;
  attempts: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

export interface RunRow {
  [k: string]: SqlValue;
  id: string;
  goal: string;
  repo: string;
  base_commit: string | null;
  target_ref: string | null;
  status: string;
  approve: string;
  cost_usd: number;
  error: string | null;
  created_at: number;
  updated_at: number;
}

export interface ChangeRow {
  [k: string]: SqlValue;
  id: string;
  run_id: string;
  task_id: string;
  base_commit: string;
  patch: string;
  files_json: string;
  excluded_files_json: string;
  summary: string;
  model: string | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  review_verdict: string | null;
  review_comments: string | null;
  needs_explicit_approval: number;
  /** JSON ChangeVerification (migration 5); null when no check ran in the task's worktree. */
  verification_json: string | null;
  policy_json: string;
  status: string;
  error: string | null;
  /** sha256 of the patch the approval was given to (migration 4); null before approval and on older rows. */
  approved_patch_hash: string | null;
  /** 1 + the regenerations after conflicts (migration 4). */
  version: number;
  created_at: number;
  updated_at: number;
  /** 1 when the user accepted only some hunks (migration 5); 0 on older rows. */
  partly_accepted: number | null;
}
