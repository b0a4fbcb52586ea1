import * as vscode from 'vscode';
import type { EngineHost } from './engineHost';
import { CHECK_SCHEME, checkOutputPath, formatCheckOutput, noCheckOutputText, parseCheckOutputPath } from './viewmodel/checkOutput';

/** Serves `hyperion-check:` documents: the stored output of a queue entry's check command. */
export class CheckOutputProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly host: EngineHost) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const parsed = parseCheckOutputPath(uri.path);
    if (!parsed) throw new Error(`not a Hyperion check output document: ${uri.toString()}`);
    const engine = await this.host.get();
    const view = engine.getCheckOutput(parsed.entryId);
    if (!view) return noCheckOutputText(parsed.entryId);
    const entry = engine.listQueue().find((e) => e.id === parsed.entryId);
    const title = entry ? engine.getChange(entry.changeId)?.taskTitle : undefined;
    return formatCheckOutput(view, title);
  }

  /** Re-reads an open output document (a retry ran the check again). */
  refresh(entryId: string): void {
    this.changed.fire(checkOutputUri(entryId));
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export function checkOutputUri(entryId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: CHECK_SCHEME, path: checkOutputPath(entryId) });
}

/** Opens the check output of an entry as a read-only `log` document. */
export async function showCheckOutput(entryId: string): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(checkOutputUri(entryId));
  if (doc.languageId !== 'log') await vscode.languages.setTextDocumentLanguage(doc, 'log').then(undefined, () => undefined);
  await vscode.window.showTextDocument(doc, { preview: true });
}
