import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Logger } from '../engine/ports';
import type { EngineHost } from './engineHost';
import { canUnblock, recheckFor } from './viewmodel/recheck';

/**
 * Resumes blocked queue entries by themselves: watches the repository's files (a save, a
 * revert, a checkout), git's HEAD and branch refs (a commit), and editor buffers going
 * from dirty to clean, and then asks the engine to re-check what is blocked (debounced,
 * and only while something is blocked).
 */
export function watchBlockedEntries(host: EngineHost, log: Logger): vscode.Disposable {
  const recheck = recheckFor(() => host.current, log);
  const repo = host.repo;
  const disposables: vscode.Disposable[] = [recheck];
  const onUri = (uri: vscode.Uri) => {
    if (!repo || uri.scheme !== 'file') return;
    const rel = path.relative(repo, uri.fsPath).split(path.sep).join('/');
    if (canUnblock(rel)) recheck.poke();
  };
  if (repo) {
    const root = vscode.Uri.file(repo);
    for (const pattern of ['**/*', '.git/{HEAD,packed-refs}', '.git/refs/heads/**']) {
      const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(root, pattern));
      disposables.push(w, w.onDidChange(onUri), w.onDidCreate(onUri), w.onDidDelete(onUri));
    }
  }
  disposables.push(
    vscode.workspace.onDidSaveTextDocument((d) => onUri(d.uri)),
    // "Revert File" in the editor makes a buffer clean without touching the disk.
    vscode.workspace.onDidChangeTextDocument((e) => { if (!e.document.isDirty) onUri(e.document.uri); }),
    vscode.workspace.onDidCloseTextDocument((d) => onUri(d.uri)),
  );
  return vscode.Disposable.from(...disposables);
}
