import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { gitOut, makeSampleRepo, runCli } from '../support/cli';
import { useTempWorktrees } from '../support/worktrees';

useTempWorktrees();

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function outside(name: string, body: unknown): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-review-cli-'));
  dirs.push(d);
  const f = path.join(d, name);
  fs.writeFileSync(f, JSON.stringify(body));
  return f;
}

// A shell agent: asked for changes about "line 2", it writes what the comment asks.
const AGENT = `if grep -q 'say hello twice' {promptFile}; then printf 'hello\\nhello\\n' > greeting.txt; else printf 'hi\\n' > greeting.txt; fi; echo wrote greeting.txt`;

describe('hyperion comment and request-changes', () => {
  it('sends a line comment to the task agent, which makes version 2; the answer is printed', async () => {
    const dir = makeSampleRepo();
    dirs.push(dir);
    const config = outside('config.json', {
      agents: { sh: { command: AGENT } }, maxRetries: 0,
      routes: { default: [{ provider: 'openai-compatible', model: 'none' }] }, providers: { 'openai-compatible': { baseUrl: 'http://127.0.0.1:9/v1' } },
    });
    const request = outside('request.json', { goal: 'greet', tasks: [{ id: 'g', title: 'Write a greeting', type: 'code_gen', agent: 'sh' }] });
    const r1 = await runCli(['request', request, '--json', '--config', config], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(r1.code, 0, r1.stderr);
    const changeId = JSON.parse(r1.stdout).tasks[0].changeId as string;

    const bad = await runCli(['comment', changeId, '--line', '1', '--comment', 'x', '--config', config], { cwd: dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--line needs --file/);

    const c = await runCli(['comment', changeId, '--file', 'greeting.txt', '--line', '1', '--comment', 'say hello twice', '--config', config], { cwd: dir });
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /on greeting\.txt line 1 \(v1\)/);

    const r2 = await runCli(['request-changes', changeId, '--comment', 'and nothing else', '--json', '--config', config], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(r2.code, 0, r2.stderr);
    const out = JSON.parse(r2.stdout);
    assert.equal(out.version, 2);
    assert.equal(out.status, 'proposed');
    assert.deepEqual(out.answered.map((a: { body: string; line?: number }) => [a.body, a.line ?? null]), [['say hello twice', 1], ['and nothing else', null]]);

    const approve = await runCli(['queue', 'approve', changeId, '--config', config], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(approve.code, 0, approve.stderr);
    assert.equal(gitOut(dir, 'show', 'HEAD:greeting.txt'), 'hello\nhello\n');
  });
});
