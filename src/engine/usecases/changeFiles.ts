import { applyPatchToTree, readBlobAt } from '../git/plumbing';
import { requireChange } from '../changes/lifecycle';
import type { Db } from '../store/types';

/**
 * The two sides of a change for the diff editor: the file at the change's base commit and
 * the file as the proposed patch leaves it. Proposed trees are cached per change version.
 */
export function changeFileReader(db: Db, repo: string) {
  const treeOf = patchTrees(repo);
  return {
    async readBaseFile(changeId: string, path: string): Promise<string | undefined> {
      return readBlobAt(repo, requireChange(db, changeId).base_commit, path);
    },
    async readProposedFile(changeId: string, path: string): Promise<string | undefined> {
      const c = requireChange(db, changeId);
      return readBlobAt(repo, await treeOf(`${changeId}:${c.version}:${c.base_commit}:${c.patch.length}`, c.base_commit, c.patch), path);
    },
  };
}

/** The tree a patch makes of its base, computed once per key; a failed one is computed again next time. */
export function patchTrees(repo: string): (key: string, base: string, patch: string) => Promise<string> {
  const trees = new Map<string, Promise<string>>();
  return (key, base, patch) => {
    let tree = trees.get(key);
    if (!tree) {
      tree = applyPatchToTree(repo, base, patch);
      trees.set(key, tree);
      tree.catch(() => trees.delete(key));
    }
    return tree;
  };
}
