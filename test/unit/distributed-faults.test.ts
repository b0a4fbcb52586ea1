import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { AgentJob, agentQueueName, repoIdentity } from '../../src/engine/distributed/jobs';
import { CLI_BUNDLE, ensureCliBuilt, gitOut, runCli } from '../support/cli';
import { makeCluster, startWorker, waitFor, type Cluster, type WorkerProcess, coordinatorConfig, landedTasks } from '../support/distributed';
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
const agentPids: number[] = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const pid of agentPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.allSettled(workers.map((w) => w.stop()));
  await redis?.dispose();
  for (const c of clusters) c.dispose();
});

function cluster(): Cluster {
  const c = makeCluster();
  clusters.push(c);
  return c;
}

async function worker(o: Parameters<typeof startWorker>[0]): Promise<WorkerProcess> {
  const w = await startWorker(o);
  workers.push(w);
  return w;
}

async function workerRuns(repo: string, runId: string, taskId: string): Promise<WorkerRunView[]> {
  const engine = await createEngine({ repo, config: EngineConfig.parse({}), readOnly: true, ports: { log: silentLogger, secrets: { get: async () => undefined } } });
  try {
    return engine.listWorkerRuns(runId, taskId);
  } finally {
    await engine.dispose();
  }
}

/** The agents holding in `hold` (files `<task>.<pid>`), as task → pid. */
function held(hold: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of fs.readdirSync(hold)) {
    const m = /^(.+)\.(\d+)$/.exec(f);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

const chain = (ids: string[]) => ids.map((id, i) => ({ id, title: `Step ${id}`, type: 'code_gen', agent: 'cmd', dependsOn: i === 0 ? [] : [ids[i - 1]] }));

describe('distributed faults', () => {
  it('gives the task of a SIGKILLed worker to another worker, and records both', async () => {
    const c = cluster();
    const hold = fs.mkdtempSync(path.join(c.dir, 'hold-'));
    const config = c.agentConfig();
    const victim = await worker({ name: 'victim', repo: c.clone('victim'), redisUrl: redis.url, config, lockMs: 2000, env: { DIST_AGENT_HOLD: hold } });
    const run = runCli(['request', c.request(chain(['k1'])), '--json', '--redis', redis.url, '--config', coordinatorConfig(c)], { cwd: c.coordinator, timeoutMs: 180_000 });
    const pid = await waitFor('the victim\'s agent to start', () => held(hold).get('k1'));
    agentPids.push(pid);
    // The status bar's count: the task runs on a worker (read by another process, as `status` does).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const st = JSON.parse((await runCli(['status', '--json'], { cwd: c.coordinator })).stdout);
      if (st.queue.runningRemotely === 1) break;
      assert.ok(Date.now() < deadline, `runningRemotely stayed ${st.queue.runningRemotely}`);
    }
    await worker({ name: 'survivor', repo: c.clone('survivor'), redisUrl: redis.url, config, lockMs: 2000 });
    victim.child.kill('SIGKILL');
    process.kill(pid, 'SIGKILL');
    const r = await run;
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout);
    assert.equal(out.tasks[0].status, 'merged');
    assert.deepEqual(landedTasks(c.coordinator), ['k1']);
    const runs = await workerRuns(c.coordinator, out.runId, 'k1');
    assert.deepEqual(runs.map((w) => [w.worker, w.status]), [['victim', 'stalled'], ['survivor', 'ok']]);
    assert.equal(runs[0].attempt, runs[1].attempt, 'BullMQ moved the same job: one attempt of the task');
  });

  it('says on the task that no worker can take it, and lands it once one starts', async () => {
    const c = cluster();
    const config = c.agentConfig();
    const coordinator = spawn(process.execPath, [CLI_BUNDLE, 'request', c.request(chain(['n1'])), '--redis', redis.url, '--config', coordinatorConfig(c)], { cwd: c.coordinator, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    coordinator.stdout.on('data', (b) => (out += b));
    coordinator.stderr.on('data', (b) => (out += b));
    const closed = new Promise<number | null>((resolve) => coordinator.on('close', resolve));
    try {
      // Workers of the other tests (other repositories) are connected to this Redis too: they do not count.
      await waitFor('the coordinator to say no worker can take n1', () => out.includes('waiting for a worker that runs "cmd": none is connected') || undefined);
      await worker({ name: 'late', repo: c.clone('late'), redisUrl: redis.url, config });
      assert.equal(await closed, 0, out);
    } finally {
      coordinator.kill('SIGKILL');
    }
    assert.deepEqual(landedTasks(c.coordinator), ['n1']);
  });

  it('lands everything exactly once when Redis restarts mid-run', async () => {
    const c = cluster();
    const hold = fs.mkdtempSync(path.join(c.dir, 'hold-'));
    const config = c.agentConfig();
    for (const n of [1, 2, 3]) await worker({ name: `r${n}`, repo: c.clone(`r${n}`), redisUrl: redis.url, config, env: { DIST_AGENT_HOLD: hold } });
    const ids = ['s1', 's2', 's3', 's4'];
    const run = runCli(['request', c.request(chain(ids)), '--json', '--redis', redis.url, '--config', coordinatorConfig(c)], { cwd: c.coordinator, timeoutMs: 180_000 });
    for (const id of ids) {
      await waitFor(`${id}'s agent to start`, () => held(hold).get(id));
      if (id === 's2') {
        // The task is running on a worker and the coordinator waits for it: Redis goes away.
        await redis.stop();
        await redis.start();
      }
      fs.writeFileSync(path.join(hold, `${id}.release`), '');
    }
    const r = await run;
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.tasks.map((t: { status: string }) => t.status), ids.map(() => 'merged'));
    assert.deepEqual(landedTasks(c.coordinator), ids, 'each task landed once, in order');
    assert.equal(gitOut(c.coordinator, 'show', 'main:chain.txt'), ids.map((id) => `${id}\n`).join(''));
  });

  it('resumes after the coordinator is killed mid-run, landing each task once', async () => {
    const c = cluster();
    const hold = fs.mkdtempSync(path.join(c.dir, 'hold-'));
    fs.writeFileSync(path.join(hold, 'c2.release'), '');
    await worker({ name: 'steady', repo: c.clone('steady'), redisUrl: redis.url, config: c.agentConfig(), env: { DIST_AGENT_HOLD: hold } });
    ensureCliBuilt();
    const coordinator = spawn(process.execPath, [CLI_BUNDLE, 'request', c.request(chain(['c1', 'c2'])), '--json', '--redis', redis.url, '--config', coordinatorConfig(c)], { cwd: c.coordinator, stdio: 'ignore' });
    const gone = new Promise((res) => coordinator.once('exit', res));
    await waitFor('c1\'s agent to start', () => held(hold).get('c1'));
    coordinator.kill('SIGKILL');
    await gone;
    // As the extension does at start-up: recover, then resume the interrupted run.
    const config = EngineConfig.parse({ maxRetries: 0, distributed: { redisUrl: redis.url } });
    const engine = await createEngine({ repo: c.coordinator, config, resumeRuns: true, autoLand: true, ports: { log: silentLogger, secrets: { get: async () => undefined } } });
    try {
      const runId = engine.listRuns(1)[0].id;
      // The first attempt's agent finishes only now; its result is not used.
      fs.writeFileSync(path.join(hold, 'c1.release'), '');
      await waitFor('both tasks to land', () => engine.getRun(runId)!.tasks.every((t) => t.status === 'merged'), 120_000);
      assert.deepEqual(landedTasks(c.coordinator), ['c1', 'c2']);
      assert.equal(gitOut(c.coordinator, 'show', 'main:chain.txt'), 'c1\nc2\n');
      const runs = engine.listWorkerRuns(runId, 'c1');
      assert.deepEqual(runs.map((w) => [w.attempt, w.status]), [[1, 'error'], [2, 'ok']]);
      assert.match(runs[0].error!, /superseded by attempt 2/);
    } finally {
      await engine.dispose();
    }
  });

  it('refuses a wrong Redis password with a clear error, without printing the password', async () => {
    const c = cluster();
    const wrong = redis.url.replace(`:${redis.password}@`, ':not-the-password@');
    const r = await runCli(['request', c.request(chain(['p1'])), '--json', '--redis', wrong, '--config', coordinatorConfig(c)], { cwd: c.coordinator });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the credentials \(WRONGPASS/);
    assert.doesNotMatch(r.stderr, /not-the-password/);
    const w = await runCli(['worker', '--redis', wrong, '--config', c.agentConfig()], { cwd: c.clone('wrongpass') });
    assert.equal(w.code, 3, w.stderr);
    assert.match(w.stderr, /refused the credentials/);
  });

  it('fails the job with a clear reason when the worker cannot reach the remote, or its clone is of another repository', async () => {
    const c = cluster();
    const config = c.agentConfig();
    const cut = c.clone('cut');
    execFileSync('git', ['remote', 'set-url', 'origin', path.join(c.dir, 'no-such-remote.git')], { cwd: cut });
    const w = await worker({ name: 'cut', repo: cut, redisUrl: redis.url, config, agents: 'cmd' });
    const r = await runCli(['request', c.request(chain(['u1'])), '--json', '--redis', redis.url, '--config', coordinatorConfig(c)], { cwd: c.coordinator, timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.tasks[0].status, 'failed');
    assert.match(out.tasks[0].error, /on worker cut: could not fetch from remote "origin" \(.*no-such-remote\.git\)/);
    await w.stop();

    // A job that reaches a clone of another project (another root commit) is refused. Queues are
    // per repository, so only a misrouted or forged job can get there: put one on its queue.
    const other = path.join(c.dir, 'other');
    fs.mkdirSync(other);
    const g = (...a: string[]) => execFileSync('git', a, { cwd: other, stdio: 'pipe' });
    g('init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(other, 'x.txt'), 'another project\n');
    g('add', '-A');
    g('-c', 'user.email=o@o', '-c', 'user.name=o', 'commit', '-q', '-m', 'other');
    g('remote', 'add', 'origin', c.remote);
    await worker({ name: 'stranger', repo: other, redisUrl: redis.url, config });
    const queue = new Queue(agentQueueName(await repoIdentity(other), 'cmd'), { connection: { url: redis.url } });
    try {
      const head = gitOut(c.coordinator, 'rev-parse', 'main').trim();
      const job: AgentJob = {
        v: 1, repoId: await repoIdentity(c.coordinator), runId: 'r1', taskId: 'u2', attempt: 1, agent: 'cmd', baseRef: 'refs/hyperion/tasks/r1/u2/1/base',
        baseCommit: head, baseTree: gitOut(c.coordinator, 'rev-parse', 'main^{tree}').trim(), resultRef: 'refs/hyperion/tasks/r1/u2/1/result',
        task: { runId: 'r1', id: 'u2', title: 'misrouted', type: 'code_gen', prompt: 'x', acceptanceCriteria: [], dependsOn: [], files: [] }, deps: [],
      };
      const added = await queue.add('agent-task', job, { jobId: 'misrouted' });
      const deadline = Date.now() + 60_000;
      while ((await added.getState()) !== 'failed') {
        assert.ok(Date.now() < deadline, 'the misrouted job was not refused');
        await new Promise((res) => setTimeout(res, 50));
      }
      const failed = await queue.getJob('misrouted');
      assert.match(failed!.failedReason, /^\[distributed\/wrong-repo\] worker stranger refuses the job: it is for the repository with root commit\(s\) [0-9a-f]{40}, but .*other has [0-9a-f]{40}/);
    } finally {
      await queue.close();
    }
    assert.deepEqual(landedTasks(c.coordinator), []);
  });

  it('stops the agent on its worker when the task is cancelled, and the worker takes the next job', async () => {
    const c = cluster();
    const hold = fs.mkdtempSync(path.join(c.dir, 'hold-'));
    const config = c.agentConfig();
    await worker({ name: 'canceller', repo: c.clone('canceller'), redisUrl: redis.url, config, env: { DIST_AGENT_HOLD: hold } });
    const engine = await createEngine({
      repo: c.coordinator,
      config: EngineConfig.parse({ maxRetries: 0, agents: { cmd: { command: 'unused-here' } }, distributed: { redisUrl: redis.url } }),
      ports: { log: silentLogger, secrets: { get: async () => undefined } },
    });
    try {
      const t = (id: string) => ({ id, title: `Step ${id}`, type: 'code_gen' as const, prompt: id, acceptanceCriteria: [], dependsOn: [], files: [], agent: 'cmd' });
      const first = await engine.startRun({ goal: 'g', rationale: '', confidence: 1, questions: [], assumptions: [], tasks: [t('x1')] });
      const pid = await waitFor('the agent of x1 to start on the worker', () => held(hold).get('x1'));
      agentPids.push(pid);
      await engine.cancelRun(first.runId);
      const view = await first.done;
      assert.equal(view.tasks[0]!.status, 'cancelled');
      // The held agent never sees its release file: only the worker's kill ends it.
      await waitFor('the agent process to be killed on the worker', () => {
        try {
          process.kill(pid, 0);
          return undefined;
        } catch {
          return true;
        }
      });
      // The worker (concurrency 1) is free again: the next task runs there and lands.
      fs.writeFileSync(path.join(hold, 'x2.release'), '');
      const second = await engine.startRun({ goal: 'g', rationale: '', confidence: 1, questions: [], assumptions: [], tasks: [t('x2')] }, { approve: 'all' });
      await second.done;
      await engine.runQueue();
      assert.equal(engine.getRun(second.runId)?.tasks[0]?.status, 'merged');
      assert.deepEqual(landedTasks(c.coordinator), ['x2']);
    } finally {
      await engine.dispose();
    }
  });

  it('lists live workers, and puts no API key in Redis', async () => {
    const c = cluster();
    const config = c.agentConfig();
    // --repo may name any folder of the clone.
    const w = await worker({ name: 'lister', repo: path.join(c.clone('lister'), 'src'), redisUrl: redis.url, config, concurrency: 2 });
    const r = await runCli(['request', c.request(chain(['q1'])), '--json', '--redis', redis.url, '--config', coordinatorConfig(c)], {
      cwd: c.coordinator, timeoutMs: 120_000, env: { OPENAI_API_KEY: 'sk-coordinator-secret-1234', ANTHROPIC_API_KEY: 'sk-ant-coordinator-secret' },
    });
    assert.equal(r.code, 0, r.stderr);
    const list = await runCli(['workers', '--redis', redis.url], { cwd: c.coordinator });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME\s+HOST\s+CURRENT TASK\s+LAST HEARTBEAT/m);
    assert.match(list.stdout, /^lister\s+\S+\s+idle\s+\d+ s ago\s+cmd$/m);
    const json = JSON.parse((await runCli(['workers', '--json', '--redis', redis.url], { cwd: c.coordinator })).stdout);
    assert.ok(json.workers.some((x: { name: string; concurrency: number }) => x.name === 'lister' && x.concurrency === 2));

    // Everything Redis holds (jobs, results, events), searched for the keys.
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('*');
      let all = '';
      for (const k of keys) {
        const type = await client.type(k);
        if (type === 'string') all += await client.get(k);
        else if (type === 'hash') all += JSON.stringify(await client.hgetall(k));
        else if (type === 'list') all += JSON.stringify(await client.lrange(k, 0, -1));
        else if (type === 'stream') all += JSON.stringify(await client.xrange(k, '-', '+'));
        else if (type === 'zset') all += JSON.stringify(await client.zrange(k, '0', '-1'));
      }
      assert.match(all, /Step q1/, 'the job is in Redis');
      assert.doesNotMatch(all, /coordinator-secret/);
      assert.doesNotMatch(all, new RegExp(redis.password));
    } finally {
      client.disconnect();
    }
    await w.stop();
    const after = await runCli(['workers', '--redis', redis.url], { cwd: c.coordinator });
    assert.doesNotMatch(after.stdout, /^lister/m, 'a stopped worker leaves the list');
  });
});
