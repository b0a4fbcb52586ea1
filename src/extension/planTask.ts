import * as vscode from 'vscode';
import type { Engine, RunView } from '../engine/api';
import { describeError } from '../engine/errors';
import type { Logger } from '../engine/ports';
import type { EngineHost } from './engineHost';
import { planContext } from './planContext';
import { showUserError } from './userErrors';
import type { ReviewNotice } from './viewmodel/reviewNotice';
import { runProgress } from './viewmodel/runs';
import { draftNotice, needsDraftReview } from './viewmodel/draft';
import { COMMANDS } from './commandIds';

/** Converts VS Code's CancellationToken to an AbortSignal, once, at the boundary. */
export function signalFor(token: vscode.CancellationToken): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  if (token.isCancellationRequested) ac.abort();
  const sub = token.onCancellationRequested(() => ac.abort(new Error('cancelled by the user')));
  return { signal: ac.signal, dispose: () => sub.dispose() };
}

function editorContext(): string | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.uri.scheme !== 'file') return undefined;
  const sel = editor.selection;
  return planContext({
    relativePath: vscode.workspace.asRelativePath(editor.document.uri, false),
    languageId: editor.document.languageId,
    selection: sel.isEmpty ? undefined : editor.document.getText(sel),
    selectionLines: sel.isEmpty ? undefined : [sel.start.line + 1, sel.end.line + 1],
  });
}

/** Resolves when no task of the run still needs an agent (all proposed or finished) or the run ends. */
function agentsSettled(engine: Engine, runId: string, onProgress: (run: RunView) => void): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      const run = engine.getRun(runId);
      if (!run) return false;
      onProgress(run);
      const busy = run.tasks.some((t) => t.status === 'pending' || t.status === 'ready' || t.status === 'running');
      return run.status === 'done' || run.status === 'failed' || run.status === 'cancelled' || (run.status !== 'planning' && !busy);
    };
    if (check()) return resolve();
    const sub = engine.onDidChange((e) => {
      if (e.runId !== undefined && e.runId !== runId) return;
      if (check()) {
        sub.dispose();
        resolve();
      }
    });
  });
}

/**
 * Plan Task: asks for the goal, plans it (the planner may ask questions through the
 * UserPrompt port), then either keeps the plan as a draft (`hyperion.planReview`) for the
 * user to edit and start, or starts the run and shows a cancellable progress notification until
 * the agents are done. Cancelling during the run cancels the run. Errors become one
 * sentence with actions; Retry plans the same goal again.
 */
export async function planTaskCommand(host: EngineHost, log: Logger, notice: ReviewNotice, presetGoal?: string): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('Hyperion does not run agents in an untrusted workspace. Trust the workspace to plan tasks.', 'Manage Workspace Trust')
      .then((a) => { if (a) void vscode.commands.executeCommand('workbench.trust.manage'); });
    return;
  }
  const goal = presetGoal ?? (await vscode.window.showInputBox({
    title: 'Hyperion: Plan Task',
    prompt: 'Describe the goal. The selection and the active file are added as context.',
    placeHolder: 'e.g. Add input validation to the signup form, with tests',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim().length === 0 ? 'Describe what should be done.' : undefined),
  }));
  if (!goal || goal.trim().length === 0) return;
  const context = editorContext();
  let stage = 'Planning';
  let runId: string | undefined;
  let draft: { runId: string; text: string } | undefined;
  try {
    const engine = await host.get();
    const mode = host.planReview;
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Hyperion', cancellable: true }, async (progress, token) => {
      const cancel = signalFor(token);
      try {
        progress.report({ message: `Planning: ${goal.trim().slice(0, 80)}` });
        const plan = await engine.plan(goal.trim(), { signal: cancel.signal, context });
        if (needsDraftReview(mode, plan)) {
          stage = 'Storing the draft';
          runId = await engine.draftRun(plan, { approve: host.autoApprove ? 'all' : 'none' });
          draft = { runId, text: draftNotice(plan, mode) };
          return;
        }
        stage = 'The run';
        progress.report({ message: `Starting ${plan.tasks.length} tasks…` });
        const started = await engine.startRun(plan, { signal: cancel.signal, approve: host.autoApprove ? 'all' : 'none' });
        runId = started.runId;
        await followRun(engine, started, { progress, signal: cancel.signal, log, notice });
      } finally {
        cancel.dispose();
      }
    });
    if (draft) await showDraft(draft.runId, draft.text);
  } catch (e) {
    log.error(`${stage} failed`, { runId, error: describeError(e) });
    await showUserError(e, stage, () => planTaskCommand(host, log, notice, goal));
  }
}

/** Shows the new draft in the views and says how to go on; Start Run starts it from here too. */
async function showDraft(runId: string, text: string): Promise<void> {
  void vscode.commands.executeCommand('hyperion.runs.focus');
  void vscode.commands.executeCommand('hyperion.graph.focus');
  const choice = await vscode.window.showInformationMessage(`Hyperion: ${text}`, 'Start Run', 'Open Graph in Editor');
  if (choice === 'Start Run') await vscode.commands.executeCommand(COMMANDS.startRun, { runId });
  if (choice === 'Open Graph in Editor') await vscode.commands.executeCommand(COMMANDS.openGraphInEditor);
}

/**
 * Follows a started run in the caller's progress notification until its agents are done,
 * then updates the review notice. Aborting `signal` cancels the run.
 */
export async function followRun(
  engine: Engine,
  started: { runId: string; done: Promise<RunView> },
  opts: { progress: vscode.Progress<{ message?: string; increment?: number }>; signal: AbortSignal; log: Logger; notice: ReviewNotice },
): Promise<void> {
  const { progress, signal, log, notice } = opts;
  started.done.catch((e) => log.warn('run ended with an error', { runId: started.runId, error: describeError(e) }));
  void vscode.commands.executeCommand('hyperion.runs.focus');
  let last = 0;
  const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  await Promise.race([
    agentsSettled(engine, started.runId, (run) => {
      const { done, total } = runProgress(run);
      const pct = total === 0 ? 0 : Math.floor((done / total) * 100);
      progress.report({ message: `${done}/${total} tasks done`, increment: pct - last });
      last = pct;
    }),
    aborted,
  ]);
  if (signal.aborted) {
    await engine.cancelRun(started.runId);
    return;
  }
  // One notice that follows the count and closes at zero, never a stale message per run.
  notice.update(engine.listChanges({ status: 'proposed' }).length, true);
}
