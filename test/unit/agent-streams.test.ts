import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { claudeArgs, claudeCodeHarness } from '../../src/engine/agents/claudeCodeHarness';
import { parseClaudeLine } from '../../src/engine/agents/claudeStream';
import { codexArgs, codexHarness } from '../../src/engine/agents/codexHarness';
import { parseCodexLine } from '../../src/engine/agents/codexStream';
import type { HarnessInput } from '../../src/engine/agents/harness';
import { harnessFor } from '../../src/engine/agents/harnesses';
import { EngineConfig } from '../../src/engine/config';
import { EngineError } from '../../src/engine/errors';
import { ROOT } from '../support/cli';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const TASK = { runId: 'run-1', id: 'task-1', title: 'Do it', type: 'code_gen' as const, prompt: 'Change the files', acceptanceCriteria: [], dependsOn: [], files: [] };

function input(): HarnessInput {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-harness-'));
  dirs.push(d);
  fs.mkdirSync(path.join(d, 'wt'));
  fs.mkdirSync(path.join(d, 'scratch'));
  return { task: TASK, deps: [], worktree: path.join(d, 'wt'), scratchDir: path.join(d, 'scratch'), model: undefined, budget: {}, signal: new AbortController().signal, onEvent: () => undefined };
}

describe('the Claude Code stream parser', () => {
  it('reads a real stream-json run: tool calls as progress, the result event as summary, tokens and cost', () => {
    // Recorded from Claude Code 2.1.197 against test/support/agents/anthropicAgentServer.ts.
    const lines = fs.readFileSync(path.join(ROOT, 'test/fixtures/agents/claude-stream.jsonl'), 'utf8').split('\n').filter(Boolean);
    const events = lines.flatMap((l) => parseClaudeLine(l, '/work/task'));
    assert.deepEqual(events.filter((e) => e.kind === 'progress').map((e) => e.kind === 'progress' && e.text), ['editing notes/hello.txt', 'reading notes/hello.txt', 'editing notes/hello.txt']);
    assert.deepEqual(events.find((e) => e.kind === 'model'), { kind: 'model', model: 'claude-opus-4-8[1m]' });
    assert.deepEqual(events.at(-1), { kind: 'result', ok: true, subtype: 'success', text: 'Done: wrote notes/hello.txt.', usage: { inputTokens: 400, outputTokens: 80, costUsd: 0.004 } });
  });

  it('names commands, searches and unknown tools, and ignores lines it does not know', () => {
    const call = (name: string, inp: object) => JSON.stringify({ type: 'assistant', message: { content: [{ type: 'tool_use', name, input: inp }] } });
    assert.deepEqual(parseClaudeLine(call('Bash', { command: 'npm test\necho done' }), '/w'), [{ kind: 'progress', text: 'running npm test' }]);
    assert.deepEqual(parseClaudeLine(call('Grep', { pattern: 'TODO' }), '/w'), [{ kind: 'progress', text: 'searching TODO' }]);
    assert.deepEqual(parseClaudeLine(call('Write', { file_path: '/elsewhere/x.ts' }), '/w'), [{ kind: 'progress', text: 'editing /elsewhere/x.ts' }]);
    assert.deepEqual(parseClaudeLine(call('WebFetch', {}), '/w'), [{ kind: 'progress', text: 'using WebFetch' }]);
    assert.deepEqual(parseClaudeLine('not json', '/w'), []);
    assert.deepEqual(parseClaudeLine('{"type":"stream_event"}', '/w'), []);
  });

  it('reads an error result as a failure with its text', () => {
    const [ev] = parseClaudeLine(JSON.stringify({ type: 'result', subtype: 'error_max_turns', is_error: true, result: 'too many turns', usage: { input_tokens: 5, output_tokens: 2 } }), '/w');
    assert.deepEqual(ev, { kind: 'result', ok: false, subtype: 'error_max_turns', text: 'too many turns', usage: { inputTokens: 5, outputTokens: 2, costUsd: null } });
  });

  it('gives claude the prompt, stream-json, acceptEdits, a turn limit and the route\'s model', () => {
    assert.deepEqual(claudeArgs('P', { kind: 'claude-code', maxTurns: 7, args: ['--x'] }, 'sonnet'), ['-p', 'P', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', '--max-turns', '7', '--model', 'sonnet', '--x']);
  });
});

describe('the Codex stream parser', () => {
  it('reads messages, commands, file changes, usage and failures', () => {
    const p = (o: object) => parseCodexLine(JSON.stringify(o), '/w');
    assert.deepEqual(p({ type: 'thread.started', thread_id: 't' }), []);
    assert.deepEqual(p({ type: 'item.started', item: { id: 'i1', type: 'command_execution', command: 'bash -lc "npm test"', status: 'in_progress' } }), [{ kind: 'progress', text: 'running bash -lc "npm test"' }]);
    assert.deepEqual(p({ type: 'item.completed', item: { id: 'i2', type: 'file_change', changes: [{ path: '/w/src/a.ts', kind: 'update' }, { path: '/w/b.ts', kind: 'delete' }], status: 'completed' } }), [{ kind: 'progress', text: 'editing src/a.ts' }, { kind: 'progress', text: 'deleting b.ts' }]);
    assert.deepEqual(p({ type: 'item.completed', item: { id: 'i3', type: 'agent_message', text: 'All done.' } }), [{ kind: 'message', text: 'All done.' }]);
    assert.deepEqual(p({ type: 'turn.completed', usage: { input_tokens: 120, cached_input_tokens: 20, output_tokens: 30 } }), [{ kind: 'usage', usage: { inputTokens: 120, outputTokens: 30, costUsd: null } }]);
    assert.deepEqual(p({ type: 'turn.failed', error: { message: 'stream disconnected' } }), [{ kind: 'failed', text: 'stream disconnected' }]);
    assert.deepEqual(p({ type: 'error', message: 'Reconnecting... 1/5' }), [{ kind: 'failed', text: 'Reconnecting... 1/5' }]);
    assert.deepEqual(parseCodexLine('garbage', '/w'), []);
  });

  it('gives codex the sandbox, the model and the user\'s provider as -c overrides, the prompt last', () => {
    const args = codexArgs('P', { kind: 'codex', provider: { baseUrl: 'http://127.0.0.1:1/v1', envKey: 'MY_KEY' } }, 'gpt-x');
    assert.deepEqual(args, [
      'exec', '--json', '--skip-git-repo-check', '--sandbox', 'workspace-write', '-m', 'gpt-x',
      '-c', 'model_provider="hyperion"',
      '-c', 'model_providers.hyperion={name="hyperion",base_url="http://127.0.0.1:1/v1",env_key="MY_KEY",wire_api="responses"}',
      'P',
    ]);
  });
});

describe('agent entries in config', () => {
  it('accepts claude-code and codex entries beside command lines, and refuses an unknown kind', () => {
    const cfg = EngineConfig.parse({ agents: { c: { kind: 'claude-code', path: '/bin/claude', maxTurns: 3 }, x: { kind: 'codex', provider: { baseUrl: 'http://h/v1', envKey: 'K' } }, s: { command: 'aider' } } });
    assert.equal(harnessFor('c', cfg.agents!.c).name, 'c');
    assert.deepEqual(cfg.agents!.s, { command: 'aider' });
    assert.throws(() => EngineConfig.parse({ agents: { c: { kind: 'copilot-x' } } }));
    assert.throws(() => EngineConfig.parse({ agents: { c: { kind: 'claude-code', maxTurns: 0 } } }));
  });

  it('says how to install an agent whose binary is missing', async () => {
    for (const [h, hint] of [[claudeCodeHarness('cc', { kind: 'claude-code', path: '/nonexistent/claude' }), /npm install -g @anthropic-ai\/claude-code/], [codexHarness('cx', { kind: 'codex', path: '/nonexistent/codex' }), /npm install -g @openai\/codex/]] as const) {
      await assert.rejects(h.run(input()), (e: unknown) => {
        assert.ok(e instanceof EngineError);
        assert.equal(e.code, 'agent/not-installed');
        assert.match(e.message, hint);
        return true;
      });
    }
  });
});
