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
  /** The user asked for changes to the agent's previous version (Request Changes). */
  feedback?: ChangeFeedback;
}

/** What a reviewer sent back on a version: its patch and the comments to address. */
export interface ChangeFeedback {
  version: number;
  previousPatch: string;
  comments: Array<{ path?: string; line?: number; lineText?: string; body: string }>;
}

const MAX_FEEDBACK_PATCH = 60_000;

/**
 * The feedback as a prompt section, shared by the built-in developer and external agents.
 * Both start again from the same base, so they get their previous patch to redo with the comments applied.
 */
export function feedbackSection(f: ChangeFeedback): string {
  const lines = [`## Changes requested on your previous version (v${f.version})`, '', 'A reviewer read your previous change and asks you to address these comments:', ''];
  for (const c of f.comments) {
    const where = c.path === undefined ? 'On the whole change' : c.line === undefined ? `On ${c.path}` : `On ${c.path} line ${c.line}${c.lineText !== undefined ? ` (\`${c.lineText.trim().slice(0, 200)}\`)` : ''}`;
    lines.push(`- ${where}: ${c.body.trim()}`);
  }
  const patch = f.previousPatch.length > MAX_FEEDBACK_PATCH ? `${f.previousPatch.slice(0, MAX_FEEDBACK_PATCH)}\n… (cut)\n` : f.previousPatch;
  lines.push('', 'Your previous patch, relative to the same starting point you have now (redo it with the comments addressed):', '', '~~~~diff', patch.trimEnd(), '~~~~', '');
  return lines.join('\n');
}

/** What a finished dependency produced, given to its dependents as context. */
export interface DependencyResult {
  taskId: string;
  title: string;
  summary: string;
  patch: string;
}
