import { z } from 'zod';
import type { ChangeVerification } from '../api';
import { verificationText } from '../changes/verification';
import { describeError, isEngineError } from '../errors';
import type { Logger } from '../ports';
import { parseJsonReply, zodIssues } from './json';
import { REVIEW_SCHEMA, reviewerPrompt, reviewerSystemPrompt } from './prompts';
import type { AgentTask, ModelClientLike } from './types';

const Review = z.object({ verdict: z.enum(['approve', 'request_changes']), comments: z.string().default('') });

export interface ReviewResult {
  verdict: 'approve' | 'request_changes' | null;
  comments: string;
}

/**
 * The audit step: asks the `reviewer` role whether a change meets its task's acceptance
 * criteria. Advisory only: any failure (provider error, unusable reply) yields
 * `verdict: null` with the reason in `comments`, never a thrown error — except `cancelled`,
 * which propagates so a cancelled run stops promptly.
 */
export async function reviewChange(input: {
  task: AgentTask;
  summary: string;
  patch: string;
  client: ModelClientLike;
  signal: AbortSignal;
  log: Logger;
  /** The change's own check in the task's worktree, when the developer ran one. */
  verification?: ChangeVerification;
}): Promise<ReviewResult> {
  const { task, client, signal } = input;
  try {
    const res = await client.chat('reviewer', {
      messages: [
        { role: 'system', content: reviewerSystemPrompt() },
        { role: 'user', content: reviewerPrompt(task, input.summary, input.patch) + (input.verification ? `\n\n## The check, run in the task's worktree\n${verificationText(input.verification)}` : '') },
      ],
      json: { name: 'review', schema: REVIEW_SCHEMA },
      signal,
      tags: { role: 'reviewer', taskId: task.id, runId: task.runId },
    });
    const parsed = parseJsonReply(res.text);
    if (!parsed.ok) return { verdict: null, comments: `review unavailable: ${parsed.error}` };
    const r = Review.safeParse(parsed.value);
    if (!r.success) return { verdict: null, comments: `review unavailable: ${zodIssues(r.error)}` };
    return { verdict: r.data.verdict, comments: r.data.comments };
  } catch (e) {
    if (isEngineError(e, 'cancelled') || signal.aborted) throw e;
    input.log.warn('review failed', { taskId: task.id, error: describeError(e) });
    return { verdict: null, comments: `review unavailable: ${describeError(e)}` };
  }
}
