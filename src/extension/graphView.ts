import * as vscode from 'vscode';
import type { Logger } from '../engine/ports';
import type { DraftMessage, RunChoice } from '../protocol/messages';
import { assertNever, describeError } from '../engine/errors';
import { linkDraftTasks } from './draftCommands';
import { showUserError } from './userErrors';
import { COMMANDS } from './commandIds';
import type { EngineHost } from './engineHost';
import { taskAgentView } from './viewmodel/agents';
import { oneLine } from './viewmodel/format';
import { directionFor, layoutGraph } from './viewmodel/graph';
import { WebviewChannel } from './webviewChannel';
import { graphHtml, makeNonce } from './webviewHtml';

/** One place the graph is drawn: the sidebar view or an editor tab. */
interface Surface {
  channel: WebviewChannel;
  /** The webview's last reported width; the layout runs down when it is narrow. */
  width?: number;
}

/**
 * The dependency-graph webview, in the sidebar and, on "Open Graph in Editor", in an
 * editor tab for a big plan. The host computes the layout (top to bottom when the view is
 * narrow) and the critical path and posts full snapshots; the webview only draws, scales
 * and reports clicks and its width. Scripts are limited to our nonce'd bundle and
 * resources to `dist/` and `media/`.
 */
export class GraphViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private readonly surfaces = new Set<Surface>();
  private selectedRun: string | undefined;
  private panel: vscode.WebviewPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly host: EngineHost, private readonly log: Logger) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    const surface = this.attach(view.webview);
    this.disposables.push(
      // Without retainContextWhenHidden the page reloads when shown again and re-sends ready.
      view.onDidChangeVisibility(() => { if (!view.visible) surface.channel.reset(); }),
      view.onDidDispose(() => this.surfaces.delete(surface)),
    );
  }

  /** Opens (or reveals) the graph in an editor tab, where a big plan has room. */
  openInEditor(): void {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel('hyperion.graphEditor', 'Hyperion: Task Graph', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: this.roots(),
    });
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'hyperion.svg');
    this.panel = panel;
    const surface = this.attach(panel.webview);
    panel.onDidChangeViewState(() => { if (!panel.visible) surface.channel.reset(); });
    panel.onDidDispose(() => {
      this.surfaces.delete(surface);
      this.panel = undefined;
    });
  }

  private roots(): vscode.Uri[] {
    return [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')];
  }

  private attach(webview: vscode.Webview): Surface {
    webview.options = { enableScripts: true, localResourceRoots: this.roots() };
    const nonce = makeNonce();
    webview.html = graphHtml({
      cspSource: webview.cspSource,
      nonce,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'graph.css')).toString(),
    });
    const surface: Surface = { channel: undefined as unknown as WebviewChannel };
    surface.channel = new WebviewChannel((m) => webview.postMessage(m), {
      ready: () => this.send(surface),
      openNode: (runId, taskId) => {
        const task = this.host.current?.getRun(runId)?.tasks.find((t) => t.id === taskId);
        void vscode.commands.executeCommand(COMMANDS.openDiff, { runId, taskId, changeId: task?.changeId });
      },
      selectRun: (runId) => {
        this.selectedRun = runId;
        this.refresh();
      },
      resize: (width) => {
        const before = directionFor(surface.width);
        surface.width = width;
        if (directionFor(width) !== before) this.send(surface);
      },
      openInEditor: () => this.openInEditor(),
      draft: (m) => void this.onDraftMessage(m),
    }, this.log);
    this.surfaces.add(surface);
    this.disposables.push(webview.onDidReceiveMessage((m) => surface.channel.receive(m)));
    return surface;
  }

  /** Sends the current snapshot to every surface (held until each webview is ready). */
  refresh(): void {
    for (const s of this.surfaces) this.send(s);
  }

  private send(surface: Surface): void {
    const channel = surface.channel;
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
    const draft = run.status === 'draft' ? engine.getDraft(run.id) : undefined;
    channel.send({ type: 'graph/show', graph: layoutGraph(run, undefined, directionFor(surface.width), engine.config.prices, draft, taskAgentView), runs: choices });
  }

  /** Draft edits from the graph go through the same commands as the tree, so errors read the same. */
  private async onDraftMessage(m: DraftMessage): Promise<void> {
    switch (m.type) {
      case 'draft/start': return void vscode.commands.executeCommand(COMMANDS.startRun, { runId: m.runId });
      case 'draft/editTask': return void vscode.commands.executeCommand(COMMANDS.editDraftTask, { runId: m.runId, taskId: m.taskId });
      case 'draft/addTask': return void vscode.commands.executeCommand(COMMANDS.addDraftTask, { runId: m.runId });
      case 'draft/link':
      case 'draft/unlink': {
        try {
          const engine = await this.host.get();
          await linkDraftTasks(engine, m.runId, m.from, m.to, m.type === 'draft/link');
        } catch (e) {
          this.log.error('editing the draft from the graph failed', { error: describeError(e) });
          await showUserError(e, 'Editing the draft');
        }
        return;
      }
      default: return assertNever(m, 'draft message');
    }
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
