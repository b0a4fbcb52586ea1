import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { COMMANDS, resolveCommand } from '../../src/cli/flags';
import { EngineError } from '../../src/engine/errors';
import { gitOut, makeSampleRepo, runCli } from '../support/cli';
import type { LoopbackServer } from '../support/loopback/common';
import { startOpenAIServer } from '../support/loopback/openai';

const cleanup: string[] = [];
const servers: LoopbackServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const p of cleanup) fs.rmSync(p, { recursive: true, force: true });
});
function repo(): string {
  const r = makeSampleRepo();
  cleanup.push(r);
  return r;
}
function writeJson(body: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-cli-flags-'));
  cleanup.push(dir);
  const file = path.join(dir, 'file.json');
  fs.writeFileSync(file, JSON.stringify(body));
  return file;
}
const NEW_FILE = (name: string, line: string) =>
  `diff --git a/${name} b/${name}\nnew file mode 100644\n--- /dev/null\n+++ b/${name}\n@@ -0,0 +1 @@\n+${line}\n`;

/** A value for each flag that the parser accepts, so only the command's table can refuse it. */
const SAMPLE: Record<string, string[]> = {
  approve: ['--approve', 'none'], provider: ['--provider', 'recorded'], model: ['--model', 'm'], 'base-url': ['--base-url', 'http://127.0.0.1:9/v1'],
  recordings: ['--recordings', 'r.json'], check: ['--check', 'true'], limit: ['--limit', '5'], 'trust-config': ['--trust-config'],
};

describe('hyperion CLI flags and outputs', () => {
  it('refuses every flag a command does not use, and wrong argument counts', () => {
    let refused = 0;
    for (const [name, spec] of Object.entries(COMMANDS)) {
      const args = [...name.split(' '), ...spec.args.map(() => 'x')];
      assert.deepEqual(resolveCommand(args, {}), { name, args: spec.args.map(() => 'x') });
      for (const flag of Object.keys(SAMPLE)) {
        const given = { [flag]: flag === 'trust-config' ? true : 'v' };
        if (spec.flags.includes(flag as never)) {
          assert.doesNotThrow(() => resolveCommand(args, given), `${name} --${flag}`);
          continue;
        }
        assert.throws(() => resolveCommand(args, given), (e: unknown) => e instanceof EngineError && e.code === 'usage/flag' && e.message.startsWith(`${name} does not take --${flag} `), `${name} --${flag}`);
        refused++;
      }
      if (spec.args.length > 0) assert.throws(() => resolveCommand(args.slice(0, -1), {}), /missing argument/, name);
      assert.throws(() => resolveCommand([...args, 'extra'], {}), /unexpected argument "extra"/, name);
    }
    assert.ok(refused >= 30, `${refused} refusals`);
  });

  it('the built CLI exits 2 with one sentence for a refused flag or argument', async () => {
    const dir = repo();
    const cases: Array<[string[], RegExp]> = [
      [['status', '--model', 'm'], /^hyperion: status does not take --model /],
      [['plan', 'goal', '--approve', 'all'], /^hyperion: plan does not take --approve /],
      [['queue', 'list', '--check', 'true'], /^hyperion: queue list does not take --check /],
      [['plan', 'a', 'b'], /^hyperion: unexpected argument "b"/],
      [['history', '--limit', '0'], /^hyperion: --limit must be a whole number/],
      [['runs', 'delete'], /^hyperion: missing argument: hyperion runs delete <run-id>/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli(args, { cwd: dir });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, args.join(' '));
      assert.equal(r.stdout, '');
    }
  });

  it('request sends prompt-only tasks to the --provider, --model and --base-url given', async () => {
    const server = await startOpenAIServer(() => ({ type: 'error', status: 400 }));
    servers.push(server);
    const file = writeJson({ goal: 'prompt only', tasks: [{ id: 'w', title: 'Write docs', type: 'docs', prompt: 'Write docs/usage.md' }] });
    const r = await runCli(['request', file, '--json', '--provider', 'openai', '--model', 'gpt-test', '--base-url', server.url], { cwd: repo(), env: { OPENAI_API_KEY: 'sk-flag' } });
    assert.equal(r.code, 1, r.stderr);
    assert.ok(server.requests.length >= 1, 'the model was asked where the flags said');
    assert.equal(server.requests[0].body.model, 'gpt-test');
    assert.equal(server.requests[0].headers.authorization, 'Bearer sk-flag');
  });

  it('names the provider and route when a prompt-only task has no key', async () => {
    const file = writeJson({ goal: 'prompt only', tasks: [{ id: 'w', title: 'Write docs', type: 'docs', prompt: 'Write docs/usage.md' }] });
    const r = await runCli(['request', file, '--json'], { cwd: repo() });
    assert.equal(r.code, 1, r.stderr);
    const task = JSON.parse(r.stdout).tasks[0];
    assert.equal(task.status, 'failed');
    assert.match(task.error, /no key for anthropic \(route docs → anthropic:claude-sonnet-4-5\): .*ANTHROPIC_API_KEY/);
  });

  it('shows change ids in request, status and history, and queue approve lands a ready-made patch without any provider', async () => {
    const dir = repo();
    const file = writeJson({ goal: 'review me', tasks: [{ id: 'p1', title: 'Add a', type: 'code_gen', patch: NEW_FILE('a.txt', 'alpha') }] });
    const req = await runCli(['request', file, '--json'], { cwd: dir });
    assert.equal(req.code, 0, req.stderr);
    const changeId = JSON.parse(req.stdout).tasks[0].changeId;
    assert.match(changeId, /^ch_/);

    const status = await runCli(['status', '--json'], { cwd: dir });
    assert.equal(JSON.parse(status.stdout).run.tasks[0].changeId, changeId);
    const statusText = await runCli(['status'], { cwd: dir });
    assert.ok(statusText.stdout.includes(changeId), statusText.stdout);
    const histText = await runCli(['history'], { cwd: dir });
    assert.ok(histText.stdout.includes(changeId), histText.stdout);
    assert.match(histText.stdout, /review me/);

    // No key in the environment and no --provider: approving a ready-made patch needs no model.
    const approve = await runCli(['queue', 'approve', changeId, '--json'], { cwd: dir });
    assert.equal(approve.code, 0, approve.stderr);
    assert.equal(JSON.parse(approve.stdout).entries[0].state, 'merged');
    assert.equal(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8'), 'alpha\n');
  });

  it('history lists requests newest first with status and task counts, --limit bounds it, runs delete removes one', async () => {
    const dir = repo();
    const runIds: string[] = [];
    for (const name of ['one', 'two', 'three']) {
      const r = await runCli(['request', writeJson({ goal: `goal ${name}`, tasks: [{ id: 'p', title: `Add ${name}`, type: 'code_gen', patch: NEW_FILE(`${name}.txt`, name) }] }), '--json'], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      runIds.push(JSON.parse(r.stdout).runId);
    }
    let hist = JSON.parse((await runCli(['history', '--json'], { cwd: dir })).stdout);
    assert.deepEqual(hist.requests.map((r: { goal: string }) => r.goal), ['goal three', 'goal two', 'goal one']);
    assert.deepEqual(hist.requests[0].taskCounts, { proposed: 1 });
    assert.equal(typeof hist.requests[0].createdAt, 'number');
    assert.ok(hist.requests[0].status);
    hist = JSON.parse((await runCli(['history', '--json', '--limit', '2'], { cwd: dir })).stdout);
    assert.deepEqual(hist.requests.map((r: { runId: string }) => r.runId), [runIds[2], runIds[1]]);

    const del = await runCli(['runs', 'delete', runIds[1], '--json'], { cwd: dir });
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(JSON.parse(del.stdout), { deleted: runIds[1] });
    hist = JSON.parse((await runCli(['history', '--json'], { cwd: dir })).stdout);
    assert.deepEqual(hist.requests.map((r: { runId: string }) => r.runId), [runIds[2], runIds[0]]);
    const again = await runCli(['runs', 'delete', runIds[1]], { cwd: dir });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /there is no run/);
  });

  it('refuses a request whose goal is over the limit and stores nothing', async () => {
    const dir = repo();
    const r = await runCli(['request', writeJson({ goal: 'g'.repeat(20_001), tasks: [{ id: 'p', title: 'x', type: 'docs', patch: NEW_FILE('g.txt', 'g') }] })], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^hyperion: the goal is 20,001 characters; the limit is 20,000\.$/m);
    assert.equal(JSON.parse((await runCli(['status', '--json'], { cwd: dir })).stdout).run, null);
    assert.equal(gitOut(dir, 'status', '--porcelain'), '');
  });

  it('bounds plan by the call deadline and prints each retry on stderr without --verbose', { timeout: 60_000 }, async () => {
    const hang = await startOpenAIServer(() => ({ type: 'hang' }));
    servers.push(hang);
    const userConfig = writeJson({ timeoutMs: 60_000, callDeadlineMs: 1500 });
    const started = performance.now();
    let r = await runCli(['plan', 'Add subtract', '--provider', 'openai', '--base-url', hang.url, '--config', userConfig], { cwd: repo(), env: { OPENAI_API_KEY: 'k' } });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /call deadline of 1\.5 s/);
    assert.ok(performance.now() - started < 30_000, 'bounded by the deadline, not by the 60 s request timeout');

    const flaky = await startOpenAIServer([{ type: 'error', status: 503 }, { type: 'error', status: 503 }, { type: 'reply', text: 'not a plan' }, { type: 'reply', text: 'not a plan' }, { type: 'reply', text: 'not a plan' }]);
    servers.push(flaky);
    r = await runCli(['plan', 'Add subtract', '--provider', 'openai', '--base-url', flaky.url], { cwd: repo(), env: { OPENAI_API_KEY: 'k' } });
    const retries = r.stderr.split('\n').filter((l) => /^hyperion: openai:gpt-4\.1 failed \(.*503.*\); retrying in \d+\.\d s \(attempt [23] of 5, \d+\.\d s left before the call deadline\)$/.test(l));
    assert.equal(retries.length, 2, r.stderr);
  });
});
