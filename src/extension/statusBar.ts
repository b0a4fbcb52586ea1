import * as vscode from 'vscode';
import { COMMANDS } from './commandIds';
import type { EngineHost } from './engineHost';
import { formatStatusBar } from './viewmodel/statusbar';

/** The queue at a glance; warning background when something waits for the user. */
export class QueueStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('hyperion.queue', vscode.StatusBarAlignment.Left, 50);

  constructor(private readonly host: EngineHost) {
    this.item.name = 'Hyperion Queue';
    this.item.command = COMMANDS.showQueue;
    this.update();
    this.item.show();
  }

  update(): void {
    const engine = this.host.current;
    if (!engine) {
      this.item.text = '$(hubot) Hyperion';
      this.item.tooltip = vscode.workspace.isTrusted ? 'Hyperion: no engine open yet' : 'Hyperion is disabled in an untrusted workspace';
      this.item.backgroundColor = undefined;
      return;
    }
    const view = formatStatusBar(engine.queueSummary());
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.needsAttention ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
