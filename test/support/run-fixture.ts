import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig, type EngineConfig } from '../../src/engine/config';
import type { RunPlanInput, RunTaskInput } from '../../src/engine/runs/types';
import { openDb } from '../../src/engine/store/db';
import type { Db } from '../../src/engine/store/types';
import { makeRepo, type TempRepo } from './queue-repo';

/** A real repo and a real on-disk store in temp folders, removed by `cleanup`. */
export interface RunFixture {
  repo: TempRepo;
  db: Db;
  stateDir: string;
  cleanup(): void;
}

export async function makeRunFixture(files?: Record<string, string>): Promise<RunFixture> {
  const repo = makeRepo(files ?? { 'README.md': 'hello\n', 'src/a.ts': 'export const a = 1;\n', 'src/b.ts': 'export const b = 2;\n' });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-'));
  const db = await openDb({ dir: stateDir });
  return {
    repo,
    db,
    stateDir,
    cleanup() {
      try {
        db.close();
      } catch {
        // already closed
      }
      repo.cleanup();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export function task(id: string, over: Partial<RunTaskInput> = {}): RunTaskInput {
  return { id, title: `task ${id}`, type: 'code_gen', prompt: `do ${id}`, acceptanceCriteria: [`${id} is done`], dependsOn: [], files: [], ...over };
}

export function plan(tasks: RunTaskInput[]): RunPlanInput {
  return { goal: 'test goal', rationale: '', confidence: 0.9, questions: [], assumptions: [], tasks };
}

export function config(over: Partial<EngineConfig> = {}): EngineConfig {
  return { ...defaultConfig(), concurrency: 3, agentMaxSteps: 6, maxRetries: 3, ...over };
}

export const fastBackoff = { baseDelayMs: 5, maxDelayMs: 20 };

let t = 1_700_000_000_000;
/** A clock that is real time but strictly increasing (stable ordering of rows created in one ms). */
export const testClock = { now: () => (t = Math.max(t + 1, Date.now())) };
