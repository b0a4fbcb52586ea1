import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EngineConfig } from '../../src/engine/config';
import { EngineError, isEngineError } from '../../src/engine/errors';
import { silentLogger } from '../../src/engine/ports';
import { computeCost, modelCallKey } from '../../src/engine/providers/modelClient';
import { RecordedChatProvider } from '../../src/engine/providers/recorded';
import { backoffDelay, realSleep, withRetry } from '../../src/engine/providers/retry';
import { createProviderRegistry, routeFor } from '../../src/engine/providers/router';
import { startAnthropicServer } from '../support/loopback/anthropic';
import { loopbackClient, loopbackConfig, memoryCache, recordingSleep, testSecrets } from '../support/loopback/client';
import type { LoopbackScript, LoopbackServer } from '../support/loopback/common';
import { startOpenAIServer } from '../support/loopback/openai';

const servers: LoopbackServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
async function openai(script: LoopbackScript) {
  const s = await startOpenAIServer(script);
  servers.push(s);
  return s;
}
async function anthropic(script: LoopbackScript) {
  const s = await startAnthropicServer(script);
  servers.push(s);
  return s;
}
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

async function failure(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isEngineError(e), `expected EngineError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a failure');
}

for (const stream of [false, true]) {
  describe(`model client retries (${stream ? 'streaming' : 'JSON'})`, () => {
    it('waits what a 429 retry-after asks, then succeeds', async () => {
      const s = await openai([{ type: 'error', status: 429, headers: { 'retry-after': '3' } }, { type: 'reply', text: 'ok' }]);
      const sleep = recordingSleep();
      const { client, calls } = loopbackClient(loopbackConfig({ openai: s, route: [{ provider: 'openai', model: 'gpt-x' }] }), { sleep });
      const res = await client.chat('planner', { ...ask, stream });
      assert.equal(res.text, 'ok');
      assert.equal(s.requests.length, 2);
      assert.deepEqual(sleep.delays, [3000]);
      assert.equal(calls.length, 1);
      assert.equal(calls[0].attempts, 2);
    });

    it('honours retry-after-ms over retry-after', async () => {
      const s = await anthropic([{ type: 'error', status: 429, headers: { 'retry-after-ms': '1500', 'retry-after': '9' } }, { type: 'reply', text: 'ok' }]);
      const sleep = recordingSleep();
      const { client } = loopbackClient(loopbackConfig({ anthropic: s, route: [{ provider: 'anthropic', model: 'c' }] }), { sleep });
      await client.chat('planner', { ...ask, stream });
      assert.deepEqual(sleep.delays, [1500]);
    });

    it('fails at once on 401 with one request only and a message naming the key', async () => {
      const s = await openai([{ type: 'error', status: 401 }, { type: 'reply', text: 'never' }]);
      const { client } = loopbackClient(loopbackConfig({ openai: s, route: [{ provider: 'openai', model: 'gpt-x' }] }));
      const e = await failure(client.chat('planner', { ...ask, stream }));
      assert.equal(e.code, 'provider/auth');
      assert.match(e.message, /OPENAI_API_KEY/);
      assert.ok(!e.message.includes('sk-loopback-openai'));
      assert.equal(s.requests.length, 1);
    });

    it('retries 500s with growing backoff, then succeeds', async () => {
      const s = await anthropic([{ type: 'error', status: 500 }, { type: 'error', status: 503 }, { type: 'reply', text: 'finally' }]);
      const sleep = recordingSleep();
      const { client } = loopbackClient(loopbackConfig({ anthropic: s, route: [{ provider: 'anthropic', model: 'c' }] }), { sleep, random: () => 0.999 });
      const res = await client.chat('reviewer', { ...ask, stream });
      assert.equal(res.text, 'finally');
      assert.equal(s.requests.length, 3);
      assert.equal(sleep.delays.length, 2);
      assert.ok(sleep.delays[1] > sleep.delays[0], `backoff grows: ${sleep.delays}`);
    });

    it('retries a connection dropped mid-answer, then succeeds', async () => {
      const s = await openai([{ type: 'drop', afterChunks: 2 }, { type: 'reply', text: 'whole answer' }]);
      const { client } = loopbackClient(loopbackConfig({ openai: s, route: [{ provider: 'openai', model: 'gpt-x' }] }));
      const res = await client.chat('code_gen', { ...ask, stream });
      assert.equal(res.text, 'whole answer');
      assert.equal(s.requests.length, 2);
    });

    it('gives up after maxRetries and reports the last error', async () => {
      const s = await openai(() => ({ type: 'error', status: 502 }));
      const { client } = loopbackClient(loopbackConfig({ openai: s, route: [{ provider: 'openai', model: 'gpt-x' }], overrides: { maxRetries: 2 } }));
      const e = await failure(client.chat('planner', { ...ask, stream }));
      assert.equal(e.code, 'provider/server');
      assert.equal(s.requests.length, 3);
    });

    it('times out an answer that never comes, retries it, and never hangs', async () => {
      const s = await anthropic([{ type: 'hang' }, { type: 'reply', text: 'second try' }]);
      const { client } = loopbackClient(loopbackConfig({ anthropic: s, route: [{ provider: 'anthropic', model: 'c' }], overrides: { timeoutMs: 300 } }));
      const res = await client.chat('planner', { ...ask, stream });
      assert.equal(res.text, 'second try');
      assert.equal(s.requests.length, 2);
    });

    it('cancels mid-call within a second, without falling back', async () => {
      const s = await openai(() => ({ type: 'hang' }));
      const s2 = await openai([{ type: 'reply', text: 'fallback must not be used' }]);
      const config = loopbackConfig({ openai: s, route: [{ provider: 'openai', model: 'a' }] });
      config.routes.default.push({ provider: 'openai-compatible', model: 'b' });
      config.providers['openai-compatible'].baseUrl = s2.url;
      const { client } = loopbackClient(config);
      const ctrl = new AbortController();
      setTimeout(() => ctrl.abort(), 100);
      const t0 = Date.now();
      const e = await failure(client.chat('planner', { ...ask, stream, signal: ctrl.signal }));
      assert.equal(e.code, 'cancelled');
      assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
      assert.equal(s2.requests.length, 0);
    });

    it('cancels mid-backoff within a second', async () => {
      const s = await openai(() => ({ type: 'error', status: 429, headers: { 'retry-after': '20' } }));
      const { client } = loopbackClient(loopbackConfig({ openai: s, route: [{ provider: 'openai', model: 'a' }] }), { sleep: realSleep });
      const ctrl = new AbortController();
      setTimeout(() => ctrl.abort(), 200);
      const t0 = Date.now();
      const e = await failure(client.chat('planner', { ...ask, stream, signal: ctrl.signal }));
      assert.equal(e.code, 'cancelled');
      assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
      assert.equal(s.requests.length, 1);
    });
  });
}

describe('router and model client', () => {
  it('falls back to the second ModelRef when the first fails permanently', async () => {
    const a = await anthropic([{ type: 'error', status: 400 }]);
    const o = await openai([{ type: 'reply', text: 'from openai', usage: { input: 1000, output: 500 } }]);
    const { client, calls } = loopbackClient(
      loopbackConfig({ anthropic: a, openai: o, route: [{ provider: 'anthropic', model: 'claude-x' }, { provider: 'openai', model: 'gpt-y' }] }),
    );
    const res = await client.chat('test', ask);
    assert.equal(res.text, 'from openai');
    assert.deepEqual(res.ref, { provider: 'openai', model: 'gpt-y' });
    assert.deepEqual(calls.map((c) => [c.ref.provider, c.ok]), [['anthropic', false], ['openai', true]]);
    assert.equal(calls[0].error?.code, 'provider/bad-request');
  });

  it('falls back when a provider has no key, naming which key to set', async () => {
    const o = await openai([{ type: 'reply', text: 'ok' }]);
    const config = loopbackConfig({ openai: o, route: [{ provider: 'anthropic', model: 'c' }, { provider: 'openai', model: 'g' }] });
    const registry = createProviderRegistry({ config, secrets: { get: async (n) => (n === 'openai' ? 'k' : undefined) }, log: silentLogger });
    await assert.rejects(registry.get('anthropic'), (e: unknown) => isEngineError(e, 'provider/auth') && /ANTHROPIC_API_KEY/.test((e as Error).message));
    const { createModelClient } = await import('../../src/engine/providers/modelClient');
    const res = await createModelClient({ registry, config, log: silentLogger }).chat('docs', ask);
    assert.equal(res.ref.provider, 'openai');
  });

  it('reports every failure when the whole route fails', async () => {
    const a = await anthropic([{ type: 'error', status: 401 }]);
    const o = await openai([{ type: 'error', status: 400 }]);
    const { client } = loopbackClient(loopbackConfig({ anthropic: a, openai: o, route: [{ provider: 'anthropic', model: 'c' }, { provider: 'openai', model: 'g' }] }));
    const e = await failure(client.chat('planner', ask));
    assert.equal(e.code, 'provider/bad-request');
    assert.match(e.message, /anthropic:c: .*401/);
    assert.match(e.message, /openai:g: .*400/);
  });

  it('computes cost from provider:model prices, then model prices', async () => {
    const o = await openai([{ type: 'reply', text: 'x', usage: { input: 2_000_000, output: 1_000_000 } }]);
    const config = loopbackConfig({ openai: o, route: [{ provider: 'openai', model: 'gpt-y' }], overrides: { prices: { 'openai:gpt-y': { input: 2, output: 8 }, 'gpt-y': { input: 100, output: 100 } } } });
    const { client, calls } = loopbackClient(config);
    const res = await client.chat('planner', ask);
    assert.equal(res.costUsd, 2 * 2 + 1 * 8);
    assert.equal(calls[0].costUsd, 12);
    const byModel = EngineConfig.parse({ prices: { m: { input: 3, output: 15 } } });
    assert.equal(computeCost(byModel, { provider: 'anthropic', model: 'm' }, { inputTokens: 1_000_000, outputTokens: 100_000 }), 3 + 1.5);
    assert.equal(computeCost(byModel, { provider: 'anthropic', model: 'unpriced' }, { inputTokens: 5, outputTokens: 5 }), 0);
  });

  it('serves a repeated call from the cache without a second HTTP request', async () => {
    const o = await openai([{ type: 'reply', text: 'paid once', usage: { input: 1_000_000, output: 0 } }]);
    const cache = memoryCache();
    const config = loopbackConfig({ openai: o, route: [{ provider: 'openai', model: 'g' }], overrides: { prices: { g: { input: 1, output: 1 } } } });
    const first = await loopbackClient(config, { cache }).client.chat('planner', { ...ask, tags: { taskId: 'a' } });
    // A new client (as after a crash and resume) with the same durable cache.
    const { client, calls } = loopbackClient(config, { cache });
    const second = await client.chat('planner', { ...ask, tags: { taskId: 'b' } });
    assert.equal(o.requests.length, 1);
    assert.equal(first.cached, false);
    assert.equal(first.costUsd, 1);
    assert.equal(second.cached, true);
    assert.equal(second.costUsd, 0);
    assert.equal(second.text, 'paid once');
    assert.equal(calls[0].cached, true);
    // A different message is a different key.
    assert.notEqual(modelCallKey('planner', { provider: 'openai', model: 'g' }, ask), modelCallKey('planner', { provider: 'openai', model: 'g' }, { messages: [{ role: 'user', content: 'hello!' }] }));
    assert.notEqual(modelCallKey('planner', { provider: 'openai', model: 'g' }, ask), modelCallKey('reviewer', { provider: 'openai', model: 'g' }, ask));
  });

  it('routes a role to its own list, then routes.default, then a built-in default', () => {
    const c = EngineConfig.parse({ routes: { planner: [{ provider: 'openai', model: 'p' }], default: [{ provider: 'anthropic', model: 'd' }] } });
    assert.deepEqual(routeFor(c, 'planner'), [{ provider: 'openai', model: 'p' }]);
    assert.deepEqual(routeFor(c, 'code_gen'), [{ provider: 'anthropic', model: 'd' }]);
    const builtIn = routeFor(EngineConfig.parse({}), 'test');
    assert.ok(builtIn.length >= 1 && builtIn.every((r) => r.model.length > 0));
    const rec = routeFor(EngineConfig.parse({ providers: { recorded: { file: '/x.json' } } }), 'test');
    assert.deepEqual(rec.map((r) => r.provider), ['recorded']);
  });
});

describe('retry policy', () => {
  it('draws full-jitter delays under a doubling cap and respects retry-after as a floor', () => {
    const base = { baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelay(1, { ...base, random: () => 0.999 }), 99);
    assert.equal(backoffDelay(3, { ...base, random: () => 0.999 }), 399);
    assert.equal(backoffDelay(10, { ...base, random: () => 0.999 }), 999);
    assert.equal(backoffDelay(1, { ...base, random: () => 0 }), 0);
    assert.equal(backoffDelay(1, { ...base, random: () => 0, retryAfterMs: 700 }), 700);
    assert.equal(backoffDelay(1, { ...base, random: () => 0, retryAfterMs: 60_000 }), 1000);
  });

  it('does not retry permanent or unknown errors', async () => {
    let n = 0;
    await assert.rejects(withRetry(async () => { n++; throw new Error('bug'); }, { maxRetries: 5, sleep: recordingSleep() }));
    assert.equal(n, 1);
  });
});

describe('recorded provider', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'rec.json');
  fs.writeFileSync(file, JSON.stringify({
    version: 1,
    exchanges: [
      { match: { role: 'planner' }, response: { json: { goal: 'g' } }, usage: { inputTokens: 10, outputTokens: 5 } },
      { match: { role: 'code_gen', taskId: 't1' }, response: { text: 'step 1' } },
      { match: { role: 'code_gen', taskId: 't1' }, response: { text: 'step 2' } },
      { match: { role: 'code_gen', taskId: 't1', contains: 'special' }, response: { text: 'special answer' } },
    ],
  }));

  it('answers by role and task, plays sequences in order and says provider "recorded"', async () => {
    const p = RecordedChatProvider.fromFile(file);
    const r1 = await p.chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], tags: { role: 'planner' } });
    assert.deepEqual(JSON.parse(r1.text), { goal: 'g' });
    assert.equal(r1.provider, 'recorded');
    assert.deepEqual(r1.usage, { inputTokens: 10, outputTokens: 5 });
    const seq = [];
    for (let i = 0; i < 3; i++) seq.push((await p.chat({ model: 'm', messages: [{ role: 'user', content: 'go' }], tags: { role: 'code_gen', taskId: 't1' } })).text);
    assert.deepEqual(seq, ['step 1', 'step 2', 'step 2']);
    const sp = await p.chat({ model: 'm', messages: [{ role: 'user', content: 'a special case' }], tags: { role: 'code_gen', taskId: 't1' } });
    assert.equal(sp.text, 'special answer');
  });

  it('fails clearly when there is no recording for a request', async () => {
    const p = RecordedChatProvider.fromFile(file);
    const e = await failure(p.chat({ model: 'm', messages: [], tags: { role: 'audit', taskId: 't9' } }));
    assert.equal(e.code, 'provider/no-recording');
    assert.match(e.message, /audit/);
    assert.equal(e.details?.transient, false);
  });

  it('rejects a malformed recording file with usage/bad-recording', () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"version": 2}');
    assert.throws(() => RecordedChatProvider.fromFile(bad), (e: unknown) => isEngineError(e, 'usage/bad-recording'));
  });

  it('is reachable through the registry from config', async () => {
    const config = EngineConfig.parse({ providers: { recorded: { file } } });
    const registry = createProviderRegistry({ config, secrets: testSecrets, log: silentLogger });
    assert.equal((await registry.get('recorded')).kind, 'recorded');
  });
});
