import * as vscode from 'vscode';
import type { SecretReader } from '../engine/ports';
import { KEYED_PROVIDERS, REDIS_PASSWORD_SECRET, type KeyedProvider } from './settings';

/** SecretStorage entry for a provider's key. */
export function secretName(provider: KeyedProvider): string {
  return `hyperion.apiKey.${provider}`;
}

/** Environment variables read when SecretStorage has no key. */
export const ENV_KEYS: Record<KeyedProvider, string[]> = {
  openai: ['OPENAI_API_KEY'],
  anthropic: ['ANTHROPIC_API_KEY'],
  'openai-compatible': ['HYPERION_OPENAI_COMPATIBLE_API_KEY', 'OPENAI_COMPATIBLE_API_KEY'],
};

/**
 * Keys come from SecretStorage first, then the environment. They are read on each call
 * (the engine caches its provider clients, so the extension restarts the engine when a key
 * changes) and never logged or written to settings.
 */
export function secretReader(storage: vscode.SecretStorage, env: NodeJS.ProcessEnv = process.env): SecretReader {
  return {
    async get(name) {
      const stored = await storage.get(secretName(name));
      if (stored) return stored;
      for (const v of ENV_KEYS[name]) if (env[v]) return env[v];
      return undefined;
    },
  };
}

/** The Set API Key command: pick a provider, type the key in a password box, store it. */
export async function setApiKey(storage: vscode.SecretStorage, preset?: KeyedProvider): Promise<KeyedProvider | undefined> {
  const provider = preset ?? (await vscode.window.showQuickPick(
    KEYED_PROVIDERS.map((p) => ({ label: p, description: p === 'openai-compatible' ? 'Ollama, LM Studio, vLLM, any OpenAI-compatible server' : undefined })),
    { title: 'Hyperion: Set API Key', placeHolder: 'Which provider is the key for?', ignoreFocusOut: true },
  ))?.label as KeyedProvider | undefined;
  if (!provider) return undefined;
  const key = await vscode.window.showInputBox({
    title: `Hyperion: API key for ${provider}`,
    prompt: 'Stored in VS Code\'s secret storage, never in settings. Leave empty to remove the stored key.',
    password: true,
    ignoreFocusOut: true,
  });
  if (key === undefined) return undefined;
  if (key.trim() === '') {
    await storage.delete(secretName(provider));
    void vscode.window.showInformationMessage(`Hyperion: removed the stored key for ${provider}.`);
  } else {
    await storage.store(secretName(provider), key.trim());
    void vscode.window.showInformationMessage(`Hyperion: saved the key for ${provider}.`);
  }
  return provider;
}

/** A password box for the Redis password, stored in SecretStorage (never in settings); empty removes it. */
export async function setRedisPassword(storage: vscode.SecretStorage): Promise<void> {
  const password = await vscode.window.showInputBox({
    title: 'Hyperion: Redis password',
    prompt: 'The password (or ACL user\'s password) of the Redis in hyperion.distributed.redisUrl. Stored in VS Code\'s secret storage, never in settings. Leave empty to remove it.',
    password: true,
    ignoreFocusOut: true,
  });
  if (password === undefined) return;
  if (password === '') {
    await storage.delete(REDIS_PASSWORD_SECRET);
    void vscode.window.showInformationMessage('Hyperion: removed the stored Redis password.');
  } else {
    // Not trimmed: a Redis password may have any characters, spaces included.
    await storage.store(REDIS_PASSWORD_SECRET, password);
    void vscode.window.showInformationMessage('Hyperion: saved the Redis password.');
  }
}
