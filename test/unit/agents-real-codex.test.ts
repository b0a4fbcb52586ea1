import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { codexHarness } from '../../src/engine/agents/codexHarness';
import type { HarnessEvent, HarnessInput } from '../../src/engine/agents/harness';
import { EngineError } from '../../src/engine/errors';
import { realAgents, type RealAgents } from '../support/agents/realAgents';
import { startResponsesAgentServer, type ResponsesAgentServer } from '../support/agents/responsesAgentServer';
import { gitOut, makeSampleRepo, runCli } from '../support/cli';
import { useTempWorktrees } from '../support/worktrees';

useTempWorktrees();

// The real Codex CLI (installed once into a cache by scripts/agents-setup.sh) against a
// loopback Responses API server that scripts its shell calls. No skipping: a machine that
// cannot install it fails here with the reason.
const dirs: string[] = [];
const servers: ResponsesAgentServer[] = [];
let agents: RealAgents;
// A first install downloads about 650 MB: more than the suite's 5-minute test timeout.
before(() => {
  agents = realAgents();
}, { timeout: 30 * 60_000 });
after(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const SUMMARY = 'Wrote notes/hello.txt and edited it.';

describe('Codex as a task\'s agent', () => {
  it('lands the file its shell calls wrote and edited, with its last message in the commit (hyperion request)', async () => {
    const server = await startResponsesAgentServer((t) => {
      if (t.toolOutputs === 0) return { type: 'shell', script: 'mkdir -p notes && printf "hello\\n" > notes/hello.txt' };
      if (t.toolOutputs === 1) return { type: 'shell', script: 'sed -i "s/hello/hello, edited/" notes/hello.txt && cat notes/hello.txt' };
      return { type: 'message', text: SUMMARY };
    });
    servers.push(server);
    const dir = makeSampleRepo();
    dirs.push(dir);
    // Codex keeps its state in CODEX_HOME; one of its own per test, outside /tmp (see realAgents).
    const home = fs.mkdtempSync(path.join(agents.cache, 'codex-home-'));
    dirs.push(home);
    const config = path.join(home, 'config.json');
    fs.writeFileSync(config, JSON.stringify({
      agents: { codex: { kind: 'codex', path: agents.codex, env: { CODEX_HOME: home, HYPERION_TEST_CODEX_KEY: 'x' }, provider: { baseUrl: server.url, envKey: 'HYPERION_TEST_CODEX_KEY' } } },
      maxRetries: 0,
    }));
    const request = path.join(home, 'request.json');
    fs.writeFileSync(request, JSON.stringify({ goal: 'codex work', approve: 'all', tasks: [{ id: 'x1', title: 'Add a note', type: 'code_gen', prompt: 'Create notes/hello.txt', agent: 'codex', model: 'm' }] }));
    const r = await runCli(['request', request, '--json', '--config', config], { cwd: dir, timeoutMs: 180_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).tasks[0].status, 'merged', r.stdout);
    assert.equal(gitOut(dir, 'show', 'main:notes/hello.txt'), 'hello, edited\n');
    assert.match(gitOut(dir, 'log', '-1', '--format=%B', 'main'), /Wrote notes\/hello\.txt and edited it\./);
    assert.equal(server.turns.length, 3);
    assert.equal(gitOut(dir, 'status', '--porcelain'), '');
  });

  it('reports progress, its last message and tokens, and fails with the provider\'s words', async () => {
    const server = await startResponsesAgentServer((t) => (t.toolOutputs === 0 ? { type: 'shell', script: 'printf "a\\n" > a.txt' } : { type: 'message', text: 'Made a.txt.' }));
    const failing = await startResponsesAgentServer(() => ({ type: 'error', status: 400, message: 'model m is not allowed' }));
    servers.push(server, failing);
    const home = fs.mkdtempSync(path.join(agents.cache, 'codex-home-'));
    dirs.push(home);
    fs.mkdirSync(path.join(home, 'wt'));
    fs.mkdirSync(path.join(home, 'scratch'));
    const events: HarnessEvent[] = [];
    const task = { runId: 'r', id: 't', title: 'Note', type: 'code_gen' as const, prompt: 'Write a.txt', acceptanceCriteria: [], dependsOn: [], files: [] };
    const input: HarnessInput = { task, deps: [], worktree: path.join(home, 'wt'), scratchDir: path.join(home, 'scratch'), model: 'm', budget: {}, signal: new AbortController().signal, onEvent: (e) => events.push(e) };
    const cfg = (url: string) => ({ kind: 'codex' as const, path: agents.codex, env: { CODEX_HOME: home, HYPERION_TEST_CODEX_KEY: 'x' }, provider: { baseUrl: url, envKey: 'HYPERION_TEST_CODEX_KEY' } });
    const res = await codexHarness('codex', cfg(server.url)).run(input);
    assert.equal(res.summary, 'Made a.txt.');
    // Two model requests of 100 in / 20 out each, in one turn.
    assert.deepEqual(res.usage, { inputTokens: 200, outputTokens: 40, costUsd: null });
    assert.deepEqual(events.flatMap((e) => (e.type === 'progress' ? [e.text] : [])).map((t) => t.startsWith('running ') && t.includes('a.txt')), [true]);
    assert.equal(fs.readFileSync(path.join(home, 'wt/a.txt'), 'utf8'), 'a\n');

    await assert.rejects(codexHarness('codex', cfg(failing.url)).run(input), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.code, 'agent/failed');
      assert.match(e.message, /the agent "codex" failed: .*model m is not allowed/);
      return true;
    });
  });
});
