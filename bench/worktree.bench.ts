/**
 * Task worktree benchmark (issue 10). Run: ./node_modules/.bin/node --import tsx bench/worktree.bench.ts
 *
 * For repositories of 1,000 and 10,000 files: the setup of a task worktree
 * (`createTaskWorktree`: `git worktree add --detach` under a worktree base folder
 * with hooks off) against a plain `git worktree add --detach` of the same commit, alternating,
 * median of ROUNDS each. Also the capture of a small change (private index seeded with
 * `read-tree -m`, `add -A`, `write-tree`, `diff-tree`) and the removal, which happen after the
 * agent and are not part of setup. Goal: setup ≤ 1.2× plain. The last line is
 * `worktree-setup/plain-git (10000 files): <ratio>`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { captureWorktreeChange, createTaskWorktree, removeTaskWorktree } from '../src/engine/git/taskWorktree';
import { stateDirFor } from '../src/engine/store/location';
import { machineLine } from './support/machine';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const env = { ...process.env, GIT_AUTHOR_NAME: 'B', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'B', GIT_COMMITTER_EMAIL: 'b@x' };
const sh = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8', maxBuffer: 1 << 28 });

function makeRepo(files: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-bench-wt-'));
  sh(dir, ['init', '-q', '-b', 'main']);
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, `dir${i % 100}`);
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `file${i}.txt`), `file ${i}\nline two\nline three\n`);
  }
  sh(dir, ['add', '-A']);
  sh(dir, ['commit', '-q', '-m', 'initial']);
  return dir;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(files: number): Promise<number> {
  const repo = makeRepo(files);
  try {
    const head = sh(repo, ['rev-parse', 'HEAD']).trim();
    const baseTree = sh(repo, ['rev-parse', 'HEAD^{tree}']).trim();
    const state = await stateDirFor(repo);
    const plainDir = path.join(os.tmpdir(), `hyperion-bench-plain-${process.pid}`);
    const plain: number[] = [];
    const ours: number[] = [];
    const capture: number[] = [];
    const remove: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      let t = performance.now();
      sh(repo, ['worktree', 'add', '--detach', '--quiet', plainDir, head]);
      plain.push(performance.now() - t);
      sh(repo, ['worktree', 'remove', '--force', plainDir]);

      t = performance.now();
      const wt = await createTaskWorktree(repo, state, { runId: 'bench', taskId: `t${i}`, baseCommit: head, baseTree });
      ours.push(performance.now() - t);
      fs.appendFileSync(path.join(wt.dir, 'dir1/file1.txt'), 'edited\n');
      fs.writeFileSync(path.join(wt.dir, 'new.txt'), 'new\n');
      t = performance.now();
      const { patch } = await captureWorktreeChange(wt);
      capture.push(performance.now() - t);
      if (!patch.includes('new.txt')) throw new Error('the capture missed a file');
      t = performance.now();
      await removeTaskWorktree(repo, wt);
      remove.push(performance.now() - t);
    }
    const ratio = median(ours) / median(plain);
    process.stdout.write(
      `${files} files: plain git worktree add ${median(plain).toFixed(0)} ms, task worktree setup ${median(ours).toFixed(0)} ms (ratio ${ratio.toFixed(2)}), ` +
        `capture of a 2-file change ${median(capture).toFixed(0)} ms, removal ${median(remove).toFixed(0)} ms\n`,
    );
    return ratio;
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  process.stdout.write(`${machineLine()}\nmedian of ${ROUNDS} rounds each, alternating\n`);
  await measure(1000);
  const r = await measure(10_000);
  process.stdout.write(`worktree-setup/plain-git (10000 files): ${r.toFixed(2)}\n`);
  if (r > 1.2) process.exitCode = 1;
}

void main();
