/**
 * Addresses of the read-only documents behind the diff editor. A document is
 * `hyperion:/<file>?change=<id>&side=<base|proposed>`: the path is the file's real
 * repository path, the same on both sides, so the multi-file changes editor labels it with
 * that path and shows added/modified/deleted instead of a rename between two internal
 * paths; the file path also makes VS Code pick the language from its extension. Older
 * editors restored after a reload may still hold `hyperion:/<side>/<changeId>/<file>`,
 * which is still read. Paths here are raw (unencoded) as `vscode.Uri.from` takes and
 * `uri.path`/`uri.query` return. Pure, shared by the content provider and the commands.
 */
export const CHANGE_SCHEME = 'hyperion';
export type ChangeSide = 'base' | 'proposed';

export interface ChangeDocument {
  side: ChangeSide;
  changeId: string;
  file: string;
  /** The change's version: a regenerated change gets new documents, never the old patch's cached text. */
  version?: number;
  /** For the diff between two versions: the file as version `at` left it (proposed side only). */
  at?: number;
}

/** The path and query of a change document's URI. */
export function changeUriParts(side: ChangeSide, changeId: string, file: string, version?: number, at?: number): { path: string; query: string } {
  const v = version !== undefined && version > 1 ? `&v=${version}` : '';
  const a = at !== undefined ? `&at=${at}` : '';
  return { path: `/${file}`, query: `change=${encodeURIComponent(changeId)}&side=${side}${v}${a}` };
}

function safeFile(file: string): string | undefined {
  if (file.length === 0 || file.split('/').some((seg) => seg === '..' || seg === '.' || seg === '')) return undefined;
  return file;
}

/** Parses a URI made by `changeUriParts` (or the older path form); undefined for anything else, including `..` segments. */
export function parseChangeUri(uri: { path: string; query?: string }): ChangeDocument | undefined {
  if (uri.query) {
    const q = new URLSearchParams(uri.query);
    const side = q.get('side');
    const changeId = q.get('change');
    if ((side !== 'base' && side !== 'proposed') || !changeId || !uri.path.startsWith('/')) return undefined;
    const file = safeFile(uri.path.slice(1));
    const v = Number(q.get('v'));
    const at = Number(q.get('at'));
    return file ? { side, changeId, file, ...(Number.isInteger(v) && v > 1 ? { version: v } : {}), ...(q.has('at') && Number.isInteger(at) && at >= 1 ? { at } : {}) } : undefined;
  }
  return parseChangeUriPath(uri.path);
}

/** The older form, `/<side>/<changeId>/<file>`. */
export function changeUriPath(side: ChangeSide, changeId: string, file: string): string {
  return `/${side}/${changeId}/${file}`;
}

/** Parses a path made by `changeUriPath`; undefined for anything else, including `..` segments. */
export function parseChangeUriPath(uriPath: string): ChangeDocument | undefined {
  const m = /^\/(base|proposed)\/([^/]+)\/(.+)$/.exec(uriPath);
  if (!m) return undefined;
  const file = safeFile(m[3]);
  return file ? { side: m[1] as ChangeSide, changeId: m[2], file } : undefined;
}
