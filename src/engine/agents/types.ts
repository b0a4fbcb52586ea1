import type { ModelRef, Role } from '../config';
import type { ChatRequest, ChatResponse } from '../providers/types';

/**
 * The model client as the scheduler and the agents use it. Structurally the same as
 * `providers/modelClient.ts`'s `ModelClient`: the router picks the model for `role`.
 */
export type ModelCallResult = ChatResponse & { costUsd: number; durationMs: number; ref: ModelRef; cached: boolean };

export interface ModelClientLike {
  /** Throws EngineError `provider/*` (with `details.transient`) or `cancelled`. */
  chat(role: Role, req: Omit<ChatRequest, 'model'>): Promise<ModelCallResult>;
}

/** A task as the scheduler hands it to an agent. */
export interface AgentTask {
  runId: string;
  id: string;
  title: string;
  type: Role;
  prompt: string;
  acceptanceCriteria: string[];
  dependsOn: string[];
  files: string[];
}

/** What a finished dependency produced, given to its dependents as context. */
export interface DependencyResult {
  taskId: string;
  title: string;
  summary: string;
  patch: string;
}
