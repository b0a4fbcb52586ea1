import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../../src/engine/ports';
import { AnthropicChatProvider } from '../../src/engine/providers/anthropic';
import { OpenAIChatProvider } from '../../src/engine/providers/openai';
import type { ChatMessage, ChatRequest, LanguageModelPort, StreamDelta, ToolSpec } from '../../src/engine/providers/types';
import { VscodeLmChatProvider } from '../../src/engine/providers/vscodeLm';
import { recordingClient } from '../../src/engine/runs/modelCalls';
import { openDb } from '../../src/engine/store/db';
import { startAnthropicServer } from '../support/loopback/anthropic';
import { loopbackClient, loopbackConfig } from '../support/loopback/client';
import type { LoopbackServer } from '../support/loopback/common';
import { startOpenAIServer } from '../support/loopback/openai';
import { testClock } from '../support/run-fixture';

const TOOLS: ToolSpec[] = [{ name: 'read_file', description: 'read', inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } }];
const HISTORY: ChatMessage[] = [
  { role: 'system', content: 'be brief' },
  { role: 'user', content: 'look at a.ts' },
  { role: 'assistant', content: 'Reading it.', toolCalls: [{ id: 'c1', name: 'read_file', input: { path: 'a.ts' } }] },
  { role: 'user', content: '', toolResults: [{ callId: 'c1', name: 'read_file', content: 'no such file', isError: true }] },
];

let servers: LoopbackServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

const req = (over: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'm', messages: HISTORY, tools: TOOLS, timeoutMs: 5000, ...over });

describe('native tool calls', () => {
  for (const stream of [false, true]) {
    it(`OpenAI${stream ? ', streamed' : ''}: sends tools and the history as tool_calls / tool messages, reads the calls back`, async () => {
      const s = await startOpenAIServer([{ type: 'reply', text: 'again', toolCalls: [{ id: 'c2', name: 'read_file', input: { path: 'b.ts' } }] }]);
      servers.push(s);
      const p = new OpenAIChatProvider({ kind: 'openai', apiKey: 'k', baseUrl: s.url, timeoutMs: 5000, log: silentLogger });
      const deltas: StreamDelta[] = [];
      const res = await p.chat(req({ stream, onDelta: (d) => deltas.push(d) }));
      assert.deepEqual(res.toolCalls, [{ id: 'c2', name: 'read_file', input: { path: 'b.ts' } }]);
      assert.equal(res.text, 'again');
      assert.equal(res.finishReason, 'tool_calls');
      const body = s.requests[0]!.body;
      assert.deepEqual(body.tools, [{ type: 'function', function: { name: 'read_file', description: 'read', parameters: TOOLS[0]!.inputSchema } }]);
      assert.deepEqual(body.messages.slice(2), [
        { role: 'assistant', content: 'Reading it.', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a.ts"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'Error: no such file' },
      ]);
      if (stream) assert.ok(deltas.some((d) => d.kind === 'tool-call' && d.name === 'read_file') && deltas.some((d) => d.kind === 'text'));
    });

    it(`Anthropic${stream ? ', streamed' : ''}: sends tool_use / tool_result blocks, reads tool_use back`, async () => {
      const s = await startAnthropicServer([{ type: 'reply', text: 'again', toolCalls: [{ id: 'toolu_2', name: 'read_file', input: { path: 'b.ts' } }] }]);
      servers.push(s);
      const p = new AnthropicChatProvider({ apiKey: 'k', baseUrl: s.url, timeoutMs: 5000, log: silentLogger });
      const res = await p.chat(req({ stream }));
      assert.deepEqual(res.toolCalls, [{ id: 'toolu_2', name: 'read_file', input: { path: 'b.ts' } }]);
      assert.equal(res.text, 'again');
      assert.equal(res.finishReason, 'tool_use');
      const body = s.requests[0]!.body;
      assert.equal(body.tool_choice, undefined, 'the model chooses; no forced tool');
      assert.deepEqual(body.messages.slice(1), [
        { role: 'assistant', content: [{ type: 'text', text: 'Reading it.' }, { type: 'tool_use', id: 'c1', name: 'read_file', input: { path: 'a.ts' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c1', content: 'no such file', is_error: true }] },
      ]);
    });
  }

  it('Anthropic: a server that refuses tools gets one JSON object per turn from then on', async () => {
    const s = await startAnthropicServer([
      { type: 'error', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'tools: this model does not support tool use' } } },
      { type: 'reply', text: '{"tool":"read_file","input":{"path":"c.ts"}}' },
      { type: 'reply', text: 'not json at all' },
    ]);
    servers.push(s);
    const p = new AnthropicChatProvider({ apiKey: 'k', baseUrl: s.url, timeoutMs: 5000, log: silentLogger });
    const res = await p.chat(req());
    assert.equal(res.toolCalls?.[0]?.name, 'read_file');
    assert.deepEqual(res.toolCalls?.[0]?.input, { path: 'c.ts' });
    assert.equal(p.usesNativeTools, false);
    const again = await p.chat(req());
    assert.deepEqual(again.toolCalls, [], 'an answer that names no tool comes back as text for the caller to correct');
    assert.match(again.text, /not json at all/);
    assert.equal(s.requests.length, 3);
    assert.ok(s.requests.slice(1).every((r) => r.body.tools?.[0]?.name === 'tool_call'), 'the JSON protocol (a forced tool_call tool), not the native tools');
    assert.match(JSON.stringify(s.requests[1]!.body.messages), /\{\\"tool\\":\\"read_file\\",\\"input\\":\{\\"path\\":\\"a.ts\\"\}\}.*Error from read_file:\\nno such file/);
  });

  it('vscode.lm: tools and tool history go through the port; a model that refuses tools falls back', async () => {
    const seen: Array<{ messages: ChatMessage[]; tools?: ToolSpec[] }> = [];
    let refuse = false;
    const port: LanguageModelPort = {
      listModels: async () => [],
      sendRequest: async (_m, messages, _signal, opts) => {
        seen.push({ messages, tools: opts?.tools });
        if (opts?.tools && refuse) throw new Error('Model does not support tool calling');
        if (opts?.tools) {
          opts.onDelta?.({ kind: 'tool-call', name: 'read_file' });
          return { text: '', toolCalls: [{ id: 'v1', name: 'read_file', input: { path: 'x.ts' } }] };
        }
        return { text: '{"tool":"read_file","input":{"path":"y.ts"}}' };
      },
    };
    const p = new VscodeLmChatProvider(port, { timeoutMs: 5000 });
    const res = await p.chat(req());
    assert.deepEqual(res.toolCalls, [{ id: 'v1', name: 'read_file', input: { path: 'x.ts' } }]);
    assert.deepEqual(seen[0]!.tools, TOOLS);
    assert.deepEqual(seen[0]!.messages[2]!.toolCalls, HISTORY[2]!.toolCalls);
    refuse = true;
    const fallback = await p.chat(req());
    assert.deepEqual(fallback.toolCalls?.[0]?.input, { path: 'y.ts' });
    assert.equal(seen.length, 3);
    assert.equal(seen[2]!.tools, undefined);
  });

  it('a stored call gives its tool calls back, and tool results are part of the cache key', async () => {
    const s = await startOpenAIServer([
      { type: 'reply', text: '', toolCalls: [{ id: 'c9', name: 'read_file', input: { path: 'z.ts' } }] },
      { type: 'reply', text: '', toolCalls: [{ id: 'c10', name: 'read_file', input: { path: 'w.ts' } }] },
    ]);
    servers.push(s);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-tools-db-'));
    const db = await openDb({ dir });
    try {
      const { client } = loopbackClient(loopbackConfig({ openai: s, route: [{ provider: 'openai', model: 'm' }] }));
      const rec = recordingClient(db, client, testClock, { runId: undefined, taskId: 't' });
      const first = await rec.chat('code_gen', { messages: HISTORY, tools: TOOLS });
      const replay = await recordingClient(db, client, testClock, { taskId: 't' }).chat('code_gen', { messages: HISTORY, tools: TOOLS });
      assert.equal(replay.cached, true);
      assert.deepEqual(replay.toolCalls, first.toolCalls);
      const other: ChatMessage[] = [...HISTORY.slice(0, 3), { role: 'user', content: '', toolResults: [{ callId: 'c1', name: 'read_file', content: 'export const a = 1;' }] }];
      const fresh = await rec.chat('code_gen', { messages: other, tools: TOOLS });
      assert.equal(fresh.cached, false, 'a different tool result is a different call');
      assert.equal(fresh.toolCalls?.[0]?.id, 'c10');
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
