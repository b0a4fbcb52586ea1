import type { EngineConfig } from '../config';
import type { Clock, Logger } from '../ports';
import type { TaskExecutor } from '../schedule/executor';
import type { Db } from '../store/types';
import type { RemoteCheckRunner } from './checks';
import type { WorkerInfo } from './workerRegistry';

/**
 * The distributed parts the composition root wires when `distributed.redisUrl` is set.
 * BullMQ and ioredis are imported on first use only: the extension's bundle leaves them out
 * (scripts/build.mjs), and a user without workers never loads them. Nothing connects to Redis
 * until a task, a check or a worker list needs it, so a command that uses none of them never
 * needs Redis. Undefined parts: run here, as without workers.
 */
export interface DistributedParts {
  executor?: TaskExecutor;
  checks?: RemoteCheckRunner;
  listWorkers(): Promise<WorkerInfo[]>;
}

export function distributedParts(o: { config: EngineConfig; repo: string; db: Db; log: Logger; clock: Clock; readOnly: boolean }): DistributedParts {
  const d = o.config.distributed;
  const redisUrl = d?.redisUrl;
  if (redisUrl === undefined || d === undefined) return { listWorkers: async () => [] };
  const executor = o.readOnly
    ? undefined
    : lazyExecutor(async () => (await import('./executor')).createDistributedExecutor({ redisUrl, repo: o.repo, remote: d.remote, db: o.db, log: o.log, clock: o.clock }));
  const checks = d.checks && !o.readOnly
    ? lazyCheckRunner(async () => (await import('./checks')).remoteCheckRunner({ redisUrl, repo: o.repo, remote: d.remote, log: o.log }))
    : undefined;
  return { executor, checks, listWorkers: async () => (await import('./workerRegistry')).listWorkers(redisUrl) };
}

function lazyCheckRunner(create: () => Promise<RemoteCheckRunner>): RemoteCheckRunner {
  let made: Promise<RemoteCheckRunner> | undefined;
  return {
    async run(...args) {
      made ??= create().catch((e) => {
        made = undefined;
        throw e;
      });
      return (await made).run(...args);
    },
    async dispose() {
      const m = made;
      made = undefined;
      await m?.then((x) => x.dispose(), () => undefined);
    },
  };
}

/** An executor created on first use; a failed creation is tried again by the next task. */
function lazyExecutor(create: () => Promise<TaskExecutor>): TaskExecutor {
  let made: Promise<TaskExecutor> | undefined;
  return {
    name: 'redis',
    async runAgentTask(input) {
      made ??= create().catch((e) => {
        made = undefined;
        throw e;
      });
      return (await made).runAgentTask(input);
    },
    async dispose() {
      const m = made;
      made = undefined;
      await m?.then((x) => x.dispose(), () => undefined);
    },
  };
}
