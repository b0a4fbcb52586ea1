import type { ChangeView } from '../../engine/api';
import { parsePatch } from '../../engine/changes/patch';
import type { ChangeDocument } from '../changeUris';

export type DiffFileStatus = 'added' | 'modified' | 'deleted' | 'renamed';

/**
 * One file of a change as the changes editor shows it. A side is missing when the file
 * does not exist there: no `original` for an added file (VS Code marks it "A"), no
 * `modified` for a deleted one ("D"). A rename has two different paths ("R").
 */
export interface DiffResource {
  /** The path to label the file with and to open with "go to file": the new path, else the old. */
  path: string;
  status: DiffFileStatus;
  original?: ChangeDocument;
  modified?: ChangeDocument;
}

/**
 * The files of `change` for the diff editors, read from its patch. `only` limits to the
 * files whose old or new path is one of them. A patch that cannot be read (an older
 * store, a patch under repair) falls back to the change's file list, each as modified.
 */
export function changeDiffResources(change: Pick<ChangeView, 'id' | 'patch' | 'files' | 'version'>, only?: readonly string[]): DiffResource[] {
  const wanted = only ? new Set(only) : undefined;
  const version = change.version > 1 ? { version: change.version } : {};
  const doc = (side: 'base' | 'proposed', file: string): ChangeDocument => ({ side, changeId: change.id, file, ...version });
  let out: DiffResource[];
  try {
    out = parsePatch(change.patch).files.map((f): DiffResource => {
      switch (f.status) {
        case 'add': return { path: f.newPath!, status: 'added', modified: doc('proposed', f.newPath!) };
        case 'delete': return { path: f.oldPath!, status: 'deleted', original: doc('base', f.oldPath!) };
        case 'rename':
        case 'copy': return { path: f.newPath!, status: 'renamed', original: doc('base', f.oldPath!), modified: doc('proposed', f.newPath!) };
        default: return { path: f.newPath ?? f.oldPath!, status: 'modified', original: doc('base', f.oldPath ?? f.newPath!), modified: doc('proposed', f.newPath ?? f.oldPath!) };
      }
    });
  } catch {
    out = change.files.map((f) => ({ path: f, status: 'modified', original: doc('base', f), modified: doc('proposed', f) }));
  }
  if (!wanted) return out;
  return out.filter((r) => wanted.has(r.path) || (r.original !== undefined && wanted.has(r.original.file)));
}
