import assert from 'node:assert/strict';
import { waitFor } from '../support/processes';
import fs from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { EngineConfig, defaultConfig } from '../../src/engine/config';
import { silentLogger } from '../../src/engine/ports';
import { createRun } from '../../src/engine/runs/runs';
import { getChangeView } from '../../src/engine/runs/views';
import { runPlan } from '../../src/engine/schedule/scheduler';
import { BASE_NOTES, EDITED_NOTES, FnModel, finish as finishNotes, proposeOne, reviewSetup } from '../support/review-fixture';
import { config, fastBackoff, makeRunFixture, plan, task, testClock, type RunFixture } from '../support/run-fixture';
import { ScriptedClient, finish } from '../support/run-model';

/**
 * The tool-calling developer is the default (issue 11); `whole-file` stays as an opt-in. The
 * scheduler tests' scripted model answers either developer (support/tool-answers.ts).
 */
let fx: RunFixture | undefined;
afterEach(() => {
  fx?.cleanup();
  fx = undefined;
});

async function runOne(client: ScriptedClient, over: Partial<EngineConfig> = {}) {
  fx = await makeRunFixture();
  const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('a')]), approve: 'none', clock: testClock });
  const view = await runPlan({ db: fx.db, repo: fx.repo.dir, client, config: config(over), log: silentLogger, clock: testClock, backoff: fastBackoff }, runId);
  const t = view.tasks[0]!;
  return { view, task: t, change: t.changeId ? getChangeView(fx.db, t.changeId) : undefined };
}

const devCalls = (client: ScriptedClient) => client.calls.filter((c) => c.role !== 'reviewer');

describe('the default developer', () => {
  it('is tools in the engine and in the VS Code setting, with whole-file still on offer', () => {
    assert.equal(defaultConfig().developer, 'tools');
    assert.equal(EngineConfig.parse({ developer: 'whole-file' }).developer, 'whole-file');
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { contributes: { configuration: Array<{ properties: Record<string, { default?: unknown; enum?: string[] }> }> | { properties: Record<string, { default?: unknown; enum?: string[] }> } } };
    const sections = Array.isArray(pkg.contributes.configuration) ? pkg.contributes.configuration : [pkg.contributes.configuration];
    const setting = sections.map((s) => s.properties['hyperion.developer']).find(Boolean)!;
    assert.equal(setting.default, 'tools');
    assert.deepEqual([...setting.enum!].sort(), ['tools', 'whole-file']);
  });

  it('runs a task with native tool calls in its worktree, writes and deletes included', async () => {
    const client = new ScriptedClient({ dev: () => finish('rewrote a, removed b', { 'src/a.ts': 'export const a = 2;\n', 'src/b.ts': null }) });
    const { task: t, change } = await runOne(client);
    assert.equal(t.status, 'proposed', t.error);
    const [call] = devCalls(client);
    assert.ok(call!.req.tools?.some((x) => x.name === 'write_file'), 'the request offers the developer tools');
    assert.equal(call!.req.json, undefined, 'no one-JSON-object schema');
    assert.equal(devCalls(client).length, 1, 'writes, deletion and finish came in one reply');
    assert.deepEqual(change!.files.sort(), ['src/a.ts', 'src/b.ts']);
    assert.match(change!.patch, /^deleted file mode/m);
    assert.match(change!.patch, /^\+export const a = 2;$/m);
    assert.equal(change!.summary, 'rewrote a, removed b');
  });

  it('still runs the whole-file developer when asked to, from the same script', async () => {
    const client = new ScriptedClient({ dev: () => finish('rewrote a, removed b', { 'src/a.ts': 'export const a = 2;\n', 'src/b.ts': null }) });
    const { task: t, change } = await runOne(client, { developer: 'whole-file' });
    assert.equal(t.status, 'proposed', t.error);
    const [call] = devCalls(client);
    assert.equal(call!.req.tools, undefined);
    assert.equal(call!.req.json?.name, 'agent_action');
    assert.deepEqual(change!.files.sort(), ['src/a.ts', 'src/b.ts']);
  });

});

describe('the tool developer in a run', () => {
  it('does not finish in the reply where a write failed: the model sees the error first', async () => {
    // The first write is outside the worktree, so it is refused.
    const client = new ScriptedClient({
      dev: (_id, turn) => (turn === 0 ? finish('wrote outside', { '../outside.txt': 'x\n' }) : finish('wrote inside', { 'inside.txt': 'x\n' })),
    });
    const { task: t, change } = await runOne(client, { developer: 'tools' });
    assert.equal(t.status, 'proposed', t.error);
    assert.equal(change!.summary, 'wrote inside');
    assert.deepEqual(change!.files, ['inside.txt']);
    const second = devCalls(client)[1]!.req.messages.at(-1)!;
    const [write, fin] = second.toolResults!;
    assert.equal(write!.isError, true);
    assert.equal(fin!.isError, true);
    assert.match(fin!.content, /not finished: write_file failed earlier in this reply/);
  });

  it('writes a file as large as a raised maxPatchBytes allows', async () => {
    const big = `${'y'.repeat(99)}\n`.repeat(15_000); // 1.5 MB, over the workspace's own 1 MB default
    const client = new ScriptedClient({ dev: () => finish('big', { 'big.txt': big }) });
    const { task: t, change } = await runOne(client, { developer: 'tools', maxPatchBytes: 3_000_000 });
    assert.equal(t.status, 'proposed', t.error);
    assert.deepEqual(change!.files, ['big.txt']);
  });
});

describe('retrying a task whose change was rejected', () => {
  it('asks the model again instead of replaying the turned-down answer', async () => {
    let n = 0;
    const model = new FnModel((req) => (req.tags?.role === 'reviewer' ? JSON.stringify({ verdict: 'approve', comments: 'fine' }) : finishNotes(`try ${++n}`, { 'notes.txt': n === 1 ? EDITED_NOTES : `${BASE_NOTES}one more\n` })));
    const { engine } = await reviewSetup(model);
    const { runId, change } = await proposeOne(engine);
    assert.equal(change.summary, 'try 1');
    await engine.rejectChange(change.id, 'not like this');
    await engine.retryTask(runId, 't1');
    const t1 = () => engine.getRun(runId)!.tasks[0]!;
    await waitFor(() => t1().status === 'proposed' || t1().status === 'failed', 'the retried task to settle', 30_000);
    assert.equal(t1().status, 'proposed', t1().error);
    assert.equal(n, 2, 'the developer was asked again');
    assert.equal(engine.getChange(t1().changeId!)!.summary, 'try 2');
  });
});
