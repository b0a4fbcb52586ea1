import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

/**
 * Points agent task worktrees (`worktreeBaseFor`, normally in ~/.cache/hyperion) at a temp
 * folder for this test file and its child processes, removed when the file ends, so kept
 * worktrees of failing-agent tests never pile up in the user's cache.
 */
export function useTempWorktrees(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-worktrees-'));
  process.env.HYPERION_WORKTREES_DIR = dir;
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
