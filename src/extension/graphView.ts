import * as vscode from 'vscode';
import type { Logger } from '../engine/ports';
import type { RunChoice } from '../protocol/messages';
import { COMMANDS } from './commandIds';
import type { EngineHost } from './engineHost';
import { oneLine } from './viewmodel/format';
import { layoutGraph } from './viewmodel/graph';
import { WebviewChannel } from './webviewChannel';
import { graphHtml, makeNonce } from './webviewHtml';

/**
 * The dependency-graph webview view. The host computes the layout and the critical path
 * and posts full snapshots; the webview only draws and reports clicks. Scripts are limited
 * to our nonce'd bundle and resources to `dist/` and `media/`.
 */
export class GraphViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private channel: WebviewChannel | undefined;
  private selectedRun: string | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly host: EngineHost, private readonly log: Logger) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    view.webview.options = { enableScripts: true, localResourceRoots: [dist, media] };
    const nonce = makeNonce();
    view.webview.html = graphHtml({
      cspSource: view.webview.cspSource,
      nonce,
      scriptUri: view.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      styleUri: view.webview.asWebviewUri(vscode.Uri.joinPath(media, 'graph.css')).toString(),
    });
    const channel = new WebviewChannel((m) => view.webview.postMessage(m), {
      ready: () => this.refresh(),
      openNode: (runId, taskId) => {
        const task = this.host.current?.getRun(runId)?.tasks.find((t) => t.id === taskId);
        void vscode.commands.executeCommand(COMMANDS.openDiff, { runId, taskId, changeId: task?.changeId });
      },
      selectRun: (runId) => {
        this.selectedRun = runId;
        this.refresh();
      },
    }, this.log);
    this.channel = channel;
    this.disposables.push(
      view.webview.onDidReceiveMessage((m) => channel.receive(m)),
      // Without retainContextWhenHidden the page reloads when shown again and re-sends ready.
      view.onDidChangeVisibility(() => { if (!view.visible) channel.reset(); }),
      view.onDidDispose(() => { if (this.channel === channel) this.channel = undefined; }),
    );
  }

  /** Sends the current snapshot (held until the webview is ready). */
  refresh(): void {
    const channel = this.channel;
    if (!channel) return;
    const engine = this.host.current;
    if (!engine) {
      const reason = vscode.workspace.isTrusted
        ? 'The graph appears when a run exists. Run "Hyperion: Plan Task" to start one.'
        : 'Hyperion is disabled in an untrusted workspace: no agent runs and no patch lands.';
      channel.send({ type: 'graph/empty', reason });
      return;
    }
    const runs = engine.listRuns(30);
    const run = (this.selectedRun && engine.getRun(this.selectedRun)) || (runs[0] && engine.getRun(runs[0].id));
    if (!run) {
      channel.send({ type: 'graph/empty', reason: 'No runs yet. Run "Hyperion: Plan Task" to plan a goal into tasks.' });
      return;
    }
    const choices: RunChoice[] = runs.map((r) => ({ id: r.id, label: oneLine(`${r.goal} (${r.status})`, 120) }));
    channel.send({ type: 'graph/show', graph: layoutGraph(run), runs: choices });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
