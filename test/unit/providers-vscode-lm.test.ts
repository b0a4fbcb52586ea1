import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { EngineConfig } from '../../src/engine/config';
import { isEngineError } from '../../src/engine/errors';
import { silentLogger } from '../../src/engine/ports';
import { createProviderRegistry } from '../../src/engine/providers/router';
import type { ChatMessage, LanguageModelPort } from '../../src/engine/providers/types';
import { VscodeLmChatProvider, stripFences } from '../../src/engine/providers/vscodeLm';
import { loopbackClient, loopbackConfig, testSecrets } from '../support/loopback/client';
import type { LoopbackServer } from '../support/loopback/common';
import { startOpenAIServer } from '../support/loopback/openai';

/** A LanguageModelPort as the extension will implement it, answering from a function. */
function port(answer: (model: string, messages: ChatMessage[], signal?: AbortSignal) => Promise<{ text: string; inputTokens?: number; outputTokens?: number }>): LanguageModelPort & { seen: ChatMessage[][] } {
  const seen: ChatMessage[][] = [];
  return {
    seen,
    listModels: async () => [{ id: 'copilot-gpt-4o', vendor: 'copilot', family: 'gpt-4o', name: 'GPT-4o' }],
    sendRequest: (model, messages, signal) => {
      seen.push(messages);
      return answer(model, messages, signal);
    },
  };
}

describe('vscode-lm provider', () => {
  it('puts the schema in the prompt and strips code fences from a JSON answer', async () => {
    const lm = port(async () => ({ text: '```json\n{"answer":"hi"}\n```' }));
    const p = new VscodeLmChatProvider(lm, { timeoutMs: 1000 });
    const res = await p.chat({ model: 'copilot-gpt-4o', messages: [{ role: 'user', content: 'hello' }], json: { name: 'a', schema: { type: 'object' } } });
    assert.deepEqual(JSON.parse(res.text), { answer: 'hi' });
    assert.equal(res.provider, 'vscode-lm');
    assert.ok(res.usage.inputTokens > 0 && res.usage.outputTokens > 0, 'estimates tokens the port does not report');
    assert.match(lm.seen[0].at(-1)!.content, /JSON schema/);
  });

  it('times out and cancels even when the port ignores the signal', async () => {
    const never = port(() => new Promise(() => {}));
    const p = new VscodeLmChatProvider(never, { timeoutMs: 200 });
    await assert.rejects(p.chat({ model: 'm', messages: [] }), (e: unknown) => isEngineError(e, 'provider/timeout'));
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 50);
    await assert.rejects(new VscodeLmChatProvider(never, { timeoutMs: 10_000 }).chat({ model: 'm', messages: [], signal: ctrl.signal }), (e: unknown) => isEngineError(e, 'cancelled'));
  });

  it('is unavailable outside VS Code with a clear error', async () => {
    const registry = createProviderRegistry({ config: EngineConfig.parse({}), secrets: testSecrets, log: silentLogger });
    await assert.rejects(registry.get('vscode-lm'), (e: unknown) => isEngineError(e, 'provider/bad-request') && /only available inside VS Code/.test((e as Error).message));
    const withLm = createProviderRegistry({ config: EngineConfig.parse({}), secrets: testSecrets, log: silentLogger, lm: port(async () => ({ text: 'x' })) });
    assert.equal((await withLm.get('vscode-lm')).kind, 'vscode-lm');
  });

  it('strips only a surrounding fence', () => {
    assert.equal(stripFences('  {"a":1}  '), '{"a":1}');
    assert.equal(stripFences('```\n{"a":1}\n```'), '{"a":1}');
  });
});

describe('openai-compatible provider', () => {
  const servers: LoopbackServer[] = [];
  after(async () => Promise.all(servers.map((s) => s.close())));

  it('talks to a local server without a key, sending max_tokens', async () => {
    const s = await startOpenAIServer([{ type: 'reply', text: 'local answer' }]);
    servers.push(s);
    const { client } = loopbackClient(loopbackConfig({ compatible: s, route: [{ provider: 'openai-compatible', model: 'llama3.1' }] }));
    const res = await client.chat('docs', { messages: [{ role: 'user', content: 'hi' }], maxTokens: 256 });
    assert.equal(res.text, 'local answer');
    assert.equal(res.provider, 'openai-compatible');
    assert.equal(s.requests[0].body.max_tokens, 256);
    assert.equal(s.requests[0].body.max_completion_tokens, undefined);
    assert.equal(s.requests[0].headers.authorization, 'Bearer not-needed');
  });
});
