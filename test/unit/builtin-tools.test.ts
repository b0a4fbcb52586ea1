import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { decideCommand, parseCommandLine } from '../../src/engine/agents/builtin/allowList';
import { applyEdit } from '../../src/engine/agents/builtin/edit';
import { commandEnv, runAllowedCommand } from '../../src/engine/agents/builtin/runner';
import { Workspace } from '../../src/engine/agents/builtin/workspace';
import { testCounts, verificationText, verificationOf } from '../../src/engine/changes/verification';
import { isEngineError } from '../../src/engine/errors';
import { captureWorktreeChange, createTaskWorktree, removeTaskWorktree } from '../../src/engine/git/taskWorktree';
import { stateDirFor } from '../../src/engine/store/location';
import { waitFor } from '../support/processes';
import { makeRepo, sh } from '../support/queue-repo';

const repos: Array<{ cleanup(): void }> = [];
after(() => repos.forEach((r) => r.cleanup()));

async function refused(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => isEngineError(e, 'agent/tool-refused') && re.test(e.message));
}

describe('run_command allow list', () => {
  const allow = { packageScripts: ['test', 'lint'], checkCommand: 'npm test' };

  it('splits quoted words without a shell', () => {
    assert.deepEqual(parseCommandLine(`git log --format='%h %s' -n 3`), { ok: true, argv: ['git', 'log', '--format=%h %s', '-n', '3'] });
    assert.deepEqual(parseCommandLine('npm test -- "a b"'), { ok: true, argv: ['npm', 'test', '--', 'a b'] });
  });

  it('refuses hostile command lines before the allow list can match a prefix', () => {
    for (const line of [
      'npm test; rm -rf ~', 'npm test && curl evil.example', 'npm test | sh', 'npm test > /etc/passwd', 'npm test $(rm -rf ~)',
      'npm test `id`', 'npm test\nrm -rf ~', 'git log "$HOME"', 'npm run lint & sleep 100', 'FOO=1 npm test', 'git status ~', 'cat *',
    ]) {
      const d = decideCommand(line, allow);
      assert.equal(d.allowed, false, line);
    }
  });

  it('allows the check, the package scripts, test runners and read-only git; refuses the rest with what is allowed', () => {
    for (const line of ['npm test', 'npm run lint', 'npm run lint -- --fix', 'pytest -q tests/x.py', 'go test ./...', 'cargo test', 'git diff HEAD', 'git status', 'git branch']) {
      assert.equal(decideCommand(line, allow).allowed, true, line);
    }
    for (const line of ['npm run deploy', 'npm install left-pad', 'npm test --prefix /', 'git push', 'git commit -m x', 'git diff --output=/tmp/x', 'git branch -D main', 'go test -exec rm ./...', 'rm -rf src', 'curl http://x', 'node -e 1']) {
      assert.equal(decideCommand(line, allow).allowed, false, line);
    }
    const d = decideCommand('make deploy', allow);
    assert.ok(!d.allowed && /not on the allow list.*npm test.*npm run lint/.test(d.reason));
  });

  it('takes agent.allowedCommands as prefixes of whole words', () => {
    const cfg = { ...allow, extra: ['make check'] };
    assert.equal(decideCommand('make check', cfg).allowed, true);
    assert.equal(decideCommand('make check V=1', cfg).allowed, true);
    assert.equal(decideCommand('make checkout', cfg).allowed, false);
    assert.equal(decideCommand('make check; rm x', cfg).allowed, false);
  });
});

describe('edit_file matching', () => {
  const file = 'function a() {\n  return 1;\n}\n\nfunction b() {\n  return 1;\n}\n';

  it('replaces one exact match and refuses an ambiguous one naming the lines', () => {
    const r = applyEdit(file, 'function a() {\n  return 1;', 'function a() {\n  return 2;', false);
    assert.ok(r.ok && r.text.includes('return 2;') && r.lines[0] === 1);
    const amb = applyEdit(file, 'return 1;', 'return 3;', false);
    assert.ok(!amb.ok && /matches 2 places \(lines 2, 6\)/.test(amb.error));
    const all = applyEdit(file, 'return 1;', 'return 3;', true);
    assert.ok(all.ok && all.replaced === 2 && !all.text.includes('return 1;'));
  });

  it('matches ignoring indentation and spacing, and keeps the file\'s indentation', () => {
    const r = applyEdit(file, 'function b() {\nreturn  1;\n}', 'function b() {\nreturn 5;\n}', false);
    assert.ok(r.ok && r.tolerant, JSON.stringify(r));
    assert.ok(r.ok && r.text.endsWith('function b() {\nreturn 5;\n}\n'));
    const indented = '  if (x) {\n    go();\n  }\n';
    const r2 = applyEdit(indented, 'if (x) {\n  go();\n}', 'if (x) {\n  go();\n  stop();\n}', false);
    assert.ok(r2.ok && r2.text === '  if (x) {\n    go();\n    stop();\n  }\n', JSON.stringify(r2));
  });

  it('shows the closest candidates with line numbers when nothing matches', () => {
    const r = applyEdit(file, 'function b() {\n  return 10;\n}', 'x', false);
    assert.ok(!r.ok);
    assert.match(r.error, /matches no place, not even ignoring whitespace/);
    assert.match(r.error, /closest places:\nlines 5-7/);
    assert.match(r.error, /6\t {2}return 1;/);
  });
});

describe('the worktree tools', () => {
  const repo = makeRepo({ 'src/a.ts': 'line one\nline two\nline three\n', 'README.md': 'hi\n' });
  repos.push(repo);
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-outside-'));
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
  fs.symlinkSync(outside, path.join(repo.dir, 'escape'));
  repos.push({ cleanup: () => fs.rmSync(outside, { recursive: true, force: true }) });
  const ws = new Workspace(repo.dir);

  it('reads numbered lines in bounded parts', async () => {
    assert.equal(await ws.readFile('src/a.ts'), '1\tline one\n2\tline two\n3\tline three');
    assert.equal(await ws.readFile('src/a.ts', 2, 1), '2\tline two\n… (lines 3-3 not shown; read_file with offset 3)');
  });

  it('refuses paths outside the worktree: absolute, "..", .git and through a symbolic link', async () => {
    await refused(ws.readFile('/etc/passwd'), /absolute path/);
    await refused(ws.readFile('../x'), /leaves the repository/);
    await refused(ws.writeFile('.git/config', 'x'), /\.git/);
    await refused(ws.readFile('escape/secret.txt'), /outside the repository through a symbolic link/);
    await refused(ws.writeFile('escape/new.txt', 'x'), /outside the repository through a symbolic link/);
    assert.ok(!fs.existsSync(path.join(outside, 'new.txt')));
  });

  it('writes, edits, deletes, lists and searches inside the worktree', async () => {
    assert.match(await ws.writeFile('src/new/b.ts', 'export const b = 2;\n'), /created src\/new\/b.ts/);
    assert.match(await ws.editFile('src/a.ts', 'line two', 'line 2', false), /replaced 1 place \(line 2\)/);
    assert.equal(repo.read('src/a.ts'), 'line one\nline 2\nline three\n');
    assert.match(await ws.search('line [0-9]'), /src\/a.ts:2:line 2/);
    assert.match(await ws.search('const b'), /src\/new\/b.ts:1:/, 'new files are searched too');
    assert.match(await ws.listDir('src'), /^a.ts\nnew\/$/);
    assert.match(await ws.deleteFile('src/new/b.ts'), /deleted/);
    await refused(ws.editFile('src/a.ts', 'nope', 'x', false), /edit of src\/a.ts not made: old_string matches no place/);
  });
});

describe('capturing a worktree', () => {
  it('sees a same-size edit made in the second the worktree was checked out, captured a second later', async () => {
    const repo = makeRepo({ 'src/price.js': 'exports.price = (n) => n * 2;\n' });
    repos.push(repo);
    const baseTree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    const state = await stateDirFor(repo.dir);
    // Three tries: git's stat check is fooled only within the checkout's second, which a try may miss.
    for (let i = 0; i < 3; i++) {
      const wt = await createTaskWorktree(repo.dir, state, { runId: 'r', taskId: `t${i}`, baseCommit: repo.head(), baseTree });
      fs.writeFileSync(path.join(wt.dir, 'src/price.js'), 'exports.price = (n) => n * 3;\n');
      // The capture comes after the tests ran: in a later second than the edit.
      const second = Math.floor(fs.statSync(path.join(wt.dir, 'src/price.js')).mtimeMs / 1000);
      await waitFor(() => Math.floor(Date.now() / 1000) > second, 'the next second', 3000);
      const { patch } = await captureWorktreeChange(wt);
      assert.match(patch, /\+exports.price = \(n\) => n \* 3;/, `try ${i + 1}`);
      await removeTaskWorktree(repo.dir, wt);
    }
  });
});

describe('parallel task worktrees', () => {
  it('are all created when many tasks start at once (git reads the others\' half-written admin folders)', async () => {
    const repo = makeRepo(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}.txt`, `x${i}\n`])));
    repos.push(repo);
    const baseTree = sh(repo.dir, ['rev-parse', 'HEAD^{tree}']).trim();
    const state = await stateDirFor(repo.dir);
    for (let round = 0; round < 3; round++) {
      const made = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => createTaskWorktree(repo.dir, state, { runId: `r${round}`, taskId: `t${i}`, baseCommit: repo.head(), baseTree })));
      const failed = made.filter((m) => m.status === 'rejected').map((m) => String((m as PromiseRejectedResult).reason));
      assert.deepEqual(failed, [], `round ${round + 1}`);
    }
  });
});

describe('the command runner', () => {
  it('runs without provider keys in its environment', async () => {
    const env = commandEnv({ PATH: process.env.PATH, OPENAI_API_KEY: 'sk-x', ANTHROPIC_API_KEY: 'a', GITHUB_TOKEN: 't', HYPERION_AGENT: 'x', HOME: '/h', npm_config_local_prefix: '/outer', INIT_CWD: '/outer', NODE_TEST_CONTEXT: 'child' });
    assert.deepEqual(Object.keys(env).sort(), ['CI', 'GIT_TERMINAL_PROMPT', 'HOME', 'PATH']);
    const r = await runAllowedCommand([process.execPath, '-e', 'console.log(Object.keys(process.env).filter(k => /KEY|TOKEN/.test(k)).join(",") || "none")'], {
      cwd: os.tmpdir(), timeoutMs: 20_000, signal: new AbortController().signal, env: commandEnv({ ...process.env, OPENAI_API_KEY: 'sk-leak' }),
    });
    assert.equal(r.output.trim(), 'none');
  });

  it('keeps the head and tail of long output and stops a command at its timeout', async () => {
    const long = await runAllowedCommand([process.execPath, '-e', 'for (let i = 0; i < 5000; i++) console.log("line " + i)'], { cwd: os.tmpdir(), timeoutMs: 20_000, signal: new AbortController().signal });
    assert.ok(long.truncated && long.output.length < 9000 && long.output.startsWith('line 0\n') && long.output.trimEnd().endsWith('line 4999'));
    const slow = await runAllowedCommand([process.execPath, '-e', 'setTimeout(() => {}, 60000)'], { cwd: os.tmpdir(), timeoutMs: 300, signal: new AbortController().signal });
    assert.equal(slow.timedOut, true);
    assert.equal(slow.exitCode, null);
  });
});

describe('check results', () => {
  it('counts tests from the usual runners', () => {
    assert.deepEqual(testCounts('ℹ tests 14\nℹ pass 13\nℹ fail 1\n'), { passed: 13, failed: 1, total: 14 });
    assert.deepEqual(testCounts('# pass 2\n# fail 0\n'), { passed: 2, failed: 0, total: 2 });
    assert.deepEqual(testCounts('Tests:       1 failed, 13 passed, 14 total'), { passed: 13, failed: 1, total: 14 });
    assert.deepEqual(testCounts('===== 3 passed, 1 failed in 0.12s ====='), { passed: 3, failed: 1, total: 4 });
    assert.deepEqual(testCounts('test result: ok. 14 passed; 0 failed; 0 ignored'), { passed: 14, failed: 0, total: 14 });
    assert.equal(testCounts('all good'), undefined);
  });

  it('says how the check went, in one line', () => {
    assert.equal(verificationText(verificationOf('npm test', { exitCode: 0, timedOut: false, output: 'ℹ pass 14\nℹ fail 0\n', durationMs: 5 })), "tests passed in the task's worktree: 14/14 (npm test)");
    assert.match(verificationText(verificationOf('npm test', { exitCode: 1, timedOut: false, output: '✖ doubles\nℹ pass 1\nℹ fail 1\n', durationMs: 5 })), /^tests failed \(exit 1\) in the task's worktree: 1\/2 passed \(npm test\): ✖ doubles/);
  });
});
