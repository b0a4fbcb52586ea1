import { isEngineError } from '../errors';
import { openCallScope } from './callScope';
import { providerError } from './errors';
import { NativeTools, rejectsTools } from './toolFallback';
import type { ChatMessage, ChatProvider, ChatRequest, ChatResponse, LanguageModelPort } from './types';

/**
 * Adapts VS Code's language-model API (through `LanguageModelPort`, implemented by the
 * extension) to `ChatProvider`. vscode.lm has no structured-output mode, so JSON requests
 * carry the schema in the prompt and code fences are stripped from the answer. Token counts
 * the port does not report are estimated at 4 characters per token.
 *
 * Tools go to the port as `LanguageModelChatTool`s; a model that refuses them gets the
 * one-JSON-object-per-turn protocol from then on (toolFallback.ts).
 */
export class VscodeLmChatProvider implements ChatProvider {
  readonly kind = 'vscode-lm' as const;

  // The port throws plain errors (a LanguageModelError), classified as network errors: read the sentence.
  private readonly tools = new NativeTools(undefined, (e) => rejectsTools(e) || (isEngineError(e) && /does not support tool|tool calling is not|tools? (?:are|is) not supported/i.test(e.message)));

  constructor(private readonly port: LanguageModelPort, private readonly opts: { timeoutMs: number }) {}

  async chat(req: ChatRequest): Promise<ChatResponse> {
    return this.tools.chat(req, (r) => this.chatOnce(r));
  }

  private async chatOnce(req: ChatRequest): Promise<ChatResponse> {
    const scope = openCallScope(this.kind, req.timeoutMs ?? this.opts.timeoutMs, req.signal);
    const messages: ChatMessage[] = [...req.messages];
    if (req.json) {
      messages.push({
        role: 'user',
        content: `Reply with only one JSON object (no prose, no code fences) that matches this JSON schema:\n${JSON.stringify(req.json.schema)}`,
      });
    }
    try {
      // The port may ignore the signal; racing the scope's signal keeps timeouts and cancel honest.
      const answer = await Promise.race([
        this.port.sendRequest(req.model, messages, scope.signal, req.tools?.length ? { tools: req.tools, onDelta: req.onDelta } : { onDelta: req.onDelta }),
        new Promise<never>((_, reject) => {
          const onAbort = () => reject(scope.signal.reason);
          if (scope.signal.aborted) onAbort();
          else scope.signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
      scope.throwIfEnded();
      if (typeof answer?.text !== 'string') throw providerError('provider/server', 'the VS Code language model returned no text', { provider: this.kind });
      const text = req.json ? stripFences(answer.text) : answer.text;
      const chars = messages.reduce((n, m) => n + m.content.length, 0);
      return {
        text,
        usage: { inputTokens: answer.inputTokens ?? Math.ceil(chars / 4), outputTokens: answer.outputTokens ?? Math.ceil(answer.text.length / 4) },
        model: req.model,
        provider: this.kind,
        ...(req.tools?.length ? { toolCalls: answer.toolCalls ?? [] } : {}),
      };
    } catch (e) {
      throw scope.fail(e);
    } finally {
      scope.dispose();
    }
  }
}

/** Removes one surrounding ```json … ``` fence, which chat models add despite instructions. */
export function stripFences(text: string): string {
  const m = /^\s*```[a-zA-Z0-9_-]*\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return m ? m[1] : text.trim();
}
