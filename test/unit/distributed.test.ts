import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gitOut, runCli } from '../support/cli';
import { makeCluster, startWorker, type Cluster, type WorkerProcess } from '../support/distributed';
import { startRedis, type RedisHandle } from '../support/redisServer';
import { useTempWorktrees } from '../support/worktrees';
import { createEngine } from '../../src/engine/engine';
import { EngineConfig } from '../../src/engine/config';
import type { WorkerRunView } from '../../src/engine/api';
import { silentLogger } from '../../src/engine/ports';

useTempWorktrees();

let redis: RedisHandle;
const clusters: Cluster[] = [];
const workers: WorkerProcess[] = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await Promise.allSettled(workers.map((w) => w.stop()));
  await redis?.dispose();
  for (const c of clusters) c.dispose();
});

function cluster(): Cluster {
  const c = makeCluster();
  clusters.push(c);
  return c;
}

/** Task ids of the commits on main after the initial one, oldest first (from their trailers). */
function landedTasks(repo: string): string[] {
  return gitOut(repo, 'log', '--reverse', '--format=%(trailers:key=Hyperion-Task,valueonly)', 'main').split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Which workers ran each task's attempts, read from the coordinator's store. */
async function workerRuns(repo: string, runId: string, taskIds: string[]): Promise<Map<string, WorkerRunView[]>> {
  const engine = await createEngine({ repo, config: EngineConfig.parse({}), readOnly: true, ports: { log: silentLogger, secrets: { get: async () => undefined } } });
  try {
    return new Map(taskIds.map((id) => [id, engine.listWorkerRuns(runId, id)]));
  } finally {
    await engine.dispose();
  }
}

/** The coordinator's config: no agent of its own, so a task that ran here would fail with agent/unknown. */
function coordinatorConfig(c: Cluster): string {
  const f = path.join(c.dir, 'coordinator.json');
  fs.writeFileSync(f, JSON.stringify({ maxRetries: 0 }));
  return f;
}

describe('agent tasks on workers through Redis', () => {
  it('lands 12 dependent tasks run by three worker processes exactly once, in order', async () => {
    const c = cluster();
    const config = c.agentConfig();
    for (const n of [1, 2, 3]) workers.push(await startWorker({ name: `w${n}`, repo: c.clone(`w${n}`), redisUrl: redis.url, config }));
    const ids = Array.from({ length: 12 }, (_, i) => `t${String(i + 1).padStart(2, '0')}`);
    const req = c.request(ids.map((id, i) => ({ id, title: `Step ${id}`, type: 'code_gen', agent: 'cmd', dependsOn: i === 0 ? [] : [ids[i - 1]] })));
    const r = await runCli(['request', req, '--json', '--redis', redis.url, '--config', coordinatorConfig(c)], { cwd: c.coordinator, timeoutMs: 240_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.tasks.map((t: { status: string }) => t.status), ids.map(() => 'merged'));
    assert.equal(gitOut(c.coordinator, 'show', 'main:chain.txt'), ids.map((id) => `${id}\n`).join(''));
    assert.deepEqual(landedTasks(c.coordinator), ids, 'one commit per task, in dependency order');
    const runs = await workerRuns(c.coordinator, out.runId, ids);
    for (const id of ids) assert.deepEqual(runs.get(id)!.map((w) => w.status), ['ok'], `${id} ran once, on a worker`);
    assert.ok(new Set(ids.map((id) => runs.get(id)![0].worker)).size >= 2, 'more than one worker took tasks');
  });
});
