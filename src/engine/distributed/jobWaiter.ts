import { Queue, QueueEvents } from 'bullmq';
import { EngineError } from '../errors';
import type { Logger } from '../ports';
import { cancelJob } from './cancel';
import { redisClient } from './redis';
import { parseJobFailure } from './failure';

/**
 * One BullMQ queue as the coordinator uses it: add jobs, and wait for a job's end. Events wake
 * a waiter at once; a poll every `pollMs` catches what an event missed (events sent while
 * Redis restarted). Commands wait through reconnects (`bullConnection`).
 */
export interface JobQueue {
  readonly queue: Queue;
  /**
   * Resolves with the job's return value once it completed; throws what the worker reported
   * (`parseJobFailure`), `distributed/job-failed` (transient) when the job is gone, or the
   * signal's reason (a job not yet taken is withdrawn). `onProgress` gets the job's progress
   * each time it is looked at or reported.
   */
  wait(jobId: string, signal: AbortSignal, onProgress?: (progress: unknown) => void): Promise<unknown>;
  close(): Promise<void>;
}

export function jobQueue(name: string, connection: { url: string; maxRetriesPerRequest: null }, log: Logger, pollMs: number): JobQueue {
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  const waiters = new Map<string, Set<() => void>>();
  const progress = new Map<string, (p: unknown) => void>();
  const wake = (jobId: string) => {
    for (const w of waiters.get(jobId) ?? []) w();
  };
  queue.on('error', (e) => log.warn('Redis queue error (reconnecting)', { queue: name, error: e.message }));
  events.on('error', (e) => log.warn('Redis queue events error (reconnecting)', { queue: name, error: e.message }));
  events.on('progress', ({ jobId, data }) => {
    progress.get(jobId)?.(data);
    wake(jobId);
  });
  for (const ev of ['completed', 'failed', 'active', 'stalled', 'removed'] as const) events.on(ev, ({ jobId }: { jobId: string }) => wake(jobId));

  const nextWake = (jobId: string, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const set = waiters.get(jobId) ?? new Set();
      waiters.set(jobId, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, pollMs);
      set.add(done);
      signal.addEventListener('abort', done, { once: true });
    });

  return {
    queue,
    async wait(jobId, signal, onProgress) {
      if (onProgress) progress.set(jobId, onProgress);
      try {
        for (;;) {
          if (signal.aborted) {
            // A job not yet taken is withdrawn; one that runs is stopped on its worker (cancel.ts).
            // Only a coordinator killed outright leaves it running, and its resumed run waits for it again.
            const removed = await queue.remove(jobId).catch(() => 0);
            if (!removed) await cancelOnWorker(connection.url, jobId).catch((e: Error) => log.warn('could not cancel the job on its worker', { jobId, error: e.message }));
            throw signal.reason instanceof Error ? signal.reason : new EngineError('cancelled', 'cancelled');
          }
          // The state first, then the job: a job read before it completed has no return value yet.
          const state = await queue.getJobState(jobId);
          const job = await queue.getJob(jobId);
          if (!job || state === 'unknown') throw new EngineError('distributed/job-failed', `the job ${jobId} is gone from Redis (flushed, or removed by hand)`, { details: { transient: true } });
          onProgress?.(job.progress);
          if (state === 'completed') return job.returnvalue;
          if (state === 'failed') throw parseJobFailure(job.failedReason ?? 'failed without a reason');
          await nextWake(jobId, signal);
        }
      } finally {
        progress.delete(jobId);
        waiters.delete(jobId);
      }
    },
    async close() {
      await Promise.allSettled([events.close(), queue.close()]);
    },
  };
}

async function cancelOnWorker(url: string, jobId: string): Promise<void> {
  const r = redisClient(url);
  try {
    await r.connect();
    await cancelJob(r, jobId);
  } finally {
    r.disconnect();
  }
}
