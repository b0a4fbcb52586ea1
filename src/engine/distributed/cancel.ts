import type Redis from 'ioredis';
import { redisClient } from './redis';

/**
 * Cancelling a job that a worker already runs. BullMQ can withdraw a waiting job but has no
 * way to stop an active one in another process, so the coordinator marks the job cancelled
 * (a key that expires, for a worker that was reconnecting when the message went out) and
 * publishes its id; the worker aborts that job's agent, which kills its process group.
 */
const CHANNEL = 'hyperion:cancel';
const KEY_PREFIX = 'hyperion:cancelled:';
const KEEP_S = 3600;

export async function cancelJob(r: Redis, jobId: string): Promise<void> {
  await r.set(`${KEY_PREFIX}${jobId}`, '1', 'EX', KEEP_S);
  await r.publish(CHANNEL, jobId);
}

export async function isJobCancelled(r: Redis, jobId: string): Promise<boolean> {
  return (await r.exists(`${KEY_PREFIX}${jobId}`)) === 1;
}

/** Calls `onCancel` with each job id the coordinators cancel; resolves once subscribed. */
export async function watchCancels(redisUrl: string, onCancel: (jobId: string) => void): Promise<{ close(): void }> {
  const sub = redisClient(redisUrl);
  await sub.connect();
  sub.on('message', (channel: string, jobId: string) => {
    if (channel === CHANNEL) onCancel(jobId);
  });
  // ioredis subscribes again by itself after a reconnect.
  await sub.subscribe(CHANNEL);
  return { close: () => sub.disconnect() };
}
