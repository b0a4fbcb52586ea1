import * as vscode from 'vscode';
import type { ChangeView } from '../engine/api';
import type { EngineHost } from './engineHost';
import { CHANGE_SCHEME, changeUriPath, parseChangeUriPath, type ChangeSide } from './changeUris';

export function changeUri(side: ChangeSide, changeId: string, file: string): vscode.Uri {
  return vscode.Uri.from({ scheme: CHANGE_SCHEME, path: changeUriPath(side, changeId, file) });
}

/**
 * Read-only documents for the diff editor: the base side from the change's base commit,
 * the proposed side from the patch. A file that does not exist on a side (added or
 * deleted) reads as empty.
 */
export class ChangeContentProvider implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly host: EngineHost) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const parsed = parseChangeUriPath(uri.path);
    if (!parsed) throw new Error(`not a Hyperion change document: ${uri.toString()}`);
    const engine = await this.host.get();
    const text = parsed.side === 'base'
      ? await engine.readBaseFile(parsed.changeId, parsed.file)
      : await engine.readProposedFile(parsed.changeId, parsed.file);
    return text ?? '';
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/**
 * Opens a change in the native diff editor: `vscode.diff` for one file (or when `file` is
 * given), `vscode.changes` for several. Titles name the task.
 */
export async function openChangeDiff(change: ChangeView, repo: string | undefined, file?: string): Promise<void> {
  const files = file ? [file] : change.files;
  if (files.length === 0) {
    void vscode.window.showInformationMessage(`Hyperion: the change for "${change.taskTitle}" has no files.`);
    return;
  }
  if (files.length === 1) {
    const f = files[0];
    await vscode.commands.executeCommand('vscode.diff',
      changeUri('base', change.id, f), changeUri('proposed', change.id, f),
      `${change.taskTitle} (${change.taskId}): ${f}`, { preview: true });
    return;
  }
  const resources = files.map((f) => [
    repo ? vscode.Uri.joinPath(vscode.Uri.file(repo), f) : changeUri('proposed', change.id, f),
    changeUri('base', change.id, f),
    changeUri('proposed', change.id, f),
  ]);
  await vscode.commands.executeCommand('vscode.changes', `${change.taskTitle} (${change.taskId})`, resources);
}
