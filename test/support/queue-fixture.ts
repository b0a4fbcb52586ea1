import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig, type EngineConfig } from '../../src/engine/config';
import { silentLogger, type Clock } from '../../src/engine/ports';
import { createMergeQueue } from '../../src/engine/queue/mergeQueue';
import type { MergeQueue, MergeQueueDeps } from '../../src/engine/queue/types';
import { openDb } from '../../src/engine/store/db';
import type { Db } from '../../src/engine/store/types';
import { makeRepo, sh, type TempRepo } from './queue-repo';

/** A real repo + a real sql.js store with one run, and helpers to add tasks and change requests. */
export interface QueueFixture {
  repo: TempRepo;
  db: Db;
  stateDir: string;
  runId: string;
  clock: Clock & { advance(ms: number): void };
  /** Adds a task and a change request (status approved) for it; returns the change id. */
  addChange(c: { taskId: string; patch: string; base?: string; title?: string; summary?: string; model?: string }): string;
  queue(over?: QueueOverrides): MergeQueue;
  reopen(): Promise<void>;
  /** `Hyperion-Change` trailers on the first-parent history of main, oldest first. */
  landedChanges(): string[];
  cleanup(): void;
}

export type QueueOverrides = Partial<Omit<MergeQueueDeps, 'config'>> & { config?: Partial<EngineConfig> };

export async function makeQueueFixture(files?: Record<string, string>, opts: { stateDir?: string } = {}): Promise<QueueFixture> {
  const repo = makeRepo(files);
  const stateDir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-state-'));
  const db = await openDb({ dir: stateDir });
  let offset = 0;
  const clock = { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };
  const runId = 'run-1';
  const now = clock.now();
  if (!db.get('SELECT id FROM runs WHERE id = ?', [runId])) {
    db.run(
      "INSERT INTO runs (id, goal, repo, base_commit, target_ref, status, created_at, updated_at) VALUES (?, 'goal', ?, ?, 'refs/heads/main', 'running', ?, ?)",
      [runId, repo.dir, repo.head(), now, now],
    );
  }
  let seq = 0;
  const fx: QueueFixture = {
    repo, db, stateDir, runId, clock,
    addChange(c) {
      const at = clock.now();
      fx.db.run(
        `INSERT INTO tasks (run_id, id, seq, title, type, prompt, acceptance_json, depends_json, files_json, status, updated_at)
         VALUES (?, ?, ?, ?, 'code', 'p', '[]', '[]', '[]', 'approved', ?)`,
        [runId, c.taskId, ++seq, c.title ?? `Task ${c.taskId}`, at],
      );
      const id = `ch-${c.taskId}`;
      fx.db.run(
        `INSERT INTO change_requests (id, run_id, task_id, base_commit, patch, files_json, summary, model, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, '[]', ?, ?, 'approved', ?, ?)`,
        [id, runId, c.taskId, c.base ?? repo.head(), c.patch, c.summary ?? '', c.model ?? 'test-model', at, at],
      );
      return id;
    },
    queue(over = {}) {
      const { config, ...rest } = over;
      return createMergeQueue({
        db: fx.db, repo: repo.dir, config: { ...defaultConfig(), ...config }, log: silentLogger, clock, workerId: 'test', ...rest,
      });
    },
    landedChanges() {
      const log = sh(repo.dir, ['log', '--first-parent', '--reverse', '--format=%B%x00', 'main']);
      return log.split('\0').flatMap((b) => [...b.matchAll(/^Hyperion-Change: (.+)$/gm)].map((m) => m[1]));
    },
    /** Closes the store (so another process may own it) and opens it again. */
    async reopen() {
      fx.db.close();
      fx.db = await openDb({ dir: stateDir });
    },
    cleanup() {
      try {
        fx.db.close();
      } catch {
        // already closed
      }
      repo.cleanup();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return fx;
}
