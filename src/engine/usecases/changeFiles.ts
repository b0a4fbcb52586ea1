import { applyPatchToTree, readBlobAt } from '../git/plumbing';
import { requireChange } from '../changes/lifecycle';
import type { Db } from '../store/types';

/**
 * The two sides of a change for the diff editor: the file at the change's base commit and
 * the file as the proposed patch leaves it. Proposed trees are cached per change version.
 */
export function changeFileReader(db: Db, repo: string) {
  const proposedTrees = new Map<string, Promise<string>>();
  return {
    async readBaseFile(changeId: string, path: string): Promise<string | undefined> {
      return readBlobAt(repo, requireChange(db, changeId).base_commit, path);
    },
    async readProposedFile(changeId: string, path: string): Promise<string | undefined> {
      const c = requireChange(db, changeId);
      const key = `${changeId}:${c.version}:${c.base_commit}:${c.patch.length}`;
      let tree = proposedTrees.get(key);
      if (!tree) {
        tree = applyPatchToTree(repo, c.base_commit, c.patch);
        proposedTrees.set(key, tree);
        tree.catch(() => proposedTrees.delete(key));
      }
      return readBlobAt(repo, await tree, path);
    },
  };
}
