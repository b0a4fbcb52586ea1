import { parseChangeUri } from '../changeUris';

/**
 * Host-neutral descriptions of tree items. The tree providers turn an `ItemView` into a
 * `vscode.TreeItem`; everything here is plain data so it can be tested without VS Code.
 */

/** The elements of both trees; also the argument that context-menu commands receive. */
export type TreeNode =
  | { kind: 'run'; runId: string }
  | { kind: 'task'; runId: string; taskId: string; changeId?: string }
  | { kind: 'section'; section: 'review' | 'queue' | 'recent'; id?: string }
  | { kind: 'change'; changeId: string; runId: string; taskId: string }
  | { kind: 'file'; changeId: string; path: string }
  | { kind: 'queue'; entryId: string; changeId: string; runId: string; taskId: string }
  | { kind: 'message'; text: string };

export interface IconView {
  /** A codicon id, e.g. `sync~spin`. */
  id: string;
  /** A theme color id, e.g. `charts.green`. */
  color?: string;
}

export interface ItemView {
  /** Stable across refreshes so VS Code keeps expansion and selection. */
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  icon?: IconView;
  /** Space-separated tokens matched by `viewItem =~ /\btoken\b/` in package.json menus. */
  contextValue: string;
  collapsible: 'none' | 'collapsed' | 'expanded';
  command?: { command: string; title: string; args: unknown[] };
}

/** What a command was invoked on: ids pulled from a tree node, a webview message or a plain string. */
export interface CommandTarget {
  /** A queue entry (its row in the Approvals & Queue view). */
  entryId?: string;
  runId?: string;
  taskId?: string;
  changeId?: string;
  path?: string;
}

/**
 * Reads ids from whatever VS Code passes to a command: a tree node (context menu), a
 * `CommandTarget`-shaped object (webview, tests), a `hyperion:` URI (diff editor title), a
 * change id string, or nothing (palette).
 */
export function targetOf(arg: unknown): CommandTarget {
  if (typeof arg === 'string' && arg.length > 0) return { changeId: arg };
  if (typeof arg !== 'object' || arg === null) return {};
  const o = arg as Record<string, unknown>;
  // A `hyperion:` document URI, passed by the diff editor's title buttons.
  if (o.scheme === 'hyperion' && typeof o.path === 'string') {
    const parsed = parseChangeUri({ path: o.path, query: typeof o.query === 'string' ? o.query : undefined });
    return parsed ? { changeId: parsed.changeId, path: parsed.file } : {};
  }
  const pick = (k: string): string | undefined => (typeof o[k] === 'string' && (o[k] as string).length > 0 ? (o[k] as string) : undefined);
  const entryId = pick('entryId');
  return { ...(entryId ? { entryId } : {}), runId: pick('runId'), taskId: pick('taskId'), changeId: pick('changeId'), path: pick('path') };
}
