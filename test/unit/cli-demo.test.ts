import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT, ensureCliBuilt, gitOut, makeSampleRepo, runCli, type CliResult } from '../support/cli';

const DEMO_RECORDING = path.join(ROOT, 'demo/recordings.json');
const cleanup: string[] = [];
after(() => {
  for (const p of cleanup) fs.rmSync(p, { recursive: true, force: true });
});

/** `npm run demo` without its build step: scripts/demo.mjs on the built CLI, with no key in the environment. */
function runDemo(args: string[]): Promise<CliResult & { repo: string }> {
  ensureCliBuilt();
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.OPENAI_API_KEY;
    delete env.ANTHROPIC_API_KEY;
    // The demo's own `npm test` would otherwise report to this test runner instead of printing its counts.
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/demo.mjs'), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const repo = /^Sample repository: (.+)$/m.exec(stdout)?.[1] ?? '';
      if (repo) cleanup.push(path.dirname(repo));
      resolve({ code: code ?? -1, stdout, stderr, repo });
    });
  });
}

/** The landed commits after the sample's first one, oldest first, as "subject: files". */
function landed(repo: string): string[] {
  return gitOut(repo, 'log', '--reverse', '--format=%x00%s', '--name-only', 'HEAD~3..HEAD')
    .split('\0')
    .slice(1)
    .map((c) => c.trim().split(/\n+/))
    .map(([subject, ...files]) => `${subject}: ${files.join(' ')}`);
}

const EXPECTED = ['Implement subtract in src/math.js: src/math.js', 'Test subtract: test/math.test.js', 'Document subtract in README: README.md'];

describe('the recorded demo', { concurrency: true }, () => {
  it('runs on the tool developer: edits in place, checks in the worktree, lands three commits', async () => {
    const r = await runDemo(['--developer', 'tools']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Using RECORDED responses/);
    assert.match(r.stdout, /Developer: tools/);
    assert.deepEqual(landed(r.repo).sort(), [...EXPECTED].sort());
    // Only the tool developer runs the check in the task's own worktree and stores what it saw.
    assert.equal(r.stdout.match(/tests passed in the task's worktree/g)?.length, 3, r.stdout);
    assert.match(r.stdout, /calling edit_file/);
    const math = gitOut(r.repo, 'log', '-p', '--format=', '--grep', 'Implement subtract', '--', 'src/math.js');
    assert.match(math, /^-module\.exports = \{ add \};\n\+\/\*\* Subtracts b from a\. \*\/$/m, 'the edit replaced the export line');
    assert.match(gitOut(r.repo, 'show', 'HEAD:test/math.test.js'), /const \{ add, subtract \} = require\('\.\.\/src\/math'\);[\s\S]*test\('subtract subtracts'/);
    assert.match(r.stdout, /\bpass 2\n\W*fail 0/, 'the landed code passes its tests');
    // Its transcript is stored like a coding agent's: the tool calls and what they answered.
    const st = JSON.parse((await runCli(['status', '--json'], { cwd: r.repo })).stdout);
    const tr = await runCli(['transcript', st.run.runId, 't1'], { cwd: r.repo });
    assert.equal(tr.code, 0, tr.stderr);
    assert.match(tr.stdout, /^edit_file \{"path":"src\/math\.js"/m);
    assert.match(tr.stdout, /^run_command \{"command":"npm test"\}/m);
  });

  it('still runs on the whole-file developer from the same recording', async () => {
    const r = await runDemo(['--developer', 'whole-file']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Developer: whole-file/);
    assert.deepEqual(landed(r.repo).sort(), [...EXPECTED].sort());
    assert.doesNotMatch(r.stdout, /task's worktree|calling edit_file/, 'no tool turn was played');
    assert.match(gitOut(r.repo, 'show', 'HEAD:src/math.js'), /function subtract\(a, b\)/);
    assert.match(r.stdout, /\bpass 2\n\W*fail 0/);
  });

  it('refuses an unknown developer', async () => {
    const r = await runDemo(['--developer', 'patches']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--developer takes tools or whole-file, not patches/);
  });

  it('stops the task with the file and exchange named when a recorded call names a tool the developer lacks', async () => {
    const repo = makeSampleRepo();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-demo-bad-'));
    cleanup.push(repo, home);
    const recording = JSON.parse(fs.readFileSync(DEMO_RECORDING, 'utf8')) as { exchanges: Array<{ match: { taskId?: string }; response: { toolCalls?: Array<{ name: string }> } }> };
    const index = recording.exchanges.findIndex((x) => x.match.taskId === 't1' && x.response.toolCalls !== undefined);
    recording.exchanges[index]!.response.toolCalls![0]!.name = 'patch_file';
    const bad = path.join(home, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify(recording));
    fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ developer: 'tools' }));
    const r = await runCli(['run', 'Add subtract', '--approve', 'all', '--check', 'npm test', '--config', path.join(home, 'config.json'), '--recordings', bad], { cwd: repo });
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stdout.includes(`${bad}, exchange ${index + 1} (role code_gen, task t1): calls the tool "patch_file", which the request does not offer`), r.stdout);
    assert.match(r.stdout, /t2 +skipped/);
    assert.equal(gitOut(repo, 'rev-list', '--count', 'HEAD').trim(), '1', 'nothing landed');
  });
});
