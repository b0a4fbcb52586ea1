import type { ChangeVersionView } from '../api';
import { requireChange } from '../changes/lifecycle';
import { EngineError } from '../errors';
import { readBlobAt } from '../git/plumbing';
import { patchTrees } from './changeFiles';
import type { Db } from '../store/types';

interface VersionRow {
  [k: string]: string | number | null;
  version: number;
  base_commit: string;
  patch: string;
  reason: string | null;
  replaced_at: number;
  rejected_patch: string | null;
}

/** Every version of a change, oldest first; the current one (from the change itself) last. */
export function listVersions(db: Db, changeId: string): ChangeVersionView[] {
  const c = requireChange(db, changeId);
  const old = db.all<VersionRow>('SELECT version, base_commit, patch, reason, replaced_at, rejected_patch FROM change_versions WHERE change_id = ? ORDER BY version', [changeId]);
  return [
    ...old.filter((v) => v.version !== c.version).map((v): ChangeVersionView => ({
      version: v.version, baseCommit: v.base_commit, patch: v.patch, current: false, replacedAt: v.replaced_at,
      ...(v.reason !== null ? { reason: v.reason } : {}), ...(v.rejected_patch !== null ? { rejectedPatch: v.rejected_patch } : {}),
    })),
    { version: c.version, baseCommit: c.base_commit, patch: c.patch, current: true },
  ];
}

/**
 * Reads a file as one version of a change leaves it, for the diff between two versions.
 * Trees are cached per change and version (a version's patch never changes). Throws
 * `usage/unknown-version`.
 */
export function versionFileReader(db: Db, repo: string) {
  const treeOf = patchTrees(repo);
  return async (changeId: string, version: number, path: string): Promise<string | undefined> => {
    const v = listVersions(db, changeId).find((x) => x.version === version);
    if (!v) throw new EngineError('usage/unknown-version', `change ${changeId} has no version ${version}`);
    if (v.patch.trim() === '') return readBlobAt(repo, v.baseCommit, path);
    return readBlobAt(repo, await treeOf(`${changeId}:${version}:${v.baseCommit}`, v.baseCommit, v.patch), path);
  };
}
