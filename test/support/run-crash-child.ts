/**
 * Child process for the crash-recovery test: opens the on-disk store, recovers, and runs a
 * plan with a scripted slow model until the crash point named by HYPERION_CRASH_AT (see
 * store-crash-points.ts) kills it, or the run settles. Besides the store's own points it
 * has `model-delivered`: an answer was delivered (and logged) but not yet returned.
 *
 * argv: <stateDir> <repoDir> <runId> <logFile> <generation>
 * Every answer the model delivers is appended (synchronously) to logFile as
 * `<generation> <nonce>`, where nonce is a hash of the request; the answer carries the same
 * nonce, so the parent can tell which delivered answers were committed to model_calls.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { ModelCallResult, ModelClientLike } from '../../src/engine/agents/types';
import type { Role } from '../../src/engine/config';
import { EngineError } from '../../src/engine/errors';
import { silentLogger, systemClock } from '../../src/engine/ports';
import type { ChatRequest } from '../../src/engine/providers/types';
import { recoverRuns } from '../../src/engine/runs/recovery';
import { runPlan } from '../../src/engine/schedule/scheduler';
import { openDb } from '../../src/engine/store/db';
import { config } from './run-fixture';
import { answerFor } from './tool-answers';
import { crashAtFromEnv } from './store-crash-points';

const [stateDir, repoDir, runId, logFile, generation] = process.argv.slice(2) as [string, string, string, string, string];
const crashAt = crashAtFromEnv();

export function requestNonce(role: string, req: Omit<ChatRequest, 'model'>): string {
  return createHash('sha256').update(JSON.stringify([role, req.tags?.taskId, req.messages])).digest('hex').slice(0, 16);
}

const slowModel: ModelClientLike = {
  async chat(role: Role, req: Omit<ChatRequest, 'model'>): Promise<ModelCallResult> {
    const nonce = requestNonce(role, req);
    const taskId = req.tags?.taskId ?? '?';
    const turn = req.messages.filter((m) => m.role === 'assistant').length;
    const delay = 10 + (parseInt(nonce.slice(0, 4), 16) % 50);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, delay);
      req.signal?.addEventListener('abort', () => (clearTimeout(t), reject(new EngineError('cancelled', 'cancelled'))), { once: true });
    });
    let text: string;
    if (role === 'reviewer') text = JSON.stringify({ verdict: 'approve', comments: 'ok', nonce });
    else if (turn === 0) text = JSON.stringify({ action: 'list_dir', path: '', nonce });
    else text = JSON.stringify({ action: 'finish', summary: `did ${taskId}`, files: [{ path: `out/${taskId}.txt`, content: `${taskId}\n` }], nonce });
    fs.appendFileSync(logFile, `${generation} ${nonce}\n`);
    crashAt?.('model-delivered');
    // A tool-calling answer keeps the nonce in its text, where the parent reads it back.
    const answer = role === 'reviewer' ? { text } : answerFor(req, text, JSON.stringify({ nonce }));
    return {
      ...answer, usage: { inputTokens: 10, outputTokens: 5 }, model: 'slow', provider: 'recorded',
      costUsd: 0.01, durationMs: delay, ref: { provider: 'recorded', model: 'slow' }, cached: false,
    };
  },
};

async function main(): Promise<void> {
  const db = await openDb({ dir: stateDir, staleLockMs: 2_000, ...(crashAt ? { crashPoint: crashAt } : {}) });
  recoverRuns(db, systemClock);
  const view = await runPlan({ db, repo: repoDir, client: slowModel, config: config({ concurrency: 2 }), log: silentLogger, clock: systemClock }, runId);
  db.close();
  process.stdout.write(JSON.stringify({ status: view.status }));
}

if (process.argv[1]?.endsWith('run-crash-child.ts')) {
  main().catch((e) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e));
    process.exit(1);
  });
}
