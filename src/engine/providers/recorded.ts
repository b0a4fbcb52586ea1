import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { EngineError, throwIfAborted } from '../errors';
import { providerError } from './errors';
import type { ChatProvider, ChatRequest, ChatResponse } from './types';

/**
 * Recorded-response provider: answers from a JSON file of recorded exchanges so the demo and
 * tests run without a network or a key. It never pretends to be a vendor: every response
 * says provider `'recorded'`.
 *
 * File format (version 1):
 * ```json
 * { "version": 1, "exchanges": [
 *   { "match": { "role": "planner", "taskId": "t1", "contains": "retry" },
 *     "response": { "text": "…" } | { "json": { … } },
 *     "usage": { "inputTokens": 1200, "outputTokens": 300 }, "model": "recorded-planner" } ] }
 * ```
 * Matching: an exchange applies when every field of its `match` equals the request's
 * `tags.role` / `tags.taskId` and `contains` is a substring of the last user message. The most
 * specific applicable exchanges win (most match fields). When several equally specific ones
 * share the same `match`, they are a sequence: the n-th such request gets the n-th answer, and
 * the last one repeats.
 */
const Exchange = z.object({
  match: z.object({ role: z.string().optional(), taskId: z.string().optional(), contains: z.string().optional() }).default({}),
  response: z.union([z.object({ text: z.string() }), z.object({ json: z.unknown() })]),
  usage: z.object({ inputTokens: z.number().int().nonnegative(), outputTokens: z.number().int().nonnegative() }).optional(),
  model: z.string().optional(),
});
export const Recording = z.object({ version: z.literal(1), exchanges: z.array(Exchange) });
export type Recording = z.infer<typeof Recording>;
export type RecordedExchange = z.infer<typeof Exchange>;

/** Reads and validates a recording; throws `usage/bad-recording` naming the file and the problem. */
export function loadRecording(file: string): Recording {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EngineError('usage/bad-recording', `cannot read recorded responses from ${file}: ${(e as Error).message}`, { cause: e });
  }
  const parsed = Recording.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new EngineError('usage/bad-recording', `${file} is not a recording: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`);
  }
  return parsed.data;
}

function specificity(x: RecordedExchange): number {
  return (x.match.role !== undefined ? 1 : 0) + (x.match.taskId !== undefined ? 1 : 0) + (x.match.contains !== undefined ? 1 : 0);
}

export class RecordedChatProvider implements ChatProvider {
  readonly kind = 'recorded' as const;
  private readonly cursors = new Map<string, number>();

  constructor(private readonly recording: Recording, private readonly source = 'the recording') {}

  static fromFile(file: string): RecordedChatProvider {
    return new RecordedChatProvider(loadRecording(file), file);
  }

  async chat(req: ChatRequest): Promise<ChatResponse> {
    throwIfAborted(req.signal);
    const lastUser = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const applicable = this.recording.exchanges.filter(
      (x) =>
        (x.match.role === undefined || x.match.role === req.tags?.role) &&
        (x.match.taskId === undefined || x.match.taskId === req.tags?.taskId) &&
        (x.match.contains === undefined || lastUser.includes(x.match.contains)),
    );
    if (applicable.length === 0) {
      throw providerError(
        'provider/no-recording',
        `${this.source} has no response for role "${req.tags?.role ?? '(none)'}"${req.tags?.taskId ? ` task "${req.tags.taskId}"` : ''}`,
        { provider: this.kind },
      );
    }
    const best = Math.max(...applicable.map(specificity));
    const first = applicable.find((x) => specificity(x) === best)!;
    const key = JSON.stringify(first.match);
    const sequence = applicable.filter((x) => JSON.stringify(x.match) === key);
    const n = this.cursors.get(key) ?? 0;
    this.cursors.set(key, n + 1);
    const x = sequence[Math.min(n, sequence.length - 1)];
    const text = 'text' in x.response && typeof x.response.text === 'string' ? x.response.text : (JSON.stringify((x.response as { json?: unknown }).json) ?? '');
    const chars = req.messages.reduce((k, m) => k + m.content.length, 0);
    return {
      text,
      usage: x.usage ?? { inputTokens: Math.ceil(chars / 4), outputTokens: Math.ceil(text.length / 4) },
      model: x.model ?? req.model,
      provider: 'recorded',
      finishReason: 'stop',
    };
  }
}
