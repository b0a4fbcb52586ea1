import { z } from 'zod';
import type { EngineConfig, ModelRef } from '../config';
import { EngineError, describeError, throwIfAborted } from '../errors';
import type { Logger, UserPrompt } from '../ports';
import type { ModelClient } from '../providers/modelClient';
import { routeFor } from '../providers/router';
import type { ChatMessage } from '../providers/types';
import { answersPrompt, echoAnswer, plannerSystemPrompt, plannerUserPrompt, proceedPrompt, repairPrompt } from './prompts';
import { checkGoalSize } from './limits';
import { buildRepoMap } from './repoMap';
import { Plan, type PlanTask } from './schema';
import { validatePlan } from './validate';

export type RoutedTask = PlanTask & { route: ModelRef };
export type RoutedPlan = Omit<Plan, 'tasks'> & { tasks: RoutedTask[] };

export interface PlanResult {
  plan: RoutedPlan;
  /** Model calls made (first answer, repairs and re-plans). */
  attempts: number;
  usage: { inputTokens: number; outputTokens: number; costUsd: number };
}

export interface PlanGoalInput {
  goal: string;
  repo: string;
  context?: string;
  constraints?: string[];
}

export interface PlanGoalDeps {
  client: ModelClient;
  config: EngineConfig;
  log: Logger;
  ask?: UserPrompt;
  signal?: AbortSignal;
  /** Stream model answers (same result; lets slow models show progress). Default false. */
  stream?: boolean;
  /** Precomputed repository map (skips `git ls-files`), e.g. for tests or a cached map. */
  repoMap?: string;
  /** Labels for the model calls (recorded-response matching, cost attribution). */
  runId?: string;
}

/** JSON schema of the plan as the model writes it (defaulted fields optional). */
export const PLAN_JSON_SCHEMA: Record<string, unknown> = (() => {
  const s = z.toJSONSchema(Plan, { io: 'input' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
})();

/**
 * Turns a goal into a validated plan whose tasks carry their model route.
 *
 * - Every answer is parsed and checked with `validatePlan` (limit `config.planner.maxTasks`);
 *   on failure the errors go back to the model, up to `config.planner.repairAttempts`
 *   answers per round, then `plan/invalid` is thrown quoting the last errors.
 * - When the plan has questions and `ask` answers at least one, the model re-plans once with
 *   the answers. Without answers it proceeds on its assumptions; a plan with only questions
 *   is sent back once asking it to proceed. The final plan always has tasks.
 * - Provider errors (`provider/…`) and `cancelled` propagate unchanged.
 */
export async function planGoal(input: PlanGoalInput, deps: PlanGoalDeps): Promise<PlanResult> {
  const { client, config, log, signal } = deps;
  if (!input.goal.trim()) throw new EngineError('usage/empty-goal', 'the goal is empty');
  checkGoalSize(input.goal);
  throwIfAborted(signal);
  const repoMap = deps.repoMap ?? (await buildRepoMap(input.repo, { signal }));
  const messages: ChatMessage[] = [
    { role: 'system', content: plannerSystemPrompt(config.planner.maxTasks) },
    { role: 'user', content: plannerUserPrompt({ goal: input.goal, repoMap, context: input.context, constraints: input.constraints }) },
  ];
  const usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
  let attempts = 0;

  /** One round: ask until the answer validates or the repair budget runs out. */
  const round = async (): Promise<{ plan: Plan; text: string }> => {
    let errors: string[] = [];
    for (let i = 0; i < config.planner.repairAttempts; i++) {
      throwIfAborted(signal);
      attempts++;
      const res = await client.chat('planner', {
        messages,
        json: { name: 'plan', schema: PLAN_JSON_SCHEMA },
        maxTokens: 8192,
        stream: deps.stream,
        signal,
        tags: { role: 'planner', runId: deps.runId, attempt: attempts },
      });
      usage.inputTokens += res.usage.inputTokens;
      usage.outputTokens += res.usage.outputTokens;
      usage.costUsd += res.costUsd;
      const parsed = parsePlanJson(res.text);
      const v = parsed.ok ? validatePlan(parsed.value, { maxTasks: config.planner.maxTasks }) : { ok: false as const, errors: [parsed.error] };
      if (v.ok) return { plan: v.plan, text: res.text };
      errors = v.errors;
      log.warn('planner answer rejected', { attempt: attempts, errors });
      messages.push(echoAnswer(res.text), { role: 'user', content: repairPrompt(errors) });
    }
    throw new EngineError('plan/invalid', `the plan was still invalid after ${config.planner.repairAttempts} attempts: ${errors.join('; ')}`, {
      details: { errors, attempts },
    });
  };

  let { plan, text } = await round();
  if (plan.questions.length > 0) {
    const answered: Array<{ question: string; answer: string }> = [];
    const unanswered: string[] = [];
    if (deps.ask) {
      for (const question of plan.questions) {
        throwIfAborted(signal);
        let answer: string | undefined;
        try {
          answer = await deps.ask.askQuestion(question, { signal });
        } catch (e) {
          throwIfAborted(signal);
          log.warn('asking a planner question failed; using the assumption', { question, error: describeError(e) });
        }
        if (answer !== undefined && answer.trim() !== '') answered.push({ question, answer });
        else unanswered.push(question);
      }
    }
    if (answered.length > 0) {
      messages.push(echoAnswer(text), { role: 'user', content: answersPrompt(answered, unanswered) });
      ({ plan, text } = await round());
      // The user's answers are part of the plan's record; questions are settled now.
      plan = { ...plan, questions: [], assumptions: [...plan.assumptions, ...answered.map((a) => `${a.question} → ${a.answer}`)] };
    } else if (plan.tasks.length === 0) {
      log.info('no answers to the planner questions; asking it to proceed on assumptions', { questions: plan.questions });
      messages.push(echoAnswer(text), { role: 'user', content: proceedPrompt() });
      ({ plan, text } = await round());
    }
  }
  if (plan.tasks.length === 0) {
    throw new EngineError('plan/invalid', 'the planner returned no tasks, only questions: ' + plan.questions.join(' | '), {
      details: { errors: ['tasks: the plan has no tasks'], attempts, questions: plan.questions },
    });
  }
  const routed: RoutedPlan = { ...plan, tasks: plan.tasks.map((t) => ({ ...t, route: routeFor(config, t.type)[0] })) };
  log.info('plan ready', { tasks: routed.tasks.length, attempts, costUsd: usage.costUsd });
  return { plan: routed, attempts, usage };
}

/**
 * Parses a model's answer as JSON. Tolerates a ```json fence and prose around one object,
 * which chat models add despite instructions. The error names the problem and quotes the start.
 */
export function parsePlanJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const attempts = [text.trim()];
  const fenced = /```[a-zA-Z]*\s*\n([\s\S]*?)```/.exec(text);
  if (fenced) attempts.push(fenced[1].trim());
  const first = text.indexOf('{');
  const last = text.lastIndexOf('}');
  if (first >= 0 && last > first) attempts.push(text.slice(first, last + 1));
  let firstError = '';
  for (const a of attempts) {
    try {
      return { ok: true, value: JSON.parse(a) };
    } catch (e) {
      firstError ||= (e as Error).message;
    }
  }
  const start = text.trim().slice(0, 80).replace(/\s+/g, ' ');
  return { ok: false, error: `(root): the answer is not valid JSON (${firstError}); it began "${start}"` };
}
