import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { EngineError, throwIfAborted } from '../errors';
import { providerError } from './errors';
import type { ChatProvider, ChatRequest, ChatResponse, ToolCall } from './types';

/**
 * Recorded-response provider: answers from a JSON file of recorded exchanges so the demo and
 * tests run without a network or a key. It never pretends to be a vendor: every response
 * says provider `'recorded'`.
 *
 * File format (version 1):
 * ```json
 * { "version": 1, "exchanges": [
 *   { "match": { "role": "planner", "taskId": "t1", "contains": "retry" },
 *     "response": { "text": "…" } | { "json": { … } } | { "toolCalls": [{ "name": "edit_file", "input": { … } }], "text": "…" },
 *     "usage": { "inputTokens": 1200, "outputTokens": 300 }, "model": "recorded-planner" } ] }
 * ```
 * Matching: an exchange applies when every field of its `match` equals the request's
 * `tags.role` / `tags.taskId` and `contains` is a substring of the last user message (its text
 * and the tool results it carries). The most specific applicable exchanges win (most match
 * fields). When several equally specific ones share the same `match`, they are a sequence: the
 * n-th such request gets the n-th answer, and the last one repeats.
 *
 * Tool calls (added to version 1; older files read the same): a `toolCalls` answer is one model
 * turn of native tool calls, with optional text beside it. It is served only to requests that
 * offer `tools`, and a request that offers tools gets one when any applies (else a text/json
 * answer, as before), so one file can answer both the tool developer and the whole-file one
 * for the same task. Text/json answers and tool-call answers keep separate sequences. Call ids
 * are `recorded_<turn>_<n>`: the turn of the conversation (its assistant messages plus one)
 * and the call's place in it, so a replay gives the same ids. A call to a tool the request
 * does not offer is `usage/bad-recording`, naming the file and the exchange.
 */
const Match = z.object({ role: z.string().optional(), taskId: z.string().optional(), contains: z.string().optional() });
const RecordedToolCall = z.object({ name: z.string().min(1), input: z.record(z.string(), z.unknown()).default({}) }).strict();
const ToolCallsResponse = z.object({ toolCalls: z.array(RecordedToolCall).min(1), text: z.string().optional() }).strict();
const Exchange = z.object({
  match: Match.default({}),
  // A `toolCalls` answer is tried first and the others refuse the key, so a malformed one is reported, never stripped.
  response: z.union([ToolCallsResponse, z.object({ text: z.string(), toolCalls: z.undefined().optional() }), z.object({ json: z.unknown(), toolCalls: z.undefined().optional() })], { error: 'expected { "text": … }, { "json": … } or { "toolCalls": [{ "name", "input" }] }' }),
  usage: z.object({ inputTokens: z.number().int().nonnegative(), outputTokens: z.number().int().nonnegative() }).optional(),
  model: z.string().optional(),
});
export const Recording = z.object({ version: z.literal(1), exchanges: z.array(Exchange) });
export type Recording = z.infer<typeof Recording>;
export type RecordedExchange = z.infer<typeof Exchange>;

/**
 * The issue a reader can act on: inside a union, the branch that got furthest into the value,
 * where a key the value does not have at all counts for less than a value that is wrong.
 */
function deepestIssue(issue: z.core.$ZodIssue): { path: PropertyKey[]; message: string; depth: number } {
  let best = { path: issue.path, message: issue.message, depth: issue.path.length - (issue.code === 'invalid_type' && /received undefined/.test(issue.message) ? 1 : 0) };
  if (issue.code !== 'invalid_union') return best;
  for (const branch of issue.errors) {
    for (const i of branch) {
      const d = deepestIssue(i);
      if (issue.path.length + d.depth > best.depth) best = { path: [...issue.path, ...d.path], message: d.message, depth: issue.path.length + d.depth };
    }
  }
  return best;
}

/** Reads and validates a recording; throws `usage/bad-recording` naming the file, the exchange and the problem. */
export function loadRecording(file: string): Recording {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EngineError('usage/bad-recording', `cannot read recorded responses from ${file}: ${(e as Error).message}`, { cause: e });
  }
  const parsed = Recording.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0] ? deepestIssue(parsed.error.issues[0]) : undefined;
    const where = first && first.path[0] === 'exchanges' && typeof first.path[1] === 'number' ? `exchange ${first.path[1] + 1}: ` : '';
    throw new EngineError('usage/bad-recording', `${file} is not a recording: ${first ? `${where}${first.path.join('.')}: ${first.message}` : 'invalid'}`);
  }
  return parsed.data;
}

function specificity(x: RecordedExchange): number {
  return (x.match.role !== undefined ? 1 : 0) + (x.match.taskId !== undefined ? 1 : 0) + (x.match.contains !== undefined ? 1 : 0);
}

const isToolAnswer = (x: RecordedExchange): x is RecordedExchange & { response: z.infer<typeof ToolCallsResponse> } => 'toolCalls' in x.response && x.response.toolCalls !== undefined;

/** "exchange 4 (role code_gen, task t1)": how a person finds it in the file. */
function describeExchange(index: number, x: RecordedExchange): string {
  const m = [x.match.role && `role ${x.match.role}`, x.match.taskId && `task ${x.match.taskId}`, x.match.contains !== undefined && `contains "${x.match.contains}"`].filter(Boolean);
  return `exchange ${index + 1}${m.length ? ` (${m.join(', ')})` : ''}`;
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
    const lastUserMessage = [...req.messages].reverse().find((m) => m.role === 'user');
    const lastUser = [lastUserMessage?.content ?? '', ...(lastUserMessage?.toolResults ?? []).map((r) => r.content)].join('\n');
    const offersTools = (req.tools?.length ?? 0) > 0;
    const matching = this.recording.exchanges
      .map((x, index) => ({ x, index }))
      .filter(
        ({ x }) =>
          (x.match.role === undefined || x.match.role === req.tags?.role) &&
          (x.match.taskId === undefined || x.match.taskId === req.tags?.taskId) &&
          (x.match.contains === undefined || lastUser.includes(x.match.contains)),
      );
    const toolAnswers = offersTools ? matching.filter(({ x }) => isToolAnswer(x)) : [];
    const applicable = toolAnswers.length > 0 ? toolAnswers : matching.filter(({ x }) => !isToolAnswer(x));
    if (applicable.length === 0) {
      const onlyTools = !offersTools && matching.length > 0;
      throw providerError(
        'provider/no-recording',
        `${this.source} has no response for role "${req.tags?.role ?? '(none)'}"${req.tags?.taskId ? ` task "${req.tags.taskId}"` : ''}${onlyTools ? ': it holds only tool-call answers there, and this request offers no tools' : ''}`,
        { provider: this.kind },
      );
    }
    const best = Math.max(...applicable.map(({ x }) => specificity(x)));
    const first = applicable.find(({ x }) => specificity(x) === best)!;
    const key = JSON.stringify(first.x.match);
    const sequence = applicable.filter(({ x }) => JSON.stringify(x.match) === key);
    const cursor = `${toolAnswers.length > 0 ? 'tools' : 'text'}:${key}`;
    const n = this.cursors.get(cursor) ?? 0;
    this.cursors.set(cursor, n + 1);
    const { x, index } = sequence[Math.min(n, sequence.length - 1)];
    const chars = req.messages.reduce((k, m) => k + m.content.length, 0);
    const usage = (out: string) => x.usage ?? { inputTokens: Math.ceil(chars / 4), outputTokens: Math.ceil(out.length / 4) };
    if (isToolAnswer(x)) {
      const toolCalls = this.toolCallsOf(req, x.response.toolCalls, describeExchange(index, x));
      const text = x.response.text ?? '';
      if (req.stream && req.onDelta) {
        if (text) req.onDelta({ kind: 'text', text });
        for (const c of toolCalls) req.onDelta({ kind: 'tool-call', name: c.name });
      }
      return { text, toolCalls, usage: usage(text + JSON.stringify(x.response.toolCalls)), model: x.model ?? req.model, provider: 'recorded', finishReason: 'tool_calls' };
    }
    const text = 'text' in x.response && typeof x.response.text === 'string' ? x.response.text : (JSON.stringify((x.response as { json?: unknown }).json) ?? '');
    return { text, usage: usage(text), model: x.model ?? req.model, provider: 'recorded', finishReason: 'stop' };
  }

  /** The recorded calls with replayable ids; a tool the request does not offer means the recording is wrong, not the model. */
  private toolCallsOf(req: ChatRequest, calls: ReadonlyArray<{ name: string; input: Record<string, unknown> }>, exchange: string): ToolCall[] {
    const offered = new Set((req.tools ?? []).map((t) => t.name));
    const turn = req.messages.filter((m) => m.role === 'assistant').length + 1;
    return calls.map((c, i) => {
      if (!offered.has(c.name)) {
        throw new EngineError(
          'usage/bad-recording',
          `${this.source}, ${exchange}: calls the tool "${c.name}", which the request does not offer (it offers ${[...offered].join(', ')})`,
          { details: { transient: false } },
        );
      }
      return { id: `recorded_${turn}_${i + 1}`, name: c.name, input: c.input };
    });
  }
}
