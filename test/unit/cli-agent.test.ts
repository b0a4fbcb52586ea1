import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT, gitOut, makeSampleRepo, runCli } from '../support/cli';
import { useTempWorktrees } from '../support/worktrees';
import { worktreeBaseFor } from '../../src/engine/store/location';

useTempWorktrees();

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const AGENT = path.join(ROOT, 'test/fixtures/scripted-agent.mjs');
const agentCommand = (step: string) => `${JSON.stringify(process.execPath)} ${JSON.stringify(AGENT)} ${step} {promptFile} {model}`;
const AGENTS = { first: { command: agentCommand('first') }, second: { command: agentCommand('second') }, failing: { command: agentCommand('fail') } };

/** The demo project plus an executable script, committed. */
function repo(): string {
  const r = makeSampleRepo();
  dirs.push(r);
  fs.mkdirSync(path.join(r, 'scripts'));
  fs.writeFileSync(path.join(r, 'scripts/build.sh'), 'echo build\n', { mode: 0o755 });
  execFileSync('git', ['add', '-A'], { cwd: r });
  execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '-m', 'script'], { cwd: r });
  return r;
}

/** A file outside the repository (the user's own, so no trust question). */
function outside(name: string, body: unknown): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-agent-cli-'));
  dirs.push(d);
  const f = path.join(d, name);
  fs.writeFileSync(f, JSON.stringify(body));
  return f;
}

describe('hyperion request with a command agent', () => {
  it('runs dependent agent tasks in worktrees and lands what they did, leaving the user\'s uncommitted files alone', async () => {
    const dir = repo();
    // The user's work in progress: an untracked file and an uncommitted edit.
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'my notes\n');
    fs.writeFileSync(path.join(dir, 'package.json'), `${fs.readFileSync(path.join(dir, 'package.json'), 'utf8')}\n`);
    const before = gitOut(dir, 'status', '--porcelain');
    const config = outside('config.json', { agents: AGENTS, routes: { default: [{ provider: 'openai-compatible', model: 'local-1' }] }, providers: { 'openai-compatible': { baseUrl: 'http://127.0.0.1:9/v1' } }, maxRetries: 0 });
    const request = outside('request.json', {
      goal: 'agent work',
      approve: 'all',
      tasks: [
        { id: 'a1', title: 'Reshape the project', type: 'code_gen', agent: 'first' },
        { id: 'a2', title: 'Add neg', type: 'code_gen', dependsOn: ['a1'], agent: 'second' },
      ],
    });
    const r = await runCli(['request', request, '--json', '--config', config], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout);
    const byId = Object.fromEntries(out.tasks.map((t: { id: string }) => [t.id, t]));
    assert.equal(byId.a1.status, 'merged');
    assert.equal(byId.a2.status, 'merged');

    const tree = gitOut(dir, 'ls-tree', '-r', '--full-tree', 'main');
    assert.match(tree, /^100644 blob \S+\tscripts\/build\.sh$/m, 'the mode change landed');
    assert.match(tree, /\ttest\/math\.spec\.js$/m);
    assert.doesNotMatch(tree, /\ttest\/math\.test\.js$/m);
    assert.doesNotMatch(tree, /\tREADME\.md$/m);
    assert.equal(gitOut(dir, 'show', 'main:src/sub.js'), 'export const sub = (a, b) => a - b;\nexport const neg = (a) => -a;\n');
    assert.match(gitOut(dir, 'show', 'main:src/math.js'), /touched by the agent\n$/);
    const log = gitOut(dir, 'log', '--format=%s%n%(trailers:key=Hyperion-Task,valueonly)', 'main');
    assert.ok(log.indexOf('Add neg') < log.indexOf('Reshape the project'), 'a2 landed after a1');

    assert.equal(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'my notes\n');
    assert.ok(fs.readFileSync(path.join(dir, 'package.json'), 'utf8').endsWith('}\n\n'), 'the uncommitted edit survived');
    for (const line of before.split('\n').filter(Boolean)) assert.ok(gitOut(dir, 'status', '--porcelain').includes(line), `still ${line}`);
    // No worktree is left after a successful run.
    assert.ok(!fs.existsSync(path.join(await worktreeBaseFor(dir), 'worktrees', out.runId)), 'not even the run\'s empty folder');
    assert.equal(gitOut(dir, 'worktree', 'list').trim().split('\n').length, 1);
  });

  it('fails the task of an agent that fails, skips its dependents and keeps its worktree to look into', async () => {
    const dir = repo();
    const config = outside('config.json', { agents: AGENTS, maxRetries: 0 });
    const request = outside('request.json', {
      goal: 'agent fails',
      approve: 'all',
      tasks: [
        { id: 'f1', title: 'Give up', type: 'code_gen', agent: 'failing' },
        { id: 'f2', title: 'After', type: 'code_gen', dependsOn: ['f1'], agent: 'second' },
        { id: 'u1', title: 'Unknown agent', type: 'code_gen', agent: 'nobody' },
      ],
    });
    const r = await runCli(['request', request, '--json', '--config', config], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout);
    const byId = Object.fromEntries(out.tasks.map((t: { id: string }) => [t.id, t]));
    assert.equal(byId.f1.status, 'failed');
    assert.match(byId.f1.error, /the agent "failing" exited with code 3: the agent gave up/);
    assert.equal(byId.f2.status, 'skipped');
    assert.equal(byId.u1.status, 'failed');
    assert.match(byId.u1.error, /no agent "nobody" is configured/);
    const kept = path.join(await worktreeBaseFor(dir), 'worktrees', out.runId, 'f1');
    assert.ok(byId.f1.error.endsWith(`; its worktree is kept at ${kept}`), byId.f1.error);
    assert.equal(fs.readFileSync(path.join(kept, 'half-done.txt'), 'utf8'), 'partial\n');
    assert.match(fs.readFileSync(`${kept}.hyperion/transcript.log`, 'utf8'), /the agent gave up/);
    assert.match(fs.readFileSync(`${kept}.hyperion/prompt.md`, 'utf8'), /^# Give up/);
    assert.ok(!fs.existsSync(path.join(dir, 'half-done.txt')), "nothing reached the user's checkout");
  });

  it('refuses agents from the repository\'s .hyperion.json until that content is trusted', async () => {
    const dir = repo();
    fs.writeFileSync(path.join(dir, '.hyperion.json'), JSON.stringify({ agents: { first: AGENTS.first } }));
    const request = outside('request.json', { goal: 'trust', approve: 'all', tasks: [{ id: 'a1', title: 'Reshape the project', type: 'code_gen', agent: 'first' }] });
    const r = await runCli(['request', request, '--json'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\.hyperion\.json sets agents, which can run commands/);
    assert.ok(!fs.existsSync(path.join(dir, 'src/sub.js')));
    assert.ok(!fs.existsSync(path.join(await worktreeBaseFor(dir), 'worktrees')), 'no agent ran');
  });
});
