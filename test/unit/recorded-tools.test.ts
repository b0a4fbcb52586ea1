import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DEVELOPER_TOOLS } from '../../src/engine/agents/builtin/toolSpecs';
import { EngineError, isEngineError } from '../../src/engine/errors';
import { RecordedChatProvider, loadRecording } from '../../src/engine/providers/recorded';
import type { ChatMessage, ChatRequest, StreamDelta } from '../../src/engine/providers/types';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-recorded-tools-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function recordingFile(name: string, exchanges: unknown[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify({ version: 1, exchanges }));
  return file;
}

async function failure(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isEngineError(e), `expected EngineError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a failure');
}

const DEV = { role: 'code_gen', taskId: 't1' };
const EDIT = { name: 'edit_file', input: { path: 'a.js', old_string: '1', new_string: '2' } };
const FINISH = { name: 'finish', input: { summary: 'done' } };

/** A tool turn as the tool developer sends it: the conversation so far, the tools, streamed. */
function toolTurn(messages: ChatMessage[], extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'm', messages, tools: DEVELOPER_TOOLS, stream: true, tags: DEV, ...extra };
}

describe('recorded tool-call answers', () => {
  const file = recordingFile('both.json', [
    { match: DEV, response: { json: { action: 'finish', summary: 'whole', files: [] } } },
    { match: DEV, response: { text: 'I edit a.js.', toolCalls: [EDIT] } },
    { match: DEV, response: { toolCalls: [{ name: 'run_command', input: { command: 'npm test' } }, FINISH] } },
    { match: { ...DEV, contains: 'exit code 1' }, response: { toolCalls: [{ name: 'read_file', input: { path: 'a.js' } }] } },
  ]);

  it('answers a request that offers tools with the recorded calls, in sequence, with ids a replay repeats', async () => {
    const play = async () => {
      const p = RecordedChatProvider.fromFile(file);
      const deltas: StreamDelta[] = [];
      const messages: ChatMessage[] = [{ role: 'system', content: 's' }, { role: 'user', content: 'do t1' }];
      const r1 = await p.chat(toolTurn(messages, { onDelta: (d) => deltas.push(d) }));
      messages.push({ role: 'assistant', content: r1.text, toolCalls: r1.toolCalls }, { role: 'user', content: '', toolResults: [{ callId: r1.toolCalls![0]!.id, name: 'edit_file', content: 'edited' }] });
      const r2 = await p.chat(toolTurn(messages));
      return { r1, r2, deltas };
    };
    const { r1, r2, deltas } = await play();
    assert.equal(r1.provider, 'recorded');
    assert.equal(r1.text, 'I edit a.js.');
    assert.deepEqual(r1.toolCalls, [{ id: 'recorded_1_1', ...EDIT }]);
    assert.deepEqual(r2.toolCalls?.map((c) => [c.id, c.name]), [['recorded_2_1', 'run_command'], ['recorded_2_2', 'finish']]);
    assert.deepEqual(deltas, [{ kind: 'text', text: 'I edit a.js.' }, { kind: 'tool-call', name: 'edit_file' }], 'progress shows the calls as they "arrive"');
    const again = await play();
    assert.deepEqual([again.r1.toolCalls, again.r2.toolCalls], [r1.toolCalls, r2.toolCalls], 'the same ids on a replay');
  });

  it('keeps the text/json answer for requests without tools, on a sequence of its own', async () => {
    const p = RecordedChatProvider.fromFile(file);
    const tools = await p.chat(toolTurn([{ role: 'user', content: 'go' }]));
    assert.equal(tools.toolCalls?.[0]?.name, 'edit_file');
    const whole = await p.chat({ model: 'm', messages: [{ role: 'user', content: 'go' }], tags: DEV });
    assert.equal(whole.toolCalls, undefined);
    assert.deepEqual(JSON.parse(whole.text), { action: 'finish', summary: 'whole', files: [] });
    const next = await p.chat(toolTurn([{ role: 'user', content: 'go' }]));
    assert.deepEqual(next.toolCalls?.map((c) => c.name), ['run_command', 'finish'], 'the whole-file answer did not advance the tool sequence');
  });

  it('matches `contains` against the tool results of the last turn', async () => {
    const p = RecordedChatProvider.fromFile(file);
    const r = await p.chat(toolTurn([{ role: 'user', content: 'do t1' }, { role: 'assistant', content: '', toolCalls: [{ id: 'x', name: 'run_command', input: {} }] }, { role: 'user', content: '', toolResults: [{ callId: 'x', name: 'run_command', content: 'exit code 1 (0.3 s)' }] }]));
    assert.deepEqual(r.toolCalls, [{ id: 'recorded_2_1', name: 'read_file', input: { path: 'a.js' } }]);
  });

  it('says when a request without tools meets only tool-call answers', async () => {
    const p = RecordedChatProvider.fromFile(recordingFile('tools-only.json', [{ match: DEV, response: { toolCalls: [FINISH] } }]));
    const e = await failure(p.chat({ model: 'm', messages: [{ role: 'user', content: 'go' }], tags: DEV }));
    assert.equal(e.code, 'provider/no-recording');
    assert.match(e.message, /only tool-call answers there, and this request offers no tools/);
  });

  it('refuses a recorded call to a tool the request does not offer, naming the file and the exchange', async () => {
    const bad = recordingFile('bad-name.json', [
      { match: { role: 'planner' }, response: { json: {} } },
      { match: DEV, response: { toolCalls: [{ name: 'patch_file', input: { path: 'a.js' } }] } },
    ]);
    const e = await failure(RecordedChatProvider.fromFile(bad).chat(toolTurn([{ role: 'user', content: 'go' }])));
    assert.equal(e.code, 'usage/bad-recording');
    assert.ok(e.message.includes(bad), e.message);
    assert.match(e.message, /exchange 2 \(role code_gen, task t1\): calls the tool "patch_file", which the request does not offer \(it offers read_file, .*finish\)/);
    assert.equal(e.details?.transient, false, 'not retried');
  });

  for (const [what, response, where] of [
    ['an empty list of calls', { toolCalls: [] }, /exchange 1: exchanges\.0\.response\.toolCalls: /],
    ['a call without a name', { toolCalls: [{ input: {} }] }, /exchange 1: exchanges\.0\.response\.toolCalls\.0\.name: /],
    ['an input that is not an object', { toolCalls: [{ name: 'finish', input: 'done' }] }, /exchange 1: exchanges\.0\.response\.toolCalls\.0\.input: /],
    ['a misspelt key in a call', { toolCalls: [{ name: 'finish', inputs: {} }] }, /exchange 1: exchanges\.0\.response\.toolCalls\.0: .*inputs/],
    ['a text that is not a string', { text: 3 }, /exchange 1: exchanges\.0\.response\.text: /],
    ['an empty answer', {}, /exchange 1: exchanges\.0\.response: expected \{ "text": … \}, \{ "json": … \} or \{ "toolCalls"/],
  ] as const) {
    it(`rejects ${what} when the file is read, naming the exchange`, () => {
      const f = recordingFile('malformed.json', [{ match: DEV, response }]);
      assert.throws(() => loadRecording(f), (e: unknown) => isEngineError(e, 'usage/bad-recording') && e.message.startsWith(`${f} is not a recording: `) && where.test(e.message));
    });
  }

  it('still reads version 1 recordings without tool calls', () => {
    const r = loadRecording(path.resolve('test/fixtures/recorded/planner-basic.json'));
    assert.ok(r.exchanges.length > 0);
    assert.ok(r.exchanges.every((x) => !('toolCalls' in x.response)));
  });
});
