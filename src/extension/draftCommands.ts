import * as vscode from 'vscode';
import type { DraftEdit, DraftView, Engine } from '../engine/api';
import { describeError } from '../engine/errors';
import type { Logger } from '../engine/ports';
import type { EngineHost } from './engineHost';
import { followRun, signalFor } from './planTask';
import { draftFields, fieldEdit } from './viewmodel/draft';
import type { CommandTarget } from './viewmodel/nodes';
import type { ReviewNotice } from './viewmodel/reviewNotice';

/**
 * The draft-plan commands: edit a task's fields, add and remove tasks and dependencies, and
 * Start Run. Each edit goes to the engine (`editDraft`), which validates it at once; a cycle
 * stays in the draft and is drawn red in the graph, any other invalid edit is refused and
 * shown as one sentence by the caller's `guarded`.
 */

/** The draft a command is about: from its argument, else a pick over the drafts. */
export async function resolveDraft(engine: Engine, t: CommandTarget): Promise<DraftView | undefined> {
  if (t.runId) {
    const d = engine.getDraft(t.runId);
    if (!d) void vscode.window.showInformationMessage('Hyperion: that run has started; only a draft plan can be edited or started.');
    return d;
  }
  const drafts = engine.listRuns(30).filter((r) => r.status === 'draft');
  if (drafts.length === 0) {
    void vscode.window.showInformationMessage('Hyperion: there is no draft plan. Plan Task makes one when hyperion.planReview asks for it.');
    return undefined;
  }
  if (drafts.length === 1) return engine.getDraft(drafts[0].id);
  const pick = await vscode.window.showQuickPick(drafts.map((r) => ({ label: r.goal, description: `${r.tasks.length} tasks`, id: r.id })), { title: 'Hyperion', placeHolder: 'Which draft plan?' });
  return pick ? engine.getDraft(pick.id) : undefined;
}

/**
 * Applies an edit and, when the draft is now invalid (a cycle), says what to fix. `fromGraph`:
 * the graph already shows the error beside the red edges, so no notification goes stale there.
 */
async function apply(engine: Engine, runId: string, edit: DraftEdit, fromGraph = false): Promise<void> {
  const draft = await engine.editDraft(runId, edit);
  if (draft.errors.length > 0 && !fromGraph) {
    void vscode.window.showWarningMessage(`Hyperion: the draft cannot start yet: ${draft.errors.join('; ')}. Delete a red edge in the Task Graph (or Remove Dependency) to fix it.`);
  }
}

async function pickTask(draft: DraftView, placeHolder: string, exclude: string[] = []): Promise<string | undefined> {
  const pick = await vscode.window.showQuickPick(
    draft.plan.tasks.filter((t) => !exclude.includes(t.id)).map((t) => ({ label: t.id, description: t.title })),
    { title: 'Hyperion: Draft Plan', placeHolder, ignoreFocusOut: true },
  );
  return pick?.label;
}

/** Edit Task: pick a field (or a dependency action), type the new value, store it. */
export async function editDraftTask(engine: Engine, t: CommandTarget): Promise<void> {
  const draft = await resolveDraft(engine, t);
  if (!draft) return;
  const taskId = t.taskId ?? (await pickTask(draft, 'Edit which task?'));
  const task = draft.plan.tasks.find((x) => x.id === taskId);
  if (!task || !taskId) return;
  const fields = draftFields(task);
  const actions = [
    ...fields.map((f) => ({ label: f.label, description: f.value.slice(0, 80) || '(none)', field: f, action: undefined })),
    { label: 'Add Dependency…', description: 'this task waits for another', field: undefined, action: 'link' as const },
    { label: 'Remove Dependency…', description: task.dependsOn.join(', ') || '(none)', field: undefined, action: 'unlink' as const },
    { label: 'Remove Task', description: 'also removes it from other tasks’ dependencies', field: undefined, action: 'remove' as const },
  ];
  const choice = await vscode.window.showQuickPick(actions, { title: `Edit ${task.id}: ${task.title.slice(0, 80)}`, placeHolder: 'What do you want to change?', ignoreFocusOut: true });
  if (!choice) return;
  if (choice.action === 'remove') return apply(engine, draft.runId, { kind: 'task/remove', taskId });
  if (choice.action === 'link') {
    const from = await pickTask(draft, `${taskId} waits for which task?`, [taskId, ...task.dependsOn]);
    if (from) await apply(engine, draft.runId, { kind: 'dependency/add', from, to: taskId });
    return;
  }
  if (choice.action === 'unlink') {
    const pick = await vscode.window.showQuickPick(task.dependsOn, { title: 'Hyperion: Draft Plan', placeHolder: `${taskId} no longer waits for…` });
    if (pick) await apply(engine, draft.runId, { kind: 'dependency/remove', from: pick, to: taskId });
    return;
  }
  const field = choice.field!;
  let typed: string | undefined;
  if (field.kind === 'choice') {
    typed = (await vscode.window.showQuickPick([...(field.choices ?? [])], { title: `${task.id}: ${field.label}`, placeHolder: field.value }));
  } else {
    typed = await vscode.window.showInputBox({
      title: `${task.id}: ${field.label}`,
      value: field.value,
      prompt: field.kind === 'list' ? (field.key === 'files' ? 'Comma-separated repository paths' : 'Separate criteria with ";"') : field.kind === 'optional' ? 'Leave empty for none' : undefined,
      ignoreFocusOut: true,
    });
  }
  if (typed === undefined) return;
  await apply(engine, draft.runId, { kind: 'task/update', taskId, fields: fieldEdit(field, typed) });
}

/** Add Task: asks for a title (and, optionally, what it waits for). */
export async function addDraftTask(engine: Engine, t: CommandTarget): Promise<void> {
  const draft = await resolveDraft(engine, t);
  if (!draft) return;
  const title = await vscode.window.showInputBox({ title: 'Hyperion: Add Task', prompt: 'The new task’s title (its prompt starts as the title; edit it after)', ignoreFocusOut: true, validateInput: (v) => (v.trim() ? undefined : 'A task needs a title.') });
  if (!title) return;
  await apply(engine, draft.runId, { kind: 'task/add', task: { title: title.trim() } });
}

export async function removeDraftTask(engine: Engine, t: CommandTarget): Promise<void> {
  const draft = await resolveDraft(engine, t);
  if (!draft) return;
  const taskId = t.taskId ?? (await pickTask(draft, 'Remove which task?'));
  if (taskId) await apply(engine, draft.runId, { kind: 'task/remove', taskId });
}

/** From the graph: `to` waits for `from`, or no longer does. */
export async function linkDraftTasks(engine: Engine, runId: string, from: string, to: string, link: boolean): Promise<void> {
  await apply(engine, runId, link ? { kind: 'dependency/add', from, to } : { kind: 'dependency/remove', from, to }, true);
}

/** Start Run: refuses a draft with errors (one sentence), else runs it with the usual progress. */
export async function startDraftRun(host: EngineHost, log: Logger, notice: ReviewNotice, t: CommandTarget): Promise<void> {
  const engine = await host.get();
  const draft = await resolveDraft(engine, t);
  if (!draft) return;
  if (draft.errors.length > 0) {
    void vscode.window.showWarningMessage(`Hyperion: the draft cannot start: ${draft.errors.join('; ')}`);
    return;
  }
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Hyperion', cancellable: true }, async (progress, token) => {
    const cancel = signalFor(token);
    try {
      progress.report({ message: `Starting ${draft.plan.tasks.length} tasks…` });
      const started = await engine.startDraft(draft.runId, { signal: cancel.signal, approve: host.autoApprove ? 'all' : 'none' });
      await followRun(engine, started, { progress, signal: cancel.signal, log, notice });
    } catch (e) {
      log.error('starting the draft failed', { runId: draft.runId, error: describeError(e) });
      throw e;
    } finally {
      cancel.dispose();
    }
  });
}
