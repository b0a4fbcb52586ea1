import * as vscode from 'vscode';
import type { ChatMessage, LanguageModelPort } from '../engine/providers/types';

/**
 * VS Code's language-model API (`vscode.lm`) as the engine's `LanguageModelPort`, so a
 * user with such a model (e.g. Copilot) needs no key. System messages become user
 * messages: the API has no system role.
 */
export const vscodeLanguageModels: LanguageModelPort = {
  async listModels() {
    const models = await vscode.lm.selectChatModels();
    return models.map((m) => ({ id: m.id, vendor: m.vendor, family: m.family, name: m.name }));
  },
  async sendRequest(modelId: string, messages: ChatMessage[], signal?: AbortSignal) {
    const [model] = await vscode.lm.selectChatModels({ id: modelId });
    if (!model) throw new Error(`no VS Code language model with id "${modelId}"`);
    const source = new vscode.CancellationTokenSource();
    const onAbort = () => source.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const msgs = messages.map((m) =>
        m.role === 'assistant' ? vscode.LanguageModelChatMessage.Assistant(m.content) : vscode.LanguageModelChatMessage.User(m.content));
      const response = await model.sendRequest(msgs, {}, source.token);
      let text = '';
      for await (const chunk of response.text) text += chunk;
      const count = (s: string) => Promise.resolve(model.countTokens(s)).catch(() => undefined);
      const inputTokens = await count(messages.map((m) => m.content).join('\n'));
      const outputTokens = await count(text);
      return { text, inputTokens, outputTokens };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      source.dispose();
    }
  },
};
