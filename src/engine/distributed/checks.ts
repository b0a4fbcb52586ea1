import { randomBytes } from 'node:crypto';
import { EngineError } from '../errors';
import type { Logger } from '../ports';
import type { CheckResult } from '../queue/check';
import { CheckJob, CheckJobResult, checkQueueName, checkRef, repoIdentity } from './jobs';
import { jobQueue, type JobQueue } from './jobWaiter';
import { bullConnection, checkRedis } from './redis';
import { pushCommit } from './remoteGit';

/** Runs a merge-queue check somewhere; `queue/check.ts`'s `runCheck` has the same shape. */
export type CheckRunner = (repo: string, commit: string, command: string, timeoutMs: number, signal?: AbortSignal) => Promise<CheckResult>;

export interface RemoteCheckRunner {
  run: CheckRunner;
  dispose(): Promise<void>;
}

/**
 * Checks on workers (`hyperion worker --checks`): each speculative candidate the merge queue
 * checks is pushed to the shared remote (`refs/hyperion/checks/<commit>`) and becomes a job on
 * the repository's check queue, so the queue's parallel checks (`queueWorkers` at once) run
 * on as many machines. The queue itself is unchanged: it still lands the longest passing
 * prefix, and only the coordinator writes the target branch. The output is kept like a local
 * check's, headed by the worker's name. Throws (from `run`) `distributed/…` when Redis or the
 * remote cannot be used, or what the worker reported (a different `checkCommand`).
 */
export function remoteCheckRunner(o: { redisUrl: string; repo: string; remote: string; log: Logger; pollMs?: number }): RemoteCheckRunner {
  let ready: Promise<{ q: JobQueue; repoId: string }> | undefined;
  const open = () => {
    ready ??= (async () => {
      await checkRedis(o.redisUrl);
      const repoId = await repoIdentity(o.repo);
      return { q: jobQueue(checkQueueName(repoId), bullConnection(o.redisUrl), o.log, o.pollMs ?? 500), repoId };
    })().catch((e) => {
      ready = undefined;
      throw e;
    });
    return ready;
  };
  return {
    async run(repo, commit, command, timeoutMs, signal) {
      const { q, repoId } = await open();
      const ref = checkRef(commit);
      await pushCommit(repo, o.remote, commit, ref, signal);
      // A new job per check: a candidate re-checked in a later lease is checked again.
      const jobId = `check.${commit.slice(0, 16)}.${randomBytes(4).toString('hex')}`;
      const data: CheckJob = { v: 1, repoId, commit, ref, command, timeoutMs };
      await q.queue.add('check', data, { jobId, attempts: 1, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 24 * 3600 } });
      const raw = await q.wait(jobId, signal ?? new AbortController().signal);
      const r = CheckJobResult.safeParse(raw);
      if (!r.success) throw new EngineError('distributed/bad-result', `the worker's check result for ${commit} is malformed`);
      const { worker, v: _v, ...result } = r.data;
      return { ...result, output: `[checked on worker ${worker}]\n${result.output}` };
    },
    async dispose() {
      const r = ready;
      ready = undefined;
      await r?.then((x) => x.q.close(), () => undefined);
    },
  };
}
