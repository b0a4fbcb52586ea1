import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { runToolCall, type ToolState } from '../../src/engine/agents/builtin/dispatch';
import { Workspace } from '../../src/engine/agents/builtin/workspace';
import { isEngineError } from '../../src/engine/errors';
import { LazyTaskWorktree } from '../../src/engine/git/lazyWorktree';
import { captureWorktreeChange, createTaskWorktree, removeTaskWorktree, taskWorktreesCreated } from '../../src/engine/git/taskWorktree';
import { silentLogger } from '../../src/engine/ports';
import { createRun } from '../../src/engine/runs/runs';
import { getChangeView } from '../../src/engine/runs/views';
import { runPlan } from '../../src/engine/schedule/scheduler';
import { worktreeBaseFor } from '../../src/engine/store/location';
import { loopbackClient, loopbackConfig } from '../support/loopback/client';
import type { LoopbackServer, LoopbackToolCall, LoopbackStep } from '../support/loopback/common';
import { startOpenAIServer } from '../support/loopback/openai';
import { makeRepo, sh, type TempRepo } from '../support/queue-repo';
import { fastBackoff, makeRunFixture, plan, task, testClock, type RunFixture } from '../support/run-fixture';
import { useTempWorktrees } from '../support/worktrees';

/**
 * The tool developer's two workspaces (issue 11, item 6): over a checked-out worktree, and over
 * the base tree with the edits in memory. The same script of tool calls runs against both, and
 * every answer, every refusal and the resulting change must be the same.
 */
useTempWorktrees();

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

function sampleRepo(): { repo: TempRepo; outside: string } {
  const repo = makeRepo({
    'src/a.ts': 'line one\nline two\nline three\n',
    'src/b.ts': 'export const b = 1;\n',
    'docs/x.md': '# x\n',
    'bin/run.sh': '#!/bin/sh\necho run\n',
    'bin/keep.sh': '#!/bin/sh\necho keep\n',
    'data/img.bin': 'PNG\0\x01\x02',
    '.gitignore': 'dist/\n*.log\n',
  });
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-outside-'));
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
  fs.chmodSync(path.join(repo.dir, 'bin/run.sh'), 0o755);
  fs.chmodSync(path.join(repo.dir, 'bin/keep.sh'), 0o755);
  fs.symlinkSync('a.ts', path.join(repo.dir, 'src/link.ts'));
  fs.symlinkSync('../src', path.join(repo.dir, 'docs/up'));
  fs.symlinkSync(outside, path.join(repo.dir, 'escape'));
  fs.symlinkSync('../..', path.join(repo.dir, 'docs/rel-escape'));
  repo.commitAll('base');
  cleanups.push(() => repo.cleanup(), () => fs.rmSync(outside, { recursive: true, force: true }));
  return { repo, outside };
}

type Step = [string, (ws: Workspace) => Promise<string>];

const SCRIPT: Step[] = [
  ['read', (ws) => ws.readFile('src/a.ts')],
  ['read part', (ws) => ws.readFile('src/a.ts', 2, 1)],
  ['read through a link', (ws) => ws.readFile('src/link.ts')],
  ['read through a folder link', (ws) => ws.readFile('docs/up/b.ts')],
  ['read binary', (ws) => ws.readFile('data/img.bin')],
  ['read a folder', (ws) => ws.readFile('src')],
  ['read missing', (ws) => ws.readFile('src/nope.ts')],
  ['read under a file', (ws) => ws.readFile('src/a.ts/x')],
  ['read absolute', (ws) => ws.readFile('/etc/passwd')],
  ['read ..', (ws) => ws.readFile('../x')],
  ['read .git', (ws) => ws.readFile('.git/config')],
  ['read out through a link', (ws) => ws.readFile('escape/secret.txt')],
  ['read out through a relative link', (ws) => ws.readFile('docs/rel-escape/etc/passwd')],
  ['write out through a link', (ws) => ws.writeFile('escape/new.txt', 'x')],
  ['write .git', (ws) => ws.writeFile('.git/config', 'x')],
  ['list root', (ws) => ws.listDir('')],
  ['list src', (ws) => ws.listDir('src')],
  ['list through a folder link', (ws) => ws.listDir('docs/up')],
  ['list a file', (ws) => ws.listDir('src/a.ts')],
  ['list missing', (ws) => ws.listDir('nope')],
  ['edit', (ws) => ws.editFile('src/a.ts', 'line two', 'line 2', false)],
  ['edit no match', (ws) => ws.editFile('src/a.ts', 'nope', 'x', false)],
  ['edit twice-matching', (ws) => ws.editFile('src/a.ts', 'line', 'row', false)],
  ['write new', (ws) => ws.writeFile('src/new/c.ts', 'export const c = 3;\n')],
  ['write ignored new', (ws) => ws.writeFile('dist/out.js', 'const out = 1;\n')],
  ['write ignored by pattern', (ws) => ws.writeFile('src/debug.log', 'const log = 1;\n')],
  ['write under a file', (ws) => ws.writeFile('src/b.ts/x.ts', 'x')],
  ['write a folder', (ws) => ws.writeFile('src', 'x')],
  ['write a link', (ws) => ws.writeFile('src/link.ts', 'x')],
  ['write through a folder link', (ws) => ws.writeFile('docs/up/via.ts', 'export const via = 1;\n')],
  ['write a control character', (ws) => ws.writeFile('src/a\u0001b.ts', 'x')],
  ['delete', (ws) => ws.deleteFile('docs/x.md')],
  ['list after the last file went', (ws) => ws.listDir('docs')],
  ['delete a folder', (ws) => ws.deleteFile('src')],
  ['delete missing', (ws) => ws.deleteFile('src/nope.ts')],
  ['delete an executable', (ws) => ws.deleteFile('bin/run.sh')],
  ['write it again', (ws) => ws.writeFile('bin/run.sh', '#!/bin/sh\necho again\n')],
  ['edit an executable', (ws) => ws.editFile('bin/keep.sh', 'echo keep', 'echo kept', false)],
  ['write then delete', async (ws) => `${await ws.writeFile('tmp/t.ts', 'x\n')} / ${await ws.deleteFile('tmp/t.ts')}`],
  ['list the emptied folder', (ws) => ws.listDir('tmp')],
  ['delete a link', (ws) => ws.deleteFile('src/link.ts')],
  ['overwrite', (ws) => ws.writeFile('src/b.ts', 'export const b = 2;\n')],
  ['search', (ws) => ws.search('line|const')],
  ['search a folder', (ws) => ws.search('const', 'src/new')],
  ['search ignored', (ws) => ws.search('const out')],
  ['search nothing', (ws) => ws.search('zzz')],
  ['read after edits', (ws) => ws.readFile('src/a.ts')],
  ['list root after edits', (ws) => ws.listDir('')],
];

async function play(ws: Workspace): Promise<string[]> {
  const out: string[] = [];
  for (const [name, step] of SCRIPT) {
    try {
      out.push(`${name}: ${await step(ws)}`);
    } catch (e) {
      if (!isEngineError(e, 'agent/')) throw e;
      out.push(`${name}: ${e.code} ${e.message}`);
    }
  }
  return out;
}

function lazyOf(repo: TempRepo, taskId: string): LazyTaskWorktree {
  const baseTree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
  return new LazyTaskWorktree({ repo: repo.dir, stateDir: () => worktreeBaseFor(repo.dir), runId: 'r', taskId, baseCommit: Promise.resolve(repo.head()), baseTree, signal: new AbortController().signal });
}

describe('the tool developer\'s workspace over the tree and over a worktree', () => {
  it('answers every tool call the same and leads to the same change, without checking anything out', async () => {
    const { repo, outside } = sampleRepo();
    const baseTree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    const wt = await createTaskWorktree(repo.dir, await worktreeBaseFor(repo.dir), { runId: 'r', taskId: 'disk', baseCommit: repo.head(), baseTree });
    cleanups.push(() => void removeTaskWorktree(repo.dir, wt));
    const onDisk = await play(new Workspace(wt.dir));
    const diskChange = await captureWorktreeChange(wt);

    const made = taskWorktreesCreated();
    const lazy = lazyOf(repo, 'tree');
    const ws = new Workspace({ lazy });
    const inMemory = await play(ws);
    const treeChange = await ws.change(baseTree);
    assert.equal(taskWorktreesCreated(), made, 'no worktree was checked out');
    assert.equal(ws.root, undefined);

    assert.deepEqual(inMemory, onDisk);
    assert.equal(treeChange.patch, diskChange.patch);
    assert.equal(treeChange.tree, diskChange.tree);
    // What the script is meant to show, so a store that answers the same wrong thing twice fails too.
    const said = (name: string) => onDisk.find((l) => l.startsWith(`${name}: `))!;
    assert.match(said('read out through a link'), /agent\/tool-refused .*outside the repository through a symbolic link/);
    assert.match(said('read out through a relative link'), /agent\/tool-refused .*outside the repository/);
    assert.match(said('write under a file'), /agent\/tool-refused/);
    assert.match(said('write through a folder link'), /created docs\/up\/via.ts/);
    assert.match(said('list the emptied folder'), /\(empty folder\)/);
    assert.match(said('search'), /src\/new\/c.ts:1:export const c/);
    assert.match(said('search ignored'), /no matches/);
    assert.ok(!fs.existsSync(path.join(outside, 'new.txt')));
    assert.match(diskChange.patch, /diff --git a\/src\/via.ts b\/src\/via.ts\nnew file mode 100644/, 'a write through a folder link lands where the link leads');
    assert.match(diskChange.patch, /diff --git a\/bin\/run.sh b\/bin\/run.sh\nold mode 100755\nnew mode 100644/, 'a file deleted and written again loses its executable bit');
    assert.doesNotMatch(diskChange.patch, /dist\/out.js|debug.log/, 'ignored new files are not part of the change');
    assert.match(diskChange.patch, /deleted file mode 120000/, 'the deleted link');
    assert.doesNotMatch(diskChange.patch, /bin\/keep.sh b\/bin\/keep.sh\nold mode/, 'an edited executable keeps its mode');
  });

  it('checks out on the first command with every edit so far, then works on the worktree', async () => {
    const { repo } = sampleRepo();
    const lazy = lazyOf(repo, 'cmd');
    const ws = new Workspace({ lazy });
    await ws.editFile('src/a.ts', 'line two', 'line 2', false);
    await ws.writeFile('src/new/c.ts', 'export const c = 3;\n');
    await ws.deleteFile('docs/x.md');
    const made = taskWorktreesCreated();
    const state: ToolState = {
      ws, allow: { packageScripts: [] }, checkCommand: undefined, checkInShell: false, timeoutMs: 30_000, signal: new AbortController().signal,
      dirty: false, edited: true, verification: undefined, failedFinishes: 0, onOutput: () => {}, onProgress: () => {},
    };
    const status = await runToolCall(state, { id: 'c1', name: 'run_command', input: { command: 'git status --porcelain --untracked-files=all' } });
    assert.equal(taskWorktreesCreated(), made + 1);
    assert.ok(ws.root && fs.existsSync(path.join(ws.root, '.git')));
    assert.match(status.content, / M src\/a.ts/);
    assert.match(status.content, / D docs\/x.md/);
    assert.match(status.content, /\?\? src\/new\/c.ts/);
    assert.equal(fs.readFileSync(path.join(ws.root!, 'src/a.ts'), 'utf8'), 'line one\nline 2\nline three\n');
    await ws.writeFile('src/after.ts', 'export const after = 1;\n');
    assert.ok(fs.existsSync(path.join(ws.root!, 'src/after.ts')), 'later writes go to the worktree');
    const change = await ws.change(lazy.baseTree);
    assert.deepEqual([...change.patch.matchAll(/^diff --git a\/(\S+)/gm)].map((m) => m[1]), ['docs/x.md', 'src/a.ts', 'src/after.ts', 'src/new/c.ts']);
    await removeTaskWorktree(repo.dir, lazy.created!);
  });
});

describe('a tool developer task', () => {
  let fx: RunFixture | undefined;
  let server: LoopbackServer | undefined;
  afterEach(async () => {
    await server?.close();
    fx?.cleanup();
  });
  const calls = (...c: LoopbackToolCall[]): LoopbackStep => ({ type: 'reply', text: '', toolCalls: c });

  async function run(checkCommand: string | undefined, newFile = 'src/tax.js', setup: (dir: string) => void = () => {}) {
    fx = await makeRunFixture({ 'package.json': `${JSON.stringify({ name: 'p', scripts: { test: 'node -e 0' } })}\n`, 'src/price.js': 'exports.price = (n) => n * 2;\n' });
    setup(fx.repo.dir);
    server = await startOpenAIServer([
      calls({ name: 'read_file', input: { path: 'src/price.js' } }),
      calls({ name: 'edit_file', input: { path: 'src/price.js', old_string: 'n * 2', new_string: 'n * 3' } }, { name: 'write_file', input: { path: newFile, content: 'exports.tax = 0;\n' } }),
      calls({ name: 'finish', input: { summary: 'done' } }),
      { type: 'reply', text: JSON.stringify({ verdict: 'approve', comments: 'fine' }) },
    ]);
    const config = loopbackConfig({ openai: server, route: [{ provider: 'openai', model: 'gpt-test' }], overrides: { developer: 'tools', maxRetries: 0, ...(checkCommand ? { checkCommand } : {}) } });
    const { client } = loopbackClient(config);
    const runId = createRun(fx.db, { goal: 'g', repo: fx.repo.dir, baseCommit: fx.repo.head(), plan: plan([task('t1', { files: ['src/price.js'] })]), approve: 'none', clock: testClock });
    const made = taskWorktreesCreated();
    const view = await runPlan({ db: fx.db, repo: fx.repo.dir, client, config, log: silentLogger, clock: testClock, backoff: fastBackoff }, runId);
    const t = view.tasks[0]!;
    assert.equal(t.status, 'proposed', t.error);
    return { change: getChangeView(fx.db, t.changeId!)!, worktrees: taskWorktreesCreated() - made };
  }

  it('that runs no command never checks out a worktree', async () => {
    const { change, worktrees } = await run(undefined);
    assert.equal(worktrees, 0);
    assert.deepEqual(change.files, ['src/price.js', 'src/tax.js']);
    assert.match(change.patch, /\+exports.price = \(n\) => n \* 3;/);
    assert.equal(change.verification, undefined);
  });

  it('with a check runs it in a worktree that holds the edits', async () => {
    const { change, worktrees } = await run('node -e "process.exit(require(\'./src/price.js\').price(2) === 6 ? 0 : 1)"');
    assert.equal(worktrees, 1);
    assert.equal(change.verification?.passed, true, JSON.stringify(change.verification));
    assert.deepEqual(change.files, ['src/price.js', 'src/tax.js']);
  });

  it('reads a change the tree writer leaves to git from a checkout, without the lent dependencies in it', async () => {
    // A name with a space is left to git by the tree writer: the change is read from a checkout made for it.
    const { change, worktrees } = await run(undefined, 'src/tax rules.js', (dir) => fs.mkdirSync(path.join(dir, 'node_modules/dep'), { recursive: true }));
    assert.equal(worktrees, 1);
    assert.deepEqual(change.files, ['src/price.js', 'src/tax rules.js']);
    assert.doesNotMatch(change.patch, /node_modules/);
  });
});
