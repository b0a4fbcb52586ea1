import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { commandHarness, expandCommand } from '../../src/engine/agents/commandHarness';
import type { HarnessInput } from '../../src/engine/agents/harness';
import { EngineError } from '../../src/engine/errors';
import { applyAndDiff } from '../../src/engine/git/batch';
import { captureWorktreeChange, createTaskWorktree, removeTaskWorktree } from '../../src/engine/git/taskWorktree';
import { stateDirFor } from '../../src/engine/store/location';
import { alive, waitFor } from '../support/processes';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' });
}

function makeRepo(): string {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-harness-'));
  dirs.push(repo);
  fs.mkdirSync(path.join(repo, 'src'));
  fs.writeFileSync(path.join(repo, 'src/keep.txt'), 'keep\n');
  fs.writeFileSync(path.join(repo, 'src/edit.txt'), 'one\n');
  fs.writeFileSync(path.join(repo, 'src/gone.txt'), 'gone\n');
  fs.writeFileSync(path.join(repo, 'src/old-name.txt'), 'moved content\n');
  fs.writeFileSync(path.join(repo, 'run.sh'), 'echo hi\n');
  fs.writeFileSync(path.join(repo, '.gitignore'), 'ignored/\n');
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '-m', 'init');
  return repo;
}

const TASK = { runId: 'run-1', id: 'task-1', title: 'Do it', type: 'code_gen' as const, prompt: 'Change the files', acceptanceCriteria: ['it works'], dependsOn: [], files: ['src/edit.txt'] };

function harnessInput(wt: { dir: string; scratchDir: string }, signal: AbortSignal, over: Partial<HarnessInput> = {}): HarnessInput {
  return { task: TASK, deps: [], worktree: wt.dir, scratchDir: wt.scratchDir, model: 'm-1', budget: {}, signal, onEvent: () => undefined, ...over };
}

describe('task worktrees', () => {
  it('checks out the base detached under the git common dir and captures adds, edits, deletes, renames and modes', async () => {
    const repo = makeRepo();
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const baseTree = git(repo, 'rev-parse', 'HEAD^{tree}').trim();
    const state = await stateDirFor(repo);
    const wt = await createTaskWorktree(repo, state, { runId: 'run-1', taskId: 'task-1', baseCommit: head, baseTree });
    assert.equal(wt.dir, path.join(fs.realpathSync(repo), '.git', 'hyperion', 'worktrees', 'run-1', 'task-1'));
    assert.equal(git(wt.dir, 'rev-parse', 'HEAD').trim(), head);
    assert.equal(git(wt.dir, 'rev-parse', '--abbrev-ref', 'HEAD').trim(), 'HEAD', 'detached');
    assert.equal(git(repo, 'status', '--porcelain'), '', "the user's checkout does not see it");

    fs.writeFileSync(path.join(wt.dir, 'src/new.txt'), 'new\n');
    fs.writeFileSync(path.join(wt.dir, 'src/edit.txt'), 'two\n');
    fs.rmSync(path.join(wt.dir, 'src/gone.txt'));
    fs.renameSync(path.join(wt.dir, 'src/old-name.txt'), path.join(wt.dir, 'src/new-name.txt'));
    fs.chmodSync(path.join(wt.dir, 'run.sh'), 0o755);
    fs.mkdirSync(path.join(wt.dir, 'ignored'));
    fs.writeFileSync(path.join(wt.dir, 'ignored/cache.bin'), 'x');
    // Whatever the agent did to its own index is not what is captured: the folder is.
    git(wt.dir, 'add', 'src/new.txt');

    const { patch, tree } = await captureWorktreeChange(wt);
    assert.match(patch, /^diff --git a\/src\/new\.txt b\/src\/new\.txt\nnew file mode 100644/m);
    assert.match(patch, /^diff --git a\/src\/edit\.txt/m);
    assert.match(patch, /^diff --git a\/src\/gone\.txt b\/src\/gone\.txt\ndeleted file mode/m);
    assert.match(patch, /^diff --git a\/src\/old-name\.txt b\/src\/old-name\.txt\ndeleted file mode/m);
    assert.match(patch, /^diff --git a\/src\/new-name\.txt b\/src\/new-name\.txt\nnew file mode/m);
    assert.match(patch, /^old mode 100644\nnew mode 100755$/m);
    assert.doesNotMatch(patch, /ignored\/cache\.bin/);
    assert.doesNotMatch(patch, /keep\.txt/);
    // The patch applies to the base and gives exactly the captured tree.
    const applied = await applyAndDiff(repo, baseTree, patch);
    assert.ok(applied.ok);
    assert.equal(applied.tree, tree);

    await removeTaskWorktree(repo, wt);
    assert.ok(!fs.existsSync(wt.dir));
    assert.ok(!fs.existsSync(wt.scratchDir));
    assert.doesNotMatch(git(repo, 'worktree', 'list'), /task-1/);
  });

  it('captures nothing when the agent changed nothing, and replaces a worktree a failed attempt left', async () => {
    const repo = makeRepo();
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const baseTree = git(repo, 'rev-parse', 'HEAD^{tree}').trim();
    const state = await stateDirFor(repo);
    const first = await createTaskWorktree(repo, state, { runId: 'r', taskId: 't', baseCommit: head, baseTree });
    fs.writeFileSync(path.join(first.dir, 'left-over.txt'), 'from the failed attempt\n');
    const second = await createTaskWorktree(repo, state, { runId: 'r', taskId: 't', baseCommit: head, baseTree });
    assert.equal(second.dir, first.dir);
    assert.ok(!fs.existsSync(path.join(second.dir, 'left-over.txt')));
    assert.deepEqual(await captureWorktreeChange(second), { patch: '', tree: baseTree });
    await removeTaskWorktree(repo, second);
  });
});

describe('the command harness', () => {
  it('fills in quoted placeholders', () => {
    assert.equal(expandCommand('agent --model {model} -f {promptFile} {other}', { promptFile: "/tmp/it's.md", model: 'gpt-x' }), `agent --model 'gpt-x' -f '/tmp/it'\\''s.md' {other}`);
  });

  it('runs the command in the worktree with the prompt file and model, and sums up with the last lines of stdout', async () => {
    const repo = makeRepo();
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const wt = await createTaskWorktree(repo, await stateDirFor(repo), { runId: 'r', taskId: 't', baseCommit: head, baseTree: git(repo, 'rev-parse', 'HEAD^{tree}').trim() });
    const h = commandHarness('sh-agent', { command: 'cp {promptFile} got-prompt.md && echo model={model} > got-model.txt && echo working && echo "done: $AGENT_GREETING"', env: { AGENT_GREETING: 'hello' } }, { summaryLines: 1 });
    const events: string[] = [];
    const res = await h.run(harnessInput(wt, new AbortController().signal, { onEvent: (e) => events.push(e.type) }));
    assert.equal(res.summary, 'done: hello');
    assert.match(res.transcript, /working\ndone: hello/);
    assert.equal(res.usage, null);
    const prompt = fs.readFileSync(path.join(wt.dir, 'got-prompt.md'), 'utf8');
    assert.match(prompt, /^# Do it\n\nChange the files\n/);
    assert.match(prompt, /- it works/);
    assert.equal(fs.readFileSync(path.join(wt.dir, 'got-model.txt'), 'utf8'), 'model=m-1\n');
    assert.ok(fs.existsSync(path.join(wt.scratchDir, 'prompt.md')), 'the prompt file lies outside the worktree');
    assert.deepEqual([events[0], events.at(-1)], ['started', 'exited']);
    await removeTaskWorktree(repo, wt);
  });

  it('fails with agent/failed and the end of stderr when the command exits non-zero', async () => {
    const repo = makeRepo();
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const wt = await createTaskWorktree(repo, await stateDirFor(repo), { runId: 'r', taskId: 't', baseCommit: head, baseTree: git(repo, 'rev-parse', 'HEAD^{tree}').trim() });
    const h = commandHarness('bad', { command: 'echo "no API key" >&2; exit 7' });
    await assert.rejects(h.run(harnessInput(wt, new AbortController().signal)), (e: unknown) => {
      assert.ok(EngineError.is(e, 'agent/failed'));
      assert.match(e.message, /^the agent "bad" exited with code 7: no API key$/);
      return true;
    });
    assert.match(fs.readFileSync(path.join(wt.scratchDir, 'transcript.log'), 'utf8'), /no API key/);
    await removeTaskWorktree(repo, wt);
  });

  it('kills the whole process group on abort, children that ignore SIGTERM included', async () => {
    const repo = makeRepo();
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const wt = await createTaskWorktree(repo, await stateDirFor(repo), { runId: 'r', taskId: 't', baseCommit: head, baseTree: git(repo, 'rev-parse', 'HEAD^{tree}').trim() });
    const pids = path.join(wt.scratchDir, 'pids');
    // A background child that ignores SIGTERM, and the shell waiting on it.
    const script = `node -e "process.on('SIGTERM', () => {}); require('fs').writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 1000)" ${JSON.stringify(pids)} & wait`;
    const h = commandHarness('hang', { command: script }, { killGraceMs: 300 });
    const ac = new AbortController();
    let shellPid: number | undefined;
    const p = h.run(harnessInput(wt, ac.signal, { onEvent: (e) => { if (e.type === 'started') shellPid = e.pid; } }));
    await waitFor(() => fs.existsSync(pids) && fs.readFileSync(pids, 'utf8') !== '', 'the child to start');
    const childPid = Number(fs.readFileSync(pids, 'utf8'));
    assert.ok(alive(childPid));
    ac.abort();
    await assert.rejects(p, (e: unknown) => EngineError.is(e, 'cancelled'));
    await waitFor(() => !alive(childPid) && !alive(shellPid!), 'no process of the group to be left', 5000);
    await removeTaskWorktree(repo, wt);
  });

  it('kills what the command left running in its group when it ends on its own', async () => {
    const repo = makeRepo();
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const wt = await createTaskWorktree(repo, await stateDirFor(repo), { runId: 'r', taskId: 't', baseCommit: head, baseTree: git(repo, 'rev-parse', 'HEAD^{tree}').trim() });
    const pids = path.join(wt.scratchDir, 'pids');
    const script = `node -e "require('fs').writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 1000)" ${JSON.stringify(pids)} > /dev/null 2>&1 & while [ ! -s ${JSON.stringify(pids)} ]; do sleep 0.05; done; echo finished`;
    const res = await commandHarness('leaky', { command: script }).run(harnessInput(wt, new AbortController().signal));
    assert.equal(res.summary, 'finished');
    const childPid = Number(fs.readFileSync(pids, 'utf8'));
    await waitFor(() => !alive(childPid), 'the left-over child to be killed', 5000);
    await removeTaskWorktree(repo, wt);
  });
});
