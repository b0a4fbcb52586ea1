import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runDeveloper } from '../../src/engine/agents/developer';
import type { AgentTask } from '../../src/engine/agents/types';
import { isEngineError } from '../../src/engine/errors';
import { applyPatchToTree } from '../../src/engine/git/plumbing';
import { silentLogger } from '../../src/engine/ports';
import { filePatch, makeRepo, sh, type TempRepo } from '../support/queue-repo';
import { ScriptedClient, finish } from '../support/run-model';

let repo: TempRepo;
let tree: string;
before(() => {
  repo = makeRepo({ 'README.md': 'hello\n', 'src/a.ts': 'export const a = 1;\n' });
  tree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
});
after(() => repo.cleanup());

const task: AgentTask = { runId: 'r1', id: 't1', title: 'change a', type: 'code_gen', prompt: 'set a to 2', acceptanceCriteria: ['a is 2'], dependsOn: [], files: ['src/a.ts', 'src/new.ts'] };

function run(client: ScriptedClient, maxSteps = 6) {
  return runDeveloper({ repo: repo.dir, task, baseTree: tree, deps: [], client, maxSteps, signal: new AbortController().signal, log: silentLogger });
}

describe('developer agent', () => {
  it('gives the task its named files and turns a full-file finish into a patch that applies', async () => {
    const client = new ScriptedClient({ dev: () => finish('a is 2', { 'src/a.ts': 'export const a = 2;\n' }) });
    const out = await run(client);
    const first = client.calls[0]!.req.messages[1]!.content;
    assert.match(first, /export const a = 1;/);
    assert.match(first, /src\/new.ts\n\(does not exist yet\)/);
    assert.match(first, /a is 2/);
    const t = await applyPatchToTree(repo.dir, tree, out.patch);
    assert.equal(sh(repo.dir, ['cat-file', 'blob', `${t}:src/a.ts`]), 'export const a = 2;\n');
    assert.equal(out.summary, 'a is 2');
  });

  it('answers tool calls, including refusals, and keeps going', async () => {
    const client = new ScriptedClient({
      dev: (_id, turn) =>
        [
          JSON.stringify({ action: 'read_file', path: '../../etc/passwd' }),
          JSON.stringify({ action: 'list_dir', path: 'src' }),
          JSON.stringify({ action: 'search', query: 'const a' }),
          finish('done', { 'src/a.ts': 'export const a = 3;\n' }),
        ][turn]!,
    });
    await run(client);
    const replies = client.calls.slice(1).map((c) => c.req.messages.at(-1)!.content);
    assert.match(replies[0]!, /Tool error: .*leaves the repository/);
    assert.match(replies[1]!, /a\.ts/);
    assert.match(replies[2]!, /src\/a\.ts:1:export const a = 1;/);
  });

  it('sends a patch that does not apply back with the reason and accepts the fixed one', async () => {
    const bad = filePatch('src/a.ts', 'export const a = 999;\n', 'export const a = 2;\n');
    const good = filePatch('src/a.ts', 'export const a = 1;\n', 'export const a = 2;\n');
    const client = new ScriptedClient({ dev: (_id, turn) => JSON.stringify({ action: 'finish', summary: 's', patch: turn === 0 ? bad : good }) });
    const out = await run(client);
    assert.equal(client.count(), 2);
    assert.match(client.calls[1]!.req.messages.at(-1)!.content, /does not apply: .*src\/a\.ts/);
    assert.match(out.patch, /\+export const a = 2;/);
  });

  it('tells the model about malformed JSON and gives up after a bounded number of tries', async () => {
    const ok = new ScriptedClient({ dev: (_id, turn) => (turn === 0 ? 'sure! here it is: {"action": ' : turn === 1 ? '{"action":"dance"}' : '```json\n' + finish('x') + '\n```') });
    await run(ok);
    assert.match(ok.calls[1]!.req.messages.at(-1)!.content, /not valid JSON/);
    assert.match(ok.calls[2]!.req.messages.at(-1)!.content, /not a valid action/);
    const never = new ScriptedClient({ dev: () => 'no json here' });
    await assert.rejects(run(never), (e: unknown) => isEngineError(e, 'agent/model-output'));
    assert.equal(never.count(), 4, 'one try plus three corrections');
  });

  it('stops after its step budget, telling the model on the last step', async () => {
    const client = new ScriptedClient({ dev: () => JSON.stringify({ action: 'list_dir', path: '' }) });
    await assert.rejects(run(client, 3), /did not finish within 3 steps/);
    assert.equal(client.count(), 3);
    assert.match(client.calls[2]!.req.messages.at(-1)!.content, /last reply: you must finish/);
  });

  it('refuses output paths inside .git or outside the repository and lets the model retry', async () => {
    const client = new ScriptedClient({
      dev: (_id, turn) => (turn === 0 ? finish('x', { '.git/hooks/pre-commit': 'evil' }) : turn === 1 ? finish('x', { '../escape.txt': 'x' }) : finish('x', { 'ok.txt': 'ok\n' })),
    });
    const out = await run(client);
    assert.match(client.calls[1]!.req.messages.at(-1)!.content, /inside \.git/);
    assert.match(client.calls[2]!.req.messages.at(-1)!.content, /not a plain path inside the repository/);
    assert.match(out.patch, /b\/ok\.txt/);
  });
});
