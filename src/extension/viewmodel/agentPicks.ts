import type { DetectedAgent } from '../../engine/agents/detect';
import { formatAgentRoute } from '../settings';

/** One coding agent as Select Models lists it. Plain data, so it is tested without VS Code. */
export interface AgentPickView {
  label: string;
  description: string;
  detail: string;
  agent: DetectedAgent;
}

/** What choosing an agent does: route the role to it (adding it to `hyperion.agents` first when only found on PATH), or say why not. */
export type AgentSelection =
  | { route: string; addAgent?: { name: string; entry: { kind: string } } }
  | { problem: string };

/** Roles whose tasks an agent can run: task types and `default`, not the planner or the reviewer. */
export function agentsApplyTo(role: string): boolean {
  return role !== 'planner' && role !== 'reviewer';
}

/**
 * The agents section of Select Models: each agent with its version beside its name, where it
 * was found, and for a missing one the sentence that says how to install it.
 */
export function agentPickItems(detected: readonly DetectedAgent[]): AgentPickView[] {
  return detected.map((a) => {
    const what = a.kind === 'command' ? 'command' : a.label;
    const description = a.problem && !a.binary
      ? `${what} · not installed`
      : a.version ? `${what} ${a.version}` : a.problem ? `${what} · not working` : what;
    let detail: string;
    if (a.problem) detail = a.problem;
    else if (a.configured) detail = a.kind === 'command' ? `hyperion.agents.${a.name}: ${a.label}` : `hyperion.agents.${a.name} · ${a.binary}`;
    else detail = `Found on PATH: ${a.binary}. Choosing it adds "${a.name}" to hyperion.agents.`;
    return { label: `$(terminal) ${a.name}`, description, detail, agent: a };
  });
}

/**
 * The settings change for a chosen agent; a missing one gives its install sentence instead.
 * One whose `--version` failed can still be chosen: some agents have no `--version`.
 */
export function agentSelection(a: DetectedAgent): AgentSelection {
  if (!a.binary) return { problem: a.problem ?? `${a.label} was not found.` };
  const route = formatAgentRoute(a.name);
  return a.configured || a.kind === 'command' ? { route } : { route, addAgent: { name: a.name, entry: { kind: a.kind } } };
}
