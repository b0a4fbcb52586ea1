import * as vscode from 'vscode';
import type { ChatMessage, LanguageModelPort, ToolCall } from '../engine/providers/types';

/**
 * VS Code's language-model API (`vscode.lm`) as the engine's `LanguageModelPort`, so a
 * user with such a model (e.g. Copilot) needs no key. System messages become user
 * messages: the API has no system role. Tools go as `LanguageModelChatTool`s; the answer's
 * parts are streamed, text and tool calls alike.
 */
export const vscodeLanguageModels: LanguageModelPort = {
  async listModels() {
    const models = await vscode.lm.selectChatModels();
    return models.map((m) => ({ id: m.id, vendor: m.vendor, family: m.family, name: m.name }));
  },
  async sendRequest(modelId, messages, signal, opts) {
    const [model] = await vscode.lm.selectChatModels({ id: modelId });
    if (!model) throw new Error(`no VS Code language model with id "${modelId}"`);
    const source = new vscode.CancellationTokenSource();
    const onAbort = () => source.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const msgs = messages.map(toLmMessage);
      const tools = opts?.tools?.map((t): vscode.LanguageModelChatTool => ({ name: t.name, description: t.description, inputSchema: t.inputSchema }));
      const response = await model.sendRequest(msgs, tools?.length ? { tools } : {}, source.token);
      let text = '';
      const toolCalls: ToolCall[] = [];
      for await (const part of response.stream) {
        if (part instanceof vscode.LanguageModelTextPart) {
          text += part.value;
          opts?.onDelta?.({ kind: 'text', text: part.value });
        } else if (part instanceof vscode.LanguageModelToolCallPart) {
          toolCalls.push({ id: part.callId, name: part.name, input: part.input });
          opts?.onDelta?.({ kind: 'tool-call', name: part.name });
        }
      }
      const count = (s: string) => Promise.resolve(model.countTokens(s)).catch(() => undefined);
      const inputTokens = await count(messages.map((m) => m.content).join('\n'));
      const outputTokens = await count(text);
      return { text, inputTokens, outputTokens, ...(opts?.tools?.length ? { toolCalls } : {}) };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      source.dispose();
    }
  },
};

/** One engine message as a vscode.lm message: tool calls and results become their parts. */
function toLmMessage(m: ChatMessage): vscode.LanguageModelChatMessage {
  if (m.role === 'assistant') {
    if (!m.toolCalls?.length) return vscode.LanguageModelChatMessage.Assistant(m.content);
    const parts: Array<vscode.LanguageModelTextPart | vscode.LanguageModelToolCallPart> = m.content ? [new vscode.LanguageModelTextPart(m.content)] : [];
    for (const c of m.toolCalls) parts.push(new vscode.LanguageModelToolCallPart(c.id, c.name, (c.input && typeof c.input === 'object' ? c.input : { value: c.input }) as object));
    return vscode.LanguageModelChatMessage.Assistant(parts);
  }
  if (!m.toolResults?.length) return vscode.LanguageModelChatMessage.User(m.content);
  const parts: Array<vscode.LanguageModelTextPart | vscode.LanguageModelToolResultPart> = m.toolResults.map(
    (r) => new vscode.LanguageModelToolResultPart(r.callId, [new vscode.LanguageModelTextPart(r.isError ? `Error: ${r.content}` : r.content)]));
  if (m.content) parts.push(new vscode.LanguageModelTextPart(m.content));
  return vscode.LanguageModelChatMessage.User(parts);
}
