import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { gitOut, makeSampleRepo, runCli } from '../support/cli';
import type { LoopbackServer } from '../support/loopback/common';
import { startOpenAIServer } from '../support/loopback/openai';

const repos: string[] = [];
const servers: LoopbackServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const r of repos) fs.rmSync(r, { recursive: true, force: true });
});
function repo(): string {
  const r = makeSampleRepo();
  repos.push(r);
  return r;
}

const PLAN = {
  goal: 'Add subtract',
  rationale: 'small change',
  confidence: 0.8,
  questions: [],
  assumptions: [],
  tasks: [
    { id: 't1', title: 'Implement subtract', type: 'code_gen', prompt: 'Add subtract to src/math.js', acceptanceCriteria: ['exported'], dependsOn: [], files: ['src/math.js'] },
    { id: 't2', title: 'Test subtract', type: 'test', prompt: 'Test it', acceptanceCriteria: ['passes'], dependsOn: ['t1'], files: ['test/math.test.js'] },
  ],
};

function openaiArgs(server: LoopbackServer): string[] {
  return ['--provider', 'openai', '--model', 'gpt-test', '--base-url', server.url];
}

function writeRequest(dir: string, body: unknown): string {
  const file = path.join(dir, '..', `${path.basename(dir)}-request.json`);
  fs.writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
  repos.push(file);
  return file;
}

const NEW_FILE = (name: string, line: string) =>
  `diff --git a/${name} b/${name}\nnew file mode 100644\n--- /dev/null\n+++ b/${name}\n@@ -0,0 +1 @@\n+${line}\n`;

describe('hyperion CLI', () => {
  it('plan --json prints only the plan object on stdout, from a real OpenAI client over HTTP', async () => {
    const server = await startOpenAIServer([{ type: 'reply', text: JSON.stringify(PLAN) }]);
    servers.push(server);
    const dir = repo();
    const r = await runCli(['plan', 'Add subtract', '--json', ...openaiArgs(server)], { cwd: dir, env: { OPENAI_API_KEY: 'sk-loopback' } });
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.deepEqual(plan.tasks.map((t: { id: string }) => t.id), ['t1', 't2']);
    assert.equal(plan.tasks[0].route.provider, 'openai');
    for (const k of ['goal', 'rationale', 'confidence', 'questions', 'assumptions', 'tasks']) assert.ok(k in plan, k);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].headers.authorization, 'Bearer sk-loopback');
    assert.match(JSON.stringify(server.requests[0].body.messages), /math\.js/, 'the repo map names real files');
  });

  it('exits 3 with one sentence naming the key when the provider answers 401', async () => {
    const server = await startOpenAIServer([{ type: 'error', status: 401, body: { error: { message: 'bad key', type: 'invalid_request_error' } } }]);
    servers.push(server);
    const r = await runCli(['plan', 'Add subtract', '--json', ...openaiArgs(server)], { cwd: repo(), env: { OPENAI_API_KEY: 'sk-wrong' } });
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /OPENAI_API_KEY/);
    assert.doesNotMatch(r.stderr, /sk-wrong/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(server.requests.length, 1, '401 is not retried');
  });

  it('exits 2 when the plan stays invalid after repair', async () => {
    const server = await startOpenAIServer(() => ({ type: 'reply', text: 'this is not json' }));
    servers.push(server);
    const r = await runCli(['plan', 'Add subtract', ...openaiArgs(server)], { cwd: repo(), env: { OPENAI_API_KEY: 'sk-loopback' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^hyperion: the plan was still invalid after 3 attempts: .*not valid JSON/);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one sentence, no log noise');
    assert.equal(server.requests.length, 3);
  });

  it('exits 2 without a provider and says how to configure one', async () => {
    const r = await runCli(['plan', 'Add subtract'], { cwd: repo() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /OPENAI_API_KEY or ANTHROPIC_API_KEY/);
  });

  it('exits 2 for an unknown command or a missing argument', async () => {
    const dir = repo();
    assert.equal((await runCli(['frobnicate'], { cwd: dir })).code, 2);
    assert.equal((await runCli(['plan'], { cwd: dir, env: { OPENAI_API_KEY: 'x' } })).code, 2);
    assert.equal((await runCli(['--no-such-flag'], { cwd: dir })).code, 2);
  });

  it('refuses an invalid request file (cycle, bad JSON) with exit 2 and stores nothing', async () => {
    const dir = repo();
    const cyclic = writeRequest(dir, {
      goal: 'g',
      tasks: [
        { id: 'a', title: 'A', type: 'code_gen', dependsOn: ['b'] },
        { id: 'b', title: 'B', type: 'code_gen', dependsOn: ['a'] },
      ],
    });
    let r = await runCli(['request', cyclic, '--json'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cycle (a -> b -> a|b -> a -> b)/);
    r = await runCli(['request', writeRequest(dir, '{ not json'), '--json'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not valid JSON/);
    r = await runCli(['status', '--json'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).run, null, 'no run was stored');
  });

  it('request with approve all lands patches in order, rejects a policy breach and skips its dependents', async () => {
    const dir = repo();
    const file = writeRequest(dir, {
      goal: 'headless patches',
      approve: 'all',
      tasks: [
        { id: 'p1', title: 'Add a', type: 'code_gen', patch: NEW_FILE('a.txt', 'alpha') },
        { id: 'p2', title: 'Add b', type: 'code_gen', dependsOn: ['p1'], patch: NEW_FILE('b.txt', 'beta') },
        { id: 'evil', title: 'Touch git internals', type: 'code_gen', patch: NEW_FILE('.git/hooks/pre-commit', 'rm -rf /') },
        { id: 'after-evil', title: 'Depends on evil', type: 'docs', dependsOn: ['evil'], patch: NEW_FILE('c.txt', 'gamma') },
      ],
    });
    const r = await runCli(['request', file, '--json'], { cwd: dir });
    const out = JSON.parse(r.stdout);
    assert.ok(out.runId);
    const byId = Object.fromEntries(out.tasks.map((t: { id: string }) => [t.id, t]));
    assert.equal(byId.p1.status, 'merged');
    assert.equal(byId.p2.status, 'merged');
    assert.match(byId.p1.commit, /^[0-9a-f]{40}$/);
    assert.equal(byId.evil.status, 'rejected');
    assert.equal(byId.evil.commit, null);
    assert.match(byId.evil.error, /git-dir/);
    assert.equal(byId['after-evil'].status, 'skipped');
    assert.equal(r.code, 1, 'a rejected task makes the run fail');
    const log = gitOut(dir, 'log', '--format=%H %s%n%(trailers:key=Hyperion-Task,valueonly)', 'main');
    assert.ok(log.indexOf('Add b') < log.indexOf('Add a'), 'p2 landed after p1');
    assert.match(log, new RegExp(`${byId.p1.commit} Add a\\np1`));
    assert.equal(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8'), 'alpha\n', 'the checked-out worktree was updated');
    assert.ok(!fs.existsSync(path.join(dir, '.git/hooks/pre-commit')));

    const hist = await runCli(['history', '--json'], { cwd: dir });
    assert.equal(hist.code, 0);
    const requests = JSON.parse(hist.stdout).requests;
    assert.equal(requests.length, 1);
    assert.equal(requests[0].runId, out.runId);
    assert.deepEqual(requests[0].tasks.map((t: { id: string }) => t.id).sort(), ['after-evil', 'evil', 'p1', 'p2']);

    const q = await runCli(['queue', 'list', '--json'], { cwd: dir });
    assert.equal(JSON.parse(q.stdout).entries.filter((e: { state: string }) => e.state === 'merged').length, 2);
  });

  it('queue revert lands a revert commit through the queue', async () => {
    const dir = repo();
    const file = writeRequest(dir, { goal: 'one', approve: 'all', tasks: [{ id: 'x', title: 'Add x', type: 'code_gen', patch: NEW_FILE('x.txt', 'x') }] });
    const r = await runCli(['request', file, '--json'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const changes = JSON.parse((await runCli(['queue', '--json'], { cwd: dir })).stdout).entries;
    const rv = await runCli(['queue', 'revert', changes[0].changeId, '--json'], { cwd: dir });
    assert.equal(rv.code, 0, rv.stderr);
    assert.ok(!fs.existsSync(path.join(dir, 'x.txt')), 'the file is gone after the revert');
    assert.equal(gitOut(dir, 'log', '--format=%s', '-1').trim().startsWith('Revert'), true);
  });
});
