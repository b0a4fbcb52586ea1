import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { EngineError, isEngineError } from '../../src/engine/errors';
import { silentLogger, type Logger } from '../../src/engine/ports';
import { createModelClient, RETRY_LOG_MESSAGE } from '../../src/engine/providers/modelClient';
import { realSleep } from '../../src/engine/providers/retry';
import { createProviderRegistry } from '../../src/engine/providers/router';
import { loopbackClient, loopbackConfig, recordingSleep } from '../support/loopback/client';
import type { LoopbackServer } from '../support/loopback/common';
import { startOpenAIServer } from '../support/loopback/openai';

const servers: LoopbackServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
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

function keepingLogger(): Logger & { infos: Array<{ msg: string; data?: Record<string, unknown> }> } {
  const infos: Array<{ msg: string; data?: Record<string, unknown> }> = [];
  const none = () => {};
  return { infos, trace: none, debug: none, warn: none, error: none, info: (msg, data) => void infos.push({ msg, data }) };
}

describe('model call deadline', () => {
  // Before the deadline, this call took timeoutMs × (maxRetries + 1) plus backoff: 5 minutes here.
  it('ends a call to a provider that never answers by the call deadline, not by timeout × retries', { timeout: 60_000 }, async () => {
    const s = await startOpenAIServer(() => ({ type: 'hang' }));
    servers.push(s);
    const config = loopbackConfig({ openai: s, route: [{ provider: 'openai', model: 'gpt-x' }], overrides: { timeoutMs: 60_000, maxRetries: 4, callDeadlineMs: 1500 } });
    const { client, calls } = loopbackClient(config, { sleep: realSleep });
    const started = performance.now();
    const e = await failure(client.chat('planner', ask));
    const elapsed = performance.now() - started;
    assert.equal(e.code, 'provider/timeout');
    assert.match(e.message, /no answer from openai:gpt-x for planner within the call deadline of 1\.5 s/);
    assert.equal(e.details?.transient, true, 'a later call may succeed');
    // Generous: the bound that matters is far below one request timeout (60 s).
    assert.ok(elapsed < 30_000, `took ${Math.round(elapsed)} ms`);
    assert.equal(s.requests.length, 1, 'the hung attempt used the whole deadline; no retry after it');
    assert.equal(calls.length, 1);
    assert.equal(calls[0].ok, false);
  });

  it('makes no retry whose backoff would end past the deadline, and logs each retry with its wait and attempt', async () => {
    const s = await startOpenAIServer(() => ({ type: 'error', status: 500 }));
    servers.push(s);
    const config = loopbackConfig({ openai: s, route: [{ provider: 'openai', model: 'gpt-x' }], overrides: { maxRetries: 10, callDeadlineMs: 2000 } });
    const sleep = recordingSleep();
    const log = keepingLogger();
    const { client } = loopbackClient(config, { sleep, random: () => 0.5, log });
    const e = await failure(client.chat('code_gen', ask));
    // Backoff 250, 500, 1000 ms; the next (2000 ms) would end at or after the 2 s deadline.
    assert.deepEqual(sleep.delays, [250, 500, 1000]);
    assert.equal(s.requests.length, 4);
    assert.equal(e.code, 'provider/timeout');
    assert.match(e.message, /call deadline of 2 s .*4 attempt\(s\).*HTTP 500/);
    const retries = log.infos.filter((l) => l.msg === RETRY_LOG_MESSAGE);
    assert.deepEqual(retries.map((l) => [l.data?.attempt, l.data?.delayMs, l.data?.maxAttempts]), [[2, 250, 11], [3, 500, 11], [4, 1000, 11]]);
    for (const l of retries) assert.ok(typeof l.data?.leftMs === 'number' && (l.data.leftMs as number) <= 2000);
  });

  it('still retries within the deadline and returns the answer', async () => {
    const s = await startOpenAIServer([{ type: 'error', status: 503 }, { type: 'reply', text: 'ok' }]);
    servers.push(s);
    const config = loopbackConfig({ openai: s, route: [{ provider: 'openai', model: 'gpt-x' }], overrides: { callDeadlineMs: 60_000 } });
    const { client } = loopbackClient(config);
    assert.equal((await client.chat('planner', ask)).text, 'ok');
  });

  it('names the route a missing key belongs to', async () => {
    const config = loopbackConfig({ route: [{ provider: 'anthropic', model: 'claude-x' }] });
    // A user without a key: the secrets reader has none.
    const registry = createProviderRegistry({ config, secrets: { get: async () => undefined }, log: silentLogger });
    const e = await failure(createModelClient({ registry, config, log: silentLogger }).chat('code_gen', ask));
    assert.equal(e.code, 'provider/auth');
    assert.match(e.message, /^no key for anthropic \(route code_gen → anthropic:claude-x\): .*ANTHROPIC_API_KEY/);
  });
});
