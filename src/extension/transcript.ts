import * as vscode from 'vscode';
import type { EngineHost } from './engineHost';
import { formatTranscript, parseTranscriptPath, transcriptPath, TRANSCRIPT_SCHEME } from './viewmodel/agents';

/** How often an open transcript re-reads while its agent is busy: progress events come many a second. */
const REFRESH_MS = 1000;

/**
 * Serves `hyperion-transcript:` documents: what a task's coding agent printed, as the engine
 * stores it. A read-only text document, so nothing the agent printed is ever rendered as markup.
 */
export class TranscriptProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(private readonly host: EngineHost) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const parsed = parseTranscriptPath(uri.path);
    if (!parsed) throw new Error(`not a Hyperion transcript document: ${uri.toString()}`);
    const engine = await this.host.get();
    const task = engine.getRun(parsed.runId)?.tasks.find((t) => t.id === parsed.taskId);
    const text = await engine.taskTranscript(parsed.runId, parsed.taskId);
    return formatTranscript(task ?? { runId: parsed.runId, id: parsed.taskId, title: parsed.taskId }, task?.agent, text);
  }

  /** Re-reads a task's open transcript soon (its agent printed more, or it finished); at most once a second. */
  refresh(runId: string, taskId: string): void {
    const uri = transcriptUri(runId, taskId);
    const key = uri.toString();
    if (this.pending.has(key) || !vscode.workspace.textDocuments.some((d) => d.uri.toString() === key)) return;
    this.pending.set(key, setTimeout(() => {
      this.pending.delete(key);
      this.changed.fire(uri);
    }, REFRESH_MS));
  }

  dispose(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.changed.dispose();
  }
}

export function transcriptUri(runId: string, taskId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: TRANSCRIPT_SCHEME, path: transcriptPath(runId, taskId) });
}

/** Opens a task's agent transcript as a read-only `log` document. */
export async function showTranscript(runId: string, taskId: string): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(transcriptUri(runId, taskId));
  if (doc.languageId !== 'log') await vscode.languages.setTextDocumentLanguage(doc, 'log').then(undefined, () => undefined);
  await vscode.window.showTextDocument(doc, { preview: true });
}
