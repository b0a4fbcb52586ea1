import * as vscode from 'vscode';
import { isBusyRun, type ChangeView, type Engine, type QueueEntryView } from '../engine/api';
import { describeError } from '../engine/errors';
import type { Logger } from '../engine/ports';
import { COMMANDS, VIEWS } from './commandIds';
import { showCheckOutput } from './checkOutput';
import { openChangeDiff } from './diffView';
import type { EngineHost } from './engineHost';
import { planTaskCommand } from './planTask';
import { addDraftTask, editDraftTask, removeDraftTask, startDraftRun } from './draftCommands';
import { openRunSummary } from './runSummaryDoc';
import { setApiKey, setRedisPassword } from './secrets';
import { selectModelsCommand } from './selectModels';
import { showTranscript } from './transcript';
import { showUserError } from './userErrors';
import { explicitApprovalText, isEntryRetryable } from './viewmodel/approvals';
import { targetOf, type CommandTarget } from './viewmodel/nodes';
import type { ReviewNotice } from './viewmodel/reviewNotice';

export interface CommandDeps {
  host: EngineHost;
  log: Logger;
  channel: vscode.LogOutputChannel;
  secrets: vscode.SecretStorage;
  /** Opens the task graph in an editor tab. */
  openGraphInEditor: () => void;
  notice: ReviewNotice;
  /** Lists the workers again now (Refresh Workers). */
  refreshWorkers?: () => void;
}

/** Finds the queue entry a command is about: from its argument, else a quick pick over `candidates`. */
async function resolveEntry(engine: Engine, t: CommandTarget, candidates: (e: QueueEntryView) => boolean, placeHolder: string): Promise<QueueEntryView | undefined> {
  const queue = engine.listQueue();
  if (t.entryId) return queue.find((e) => e.id === t.entryId);
  // From a task or change: its newest entry.
  const match = queue.filter((e) => (t.changeId && e.changeId === t.changeId) || (t.runId && t.taskId && e.runId === t.runId && e.taskId === t.taskId));
  if (match.length > 0) return match.sort((a, b) => b.updatedAt - a.updatedAt)[0];
  const list = queue.filter(candidates);
  if (list.length === 0) {
    void vscode.window.showInformationMessage('Hyperion: there is no queue entry to pick.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    list.map((e) => ({ label: engine.getChange(e.changeId)?.taskTitle ?? e.taskId, description: `${e.taskId} · ${e.state}`, detail: e.reason ?? e.lastError, entry: e })),
    { title: 'Hyperion', placeHolder, ignoreFocusOut: true },
  );
  return pick?.entry;
}

/** Finds the change a command is about: from its argument, else a quick pick over `candidates`. */
export async function resolveChange(engine: Engine, t: CommandTarget, candidates: () => ChangeView[], placeHolder: string): Promise<ChangeView | undefined> {
  if (t.changeId) return engine.getChange(t.changeId);
  if (t.runId && t.taskId) {
    const id = engine.getRun(t.runId)?.tasks.find((x) => x.id === t.taskId)?.changeId;
    if (id) return engine.getChange(id);
  }
  const list = candidates();
  if (list.length === 0) {
    void vscode.window.showInformationMessage('Hyperion: there is no change to pick.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    list.map((c) => ({ label: c.taskTitle, description: `${c.taskId} · ${c.files.length} files · ${c.status}`, change: c })),
    { title: 'Hyperion', placeHolder, ignoreFocusOut: true },
  );
  return pick?.change;
}

/** Runs `fn`; an error becomes one sentence with actions instead of an unhandled rejection. */
export function guarded(what: string, log: Logger, fn: (arg: unknown) => Promise<void>): (arg: unknown) => Promise<void> {
  return async (arg) => {
    try {
      await fn(arg);
    } catch (e) {
      log.error(`${what} failed`, { error: describeError(e) });
      await showUserError(e, what, () => fn(arg));
    }
  };
}

/**
 * Registers every command in `COMMANDS` (the manifest test holds the two in step).
 * Context-menu commands take a tree node, a `{ runId, taskId, changeId, path }` object or
 * a change id; from the palette they ask with a quick pick.
 */
export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { host, log } = deps;
  const proposed = (engine: Engine) => () => engine.listChanges({ status: 'proposed' });
  return [
    vscode.commands.registerCommand(COMMANDS.planTask, () => planTaskCommand(host, log, deps.notice)),

    vscode.commands.registerCommand(COMMANDS.openDiff, guarded('Opening the diff', log, async (arg) => {
      const engine = await host.get();
      const t = targetOf(arg);
      const change = await resolveChange(engine, t, () => engine.listChanges().filter((c) => c.status !== 'superseded'), 'Open the diff of which change?');
      if (!change) {
        if (t.taskId) void vscode.window.showInformationMessage(`Hyperion: task ${t.taskId} has no proposed change yet.`);
        return;
      }
      await openChangeDiff(change, host.repo, t.path);
    })),

    vscode.commands.registerCommand(COMMANDS.approveChange, guarded('Approving the change', log, async (arg) => {
      const engine = await host.get();
      const change = await resolveChange(engine, targetOf(arg), proposed(engine), 'Approve which change?');
      if (!change) return;
      let excludeFiles: string[] = [];
      if (change.files.length > 1) {
        const picks = await vscode.window.showQuickPick(
          change.files.map((f) => ({ label: f, picked: !change.excludedFiles.includes(f) })),
          { title: `Approve "${change.taskTitle}"`, placeHolder: 'Untick the files to leave out; the rest lands.', canPickMany: true, ignoreFocusOut: true },
        );
        if (!picks) return;
        if (picks.length === 0) {
          void vscode.window.showInformationMessage('Hyperion: no file selected, nothing approved. Use Reject Change to drop the whole change.');
          return;
        }
        const keep = new Set(picks.map((p) => p.label));
        excludeFiles = change.files.filter((f) => !keep.has(f));
      }
      let explicit = false;
      if (change.needsExplicitApproval) {
        const ok = await vscode.window.showWarningMessage(`"${change.taskTitle}" needs explicit approval`, { modal: true, detail: `Automatic approval skipped it because:\n${explicitApprovalText(change)}` }, 'Approve');
        if (ok !== 'Approve') return;
        explicit = true;
      }
      await engine.approveChange(change.id, { excludeFiles, explicit });
      vscode.window.setStatusBarMessage(`Hyperion: approved "${change.taskTitle}"`, 4000);
    })),

    vscode.commands.registerCommand(COMMANDS.rejectChange, guarded('Rejecting the change', log, async (arg) => {
      const engine = await host.get();
      const change = await resolveChange(engine, targetOf(arg), proposed(engine), 'Reject which change?');
      if (!change) return;
      const reason = await vscode.window.showInputBox({ title: `Reject "${change.taskTitle}"`, prompt: 'Why? (optional, kept in the audit log)', ignoreFocusOut: true });
      if (reason === undefined) return;
      await engine.rejectChange(change.id, reason.trim() || undefined);
    })),

    vscode.commands.registerCommand(COMMANDS.retryTask, guarded('Retrying the task', log, async (arg) => {
      const engine = await host.get();
      let { runId, taskId } = targetOf(arg);
      if (!runId || !taskId) {
        const failed = engine.listRuns(10).flatMap((r) => r.tasks.filter((t) => ['failed', 'rejected', 'cancelled', 'skipped'].includes(t.status)));
        const pick = await vscode.window.showQuickPick(failed.map((t) => ({ label: t.title, description: `${t.id} · ${t.status}`, t })), { title: 'Hyperion: Retry Task', placeHolder: 'Retry which task?' });
        if (!pick) return;
        ({ runId, id: taskId } = pick.t);
      }
      await engine.retryTask(runId!, taskId!);
    })),

    vscode.commands.registerCommand(COMMANDS.openTaskWorktree, guarded('Opening the task worktree', log, async (arg) => {
      const engine = await host.get();
      let { runId, taskId } = targetOf(arg);
      if (!runId || !taskId) {
        const failed = engine.listRuns(10).flatMap((r) => r.tasks.filter((t) => t.status === 'failed' || t.status === 'cancelled'));
        const pick = await vscode.window.showQuickPick(failed.map((t) => ({ label: t.title, description: `${t.id} · ${t.status}`, t })), { title: 'Hyperion: Open Task Worktree', placeHolder: 'Open the worktree of which task?' });
        if (!pick) return;
        ({ runId, id: taskId } = pick.t);
      }
      const dir = await engine.taskWorktreePath(runId!, taskId!);
      if (!dir) {
        void vscode.window.showInformationMessage(`Hyperion: task ${taskId} has no worktree to open (only a task whose agent failed or was stopped keeps one).`);
        return;
      }
      await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(dir), { forceNewWindow: true });
    })),

    vscode.commands.registerCommand(COMMANDS.cancelRun, guarded('Cancelling the run', log, async (arg) => {
      const engine = await host.get();
      let { runId } = targetOf(arg);
      if (!runId) {
        const active = engine.listRuns(20).filter((r) => isBusyRun(r.status));
        const pick = await vscode.window.showQuickPick(active.map((r) => ({ label: r.goal, description: r.status, r })), { title: 'Hyperion: Cancel Run', placeHolder: 'Cancel which run?' });
        if (!pick) return;
        runId = pick.r.id;
      }
      await engine.cancelRun(runId);
    })),

    vscode.commands.registerCommand(COMMANDS.deleteRun, guarded('Deleting the run', log, async (arg) => {
      const engine = await host.get();
      const { runId } = targetOf(arg);
      const run = runId ? engine.getRun(runId) : undefined;
      if (!run) return;
      const ok = await vscode.window.showWarningMessage(
        `Delete the run "${run.goal.slice(0, 80)}"?`,
        { modal: true, detail: 'Its tasks, changes, queue entries and history are removed from Hyperion. Commits that landed stay in git.' },
        'Delete',
      );
      if (ok !== 'Delete') return;
      await engine.deleteRun(run.id);
    })),

    vscode.commands.registerCommand(COMMANDS.revertChange, guarded('Reverting the change', log, async (arg) => {
      const engine = await host.get();
      const change = await resolveChange(engine, targetOf(arg), () => engine.listChanges({ status: 'merged' }), 'Revert which merged change?');
      if (!change) return;
      const ok = await vscode.window.showWarningMessage(`Revert "${change.taskTitle}"? A revert commit goes through the merge queue.`, { modal: true }, 'Revert');
      if (ok !== 'Revert') return;
      await engine.revertChange(change.id);
    })),

    vscode.commands.registerCommand(COMMANDS.showQueue, async () => {
      await vscode.commands.executeCommand(`${VIEWS.approvals}.focus`);
    }),

    vscode.commands.registerCommand(COMMANDS.setApiKey, async () => {
      const provider = await setApiKey(deps.secrets);
      if (provider) host.invalidate();
    }),

    // The password is read when the engine opens, so a new one takes effect through a restart.
    vscode.commands.registerCommand(COMMANDS.setRedisPassword, () => setRedisPassword(deps.secrets)),

    vscode.commands.registerCommand(COMMANDS.refreshWorkers, () => deps.refreshWorkers?.()),

    vscode.commands.registerCommand(COMMANDS.selectModels, guarded('Selecting models', log, () => selectModelsCommand(host.current?.config.agents))),

    vscode.commands.registerCommand(COMMANDS.openLog, () => deps.channel.show(true)),

    vscode.commands.registerCommand(COMMANDS.retryEntry, guarded('Retrying the queue entry', log, async (arg) => {
      const engine = await host.get();
      const entry = await resolveEntry(engine, targetOf(arg), (e) => isEntryRetryable(e.state), 'Retry which queue entry?');
      if (!entry) return;
      if (!isEntryRetryable(entry.state)) {
        void vscode.window.showInformationMessage(`Hyperion: the entry for ${entry.taskId} is ${entry.state}; only blocked, failed, conflicted or quarantined entries can be retried.`);
        return;
      }
      await engine.retryEntry(entry.id);
      vscode.window.setStatusBarMessage(`Hyperion: ${entry.taskId} is back in the queue`, 4000);
    })),

    vscode.commands.registerCommand(COMMANDS.showCheckOutput, guarded('Showing the check output', log, async (arg) => {
      const engine = await host.get();
      const entry = await resolveEntry(engine, targetOf(arg), (e) => e.hasCheckOutput === true, 'Show the check output of which queue entry?');
      if (!entry) return;
      await showCheckOutput(entry.id);
    })),

    vscode.commands.registerCommand(COMMANDS.openGraphInEditor, () => deps.openGraphInEditor()),

    vscode.commands.registerCommand(COMMANDS.showTranscript, guarded('Showing the transcript', log, async (arg) => {
      const engine = await host.get();
      let { runId, taskId } = targetOf(arg);
      if (!runId || !taskId) {
        const started = engine.listRuns(10).flatMap((r) => r.tasks).filter((t) => t.status !== 'pending' && t.status !== 'ready' && t.agent);
        if (started.length === 0) {
          void vscode.window.showInformationMessage('Hyperion: no task of the recent runs was run by a coding agent, so there is no transcript to show.');
          return;
        }
        const pick = await vscode.window.showQuickPick(started.map((t) => ({ label: t.title, description: `${t.id} · ${t.agent} · ${t.status}`, t })), { title: 'Hyperion: Show Transcript', placeHolder: 'Show the agent transcript of which task?' });
        if (!pick) return;
        ({ runId, id: taskId } = pick.t);
      }
      await showTranscript(runId!, taskId!);
    })),
    vscode.commands.registerCommand(COMMANDS.startRun, guarded('Starting the run', log, (arg) => startDraftRun(host, log, deps.notice, targetOf(arg)))),
    vscode.commands.registerCommand(COMMANDS.editDraftTask, guarded('Editing the draft', log, async (arg) => editDraftTask(await host.get(), targetOf(arg)))),
    vscode.commands.registerCommand(COMMANDS.addDraftTask, guarded('Adding a task', log, async (arg) => addDraftTask(await host.get(), targetOf(arg)))),
    vscode.commands.registerCommand(COMMANDS.removeDraftTask, guarded('Removing the task', log, async (arg) => removeDraftTask(await host.get(), targetOf(arg)))),
    vscode.commands.registerCommand(COMMANDS.openRunSummary, guarded('Opening the run summary', log, async (arg) => {
      const engine = await host.get();
      let { runId } = targetOf(arg);
      if (!runId) {
        const runs = engine.listRuns(20).filter((r) => r.status !== 'draft');
        const pick = await vscode.window.showQuickPick(runs.map((r) => ({ label: r.goal, description: r.status, id: r.id })), { title: 'Hyperion: Open Run Summary', placeHolder: 'Summary of which run?' });
        if (!pick) return;
        runId = pick.id;
      }
      await openRunSummary(runId);
    })),
  ];
}
