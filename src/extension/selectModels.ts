import * as vscode from 'vscode';
import { MODEL_SETTING_ROLES, parseModelRef } from './settings';

interface ModelPick extends vscode.QuickPickItem { value?: string[]; action?: 'enter' | 'clear' }

/**
 * Select Models: pick a role (or `default`), then a VS Code language model, a typed
 * `provider:model` list (first is used, the rest are fallbacks), or "use default". Writes
 * `hyperion.models.<role>` in the user settings (workspace settings when one is set there).
 */
export async function selectModelsCommand(): Promise<void> {
  const cfg = vscode.workspace.getConfiguration('hyperion');
  const role = await vscode.window.showQuickPick(
    MODEL_SETTING_ROLES.map((r) => {
      const current = cfg.get<string[]>(`models.${r}`) ?? [];
      return { label: r, description: current.length > 0 ? current.join(' → ') : r === 'default' ? 'built-in route' : 'uses default' };
    }),
    { title: 'Hyperion: Select Models', placeHolder: 'Choose the role to set models for', ignoreFocusOut: true },
  );
  if (!role) return;
  const lmModels = await vscode.lm.selectChatModels().then((ms) => ms, () => []);
  const items: ModelPick[] = [
    ...lmModels.map((m) => ({ label: `$(copilot) ${m.name}`, description: `vscode-lm:${m.id}`, detail: `${m.vendor} · ${m.family} · no API key needed`, value: [`vscode-lm:${m.id}`] })),
    { label: '$(edit) Enter provider:model…', description: 'e.g. openai:gpt-4.1, anthropic:claude-sonnet-4-5, openai-compatible:llama3.1', action: 'enter' },
    { label: '$(discard) Use the default', description: role.label === 'default' ? 'built-in route' : 'hyperion.models.default', action: 'clear' },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: `Hyperion: models for ${role.label}`, placeHolder: 'The first model is used; typed lists can add fallbacks', ignoreFocusOut: true });
  if (!pick) return;
  let value: string[] | undefined = pick.value;
  if (pick.action === 'enter') {
    const typed = await vscode.window.showInputBox({
      title: `Hyperion: models for ${role.label}`,
      prompt: 'provider:model, comma-separated for fallbacks (providers: openai, anthropic, openai-compatible, vscode-lm)',
      value: (cfg.get<string[]>(`models.${role.label}`) ?? []).join(', '),
      ignoreFocusOut: true,
      validateInput: (v) => {
        const bad = v.split(',').map((s) => s.trim()).filter((s) => s && !parseModelRef(s));
        return bad.length > 0 ? `Not provider:model: ${bad.join(', ')}` : undefined;
      },
    });
    if (typed === undefined) return;
    value = typed.split(',').map((s) => s.trim()).filter(Boolean);
  }
  if (pick.action === 'clear') value = undefined;
  const inspect = cfg.inspect(`models.${role.label}`);
  const target = inspect?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await cfg.update(`models.${role.label}`, value, target);
  void vscode.window.showInformationMessage(`Hyperion: ${role.label} uses ${value && value.length > 0 ? value.join(' → ') : 'the default route'}.`);
}
