import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { afterEach, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { silentLogger } from '../../src/engine/ports';
import { createRun } from '../../src/engine/runs/runs';
import { getChangeView } from '../../src/engine/runs/views';
import { runPlan } from '../../src/engine/schedule/scheduler';
import { DEVELOPER_TOOLS } from '../../src/engine/agents/builtin/toolSpecs';
import { loopbackClient, loopbackConfig, TEST_KEYS } from '../support/loopback/client';
import type { LoopbackServer } from '../support/loopback/common';
import { fastBackoff, makeRunFixture, plan, task, testClock, type RunFixture } from '../support/run-fixture';
import { useTempWorktrees } from '../support/worktrees';

// The e2e's own loopback (test/e2e/loopback.mjs): these tests hold it to the wire protocol and
// to what the e2e steps expect of the tool developer, in seconds instead of a code-server run.
// Plain JavaScript without declarations, so loaded by a computed specifier (tsc leaves it untyped).
const E2E = ['../e2e/loopback.mjs', '../e2e/loopbackTools.mjs'];
let CHANGELOG_V1: string, CHANGELOG_V2: string, NOTES_BASE: string, NOTES_EDITED: string, REVIEW_COMMENT: string;
let startLoopback: (o: { key: string }) => Promise<{ url: string; requests: any[]; close(): Promise<void> }>;
let editsFor: (path: string, current: string, wanted: string) => any[] | undefined;
let toolAnswer: (body: any, scripted: any, log: (l: string) => void) => { toolCalls: Array<{ name: string; input: any }> };
before(async () => {
  const [lb, lt] = await Promise.all(E2E.map((m) => import(m)));
  ({ CHANGELOG_V1, CHANGELOG_V2, NOTES_BASE, NOTES_EDITED, REVIEW_COMMENT, startLoopback } = lb);
  ({ editsFor, toolAnswer } = lt);
});

useTempWorktrees();

const KEY = TEST_KEYS.openai;
const WIRE_TOOLS = DEVELOPER_TOOLS.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.inputSchema } }));

let fx: RunFixture | undefined;
let server: Awaited<ReturnType<typeof startLoopback>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  fx?.cleanup();
  fx = undefined;
});

/** Runs one task with the tool developer against the e2e loopback; returns its change. */
async function runTask(files: Record<string, string>, t: Parameters<typeof task>[1] & { id: string }) {
  fx = await makeRunFixture(files);
  server = await startLoopback({ key: KEY });
  const config = loopbackConfig({ openai: { url: server.url } as LoopbackServer, route: [{ provider: 'openai', model: 'loopback-model' }], overrides: { developer: 'tools', maxRetries: 0 } });
  const { client } = loopbackClient(config);
  const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task(t.id, t)]), approve: 'none', clock: testClock });
  const view = await runPlan({ db: fx.db, repo: fx.repo.dir, client, config, log: silentLogger, clock: testClock, backoff: fastBackoff }, runId);
  const row = view.tasks[0]!;
  assert.equal(row.status, 'proposed', row.error);
  return getChangeView(fx.db, row.changeId!)!;
}

/** The file a patch leaves, by applying it in the fixture's repo. */
function applied(patch: string, file: string): string {
  execFileSync('git', ['apply', '-'], { cwd: fx!.repo.dir, input: patch });
  return fx!.repo.read(file);
}

const prompt = (id: string, path: string, content: string | undefined) =>
  `# Subtask ${id}: t\n\nEdit ${path}.\n\n## Files named by this subtask, as they are now\n\n### ${path}\n${content === undefined ? '(does not exist yet)' : `\`\`\`\n${content}\`\`\``}`;

describe('the e2e loopback speaks native tool calls to the tool developer', () => {
  it('edits notes.txt in place, one edit_file per hunk, streamed, and the change is exactly the scripted file', async () => {
    const change = await runTask({ 'notes.txt': NOTES_BASE }, { id: 'r1', title: 'Edit three notes', type: 'docs', files: ['notes.txt'] });
    assert.equal((change.patch.match(/^@@/gm) ?? []).length, 3, change.patch);
    assert.equal(applied(change.patch, 'notes.txt'), NOTES_EDITED);
    const dev = server!.requests.filter((r: { tools: boolean }) => r.tools).map((r: { calls: string[] }) => r.calls);
    assert.deepEqual(dev, [['edit_file', 'edit_file', 'edit_file'], ['finish']], 'the edits, then finish after their results');
  });

  it('answers Request Changes v2 by editing the changelog of v1, and a new file by write_file', async () => {
    const change = await runTask({ 'CHANGELOG.md': CHANGELOG_V1 }, { id: 'r2', title: 'Write the changelog', type: 'docs', files: ['CHANGELOG.md'], prompt: `Edit CHANGELOG.md.\n\nThe reviewer asked: ${REVIEW_COMMENT}` });
    assert.equal(applied(change.patch, 'CHANGELOG.md'), CHANGELOG_V2);
    assert.match(change.summary ?? '', /Mentioned the inline review/);
    assert.deepEqual(server!.requests.filter((r: { tools: boolean }) => r.tools).map((r: { calls: string[] }) => r.calls), [['edit_file'], ['finish']]);
    const first = toolAnswer({ messages: [{ role: 'user', content: prompt('r2', 'CHANGELOG.md', undefined) }] }, { summary: 's', files: [{ path: 'CHANGELOG.md', content: CHANGELOG_V1 }] }, () => {});
    assert.deepEqual(first.toolCalls.map((c: { name: string }) => c.name), ['write_file']);
  });

  it('answers non-streamed and streamed requests with the same tool calls and finish_reason tool_calls', async () => {
    server = await startLoopback({ key: KEY });
    const openai = new OpenAI({ baseURL: server.url, apiKey: KEY });
    const messages = [{ role: 'user' as const, content: prompt('h2', 'README.md', '# greeting sample: headline one\n\nSay hello with greet().\n') }];
    const whole = await openai.chat.completions.create({ model: 'm', messages, tools: WIRE_TOOLS });
    assert.equal(whole.choices[0]!.finish_reason, 'tool_calls');
    const calls = whole.choices[0]!.message.tool_calls!.map((c) => c.type === 'function' ? [c.id, c.function.name, JSON.parse(c.function.arguments)] : []);
    assert.deepEqual(calls, [['call_e2e_0_0', 'edit_file', { path: 'README.md', old_string: '# greeting sample: headline one\n', new_string: '# greeting sample: headline two\n' }]]);
    const streamed: Array<{ id: string; name: string; args: string }> = [];
    let finish: string | null | undefined;
    let pieces = 0;
    for await (const chunk of await openai.chat.completions.create({ model: 'm', messages, tools: WIRE_TOOLS, stream: true })) {
      for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) {
        const c = (streamed[d.index] ??= { id: '', name: '', args: '' });
        if (d.id) c.id = d.id;
        if (d.function?.name) c.name += d.function.name;
        if (d.function?.arguments) (c.args += d.function.arguments, pieces++);
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'tool_calls');
    assert.deepEqual(streamed.map((c) => [c.id, c.name, JSON.parse(c.args)]), calls);
    assert.ok(pieces > 1, 'the arguments arrive in several fragments');
  });

  it('finishes after good results, retries a refused edit as a whole file, and finishes again after a refused finish', () => {
    const scripted = { summary: 'Done.', files: [{ path: 'a.txt', content: 'new\n' }] };
    const turn = (name: string, result: string) => ({ messages: [
      { role: 'user', content: prompt('x', 'a.txt', 'old\n') },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name, arguments: JSON.stringify({ path: 'a.txt' }) } }] },
      { role: 'tool', tool_call_id: 'c1', content: result },
    ] });
    const logged: string[] = [];
    const log = (l: string) => void logged.push(l);
    assert.deepEqual(toolAnswer(turn('edit_file', 'edited a.txt'), scripted, log).toolCalls, [{ name: 'finish', input: { summary: 'Done.' } }]);
    assert.deepEqual(toolAnswer(turn('edit_file', 'Error: old_string matches no place'), scripted, log).toolCalls, [{ name: 'write_file', input: { path: 'a.txt', content: 'new\n' } }]);
    assert.deepEqual(toolAnswer(turn('write_file', 'Error: protected path'), scripted, log).toolCalls, [{ name: 'finish', input: { summary: 'Done.' } }]);
    assert.deepEqual(toolAnswer(turn('finish', 'Error: not finished: the check failed'), scripted, log).toolCalls, [{ name: 'finish', input: { summary: 'Done.' } }]);
    assert.equal(logged.filter((l) => /was refused/.test(l)).length, 3);
    assert.ok(logged.some((l) => /finishing again/.test(l)));
  });

  it('grows old_string with context until it matches one place', () => {
    assert.deepEqual(editsFor('n', 'x\ny\nx\n', 'x\ny\nz\n'), [{ path: 'n', old_string: 'y\nx\n', new_string: 'y\nz\n' }]);
    assert.deepEqual(editsFor('n', 'a\n', 'a\nb\n'), [{ path: 'n', old_string: 'a\n', new_string: 'a\nb\n' }]);
    assert.deepEqual(editsFor('n', 'same\nsame\n', 'same\n'), [{ path: 'n', old_string: 'same\nsame\n', new_string: 'same\n' }]);
    assert.equal(editsFor('n', '', 'x\n'), undefined, 'an empty file has no place to edit: it is written whole');
  });
});
