import * as vscode from 'vscode';
import type { ChangeView } from '../engine/api';
import type { EngineHost } from './engineHost';
import { CHANGE_SCHEME, changeUriParts, parseChangeUri, type ChangeDocument, type ChangeSide } from './changeUris';
import { changeDiffResources } from './viewmodel/diffResources';
import { versionTag } from './viewmodel/approvals';

export function changeUri(side: ChangeSide, changeId: string, file: string, version?: number, at?: number): vscode.Uri {
  return vscode.Uri.from({ scheme: CHANGE_SCHEME, ...changeUriParts(side, changeId, file, version, at) });
}

function docUri(d: ChangeDocument): vscode.Uri {
  return changeUri(d.side, d.changeId, d.file, d.version);
}

/**
 * Read-only documents for the diff editor: the base side from the change's base commit,
 * the proposed side from the patch. A file that does not exist on a side (added or
 * deleted) reads as empty in the two-file diff; the changes editor leaves that side out.
 */
export class ChangeContentProvider implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly host: EngineHost) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const parsed = parseChangeUri(uri);
    if (!parsed) throw new Error(`not a Hyperion change document: ${uri.toString()}`);
    const engine = await this.host.get();
    const text = parsed.side === 'base'
      ? await engine.readBaseFile(parsed.changeId, parsed.file)
      : parsed.at !== undefined
        ? await engine.readVersionFile(parsed.changeId, parsed.at, parsed.file)
        : await engine.readProposedFile(parsed.changeId, parsed.file);
    return text ?? '';
  }

  /** A change was regenerated: open documents of it re-read their text. */
  changeUpdated(changeId: string): void {
    for (const d of vscode.workspace.textDocuments) {
      if (d.uri.scheme === CHANGE_SCHEME && parseChangeUri(d.uri)?.changeId === changeId) this.changed.fire(d.uri);
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** Every document URI of the change's files, both sides, as `resource` context values. */
export function changeResourceKeys(change: ChangeView): string[] {
  return changeDiffResources(change).flatMap((r) => [r.original, r.modified]).filter((d): d is ChangeDocument => d !== undefined).map((d) => docUri(d).toString());
}

/**
 * Opens a change in the native diff editor: `vscode.diff` for one file (or when `file` is
 * given), `vscode.changes` for several. Titles name the task and, after a regeneration,
 * the version. The changes editor gets the real paths and no side for a file that does not
 * exist there, so it shows added, modified and deleted files as such.
 */
export async function openChangeDiff(change: ChangeView, repo: string | undefined, file?: string): Promise<void> {
  const resources = changeDiffResources(change, file ? [file] : undefined);
  if (resources.length === 0) {
    void vscode.window.showInformationMessage(`Hyperion: the change for "${change.taskTitle}" has no files.`);
    return;
  }
  const v = versionTag(change.version);
  const title = `${change.taskTitle} (${change.taskId}${v ? ` ${v}` : ''})`;
  if (resources.length === 1) {
    const r = resources[0];
    const left = r.original ?? { side: 'base' as const, changeId: change.id, file: r.path, version: change.version };
    const right = r.modified ?? { side: 'proposed' as const, changeId: change.id, file: r.path, version: change.version };
    const status = r.status === 'modified' ? '' : ` (${r.status})`;
    await vscode.commands.executeCommand('vscode.diff', docUri(left), docUri(right), `${title}: ${r.path}${status}`, { preview: true });
    return;
  }
  const list = resources.map((r) => [
    repo ? vscode.Uri.joinPath(vscode.Uri.file(repo), r.path) : docUri((r.modified ?? r.original)!),
    r.original ? docUri(r.original) : undefined,
    r.modified ? docUri(r.modified) : undefined,
  ]);
  await vscode.commands.executeCommand('vscode.changes', title, list);
}
