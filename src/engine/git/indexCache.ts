import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { copyFile, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { git } from './exec';

/**
 * Private index files that hold exactly a known tree, kept so the next private index of that
 * tree is a file copy instead of a `git read-tree` process. A task's finishing answer starts
 * from its base tree, which is the run's base (shared by every root task) or the tree a
 * dependency's own change just wrote (its index is at hand then), so most finishes skip one
 * of their git processes.
 *
 * An index left by `write-tree` holds the same entries as `read-tree` of the tree it wrote
 * (stage 0, zero stat data, nothing from a worktree), so a copy is the same starting point.
 * The files live in the temp folder, at most `MAX_KEPT` of them; they are removed when
 * evicted and when the process exits.
 */

const MAX_KEPT = 32;
const kept = new Map<string, string>();
let seq = 0;
const prefix = path.join(os.tmpdir(), `hyperion-tree-index-${process.pid}-${randomBytes(6).toString('hex')}`);
let exitHook = false;

const keyOf = (repo: string, tree: string) => `${repo}\0${tree}`;

/** Fills the private index `env.GIT_INDEX_FILE` with `tree`: a copy of a kept index, else `git read-tree`. */
export async function loadTreeIndex(repo: string, tree: string, env: Record<string, string>, signal?: AbortSignal): Promise<void> {
  const key = keyOf(repo, tree);
  const file = kept.get(key);
  if (file !== undefined) {
    try {
      await copyFile(file, env.GIT_INDEX_FILE!);
      kept.delete(key);
      kept.set(key, file); // most recently used last
      reads++;
      return;
    } catch {
      if (kept.get(key) === file) kept.delete(key);
    }
  }
  await git(['read-tree', tree], { cwd: repo, env, signal });
}

/**
 * Keeps a copy of the private index `index`, which holds exactly `tree` (call it right after
 * `write-tree` printed `tree`). Best effort: a failed copy is only a later `read-tree`.
 */
export async function keepTreeIndex(repo: string, tree: string, index: string): Promise<void> {
  const key = keyOf(repo, tree);
  if (kept.has(key)) return;
  const file = `${prefix}-${++seq}`;
  try {
    await copyFile(index, file);
  } catch {
    await unlink(file).catch(() => undefined);
    return;
  }
  if (kept.has(key)) {
    await unlink(file).catch(() => undefined);
    return;
  }
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const f of kept.values()) {
        try {
          unlinkSync(f);
        } catch {
          // gone already
        }
      }
    });
  }
  kept.set(key, file);
  while (kept.size > MAX_KEPT) {
    const [oldKey, oldFile] = kept.entries().next().value!;
    kept.delete(oldKey);
    await unlink(oldFile).catch(() => undefined);
  }
}

let reads = 0;

/** How many private indexes were filled from a kept one (for tests). */
export function keptIndexReads(): number {
  return reads;
}
