import * as vscode from 'vscode';
import type { UserPrompt } from '../engine/ports';

/** Turns an AbortSignal into a CancellationToken for VS Code's input widgets. */
function tokenFor(signal: AbortSignal | undefined): { token: vscode.CancellationToken; dispose(): void } {
  const source = new vscode.CancellationTokenSource();
  const onAbort = () => source.cancel();
  if (signal?.aborted) source.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  return { token: source.token, dispose: () => { signal?.removeEventListener('abort', onAbort); source.dispose(); } };
}

/**
 * The planner's clarifying questions: a quick pick when the question has choices (plus a
 * free-text "Other…"), an input box otherwise. Escape answers `undefined` (declined).
 */
export const vscodeUserPrompt: UserPrompt = {
  async askQuestion(question, opts) {
    const t = tokenFor(opts?.signal);
    try {
      if (opts?.choices && opts.choices.length > 0) {
        const other = 'Other…';
        const pick = await vscode.window.showQuickPick([...opts.choices, other], {
          title: 'Hyperion: the planner asks', placeHolder: question, ignoreFocusOut: true,
        }, t.token);
        if (pick !== other) return pick;
      }
      return await vscode.window.showInputBox({
        title: 'Hyperion: the planner asks', prompt: question, ignoreFocusOut: true,
      }, t.token);
    } finally {
      t.dispose();
    }
  },
};
