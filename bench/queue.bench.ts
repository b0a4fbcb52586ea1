/**
 * Merge queue benchmark. Run: ./node_modules/.bin/node --import tsx bench/queue.bench.ts
 *
 * A repo of ~3000 files and 200 approved, non-conflicting patches (one file each):
 *  - the queue landing all of them (proposal, three-way pre-check, tree policy, CAS landing,
 *    worktree update) vs a plain-git baseline doing the usual `git apply` + `git add` +
 *    `git commit` in a checked-out worktree, one per patch;
 *  - the conflict pre-check of a 200-entry queue: one `merge-tree --stdin` batch vs one
 *    process per merge.
 * Prints both times, the queue's per-step breakdown (wall time summed over the run; steps
 * marked "parallel" overlap with each other and with the serialized landing), the ratios; the
 * last line is `queue/plain-git: <ratio>`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig } from '../src/engine/config';
import { mergeTrees, mergeTreesBatch } from '../src/engine/git/mergeTree';
import { commitTree, applyPatchToTree } from '../src/engine/git/plumbing';
import { silentLogger, systemClock } from '../src/engine/ports';
import { createMergeQueue } from '../src/engine/queue/mergeQueue';
import { openDb } from '../src/engine/store/db';

const FILES = 3000;
const PATCHES = 200;
const env = { ...process.env, GIT_AUTHOR_NAME: 'B', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'B', GIT_COMMITTER_EMAIL: 'b@x' };
const sh = (cwd: string, args: string[], input?: string) => execFileSync('git', args, { cwd, env, input, encoding: 'utf8', maxBuffer: 1 << 28 });

function makeRepo(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-bench-'));
  sh(dir, ['init', '-q', '-b', 'main']);
  for (let i = 0; i < FILES; i++) {
    const sub = path.join(dir, `dir${i % 30}`);
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `file${i}.txt`), `file ${i}\nline two\nline three\n`);
  }
  sh(dir, ['add', '-A']);
  sh(dir, ['commit', '-q', '-m', 'initial']);
  return dir;
}

function patchFor(i: number): string {
  const rel = `dir${i % 30}/file${i}.txt`;
  return [
    `diff --git a/${rel} b/${rel}`, `--- a/${rel}`, `+++ b/${rel}`, '@@ -1,3 +1,3 @@',
    ` file ${i}`, '-line two', `+line two changed by patch ${i}`, ' line three', '',
  ].join('\n');
}

async function benchQueue(): Promise<number> {
  const repo = makeRepo();
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-bench-state-'));
  const db = await openDb({ dir: state });
  const base = sh(repo, ['rev-parse', 'HEAD']).trim();
  const now = Date.now();
  db.run("INSERT INTO runs (id, goal, repo, status, created_at, updated_at) VALUES ('r', 'g', ?, 'running', ?, ?)", [repo, now, now]);
  const steps = new Map<string, { ms: number; n: number }>();
  const profile = (step: string, ms: number) => {
    const s = steps.get(step) ?? { ms: 0, n: 0 };
    s.ms += ms;
    s.n += 1;
    steps.set(step, s);
  };
  const queue = createMergeQueue({ db, repo, config: defaultConfig(), log: silentLogger, clock: systemClock, profile });
  for (let i = 0; i < PATCHES; i++) {
    db.run(
      `INSERT INTO tasks (run_id, id, seq, title, type, prompt, acceptance_json, depends_json, files_json, status, updated_at)
       VALUES ('r', ?, ?, ?, 'code', 'p', '[]', '[]', '[]', 'approved', ?)`,
      [`t${i}`, i, `Change file ${i}`, now],
    );
    db.run(
      `INSERT INTO change_requests (id, run_id, task_id, base_commit, patch, files_json, status, created_at, updated_at)
       VALUES (?, 'r', ?, ?, ?, '[]', 'approved', ?, ?)`,
      [`c${i}`, `t${i}`, base, patchFor(i), now, now],
    );
    queue.enqueue(`c${i}`, { actor: 'user' });
  }
  const t0 = performance.now();
  await queue.runUntilIdle();
  const ms = performance.now() - t0;
  const merged = queue.list().filter((e) => e.state === 'merged').length;
  if (merged !== PATCHES) throw new Error(`queue merged ${merged}/${PATCHES}`);
  const m = queue.metrics();
  process.stdout.write(`queue metrics: ${m.throughputPerMin.toFixed(0)} merges/min, success ${m.successRate}\n`);
  process.stdout.write('queue steps (total ms / times run):\n');
  for (const [step, s] of [...steps].sort((a, b) => b[1].ms - a[1].ms)) {
    process.stdout.write(`  ${step.padEnd(42)} ${s.ms.toFixed(0).padStart(7)} ms / ${s.n}\n`);
  }
  db.close();
  fs.rmSync(repo, { recursive: true, force: true });
  fs.rmSync(state, { recursive: true, force: true });
  return ms;
}

function benchPlainGit(): number {
  const repo = makeRepo();
  const t0 = performance.now();
  for (let i = 0; i < PATCHES; i++) {
    sh(repo, ['apply'], patchFor(i));
    sh(repo, ['add', `dir${i % 30}/file${i}.txt`]);
    sh(repo, ['commit', '-q', '-m', `Change file ${i}`]);
  }
  const ms = performance.now() - t0;
  fs.rmSync(repo, { recursive: true, force: true });
  return ms;
}

async function benchPreCheck(): Promise<{ batch: number; each: number }> {
  const repo = makeRepo();
  const base = sh(repo, ['rev-parse', 'HEAD']).trim();
  // The tip has moved by one unrelated commit, as in a busy queue.
  fs.writeFileSync(path.join(repo, 'moved.txt'), 'moved\n');
  sh(repo, ['add', 'moved.txt']);
  sh(repo, ['commit', '-q', '-m', 'move tip']);
  const tip = sh(repo, ['rev-parse', 'HEAD']).trim();
  const proposals: string[] = [];
  for (let i = 0; i < PATCHES; i++) proposals.push(await commitTree(repo, await applyPatchToTree(repo, base, patchFor(i)), [base], `p${i}`));
  let t0 = performance.now();
  const batch = await mergeTreesBatch(repo, proposals.map((p) => ({ ours: tip, theirs: p })));
  const batchMs = performance.now() - t0;
  t0 = performance.now();
  for (const p of proposals) await mergeTrees(repo, tip, p);
  const eachMs = performance.now() - t0;
  if (batch.some((r) => !r.clean)) throw new Error('unexpected conflict');
  fs.rmSync(repo, { recursive: true, force: true });
  return { batch: batchMs, each: eachMs };
}

async function main(): Promise<void> {
  const plain = benchPlainGit();
  process.stdout.write(`plain git (apply+add+commit) x${PATCHES}: ${plain.toFixed(0)} ms\n`);
  const queued = await benchQueue();
  process.stdout.write(`queue (${defaultConfig().queueWorkers} workers) x${PATCHES}: ${queued.toFixed(0)} ms\n`);
  const pre = await benchPreCheck();
  process.stdout.write(`conflict pre-check x${PATCHES}: merge-tree --stdin batch ${pre.batch.toFixed(0)} ms, one process each ${pre.each.toFixed(0)} ms, ratio ${(pre.batch / pre.each).toFixed(2)}\n`);
  process.stdout.write(`queue/plain-git: ${(queued / plain).toFixed(2)}\n`);
}

void main();
