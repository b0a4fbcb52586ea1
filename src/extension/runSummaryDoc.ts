import * as vscode from 'vscode';
import { renderRunSummary } from '../engine/runs/summaryMarkdown';
import type { EngineHost } from './engineHost';

/** `hyperion-summary:/<runId>/run-summary.md`: a run's summary, read-only, rebuilt on each read. */
export const SUMMARY_SCHEME = 'hyperion-summary';

export function summaryUri(runId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: SUMMARY_SCHEME, path: `/${encodeURIComponent(runId)}/run-summary.md` });
}

export function runIdOfSummaryPath(p: string): string | undefined {
  const m = /^\/([^/]+)\/run-summary\.md$/.exec(p);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * Serves run summaries as Markdown documents. A content provider's documents are read-only
 * in VS Code, and `refresh` re-reads an open one when its run changes, so the numbers follow
 * a change that lands after the document was opened.
 */
export class RunSummaryProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly host: EngineHost) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const runId = runIdOfSummaryPath(uri.path);
    if (!runId) throw new Error(`not a Hyperion run summary: ${uri.toString()}`);
    const engine = await this.host.get();
    return renderRunSummary(await engine.runSummary(runId));
  }

  /** Re-reads the open summaries (called on engine changes). */
  refresh(): void {
    for (const doc of vscode.workspace.textDocuments) if (doc.uri.scheme === SUMMARY_SCHEME) this.changed.fire(doc.uri);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** Opens a run's summary as a read-only Markdown document. */
export async function openRunSummary(runId: string): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(summaryUri(runId));
  if (doc.languageId !== 'markdown') await vscode.languages.setTextDocumentLanguage(doc, 'markdown').then(undefined, () => undefined);
  await vscode.window.showTextDocument(doc, { preview: false });
}
