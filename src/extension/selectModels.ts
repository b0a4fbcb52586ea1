import * as vscode from 'vscode';
import { detectAgents, type DetectedAgent } from '../engine/agents/detect';
import type { AgentConfig } from '../engine/config';
import { MODEL_SETTING_ROLES, parseRouteRef, settingsToEngineConfig, withoutWorkspaceValues } from './settings';
import { agentPickItems, agentSelection, agentsApplyTo } from './viewmodel/agentPicks';

interface ModelPick extends vscode.QuickPickItem { value?: string[]; action?: 'enter' | 'clear'; agent?: DetectedAgent }

/**
 * The agents whose binaries detection may run: those of the open engine (whose settings the
 * user confirmed), else the user's own `hyperion.agents` — never an unconfirmed workspace value.
 */
function trustedAgents(current: Record<string, AgentConfig> | undefined): Record<string, AgentConfig> | undefined {
  if (current) return current;
  const cfg = vscode.workspace.getConfiguration('hyperion');
  return settingsToEngineConfig(withoutWorkspaceValues((k) => cfg.get(k), (k) => cfg.inspect(k))).config.agents;
}

/**
 * Select Models: pick a role (or `default`), then a VS Code language model, a coding agent
 * (found on PATH or configured, with its version; task types only), a typed `provider:model`
 * list (first is used, the rest are fallbacks), or "use default". Writes
 * `hyperion.models.<role>` in the user settings (workspace settings when one is set there);
 * an agent found on PATH but not configured is added to the user's `hyperion.agents`.
 */
export async function selectModelsCommand(configuredAgents?: Record<string, AgentConfig>): Promise<void> {
  const cfg = vscode.workspace.getConfiguration('hyperion');
  const role = await vscode.window.showQuickPick(
    MODEL_SETTING_ROLES.map((r) => {
      const current = cfg.get<string[]>(`models.${r}`) ?? [];
      return { label: r, description: current.length > 0 ? current.join(' → ') : r === 'default' ? 'built-in route' : 'uses default' };
    }),
    { title: 'Hyperion: Select Models', placeHolder: 'Choose the role to set models for', ignoreFocusOut: true },
  );
  if (!role) return;
  const items = async (): Promise<ModelPick[]> => {
    const [lmModels, agents] = await Promise.all([
      vscode.lm.selectChatModels().then((ms) => ms, () => []),
      agentsApplyTo(role.label) ? detectAgents({ agents: trustedAgents(configuredAgents) }) : Promise.resolve([]),
    ]);
    const sep = (label: string): ModelPick => ({ label, kind: vscode.QuickPickItemKind.Separator });
    return [
      ...(lmModels.length > 0 ? [sep('VS Code language models')] : []),
      ...lmModels.map((m) => ({ label: `$(copilot) ${m.name}`, description: `vscode-lm:${m.id}`, detail: `${m.vendor} · ${m.family} · no API key needed`, value: [`vscode-lm:${m.id}`] })),
      ...(agents.length > 0 ? [sep('Coding agents (run the task in a worktree of their own)')] : []),
      ...agentPickItems(agents).map((a) => ({ label: a.label, description: a.description, detail: a.detail, agent: a.agent })),
      sep(''),
      { label: '$(edit) Enter provider:model…', description: 'e.g. openai:gpt-4.1, anthropic:claude-sonnet-4-5, openai-compatible:llama3.1, agent:claude', action: 'enter' },
      { label: '$(discard) Use the default', description: role.label === 'default' ? 'built-in route' : 'hyperion.models.default', action: 'clear' },
    ];
  };
  const pick = await vscode.window.showQuickPick(items(), { title: `Hyperion: models for ${role.label}`, placeHolder: 'The first model is used; typed lists can add fallbacks', ignoreFocusOut: true, matchOnDescription: true });
  if (!pick) return;
  let value: string[] | undefined = pick.value;
  if (pick.agent) {
    const chosen = agentSelection(pick.agent);
    if ('problem' in chosen) {
      void vscode.window.showInformationMessage(`Hyperion: ${chosen.problem}`);
      return;
    }
    if (chosen.addAgent) {
      const own = (cfg.inspect<Record<string, unknown>>('agents')?.globalValue ?? {});
      await cfg.update('agents', { ...own, [chosen.addAgent.name]: chosen.addAgent.entry }, vscode.ConfigurationTarget.Global);
    }
    value = [chosen.route];
  }
  if (pick.action === 'enter') {
    const typed = await vscode.window.showInputBox({
      title: `Hyperion: models for ${role.label}`,
      prompt: 'provider:model or agent:<name>, comma-separated for fallbacks (providers: openai, anthropic, openai-compatible, vscode-lm)',
      value: (cfg.get<string[]>(`models.${role.label}`) ?? []).join(', '),
      ignoreFocusOut: true,
      validateInput: (v) => {
        const bad = v.split(',').map((s) => s.trim()).filter((s) => s && !parseRouteRef(s));
        return bad.length > 0 ? `Not provider:model or agent:<name>: ${bad.join(', ')}` : undefined;
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
