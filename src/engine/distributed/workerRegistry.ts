import type Redis from 'ioredis';
import { z } from 'zod';
import { checkRedis, redisClient } from './redis';

/**
 * Workers announce themselves in Redis with a key that expires: a worker that stops (even
 * SIGKILLed) drops out of the list by itself, `HEARTBEAT_TTL_MS` after its last heartbeat.
 */
export const WorkerInfo = z.object({
  name: z.string(),
  host: z.string(),
  pid: z.number(),
  /** The repository it serves (root commits, as jobs carry it); absent from workers of older versions. */
  repoId: z.string().optional(),
  agents: z.array(z.string()),
  concurrency: z.number(),
  /** Whether it also runs the merge queue's checks. */
  checks: z.boolean().default(false),
  /** The tasks it runs now. */
  running: z.array(z.object({ runId: z.string(), taskId: z.string(), jobId: z.string(), startedAt: z.number() })),
  startedAt: z.number(),
  heartbeatAt: z.number(),
});
export type WorkerInfo = z.infer<typeof WorkerInfo>;

const KEY_PREFIX = 'hyperion:worker:';
export const HEARTBEAT_MS = 2000;
export const HEARTBEAT_TTL_MS = 15_000;

export async function writeHeartbeat(r: Redis, info: WorkerInfo): Promise<void> {
  await r.set(`${KEY_PREFIX}${info.name}`, JSON.stringify(info), 'PX', HEARTBEAT_TTL_MS);
}

export async function removeHeartbeat(r: Redis, name: string): Promise<void> {
  await r.del(`${KEY_PREFIX}${name}`);
}

/** The workers whose heartbeat has not expired, by name. Throws `distributed/…` when Redis cannot be used. */
export async function listWorkers(redisUrl: string): Promise<WorkerInfo[]> {
  await checkRedis(redisUrl);
  const r = redisClient(redisUrl);
  try {
    await r.connect();
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await r.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 200);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const values = keys.length > 0 ? await r.mget(...keys) : [];
    const out: WorkerInfo[] = [];
    for (const v of values) {
      if (v === null) continue;
      try {
        const p = WorkerInfo.safeParse(JSON.parse(v));
        if (p.success) out.push(p.data);
      } catch {
        // a key someone else wrote: not a worker
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    r.disconnect();
  }
}
