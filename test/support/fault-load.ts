import v8 from 'node:v8';
import vm from 'node:vm';
import type { RunnablePlan } from '../../src/engine/api';
import type { ChatProvider, ChatRequest, ChatResponse } from '../../src/engine/providers/types';
import { APPROVE, describeModelRequest, finishFor, plainTask } from './fault-engine';
import { answerFor } from './tool-answers';
export { prng } from './random';

/**
 * Load-test helpers: an instant in-process model (a `providerOverrides` entry, so no HTTP),
 * seeded random DAGs, and a `gc()` that works without `--expose-gc` on the command line.
 */

/** Answers the developer with a finishing action for its task and the reviewer with approve, at once. */
export function instantModel(kind: ChatProvider['kind'] = 'openai'): ChatProvider & { calls: number } {
  const p = {
    kind,
    calls: 0,
    async chat(req: ChatRequest): Promise<ChatResponse> {
      p.calls++;
      const { role, taskId } = describeModelRequest(req.messages);
      const answer = role === 'reviewer' ? { text: APPROVE } : answerFor(req, finishFor(taskId ?? 'unknown'));
      return { ...answer, usage: { inputTokens: 10, outputTokens: 10 }, model: req.model, provider: kind, finishReason: 'stop' };
    },
  };
  return p;
}


/**
 * A wide random DAG of `n` tasks: each task depends on up to `maxDeps` earlier ones (so it is
 * acyclic by construction), with about half the tasks roots.
 */
export function randomDagPlan(n: number, rand: () => number, maxDeps = 3): RunnablePlan {
  const tasks = [];
  for (let i = 0; i < n; i++) {
    const id = `t${i}`;
    const deps = new Set<string>();
    if (i > 0 && rand() < 0.5) {
      const k = 1 + Math.floor(rand() * maxDeps);
      for (let j = 0; j < k; j++) deps.add(`t${Math.floor(rand() * i)}`);
    }
    tasks.push(plainTask(id, [...deps]));
  }
  return { goal: `a random DAG of ${n} tasks`, rationale: '', confidence: 0.9, questions: [], assumptions: [], tasks };
}

/** `global.gc`, enabled at run time when the process was started without --expose-gc. */
export function getGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

export function heapMb(): { heap: number; rss: number; external: number } {
  const m = process.memoryUsage();
  return { heap: m.heapUsed / 2 ** 20, rss: m.rss / 2 ** 20, external: m.external / 2 ** 20 };
}
