import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readMarker, worktreeWithRef, writeMarker } from '../../src/engine/queue/worktree';
import { openDb } from '../../src/engine/store/db';
import { stateDirFor } from '../../src/engine/store/location';
import { ensureCliBuilt, runCli } from '../support/cli';
import { makeRepo, sh } from '../support/queue-repo';
import { prng } from '../support/random';

/**
 * Three `hyperion request --approve all` processes at once, each editing a different line of
 * the same checked-out file. Every change must land exactly once, with one queue entry per
 * change, and no entry may end `blocked` while `git status` is clean: another process's
 * landing in flight is not the user's edit.
 */
const SEED = Number(process.env.HYPERION_SEED ?? 9);
const TRIALS = Number(process.env.HYPERION_TRIALS ?? 4);
const PROCS = 3;
/** Tasks per process: more landings per trial, more chances for the race. */
const TASKS = 3;
const LINES = 100;

function lineEdit(before: string[], line: number, text: string): string {
  // A one-line hunk with three lines of context, as `git diff` writes it.
  const from = Math.max(0, line - 3);
  const to = Math.min(before.length, line + 4);
  const ctx = (i: number) => ` ${before[i]}`;
  const body: string[] = [];
  for (let i = from; i < to; i++) {
    if (i === line) body.push(`-${before[i]}`, `+${text}`);
    else body.push(ctx(i));
  }
  const n = to - from;
  return ['diff --git a/shared.txt b/shared.txt', '--- a/shared.txt', '+++ b/shared.txt', `@@ -${from + 1},${n} +${from + 1},${n} @@`, ...body].join('\n') + '\n';
}

test('three CLI processes editing different lines of one file land every change once and never block on each other', { timeout: 240_000 }, async (t) => {
  ensureCliBuilt();
  const rand = prng(SEED);
  t.diagnostic(`seed ${SEED} (HYPERION_SEED explores others), ${TRIALS} trials`);
  for (let trial = 0; trial < TRIALS; trial++) {
    const original = Array.from({ length: LINES }, (_, i) => `line ${i}`);
    const repo = makeRepo({ 'shared.txt': original.join('\n') + '\n', 'README.md': 'hi\n' });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-procs-'));
    try {
      // Lines far enough apart that no two hunks ever share context.
      const slot = Math.floor(LINES / (PROCS * TASKS));
      const lines = Array.from({ length: PROCS * TASKS }, (_, k) => k * slot + 3 + Math.floor(rand() * (slot - 6)));
      const files = Array.from({ length: PROCS }, (_, p) => {
        const file = path.join(work, `req-${p}.json`);
        const tasks = Array.from({ length: TASKS }, (_, k) => {
          const line = lines[k * PROCS + p]!; // interleaved: each process edits lines all over the file
          return { id: `p${p}t${k}`, title: `edit line ${line}`, type: 'code_gen', patch: lineEdit(original, line, `edited by ${p}.${k}`) };
        });
        fs.writeFileSync(file, JSON.stringify({ goal: `trial ${trial} process ${p}`, approve: 'all', tasks }));
        return file;
      });
      const results = await Promise.all(files.map((f) => runCli(['request', f, '--json', '--approve', 'all'], { cwd: repo.dir, timeoutMs: 90_000 })));
      const label = `trial ${trial} (seed ${SEED}, lines ${lines.join(',')})`;
      results.forEach((r, p) => assert.equal(r.code, 0, `${label}: process ${p} exited ${r.code}\n${r.stdout}\n${r.stderr}`));

      const status = sh(repo.dir, ['status', '--porcelain']);
      const db = await openDb({ dir: await stateDirFor(repo.dir) });
      try {
        const entries = db.all<{ id: string; change_id: string; state: string; last_error: string | null }>("SELECT id, change_id, state, last_error FROM queue_entries WHERE kind = 'land'");
        const changes = db.all<{ id: string }>('SELECT id FROM change_requests');
        assert.equal(changes.length, PROCS * TASKS, `${label}: one change per task`);
        for (const c of changes) assert.equal(entries.filter((e) => e.change_id === c.id).length, 1, `${label}: one queue entry for ${c.id}: ${JSON.stringify(entries)}`);
        const blocked = entries.filter((e) => e.state === 'blocked');
        assert.ok(!(blocked.length > 0 && status === ''), `${label}: blocked with a clean status: ${JSON.stringify(blocked)}`);
        assert.deepEqual(entries.map((e) => e.state), entries.map(() => 'merged'), `${label}: ${JSON.stringify(entries)}`);
      } finally {
        db.close();
      }
      assert.equal(status, '', `${label}: the checkout matches HEAD`);
      const landed = sh(repo.dir, ['log', '--format=%(trailers:key=Hyperion-Change,valueonly)', 'main']).split('\n').map((l) => l.trim()).filter(Boolean);
      assert.equal(landed.length, PROCS * TASKS, `${label}: landed ${landed.join(',')}`);
      assert.equal(new Set(landed).size, PROCS * TASKS, `${label}: no change landed twice`);
      const final = repo.read('shared.txt').split('\n');
      lines.forEach((line, k) => assert.equal(final[line], `edited by ${k % PROCS}.${Math.floor(k / PROCS)}`, `${label}: line ${line}`));
    } finally {
      repo.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
});

test('the worktree marker is written by many writers at once without one renaming another\'s temp file', async () => {
  const repo = makeRepo({ 'README.md': 'hi\n' });
  try {
    const wt = (await worktreeWithRef(repo.dir, 'refs/heads/main'))!;
    // One temp name shared by every writer made a concurrent writer's rename fail with ENOENT.
    await Promise.all(Array.from({ length: 40 }, (_, i) => writeMarker(wt, { pid: process.pid, oldTip: 'a', newTip: String(i), at: i })));
    assert.ok(await readMarker(wt));
    assert.deepEqual(fs.readdirSync(wt.gitDir).filter((f) => f.endsWith('.tmp')), [], 'no temp file left behind');
  } finally {
    repo.cleanup();
  }
});
