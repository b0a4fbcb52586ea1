import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isEngineError } from '../../src/engine/errors';
import { silentLogger } from '../../src/engine/ports';
import { AnthropicChatProvider } from '../../src/engine/providers/anthropic';
import { OpenAIChatProvider } from '../../src/engine/providers/openai';
import type { ChatProvider, ChatRequest } from '../../src/engine/providers/types';
import { startAnthropicServer } from '../support/loopback/anthropic';
import type { LoopbackScript, LoopbackServer } from '../support/loopback/common';
import { startOpenAIServer } from '../support/loopback/openai';

const SECRET = 'sk-test-very-secret-key-0123456789';
const servers: LoopbackServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

type Vendor = 'openai' | 'anthropic';
async function setup(vendor: Vendor, script: LoopbackScript, timeoutMs = 5000): Promise<{ server: LoopbackServer; provider: ChatProvider }> {
  const server = vendor === 'openai' ? await startOpenAIServer(script) : await startAnthropicServer(script);
  servers.push(server);
  const provider =
    vendor === 'openai'
      ? new OpenAIChatProvider({ kind: 'openai', apiKey: SECRET, baseUrl: server.url, timeoutMs, log: silentLogger })
      : new AnthropicChatProvider({ apiKey: SECRET, baseUrl: server.url, timeoutMs, log: silentLogger });
  return { server, provider };
}

const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
const jsonReq = (stream: boolean, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'm1',
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'say hi' },
  ],
  json: { name: 'reply', schema },
  stream,
  ...extra,
});

async function rejects(p: Promise<unknown>): Promise<Error & { code: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    assert.ok(isEngineError(e), `expected EngineError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the call to fail');
}

for (const vendor of ['openai', 'anthropic'] as const) {
  for (const stream of [false, true]) {
    describe(`${vendor} provider (${stream ? 'streaming' : 'JSON'})`, () => {
      it('returns the structured answer as JSON text with usage', async () => {
        const { provider, server } = await setup(vendor, [{ type: 'reply', text: '{"answer":"hello there, friend"}', usage: { input: 12, output: 7 } }]);
        const res = await provider.chat(jsonReq(stream));
        assert.deepEqual(JSON.parse(res.text), { answer: 'hello there, friend' });
        assert.deepEqual(res.usage, { inputTokens: 12, outputTokens: 7 });
        assert.equal(res.provider, vendor);
        assert.equal(server.requests.length, 1);
        const body = server.requests[0].body;
        if (vendor === 'openai') {
          assert.equal(body.response_format.type, 'json_schema');
          assert.deepEqual(body.response_format.json_schema.schema, schema);
          if (stream) assert.deepEqual(body.stream_options, { include_usage: true });
        } else {
          assert.equal(body.system, 'be brief');
          assert.deepEqual(body.tool_choice, { type: 'tool', name: 'reply' });
          assert.deepEqual(body.tools[0].input_schema, schema);
          assert.ok(body.messages.every((m: { role: string }) => m.role !== 'system'));
        }
      });

      it('classifies 429 as rate-limited with the retry-after it was given', async () => {
        const { provider } = await setup(vendor, [{ type: 'error', status: 429, headers: { 'retry-after': '2' } }]);
        const e = await rejects(provider.chat(jsonReq(stream)));
        assert.equal(e.code, 'provider/rate-limited');
        assert.equal(e.details?.transient, true);
        assert.equal(e.details?.retryAfterMs, 2000);
      });

      it('classifies 401 as an auth error that names the key to set and never prints it', async () => {
        const { provider } = await setup(vendor, [{ type: 'error', status: 401, body: { error: { message: `Incorrect API key provided: ${SECRET}` } } }]);
        const e = await rejects(provider.chat(jsonReq(stream)));
        assert.equal(e.code, 'provider/auth');
        assert.equal(e.details?.transient, false);
        assert.match(e.message, vendor === 'openai' ? /OPENAI_API_KEY/ : /ANTHROPIC_API_KEY/);
        assert.ok(!e.message.includes(SECRET));
        assert.ok(!JSON.stringify(e.details).includes(SECRET));
      });

      it('classifies 500 as a transient server error and 400 as a permanent bad request', async () => {
        const { provider } = await setup(vendor, [{ type: 'error', status: 500 }, { type: 'error', status: 400 }]);
        const e1 = await rejects(provider.chat(jsonReq(stream)));
        assert.equal(e1.code, 'provider/server');
        assert.equal(e1.details?.transient, true);
        const e2 = await rejects(provider.chat(jsonReq(stream)));
        assert.equal(e2.code, 'provider/bad-request');
        assert.equal(e2.details?.transient, false);
      });

      it('reports a dropped connection as a transient network error', async () => {
        const { provider } = await setup(vendor, [{ type: 'drop', afterChunks: 2 }]);
        const e = await rejects(provider.chat(jsonReq(stream)));
        assert.equal(e.code, 'provider/network');
        assert.equal(e.details?.transient, true);
      });

      it('reports a garbage body as a transient error, not a crash', async () => {
        const { provider } = await setup(vendor, [{ type: 'garbage' }]);
        const e = await rejects(provider.chat(jsonReq(stream)));
        assert.ok(['provider/network', 'provider/server'].includes(e.code), e.code);
        assert.equal(e.details?.transient, true);
      });

      it('times out a response that never comes', async () => {
        const { provider } = await setup(vendor, [{ type: 'hang' }], 300);
        const t0 = Date.now();
        const e = await rejects(provider.chat(jsonReq(stream)));
        assert.equal(e.code, 'provider/timeout');
        assert.ok(Date.now() - t0 < 5000);
      });

      it('stops a pending call when cancelled', async () => {
        const { provider } = await setup(vendor, [{ type: 'hang' }]);
        const ctrl = new AbortController();
        setTimeout(() => ctrl.abort(), 100);
        const t0 = Date.now();
        const e = await rejects(provider.chat(jsonReq(stream, { signal: ctrl.signal })));
        assert.equal(e.code, 'cancelled');
        assert.ok(Date.now() - t0 < 1000);
      });

      if (stream) {
        it('reports a stream that stops without its final event as a network error', async () => {
          const { provider } = await setup(vendor, [{ type: 'truncate', afterChunks: 3 }]);
          const e = await rejects(provider.chat(jsonReq(stream)));
          assert.equal(e.code, 'provider/network');
          assert.match(e.message, /ended before/);
        });

        it('cancels mid-stream', async () => {
          const { provider } = await setup(vendor, [{ type: 'reply', text: 'x'.repeat(400), latency: { perTokenMs: 50 } }]);
          const ctrl = new AbortController();
          setTimeout(() => ctrl.abort(), 150);
          const e = await rejects(provider.chat(jsonReq(stream, { signal: ctrl.signal, json: undefined })));
          assert.equal(e.code, 'cancelled');
        });
      }

      it('answers plain text when no JSON is requested', async () => {
        const { provider, server } = await setup(vendor, [{ type: 'reply', text: 'plain words here' }]);
        const res = await provider.chat({ ...jsonReq(stream), json: undefined });
        assert.equal(res.text, 'plain words here');
        assert.equal(server.requests[0].body.tools, undefined);
        assert.equal(server.requests[0].body.response_format, undefined);
      });
    });
  }
}

describe('openai json mode fallback', () => {
  it('falls back to json_object when the server rejects json_schema, and remembers it', async () => {
    const { provider, server } = await setup('openai', [
      { type: 'error', status: 400, body: { error: { message: "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.", type: 'invalid_request_error', param: 'response_format', code: null } } },
      { type: 'reply', text: '{"answer":"a"}' },
      { type: 'reply', text: '{"answer":"b"}' },
    ]);
    const p = provider as OpenAIChatProvider;
    assert.equal(JSON.parse((await p.chat(jsonReq(false))).text).answer, 'a');
    assert.equal(JSON.parse((await p.chat(jsonReq(true))).text).answer, 'b');
    assert.deepEqual(server.requests.map((r) => r.body.response_format.type), ['json_schema', 'json_object', 'json_object']);
    assert.equal(p.currentJsonMode, 'json_object');
    // json_object mode carries the schema in the prompt instead.
    const sys = server.requests[1].body.messages.filter((m: { role: string }) => m.role === 'system').map((m: { content: string }) => m.content).join('\n');
    assert.match(sys, /JSON schema/);
    assert.match(sys, /"answer"/);
  });

  it('does not fall back on an unrelated 400', async () => {
    const { provider, server } = await setup('openai', [{ type: 'error', status: 400, body: { error: { message: 'messages: too long' } } }]);
    const e = await rejects(provider.chat(jsonReq(false)));
    assert.equal(e.code, 'provider/bad-request');
    assert.equal(server.requests.length, 1);
  });
});
