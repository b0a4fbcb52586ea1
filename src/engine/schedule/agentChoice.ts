import type { EngineConfig, Role } from '../config';
import { agentRouteFor } from '../providers/router';

/** Which configured agent runs a task, and with which model (undefined: the agent's own default). */
export interface AgentChoice {
  name: string;
  model: string | undefined;
}

/**
 * The agent for a stored task, or undefined for the built-in developer. A task with a
 * ready-made patch runs no agent. Otherwise, first match wins: the task's own `agent`, the
 * run-wide default (`defaultAgent`: the CLI's `--agent`, `HYPERION_AGENT`), then an agent
 * entry routed for the task's type. The model: the task's own, else the agent route's.
 * Whether the agent is configured is checked when the task starts (`agent/unknown`), so one
 * misnamed agent fails its task, not the run.
 */
export function agentChoiceFor(config: EngineConfig, task: { type: string; patch?: string; agent?: string; model?: string }): AgentChoice | undefined {
  if (typeof task.patch === 'string') return undefined;
  const route = agentRouteFor(config, task.type as Role);
  const name = task.agent ?? config.defaultAgent ?? route?.agent;
  if (name === undefined) return undefined;
  return { name, model: task.model ?? (route?.agent === name ? route.model : undefined) };
}
