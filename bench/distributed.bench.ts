/**
 * Distributed agent tasks benchmark (issue 13). Run: ./node_modules/.bin/node --import tsx bench/distributed.bench.ts
 *
 * 12 independent tasks whose `command` agent sleeps 2 s, run by `hyperion request --redis`
 * with 1, 2 and 4 worker processes (concurrency 1 each, a clone each, a bare repository as the
 * shared remote, a real redis-server with a password), approve-all so every change lands
 * through the coordinator's merge queue. Wall time is the whole request, landing included;
 * landing throughput is the queue's own figure (merged entries per minute, first queue event
 * to last merge). Goal: wall 4 workers / 1 worker ≤ 0.3, and throughput not lower with more
 * workers. The last lines are `wall 4/1 workers: <ratio>` and `landing throughput 4/1 workers: <ratio>`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../test/support/cli';
import { makeCluster, startWorker, type WorkerProcess } from '../test/support/distributed';
import { startRedis } from '../test/support/redisServer';
import { machineLine } from './support/machine';

const TASKS = 12;
const SLEEP_MS = Number(process.env.SLEEP_MS ?? 2000);

async function once(redisUrl: string, workerCount: number): Promise<{ wallMs: number; throughputPerMin: number }> {
  const c = makeCluster();
  const workers: WorkerProcess[] = [];
  try {
    const config = c.agentConfig({ DIST_AGENT_SLEEP_MS: String(SLEEP_MS), DIST_AGENT_FILE: 'own' });
    for (let i = 1; i <= workerCount; i++) workers.push(await startWorker({ name: `b${workerCount}-${i}`, repo: c.clone(`b${i}`), redisUrl, config }));
    const coordinator = path.join(c.dir, 'coordinator.json');
    fs.writeFileSync(coordinator, JSON.stringify({ concurrency: TASKS, maxRetries: 0 }));
    const req = c.request(Array.from({ length: TASKS }, (_, i) => ({ id: `i${i + 1}`, title: `Task ${i + 1}`, type: 'code_gen', agent: 'cmd', dependsOn: [] })));
    const t0 = performance.now();
    const r = await runCli(['request', req, '--json', '--redis', redisUrl, '--config', coordinator], { cwd: c.coordinator, timeoutMs: 600_000 });
    const wallMs = performance.now() - t0;
    if (r.code !== 0) throw new Error(`request failed (${r.code}): ${r.stderr}`);
    const statuses = JSON.parse(r.stdout).tasks.map((t: { status: string }) => t.status);
    if (statuses.some((s: string) => s !== 'merged')) throw new Error(`not every task landed: ${statuses.join(', ')}`);
    const q = await runCli(['queue', 'list', '--json'], { cwd: c.coordinator });
    return { wallMs, throughputPerMin: JSON.parse(q.stdout).metrics.throughputPerMin };
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop()));
    c.dispose();
  }
}

async function main(): Promise<void> {
  process.env.HYPERION_WORKTREES_DIR ??= fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'hyperion-bench-dist-wt-'));
  console.log(machineLine());
  const redis = await startRedis();
  try {
    const results = new Map<number, { wallMs: number; throughputPerMin: number }>();
    for (const n of [1, 2, 4]) {
      const r = await once(redis.url, n);
      results.set(n, r);
      console.log(`${n} worker(s): wall ${(r.wallMs / 1000).toFixed(1)} s, landing throughput ${r.throughputPerMin.toFixed(1)} per min (${TASKS} tasks × ${SLEEP_MS} ms agent)`);
    }
    const one = results.get(1)!;
    const four = results.get(4)!;
    console.log(`ideal wall 4/1 workers (agent time only): ${(Math.ceil(TASKS / 4) / TASKS).toFixed(2)}`);
    console.log(`wall 4/1 workers: ${(four.wallMs / one.wallMs).toFixed(2)}`);
    console.log(`landing throughput 4/1 workers: ${(four.throughputPerMin / one.throughputPerMin).toFixed(2)}`);
  } finally {
    await redis.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
