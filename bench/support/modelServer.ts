import type { LoopbackServer, LoopbackStep, ReceivedRequest } from '../../test/support/loopback/common';
import { startAnthropicServer } from '../../test/support/loopback/anthropic';
import { startOpenAIServer } from '../../test/support/loopback/openai';
import { planAnswer, reviewAnswer, singleAnswer, singleSummary, taskAnswer, type GoalFile } from './goals';
import { loopbackLatency, rateOfModel, replyLatencyMs, tokensOf } from './rates';
import { toolAnswer } from './toolAnswers';

/**
 * Loopback OpenAI and Anthropic servers that play the models of the orchestration benchmark.
 * The real SDKs talk to them over HTTP. Each request is answered from the current goal:
 * the planner gets the recorded plan, a developer gets its task's files (task id "all" gets
 * every file: the single-model way), the reviewer approves. The answer's delay is the
 * requested model's simulated speed (bench/support/rates.ts) for the answer's length.
 */
export type CallRole = 'planner' | 'developer' | 'reviewer';

export interface CallRecord {
  role: CallRole;
  taskId?: string;
  model: string;
  /** Date.now() when the request arrived. */
  arrivedAt: number;
  /** Simulated model time the server waits before answering. */
  latencyMs: number;
  /** Output tokens of the answer (text, or tool calls with their arguments). */
  outputTokens: number;
  /** Tool developer answers: what a whole-file answer for the same resulting files would cost. */
  wholeFileTokens?: number;
  /** Tool developer answers: [tools, whole-file] tokens for the files that existed before the task. */
  existingTokens?: [number, number];
  /** Tool developer answers: [tools, whole-file] tokens for the files the task created. */
  createdTokens?: [number, number];
  /** Tool developer answers: the new code alone, the least any protocol must write. */
  newCodeTokens?: number;
}

export interface ModelServers {
  openai: LoopbackServer;
  anthropic: LoopbackServer;
  /** Set before each run; requests are answered from this goal. */
  goal: GoalFile | undefined;
  /** Real time is divided by this (a warm-up can use a large value). */
  scale: number;
  calls: CallRecord[];
  close(): Promise<void>;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((c) => (typeof c === 'string' ? c : typeof c?.text === 'string' ? c.text : '')).join('\n');
  return '';
}

/** System and user text of an OpenAI or Anthropic request body. */
function promptOf(body: any): { system: string; user: string } {
  const msgs: Array<{ role: string; content: unknown }> = Array.isArray(body?.messages) ? body.messages : [];
  const system = [textOf(body?.system), ...msgs.filter((m) => m.role === 'system').map((m) => textOf(m.content))].join('\n');
  const user = msgs.filter((m) => m.role === 'user').map((m) => textOf(m.content)).join('\n');
  return { system, user };
}

export async function startModelServers(scale: number): Promise<ModelServers> {
  const calls: CallRecord[] = [];
  const state: { goal: GoalFile | undefined; scale: number } = { goal: undefined, scale };
  const answer = (req: ReceivedRequest): LoopbackStep => {
    const goal = state.goal;
    const model = String(req.body?.model ?? '');
    const { system, user } = promptOf(req.body);
    const fail = (message: string): LoopbackStep => ({ type: 'error', status: 400, body: { error: { type: 'invalid_request_error', message: `bench model server: ${message}` } } });
    if (!goal) return fail('no goal is set');
    const taskId = /# Subtask (\S+):/.exec(user)?.[1];
    let role: CallRole;
    let text: string;
    let tools: ReturnType<typeof toolAnswer> | undefined;
    if (system.includes('You are the planner')) {
      role = 'planner';
      text = planAnswer(goal);
    } else if (system.includes('You review one proposed change')) {
      role = 'reviewer';
      text = reviewAnswer(taskId ?? '?');
    } else if (system.includes('careful software developer') && JSON.stringify(req.body?.tools ?? []).includes('"edit_file"')) {
      // The tool developer (`--developer tools`): one turn of edits and finish.
      role = 'developer';
      const tasks = taskId === 'all' ? goal.plan.tasks : goal.plan.tasks.filter((t) => t.id === taskId);
      if (tasks.length === 0) return fail(`unknown task "${taskId}"`);
      if (JSON.stringify(req.body.messages).match(/"(?:tool_call_id|tool_use_id)"/)) return fail(`task "${taskId}" needed a second turn: an edit did not apply`);
      tools = toolAnswer(goal, tasks, taskId === 'all' ? singleSummary(goal) : `${tasks[0]!.title}: done as asked, in ${tasks[0]!.files.join(', ')}.`, user);
      text = JSON.stringify(tools.toolCalls.map((c) => ({ name: c.name, input: c.input })));
    } else if (system.includes('careful software developer')) {
      role = 'developer';
      if (taskId === 'all') text = singleAnswer(goal);
      else {
        const task = goal.plan.tasks.find((t) => t.id === taskId);
        if (!task) return fail(`unknown task "${taskId}"`);
        text = taskAnswer(goal, task);
      }
    } else return fail('unrecognised prompt');
    let rate;
    try {
      rate = rateOfModel(model);
    } catch (e) {
      return fail((e as Error).message);
    }
    const outputTokens = tokensOf(text);
    calls.push({ role, taskId, model, arrivedAt: Date.now(), latencyMs: replyLatencyMs(rate, text, state.scale), outputTokens, ...(tools ? { wholeFileTokens: tools.wholeFileTokens, existingTokens: tools.existing, createdTokens: tools.created, newCodeTokens: tools.newCodeTokens } : {}) });
    const usage = { input: Math.ceil(JSON.stringify(req.body).length / 4), output: outputTokens };
    if (tools) return { type: 'reply', text: '', toolCalls: tools.toolCalls, usage, ...loopbackLatency(rate, state.scale) };
    return { type: 'reply', text, usage, ...loopbackLatency(rate, state.scale) };
  };
  const openai = await startOpenAIServer((req) => answer(req));
  const anthropic = await startAnthropicServer((req) => answer(req));
  return {
    openai,
    anthropic,
    get goal() {
      return state.goal;
    },
    set goal(g) {
      state.goal = g;
    },
    get scale() {
      return state.scale;
    },
    set scale(s) {
      state.scale = s;
    },
    calls,
    close: async () => {
      await Promise.all([openai.close(), anthropic.close()]);
    },
  };
}
