import * as vscode from 'vscode';
import type { Logger } from '../engine/ports';
import type { CheckOutputProvider } from './checkOutput';
import { COMMANDS } from './commandIds';
import type { ChangeContentProvider } from './diffView';
import type { EngineHost } from './engineHost';
import { reactTo } from './viewmodel/events';

/**
 * Reacts to single engine events: writes every landing failure (failed, quarantined,
 * conflicted, blocked) to the output channel with its reason, and tells the user when a
 * change comes back for review after a regeneration, with Open Diff. Open diff and
 * check-output documents of the subject re-read their text.
 */
export function watchEngineEvents(host: EngineHost, log: Logger, contents: ChangeContentProvider, checkOutputs: CheckOutputProvider): vscode.Disposable {
  return host.onDidEngineEvent((e) => {
    if (e.kind === 'queue/state' && e.subjectId) checkOutputs.refresh(e.subjectId);
    const engine = host.current;
    const reactions = reactTo(e, {
      taskTitle: (changeId, runId, taskId) => (changeId ? engine?.getChange(changeId)?.taskTitle : undefined)
        ?? (runId && taskId ? engine?.getRun(runId)?.tasks.find((t) => t.id === taskId)?.title : undefined),
    });
    for (const r of reactions) {
      if (r.kind === 'log') {
        log[r.level](r.message, r.data);
        continue;
      }
      contents.changeUpdated(r.changeId);
      void vscode.window.showInformationMessage(`Hyperion: ${r.message}`, 'Open Diff').then((a) => {
        if (a === 'Open Diff') void vscode.commands.executeCommand(COMMANDS.openDiff, { changeId: r.changeId });
      });
    }
  });
}
