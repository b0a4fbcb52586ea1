import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Engine, RunnablePlan } from '../../src/engine/api';
import { EngineConfig } from '../../src/engine/config';
import { isEngineError } from '../../src/engine/errors';
import { silentLogger } from '../../src/engine/ports';
import { openDb } from '../../src/engine/store/db';
import { stateDirFor } from '../../src/engine/store/location';
import { openEngine } from '../../src/extension/engineFactory';
import { makeSampleRepo, runCli } from '../support/cli';
import { fakeClaude, resultLine, toolUseLine } from '../support/agents/fakeClaude';
import { waitFor } from '../support/processes';
import { useTempWorktrees } from '../support/worktrees';

useTempWorktrees();

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const NEW_FILE = (name: string, line: string) =>
  `diff --git a/${name} b/${name}\nnew file mode 100644\n--- /dev/null\n+++ b/${name}\n@@ -0,0 +1 @@\n+${line}\n`;

/** A repository, a stand-in Claude Code that waits for `release` before it answers, and a file outside the repo. */
function setup() {
  const repo = makeSampleRepo();
  const release = path.join(repo, '..', `${path.basename(repo)}-release`);
  const fake = fakeClaude([
    { type: 'system', subtype: 'init', model: 'claude-test' },
    toolUseLine('m1', 'Write', { file_path: 'agent.txt', content: 'x' }),
    { $write: ['agent.txt', 'by the agent\n'] },
    { $waitFor: release },
    resultLine('Wrote agent.txt', 0.001),
  ]);
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-two-'));
  cleanups.push(() => fs.rmSync(repo, { recursive: true, force: true }), () => fs.rmSync(release, { force: true }), fake.cleanup, () => fs.rmSync(outside, { recursive: true, force: true }));
  const file = (name: string, body: unknown) => {
    const f = path.join(outside, name);
    fs.writeFileSync(f, JSON.stringify(body));
    return f;
  };
  const config = { maxRetries: 0, agents: { cc: { kind: 'claude-code', path: fake.bin } } };
  return { repo, release, fake, file, config };
}

async function open(repo: string, config: object): Promise<Engine> {
  const engine = await openEngine({ repo, config: EngineConfig.parse(config), ports: { log: silentLogger, secrets: { get: async () => undefined } } });
  cleanups.push(() => engine.dispose());
  return engine;
}

/** Task `a`'s status and its attempts as stored, read through a Db of this test's own. */
async function stored(repo: string, runId: string): Promise<{ status: string; attempts: string[] }> {
  const db = await openDb({ dir: await stateDirFor(repo) });
  try {
    return {
      status: db.get<{ status: string }>("SELECT status FROM tasks WHERE run_id = ? AND id = 'a'", [runId])!.status,
      attempts: db.all<{ status: string }>("SELECT status FROM attempts WHERE run_id = ? AND task_id = 'a' ORDER BY n", [runId]).map((r) => r.status),
    };
  } finally {
    db.close();
  }
}

const agentPlan: RunnablePlan = {
  goal: 'agent work', rationale: '', confidence: 1, questions: [], assumptions: [],
  tasks: [{ id: 'a', title: 'Write agent.txt', type: 'code_gen', prompt: 'write it', acceptanceCriteria: [], dependsOn: [], files: [], agent: 'cc' }],
};

describe('two processes running plans on one store', () => {
  it('a CLI request while the editor runs an agent leaves the editor\'s running task alone', async () => {
    const { repo, release, fake, file, config } = setup();
    const editor = await open(repo, config);
    const { runId, done } = await editor.startRun(agentPlan);
    await waitFor(() => fake.calls().length === 1 && editor.getRun(runId)?.tasks[0]?.status === 'running', 'the editor\'s agent to start');

    const r = await runCli(['request', file('request.json', { goal: 'cli', tasks: [{ id: 'p', title: 'Add p', type: 'docs', patch: NEW_FILE('p.txt', 'p') }] }), '--json'], { cwd: repo });
    assert.equal(r.code, 0, r.stderr);
    // The CLI's crash recovery would have called this task interrupted and requeued it.
    assert.deepEqual(await stored(repo, runId), { status: 'running', attempts: ['running'] });

    fs.writeFileSync(release, '');
    const run = await done;
    assert.equal(run.tasks[0]!.status, 'proposed', run.tasks[0]!.error);
    assert.equal(run.tasks[0]!.attempts, 1);
    assert.equal(fake.calls().length, 1, 'the agent ran once');
  });

  it('the editor opened while a CLI run is in flight neither requeues nor resumes it, and will not retry in it', async () => {
    const { repo, release, fake, file, config } = setup();
    const request = file('request.json', { goal: 'cli agent', tasks: [{ id: 'a', title: 'Write agent.txt', type: 'code_gen', agent: 'cc' }] });
    const cli = runCli(['request', request, '--json', '--config', file('config.json', config)], { cwd: repo, timeoutMs: 120_000 });
    await waitFor(() => fake.calls().length === 1, 'the CLI\'s agent to start', 60_000);

    // As the extension opens it: recovering, resuming interrupted runs, landing in the background.
    const editor = await open(repo, config);
    const runId = editor.listRuns(1)[0]!.id;
    assert.deepEqual(await stored(repo, runId), { status: 'running', attempts: ['running'] }, 'not requeued as interrupted');
    await assert.rejects(editor.retryTask(runId, 'a'), (e) => isEngineError(e, 'usage/bad-state') && /another Hyperion process \(pid \d+/.test(e.message));

    fs.writeFileSync(release, '');
    const r = await cli;
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { tasks: Array<{ status: string }> }).tasks[0]!.status, 'proposed');
    assert.equal(fake.calls().length, 1, 'the agent ran once, in the CLI');
    await waitFor(() => editor.getRun(runId)?.tasks[0]?.status === 'proposed', 'the editor to show the CLI\'s result');
    assert.equal(editor.getRun(runId)!.tasks[0]!.attempts, 1);

    // The CLI ended: its run is no longer driven by anyone, so the editor may act on it.
    await editor.rejectChange(editor.getRun(runId)!.tasks[0]!.changeId!, 'not this one');
    await editor.retryTask(runId, 'a');
    await waitFor(() => fake.calls().length === 2, 'the editor to run the agent again');
  });
});
