import { EngineError, isEngineError } from '../errors';
import { git } from '../git/exec';
import { diffTrees } from '../git/plumbing';
import type { Clock, Logger } from '../ports';
import type { AgentTaskOutput, ExecutorTaskInput, TaskExecutor } from '../schedule/executor';
import type { Db } from '../store/types';
import { AgentJob, AgentJobResult, JobStart, agentJobId, agentQueueName, repoIdentity, taskRefs } from './jobs';
import { bullConnection, checkRedis, redactRedisUrl } from './redis';
import { deleteRemoteRefs, fetchRef, hasLocalRef, pushCommit } from './remoteGit';
import { jobQueue, type JobQueue } from './jobWaiter';
import { recordWorkerEnd, recordWorkerStart, supersedeEarlierAttempts } from './workerRuns';
import { listWorkers } from './workerRegistry';

export interface DistributedExecutorOptions {
  redisUrl: string;
  /** The coordinator's checkout. */
  repo: string;
  /** The git remote workers fetch from and push to. */
  remote: string;
  db: Db;
  log: Logger;
  clock: Clock;
  /** How often a waiting task looks at its job when no event came (events can be missed across a Redis restart). Default 1000 ms. */
  pollMs?: number;
}

/** Days a finished job stays in Redis, so a coordinator restarted meanwhile can still read it. */
const KEEP_JOBS_S = 7 * 24 * 3600;

/**
 * The distributed executor: an agent task becomes a BullMQ job on the queue of its agent
 * (`hyperion-<repo>-agent-<name>`), which only workers that have that agent consume. Queues are per
 * repository too (`agentQueueName`). The task's base
 * commit is pushed to the shared remote first (`refs/hyperion/tasks/<run>/<task>/<attempt>/base`);
 * the worker pushes its result commit beside it; this side fetches it and computes the patch
 * itself from git objects, so the change is checked by policy here like any other, and lands
 * through the local merge queue (the only writer of the target branch).
 *
 * One job per attempt (its id is derived from run, task and attempt), so adding it again after
 * a reconnect is a no-op, and a result is consumed once: by the attempt that waits for it.
 * Checks Redis first: throws `distributed/auth`, `distributed/unreachable` or `distributed/bad-url`.
 */
export async function createDistributedExecutor(o: DistributedExecutorOptions): Promise<TaskExecutor> {
  await checkRedis(o.redisUrl);
  const connection = bullConnection(o.redisUrl);
  const queues = new Map<string, JobQueue>();
  const pollMs = o.pollMs ?? 1000;
  let repoId: Promise<string> | undefined;
  let disposed = false;
  // Ref deletions on the remote run beside the landing; dispose waits for them.
  const prunes = new Set<Promise<void>>();
  const prune = (refs: string[]) => {
    const p = deleteRemoteRefs(o.repo, o.remote, refs)
      .catch((e: Error) => o.log.warn('could not delete a finished task\'s refs on the remote', { refs: refs.join(' '), error: e.message }))
      .finally(() => prunes.delete(p));
    prunes.add(p);
  };

  const onStart = (job: { runId: string; taskId: string; attempt: number }, jobId: string, data: unknown) => {
    const who = JobStart.safeParse(data);
    if (!who.success) return;
    try {
      recordWorkerStart(o.db, { ...job, jobId, worker: who.data.worker, host: who.data.host, at: o.clock.now() });
    } catch (e) {
      o.log.warn('could not record which worker runs a job', { jobId, error: String(e) });
    }
  };

  function queueFor(repoKey: string, agent: string): JobQueue {
    let q = queues.get(agent);
    if (!q) {
      q = jobQueue(agentQueueName(repoKey, agent), connection, o.log, pollMs);
      queues.set(agent, q);
    }
    return q;
  }

  /**
   * Says on the task's row (and the CLI's progress lines) whether a worker can take it: a job
   * for an agent no connected worker has waits in Redis, silently otherwise.
   */
  async function announceWait(input: ExecutorTaskInput): Promise<void> {
    try {
      const id = await (repoId ??= repoIdentity(o.repo));
      // Workers of other repositories share the Redis but never take this queue's jobs.
      const able = (await listWorkers(o.redisUrl)).filter((w) => w.agents.includes(input.agent) && (w.repoId === undefined || w.repoId === id));
      input.onProgress?.(able.length > 0
        ? `queued for a worker (${able.length} connected can run "${input.agent}")`
        : `waiting for a worker that runs "${input.agent}": none is connected (start one with hyperion worker)`);
    } catch (e) {
      o.log.warn('could not list the workers', { error: String(e) });
    }
  }

  return {
    name: redactRedisUrl(o.redisUrl),

    async runAgentTask(input: ExecutorTaskInput): Promise<AgentTaskOutput> {
      if (disposed) throw new EngineError('cancelled', 'the distributed executor is closed');
      const { row, signal } = input;
      const baseCommit = await input.base.baseCommit;
      const refs = taskRefs(row.run_id, row.id, input.attempt);
      const jobId = agentJobId(row.run_id, row.id, input.attempt);
      const key = { runId: row.run_id, taskId: row.id, attempt: input.attempt };
      try {
        if (input.attempt > 1) supersedeEarlierAttempts(o.db, row.run_id, row.id, input.attempt, o.clock.now());
        repoId ??= repoIdentity(o.repo);
        const q = queueFor(await repoId, input.agent);
        const data: AgentJob = {
          v: 1, repoId: await repoId, runId: row.run_id, taskId: row.id, attempt: input.attempt, agent: input.agent, model: input.model,
          baseRef: refs.base, baseCommit, baseTree: input.base.baseTree, resultRef: refs.result, task: input.task, deps: input.base.deps,
        };
        // A job already there (this attempt resumed after a restart) is waited for, not added twice.
        if (!(await q.queue.getJob(jobId))) {
          await pushCommit(o.repo, o.remote, baseCommit, refs.base, signal);
          await q.queue.add('agent-task', data, { jobId, attempts: 1, removeOnComplete: { age: KEEP_JOBS_S }, removeOnFail: { age: KEEP_JOBS_S } });
          o.log.info('task queued for a worker', { runId: row.run_id, taskId: row.id, agent: input.agent, jobId });
        }
        void announceWait(input);
        const raw = await q.wait(jobId, signal, (p) => onStart(key, jobId, p));
        const parsed = AgentJobResult.safeParse(raw);
        if (!parsed.success) throw new EngineError('distributed/bad-result', `the worker's result for ${jobId} is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        const result = parsed.data;
        // Fetched before a restart, the remote's copy may already be deleted.
        if (!(await hasLocalRef(o.repo, refs.result, result.resultCommit, signal))) await fetchRef(o.repo, o.remote, refs.result, signal);
        const out = await readResult(o.repo, result, baseCommit, input.base.baseTree, signal);
        // The result is in this repository now (under the same ref): the remote's copies are done with.
        prune([refs.base, refs.result]);
        recordWorkerEnd(o.db, { jobId, status: 'ok', worker: result.worker, host: result.host, at: o.clock.now(), runId: row.run_id, taskId: row.id, attempt: input.attempt });
        if (result.transcript) input.onEvent?.({ type: 'output', stream: 'stdout', text: result.transcript });
        // The worker's usage and transcript go to this task's ledger and history, as a local agent's do.
        input.onAttemptEnd?.({ agent: input.agent, model: result.model, usage: result.usage, costUsd: result.usage?.costUsd ?? 0, transcript: result.transcript ?? '' });
        return out;
      } catch (e) {
        if (!isEngineError(e, 'cancelled')) {
          try {
            recordWorkerEnd(o.db, { jobId, status: 'error', error: e instanceof Error ? e.message : String(e), at: o.clock.now(), runId: row.run_id, taskId: row.id, attempt: input.attempt });
          } catch {
            // the task's own error is what matters
          }
        }
        throw e;
      }
    },

    async dispose() {
      if (disposed) return;
      disposed = true;
      await Promise.allSettled([...prunes]);
      await Promise.allSettled([...queues.values()].map((q) => q.close()));
    },
  };
}

/**
 * The patch of a worker's result commit, computed here from git objects: the commit must sit
 * directly on the task's base commit. Throws `distributed/bad-result`.
 */
async function readResult(repo: string, result: AgentJobResult, baseCommit: string, baseTree: string, signal: AbortSignal): Promise<AgentTaskOutput & { transcript: string; usage: AgentJobResult['usage'] }> {
  const info = await git(['cat-file', 'commit', result.resultCommit], { cwd: repo, signal, check: false });
  const tree = /^tree ([0-9a-f]{40,64})$/m.exec(info.stdout)?.[1];
  const parents = [...info.stdout.split('\n\n')[0].matchAll(/^parent ([0-9a-f]{40,64})$/gm)].map((m) => m[1]);
  if (info.code !== 0 || tree === undefined) throw new EngineError('distributed/bad-result', `the worker's result commit ${result.resultCommit} is not on the remote`);
  if (parents.length !== 1 || parents[0] !== baseCommit) throw new EngineError('distributed/bad-result', `the worker's result commit ${result.resultCommit} is not a child of the task's base ${baseCommit}`);
  const patch = tree === baseTree ? '' : await diffTrees(repo, baseTree, tree, { signal });
  return { patch, tree, summary: result.summary, model: result.model, transcript: result.transcript, usage: result.usage };
}
