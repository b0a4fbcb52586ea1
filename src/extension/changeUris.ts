/**
 * Paths of the read-only documents behind the diff editor: `hyperion:/<side>/<changeId>/<file>`.
 * The file path comes last so VS Code picks the language from its extension. These are raw
 * (unencoded) paths as `vscode.Uri.from({ scheme, path })` takes and `uri.path` returns;
 * the Uri does the percent-encoding. Pure, shared by the content provider and the diff command.
 */
export const CHANGE_SCHEME = 'hyperion';
export type ChangeSide = 'base' | 'proposed';

export function changeUriPath(side: ChangeSide, changeId: string, file: string): string {
  return `/${side}/${changeId}/${file}`;
}

/** Parses a path made by `changeUriPath`; undefined for anything else, including `..` segments. */
export function parseChangeUriPath(uriPath: string): { side: ChangeSide; changeId: string; file: string } | undefined {
  const m = /^\/(base|proposed)\/([^/]+)\/(.+)$/.exec(uriPath);
  if (!m) return undefined;
  const file = m[3];
  if (file.split('/').some((seg) => seg === '..' || seg === '.' || seg === '')) return undefined;
  return { side: m[1] as ChangeSide, changeId: m[2], file };
}
