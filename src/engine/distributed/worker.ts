import os from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { HarnessEvent } from '../agents/harness';
import type { Role, EngineConfig } from '../config';
import { EngineError, describeError, isEngineError } from '../errors';
import { git } from '../git/exec';
import { commitTree } from '../git/plumbing';
import type { Logger } from '../ports';
import type { TaskRow } from '../runs/types';
import { harnessFor, runHarnessTask } from '../schedule/runHarnessTask';
import { isJobCancelled, watchCancels } from './cancel';
import { formatJobFailure } from './failure';
import { AgentJob, CheckJob, agentQueueName, checkQueueName, repoIdentity, type AgentJobResult, type CheckJobResult, type JobStart } from './jobs';
import { runCheck } from '../queue/check';
import { bullConnection, checkRedis, redactRedisUrl, redisClient } from './redis';
import { fetchRef, pushCommit } from './remoteGit';
import { HEARTBEAT_MS, removeHeartbeat, writeHeartbeat, type WorkerInfo } from './workerRegistry';

export interface WorkerOptions {
  redisUrl: string;
  /** The worker's own clone of the repository. */
  repo: string;
  /** The worker's own config: its agents and their credentials' environment. */
  config: EngineConfig;
  /** Agents this worker takes tasks for (default: every agent in its config). */
  agents?: string[];
  /** Tasks at once, per agent. Default 1. */
  concurrency?: number;
  name?: string;
  /** The git remote shared with the coordinator. Default `origin`. */
  remote?: string;
  log: Logger;
  /**
   * How long a job's lock lasts without renewal: a worker that died is noticed this long
   * after its last renewal and its job goes to another worker. Default 30000 ms (BullMQ's).
   */
  lockMs?: number;
  /** Also run the merge queue's checks (`distributed.checks` on the coordinator), with this config's own `checkCommand`. */
  checks?: boolean;
  /** Resolves the returned promise once fired: no new job is taken, running ones finish. */
  signal: AbortSignal;
  /** Called once the worker is connected and listening (tests, the CLI's "ready" line). */
  onReady?: (info: WorkerInfo) => void;
}

const MAX_TRANSCRIPT_CHARS = 64_000;

/**
 * `hyperion worker`: takes agent tasks from Redis and runs them in worktrees of this clone.
 * For a job it: checks the job is for this repository (root commits), fetches the task's base
 * commit from the shared remote, runs the agent with this machine's own config and
 * credentials (`runHarnessTask`, as the in-process executor does), commits the result on the
 * base and pushes it to the job's result ref, then returns summary, usage and transcript.
 * A job for another repository, or a remote it cannot reach, fails with a clear reason and is
 * not retried elsewhere. A worker that dies mid-job stops renewing its lock; BullMQ gives the
 * job to another worker after `lockMs`.
 * Throws at start: `distributed/…` (Redis), `agent/unknown` (an agent not in the config).
 */
export async function runWorker(o: WorkerOptions): Promise<void> {
  await checkRedis(o.redisUrl);
  const agents = o.agents ?? Object.keys(o.config.agents ?? {});
  if (agents.length === 0 && !o.checks) throw new EngineError('agent/unknown', 'this worker has no agent: add "agents" to its config, or name them with --agents');
  if (o.checks && !o.config.checkCommand) throw new EngineError('usage/config', 'a worker that runs checks (--checks) needs "checkCommand" in its own config, the same as the coordinator\'s');
  for (const a of agents) harnessFor(o.config, a);
  const repoId = await repoIdentity(o.repo);
  const host = os.hostname();
  const name = o.name ?? `${host}-${process.pid}`;
  const remote = o.remote ?? 'origin';
  const concurrency = o.concurrency ?? 1;
  const running = new Map<string, WorkerInfo['running'][number]>();
  const startedAt = Date.now();
  const info = (): WorkerInfo => ({ name, host, pid: process.pid, repoId, agents, concurrency, checks: o.checks === true, running: [...running.values()], startedAt, heartbeatAt: Date.now() });
  const stopAgents = new AbortController();
  // One controller per job, so a coordinator can stop one task (cancel.ts) without the others.
  const jobStops = new Map<string, AbortController>();
  const beat = redisClient(o.redisUrl);
  await beat.connect();
  const cancels = await watchCancels(o.redisUrl, (jobId) => {
    const c = jobStops.get(jobId);
    if (!c || c.signal.aborted) return;
    o.log.info('the coordinator cancelled a job: stopping its agent', { jobId });
    c.abort(new EngineError('cancelled', 'the coordinator cancelled the task'));
  });

  const process_ = async (job: Job): Promise<AgentJobResult> => {
    const parsed = AgentJob.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`[distributed/bad-result] worker ${name} got a malformed job: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const d = parsed.data;
    const who: JobStart = { worker: name, host, startedAt: Date.now() };
    running.set(job.id!, { runId: d.runId, taskId: d.taskId, jobId: job.id!, startedAt: who.startedAt });
    const stop = new AbortController();
    const onStopAll = () => stop.abort(stopAgents.signal.reason);
    stopAgents.signal.addEventListener('abort', onStopAll, { once: true });
    jobStops.set(job.id!, stop);
    try {
      // Cancelled while this worker was reconnecting, or between the coordinator's look and the take.
      if (await isJobCancelled(beat, job.id!)) throw new EngineError('cancelled', 'the coordinator cancelled the task before it started');
      if (d.repoId !== repoId) {
        throw new EngineError('distributed/wrong-repo', `worker ${name} refuses the job: it is for the repository with root commit(s) ${d.repoId}, but ${o.repo} has ${repoId}`);
      }
      await job.updateProgress(who);
      void heartbeat();
      return await runJob(o, d, name, host, remote, stop.signal);
    } catch (e) {
      const err = isEngineError(e) ? e : new EngineError('distributed/job-failed', describeError(e), { cause: e });
      o.log.warn('job failed', { jobId: job.id, taskId: d.taskId, error: err.message });
      const reason = formatJobFailure(new EngineError(err.code, err.message.startsWith(`worker ${name}`) ? err.message : `on worker ${name}: ${err.message}`, { details: err.details }));
      // Only a stalled agent is worth another attempt (a new job, by the coordinator's retry policy).
      throw new UnrecoverableError(reason);
    } finally {
      stopAgents.signal.removeEventListener('abort', onStopAll);
      jobStops.delete(job.id!);
      running.delete(job.id!);
      void heartbeat();
    }
  };

  const connection = bullConnection(o.redisUrl);
  const workers: Worker[] = agents.map((agent) => {
    const w = new Worker(agentQueueName(repoId, agent), process_, {
      connection, concurrency, autorun: true, name,
      lockDuration: o.lockMs ?? 30_000,
      stalledInterval: Math.max(500, Math.floor((o.lockMs ?? 30_000) / 2)),
      maxStalledCount: 2,
    });
    w.on('error', (e) => o.log.warn('Redis worker error (reconnecting)', { agent, error: e.message }));
    return w;
  });
  if (o.checks) {
    const checkJob = async (job: Job): Promise<CheckJobResult> => {
      const parsed = CheckJob.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`[distributed/bad-result] worker ${name} got a malformed check job`);
      const d = parsed.data;
      running.set(job.id!, { runId: 'check', taskId: d.commit.slice(0, 12), jobId: job.id!, startedAt: Date.now() });
      try {
        if (d.repoId !== repoId) throw new UnrecoverableError(`[distributed/wrong-repo] worker ${name} refuses the check: it is for the repository with root commit(s) ${d.repoId}, but ${o.repo} has ${repoId}`);
        if (d.command !== o.config.checkCommand) {
          throw new UnrecoverableError(`[distributed/job-failed] worker ${name} runs the check ${JSON.stringify(o.config.checkCommand)}, not the coordinator's ${JSON.stringify(d.command)}: give both the same checkCommand`);
        }
        await job.updateProgress({ worker: name, host, startedAt: Date.now() } satisfies JobStart);
        try {
          await fetchRef(o.repo, remote, d.ref, stopAgents.signal);
        } catch (e) {
          throw new UnrecoverableError(isEngineError(e) ? formatJobFailure(new EngineError(e.code, `on worker ${name}: ${e.message}`)) : String(e));
        }
        const r = await runCheck(o.repo, d.commit, o.config.checkCommand, Math.min(d.timeoutMs, o.config.checkTimeoutMs), stopAgents.signal);
        await git(['update-ref', '-d', d.ref], { cwd: o.repo, check: false }).catch(() => undefined);
        return { v: 1, ...r, worker: name };
      } finally {
        running.delete(job.id!);
      }
    };
    const w: Worker = new Worker(checkQueueName(repoId), checkJob, {
      connection, concurrency, autorun: true, name,
      lockDuration: o.lockMs ?? 30_000,
      stalledInterval: Math.max(500, Math.floor((o.lockMs ?? 30_000) / 2)),
      maxStalledCount: 2,
    });
    w.on('error', (e) => o.log.warn('Redis worker error (reconnecting)', { queue: 'checks', error: e.message }));
    workers.push(w);
  }
  const heartbeat = async () => {
    try {
      await writeHeartbeat(beat, info());
    } catch (e) {
      o.log.warn('heartbeat failed', { error: describeError(e) });
    }
  };
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  await heartbeat();
  const timer = setInterval(() => void heartbeat(), HEARTBEAT_MS);
  o.log.info('worker ready', { name, redis: redactRedisUrl(o.redisUrl), repo: o.repo, agents: agents.join(','), checks: o.checks === true, concurrency });
  o.onReady?.(info());
  try {
    await new Promise<void>((resolve) => {
      if (o.signal.aborted) resolve();
      else o.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    clearInterval(timer);
    cancels.close();
    await Promise.allSettled(workers.map((w) => w.close()));
    await removeHeartbeat(beat, name).catch(() => undefined);
    beat.disconnect();
  }
}

async function runJob(o: WorkerOptions, d: AgentJob, name: string, host: string, remote: string, signal: AbortSignal): Promise<AgentJobResult> {
  await fetchRef(o.repo, remote, d.baseRef, signal);
  const tree = (await git(['rev-parse', '--verify', `${d.baseCommit}^{tree}`], { cwd: o.repo, signal, check: false })).stdout.trim();
  if (tree !== d.baseTree) throw new EngineError('distributed/bad-result', `the task's base ${d.baseCommit} fetched from ${d.baseRef} does not have the tree the coordinator sent`);
  const row: TaskRow = {
    run_id: d.runId, id: d.taskId, seq: 0, title: d.task.title, type: d.task.type, prompt: d.task.prompt,
    acceptance_json: JSON.stringify(d.task.acceptanceCriteria), depends_json: JSON.stringify(d.task.dependsOn), files_json: JSON.stringify(d.task.files),
    route_json: null, status: 'running', result_summary: null, error: null, attempts: d.attempt, started_at: null, finished_at: null, updated_at: 0,
  };
  let transcript = '';
  const onEvent = (e: HarnessEvent) => {
    if (e.type !== 'output') return;
    transcript = (transcript + e.text).slice(-MAX_TRANSCRIPT_CHARS);
  };
  const out = await runHarnessTask({
    repo: o.repo, config: o.config, log: o.log, row, task: { ...d.task, type: d.task.type as Role }, agent: d.agent, model: d.model, signal, onEvent,
    base: { baseCommit: Promise.resolve(d.baseCommit), baseTree: d.baseTree, deps: d.deps },
  });
  const commit = await commitTree(o.repo, out.tree, [d.baseCommit], `hyperion: ${d.task.title}\n\nRun ${d.runId}, task ${d.taskId}, attempt ${d.attempt}, on worker ${name}.`, { signal });
  await pushCommit(o.repo, remote, commit, d.resultRef, signal);
  // This clone's copy of the base ref is done with (the coordinator deletes the remote's).
  await git(['update-ref', '-d', d.baseRef], { cwd: o.repo, check: false }).catch(() => undefined);
  const usage = (out as { usage?: AgentJobResult['usage'] }).usage ?? null;
  return { v: 1, resultCommit: commit, summary: out.summary, model: out.model, transcript, usage, worker: name, host };
}
