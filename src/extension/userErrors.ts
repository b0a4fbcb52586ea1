import * as vscode from 'vscode';
import { assertNever } from '../engine/errors';
import { COMMANDS } from './commandIds';
import { toUserError, type ErrorAction } from './errorMessages';

/**
 * Shows an engine error as one sentence with its action buttons and runs the chosen
 * action. `retry` is offered as "Retry" when given.
 */
export async function showUserError(e: unknown, what: string, retry?: () => Promise<void> | void): Promise<void> {
  const u = toUserError(e, what, retry !== undefined);
  if (u.severity === 'info') {
    void vscode.window.setStatusBarMessage(`Hyperion: ${u.message}`, 4000);
    return;
  }
  const show = u.severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showErrorMessage;
  const choice = (await show(`Hyperion: ${u.message}`, ...u.actions)) as ErrorAction | undefined;
  switch (choice) {
    case undefined: return;
    case 'Open Log': await vscode.commands.executeCommand(COMMANDS.openLog); return;
    case 'Set API Key': await vscode.commands.executeCommand(COMMANDS.setApiKey); return;
    case 'Select Models': await vscode.commands.executeCommand(COMMANDS.selectModels); return;
    case 'Show Queue': await vscode.commands.executeCommand(COMMANDS.showQueue); return;
    case 'Retry': await retry?.(); return;
    case 'Open Folder': if (u.reveal) await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(u.reveal)); return;
    default: assertNever(choice, 'error action');
  }
}
