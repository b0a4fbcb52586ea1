import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { createEngine } from '../../src/engine/engine';
import type { Engine } from '../../src/engine/api';
import { silentLogger } from '../../src/engine/ports';
import { settingsToEngineConfig } from '../../src/extension/settings';
import { workerRows, WorkersModel } from '../../src/extension/viewmodel/workers';
import { makeCluster, startWorker, type Cluster, type WorkerProcess } from '../support/distributed';
import { startRedis, type RedisHandle } from '../support/redisServer';

/**
 * The VS Code path end to end below the UI: settings and the stored password build the
 * engine's config (settings.ts), the engine lists a real `hyperion worker` from a real
 * redis-server, and the Workers view model shows it (or the refusal of a wrong password).
 */

// Characters a URL gives meaning to: they reach Redis only if the mapping encodes them.
const PASSWORD = 'p@ss:w/rd #%?&';
const USER = 'vscode-user';

let redis: RedisHandle;
let cluster: Cluster;
const workers: WorkerProcess[] = [];
const engines: Engine[] = [];

before(async () => {
  redis = await startRedis();
  const admin = new Redis(redis.url, { lazyConnect: true });
  await admin.connect();
  try {
    await admin.call('ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all');
  } finally {
    admin.disconnect();
  }
  cluster = makeCluster();
});
after(async () => {
  await Promise.allSettled(workers.map((w) => w.stop()));
  await Promise.allSettled(engines.map((e) => e.dispose()));
  await redis?.dispose();
  cluster?.dispose();
});

/** Polls an async condition until it returns a value, with a deadline (heartbeats come every 2 s). */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function engineFromSettings(redisPassword: string | undefined): Promise<Engine> {
  const { config, problems } = settingsToEngineConfig((k) => (k === 'distributed.redisUrl' ? `redis://${USER}@127.0.0.1:${redis.port}` : undefined), { redisPassword });
  assert.deepEqual(problems, []);
  const engine = await createEngine({ repo: cluster.coordinator, config, readOnly: true, ports: { log: silentLogger, secrets: { get: async () => undefined } } });
  engines.push(engine);
  return engine;
}

describe('Workers view over a real Redis, with the config built from VS Code settings', () => {
  it('lists a running hyperion worker through the ACL user and the stored password, and drops it once it stops', async () => {
    const w = await startWorker({ name: 'vscode-w1', repo: cluster.clone('w1'), redisUrl: redis.url, config: cluster.agentConfig(), concurrency: 2 });
    workers.push(w);
    const engine = await engineFromSettings(PASSWORD);
    const model = new WorkersModel();
    const listed = await until('the worker in the list', async () => {
      const s = await model.load(engine);
      return s.kind === 'workers' && s.workers.some((x) => x.name === 'vscode-w1') ? s : undefined;
    });
    assert.equal(listed.kind, 'workers');
    const row = workerRows(listed, Date.now()).find((r) => r.label === 'vscode-w1');
    assert.ok(row, JSON.stringify(workerRows(listed, Date.now())));
    assert.match(row.description ?? '', /· idle · ♥ (just now|\d s ago) · cmd$/);
    assert.match(row.tooltip ?? '', /Up to 2 tasks at once per agent/);

    await w.stop();
    const gone = await until('the stopped worker gone', async () => {
      const s = await model.load(engine);
      return s.kind === 'workers' && !s.workers.some((x) => x.name === 'vscode-w1') ? s : undefined;
    });
    assert.match(workerRows(gone, Date.now())[0].label, /^No worker is connected/);
  });

  it('shows a wrong or missing password as one row that leads to Set Redis Password, never the password', async () => {
    for (const pw of ['not-the-password', undefined]) {
      const state = await new WorkersModel().load(await engineFromSettings(pw));
      assert.equal(state.kind, 'error', String(pw));
      const rows = workerRows(state, Date.now());
      assert.equal(rows.length, 1);
      assert.match(rows[0].label, /^Redis refused the password or user: set the password with "Hyperion: Set Redis Password"/);
      assert.equal(rows[0].command?.command, 'hyperion.setRedisPassword');
      assert.doesNotMatch(JSON.stringify(rows) + String((state as { error: Error }).error?.message), /not-the-password|p@ss/);
    }
  });
});
