import * as vscode from 'vscode';
import type { Logger } from '../engine/ports';
import type { CheckOutputProvider } from './checkOutput';
import { COMMANDS } from './commandIds';
import type { ChangeContentProvider } from './diffView';
import type { EngineHost } from './engineHost';
import { engineLookup, reactTo } from './viewmodel/events';

/**
 * Reacts to single engine events: writes every landing failure (failed, quarantined,
 * conflicted, blocked) to the output channel with its reason, and tells the user when a
 * change comes back for review after a regeneration, with Open Diff. Open diff and
 * check-output documents of the subject re-read their text.
 */
export function watchEngineEvents(host: EngineHost, log: Logger, contents: ChangeContentProvider, checkOutputs: CheckOutputProvider): vscode.Disposable {
  return host.onDidEngineEvent((e) => {
    if (e.kind === 'queue/state' && e.subjectId) checkOutputs.refresh(e.subjectId);
    const reactions = reactTo(e, engineLookup(host.current, host.autoApprove));
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
