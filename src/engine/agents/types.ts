import type { Role } from '../config';
import type { ModelCallResult, ModelClient } from '../providers/modelClient';

export type { ModelCallResult };

/** The model client as the scheduler and the agents use it: the router picks the model for a role. */
export type ModelClientLike = ModelClient;

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
