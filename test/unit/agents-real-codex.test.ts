import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { realAgents, type RealAgents } from '../support/agents/realAgents';
import { startResponsesAgentServer, type ResponsesAgentServer } from '../support/agents/responsesAgentServer';
import { gitOut, makeSampleRepo, runCli } from '../support/cli';

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
});
