import * as vscode from 'vscode';
import { canonicalJson, contentHash } from '../engine/configTrust';
import type { Logger } from '../engine/ports';
import { withoutWorkspaceValues, workspaceRiskySettings } from './settings';

/** globalState key: hashes of workspace setting values the user confirmed (outside any repository). */
const TRUSTED_KEY = 'hyperion.trustedWorkspaceSettings';
const USE = 'Use These Settings';
const IGNORE = 'Ignore Them';

function shown(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 300 ? `${s.slice(0, 299)}…` : s;
}

/**
 * The `hyperion.*` settings reader the engine is built from. When the workspace (a file in
 * the repository, which a patch can change) sets a risky setting — the check command, a base
 * URL that would receive the API key, protected paths, the target branch, automatic approval,
 * the coding agents and the default agent —
 * and the user has not confirmed these exact values before, a modal shows them and asks.
 * Confirmed values are remembered by hash in the extension's global state; ignored (or
 * dismissed) values are left out and the user's own settings apply, so nothing a patch wrote
 * takes effect without the user seeing it.
 */
export async function trustedSettingsReader(memento: vscode.Memento, log: Logger): Promise<(key: string) => unknown> {
  const cfg = vscode.workspace.getConfiguration('hyperion');
  const read = (key: string) => cfg.get(key);
  const inspect = (key: string) => cfg.inspect(key);
  const values = workspaceRiskySettings(inspect);
  const keys = Object.keys(values);
  if (keys.length === 0) return read;
  const hash = contentHash(canonicalJson(values));
  const trusted = memento.get<string[]>(TRUSTED_KEY, []);
  if (trusted.includes(hash)) return read;
  const safe = withoutWorkspaceValues(read, inspect);
  // Never throws: when asking or remembering fails, the values stay unconfirmed.
  const choice = await vscode.window.showWarningMessage(
    'This workspace\'s settings change what Hyperion runs or where it sends your API key. Use them?',
    {
      modal: true,
      detail: `These values come from the workspace (.vscode/settings.json), which a patch can change:\n\n${keys.map((k) => `${k} = ${shown(values[k])}`).join('\n')}\n\n"${IGNORE}" uses your user settings for these instead.`,
    },
    USE,
    IGNORE,
  ).then((c) => c, () => undefined);
  if (choice === USE) {
    try {
      await memento.update(TRUSTED_KEY, [...trusted, hash]);
    } catch (e) {
      log.warn('could not remember the confirmed workspace settings; they apply now and will be asked again', { error: String(e) });
    }
    log.info('workspace settings confirmed by the user', { keys });
    return read;
  }
  log.warn('workspace values of Hyperion settings were not confirmed; using user settings for them', { keys });
  return safe;
}
