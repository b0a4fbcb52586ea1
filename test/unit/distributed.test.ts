import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gitOut, runCli } from '../support/cli';
import { makeCluster, startWorker, type Cluster, type WorkerProcess, coordinatorConfig, landedTasks } from '../support/distributed';
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

/** Which workers ran each task's attempts, read from the coordinator's store. */
async function workerRuns(repo: string, runId: string, taskIds: string[]): Promise<Map<string, WorkerRunView[]>> {
  const engine = await createEngine({ repo, config: EngineConfig.parse({}), readOnly: true, ports: { log: silentLogger, secrets: { get: async () => undefined } } });
  try {
    return new Map(taskIds.map((id) => [id, engine.listWorkerRuns(runId, id)]));
  } finally {
    await engine.dispose();
  }
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
    // Each task's refs on the shared remote are deleted once its result was fetched, and the workers drop their copies of the bases.
    assert.equal(gitOut(c.remote, 'for-each-ref', 'refs/hyperion/'), '', 'no task refs are left on the remote');
    for (const n of [1, 2, 3]) assert.equal(gitOut(path.join(c.dir, `clone-w${n}`), 'for-each-ref', 'refs/hyperion/'), '', `worker w${n} keeps no task refs`);
    assert.equal(gitOut(c.coordinator, 'for-each-ref', '--format=%(refname)', 'refs/hyperion/tasks/').split('\n').filter(Boolean).length, 12, 'the coordinator keeps each result');
  });

  it('checks the queue\'s candidates on a worker and lands the passing ones', async () => {
    const c = cluster();
    // The check fails for any candidate that holds x3's change.
    const check = 'echo "checked by $CHECK_MARK in $(basename $PWD)"; test ! -f tasks/x3.txt';
    const config = c.agentConfig({ DIST_AGENT_FILE: 'own' }, { checkCommand: check });
    workers.push(await startWorker({ name: 'chk', repo: c.clone('chk'), redisUrl: redis.url, config, checks: true, env: { CHECK_MARK: 'the-worker' } }));
    const coordinator = path.join(c.dir, 'coordinator-checks.json');
    fs.writeFileSync(coordinator, JSON.stringify({ maxRetries: 0, checkCommand: check, distributed: { checks: true } }));
    const ids = ['x1', 'x2', 'x3', 'x4'];
    const req = c.request(ids.map((id) => ({ id, title: `Own file ${id}`, type: 'code_gen', agent: 'cmd', dependsOn: [] })));
    const r = await runCli(['request', req, '--json', '--redis', redis.url, '--config', coordinator], { cwd: c.coordinator, timeoutMs: 240_000 });
    assert.equal(r.code, 1, `x3 fails its check: ${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout);
    const status = Object.fromEntries(out.tasks.map((t: { id: string; status: string }) => [t.id, t.status]));
    assert.deepEqual(status, { x1: 'merged', x2: 'merged', x3: 'failed', x4: 'merged' });
    assert.deepEqual([...landedTasks(c.coordinator)].sort(), ['x1', 'x2', 'x4']);
    assert.equal(gitOut(c.remote, 'for-each-ref', 'refs/hyperion/checks/'), '', 'checked candidates leave no refs on the remote');
    assert.equal(gitOut(path.join(c.dir, 'clone-chk'), 'for-each-ref', 'refs/hyperion/checks/'), '', 'nor on the worker');
    const engine = await createEngine({ repo: c.coordinator, config: EngineConfig.parse({}), readOnly: true, ports: { log: silentLogger, secrets: { get: async () => undefined } } });
    try {
      const outputs = engine.listQueue().map((e) => engine.getCheckOutput(e.id)?.output ?? '');
      assert.ok(outputs.length >= 4);
      for (const o of outputs) assert.match(o, /^\[checked on worker chk\]\nchecked by the-worker in hyperion-check-/, 'every check ran on the worker, none here');
      const x3 = engine.listQueue().find((e) => e.taskId === 'x3')!;
      assert.equal(x3.state, 'failed');
    } finally {
      await engine.dispose();
    }
  });

  it('checks a worker\'s result by the coordinator\'s policy like any other change', async () => {
    const c = cluster();
    workers.push(await startWorker({ name: 'hooker', repo: c.clone('hooker'), redisUrl: redis.url, config: c.agentConfig({ DIST_AGENT_FILE: 'hook' }) }));
    const r = await runCli(['request', c.request([{ id: 'h1', title: 'Add a hook', type: 'code_gen', agent: 'cmd', dependsOn: [] }]), '--json', '--redis', redis.url, '--config', coordinatorConfig(c)], { cwd: c.coordinator, timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stderr);
    const t = JSON.parse(r.stdout).tasks[0];
    assert.equal(t.status, 'proposed', 'approve-all does not land it');
    assert.match(t.error, /needs explicit approval: auto-run \(\.husky\/pre-commit\)/);
    assert.deepEqual(landedTasks(c.coordinator), []);
  });
});
