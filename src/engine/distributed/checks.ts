import { randomBytes } from 'node:crypto';
import { EngineError } from '../errors';
import type { Logger } from '../ports';
import type { CheckResult } from '../queue/check';
import { CheckJob, CheckJobResult, checkQueueName, checkRef, repoIdentity } from './jobs';
import { jobQueue, type JobQueue } from './jobWaiter';
import { bullConnection, checkRedis } from './redis';
import { deleteRemoteRefs, pushCommit } from './remoteGit';

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
  // Checks of a commit in flight: its ref on the remote is deleted after the last one ends.
  const inFlight = new Map<string, number>();
  // A re-check of a commit waits for the deletion of its ref, so its own push is not deleted.
  const prunes = new Map<string, Promise<void>>();
  const release = (repo: string, commit: string, ref: string) => {
    const n = (inFlight.get(commit) ?? 1) - 1;
    if (n > 0) return void inFlight.set(commit, n);
    inFlight.delete(commit);
    const p: Promise<void> = deleteRemoteRefs(repo, o.remote, [ref])
      .catch((e: Error) => o.log.warn('could not delete a checked candidate\'s ref on the remote', { ref, error: e.message }))
      .finally(() => {
        if (prunes.get(commit) === p) prunes.delete(commit);
      });
    prunes.set(commit, p);
  };
  return {
    async run(repo, commit, command, timeoutMs, signal) {
      const { q, repoId } = await open();
      const ref = checkRef(commit);
      inFlight.set(commit, (inFlight.get(commit) ?? 0) + 1);
      await prunes.get(commit);
      try {
        return await checkOnWorker(q, repoId, repo, commit, ref, command, timeoutMs, signal);
      } finally {
        release(repo, commit, ref);
      }
    },
    async dispose() {
      const r = ready;
      ready = undefined;
      await Promise.allSettled([...prunes.values()]);
      await r?.then((x) => x.q.close(), () => undefined);
    },
  };

  async function checkOnWorker(q: JobQueue, repoId: string, repo: string, commit: string, ref: string, command: string, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
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
  }
}
