import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A content block the scripted model answers with. */
export type ScriptedBlock = { type: 'text'; text: string } | { type: 'tool_use'; name: string; input: Record<string, unknown> };

export interface AgentTurn {
  /** The agent's working directory, from its system prompt ("Primary working directory: …", Copilot: "Current working directory: …"). */
  cwd: string;
  /** How many tool results the conversation carries so far: where the script stands. */
  toolResults: number;
  body: Record<string, unknown>;
}

export interface AnthropicAgentServer {
  url: string;
  /** Requests that carried tools (the agent's own turns), in order. */
  turns: AgentTurn[];
  close(): Promise<void>;
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function systemText(system: unknown): string {
  if (typeof system === 'string') return system;
  if (Array.isArray(system)) return system.map((b) => (b && typeof b.text === 'string' ? b.text : '')).join('\n');
  return '';
}

function countToolResults(messages: unknown): number {
  let n = 0;
  if (!Array.isArray(messages)) return 0;
  for (const m of messages) if (Array.isArray(m?.content)) for (const b of m.content) if (b?.type === 'tool_result') n++;
  return n;
}

/**
 * A loopback Anthropic Messages server that plays a coding agent's model for Claude Code:
 * each request that carries tools is answered with the blocks `script` gives for the turn
 * (tool calls end with stop_reason `tool_use`, text alone with `end_turn`), streamed as
 * Messages SSE, or not at all for 'hang'. Claude Code's side requests without tools get a short text answer.
 * `ANTHROPIC_BASE_URL` is `server.url` (no `/v1`).
 */
export async function startAnthropicAgentServer(script: (turn: AgentTurn) => ScriptedBlock[] | 'hang', opts: { inputTokens?: number; outputTokens?: number } = {}): Promise<AnthropicAgentServer> {
  const turns: AgentTurn[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'loopback' } }));
        return;
      }
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        /* answered below as a plain request */
      }
      if (req.url.startsWith('/v1/messages/count_tokens')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ input_tokens: 10 }));
        return;
      }
      let blocks: ScriptedBlock[] = [{ type: 'text', text: 'ok' }];
      if (Array.isArray(body.tools) && body.tools.length > 0) {
        // Claude Code says "Primary working directory", Copilot CLI "Current working directory".
        const m = /(?:Primary|Current) working directory: (.+)/.exec(systemText(body.system));
        const turn = { cwd: (m?.[1] ?? '').trim(), toolResults: countToolResults(body.messages), body };
        turns.push(turn);
        const answer = script(turn);
        // 'hang': never answer, as a model that stalls (the socket is closed with the server).
        if (answer === 'hang') return;
        blocks = answer;
      }
      const model = typeof body.model === 'string' ? body.model : 'loopback-claude';
      const usage = { input_tokens: opts.inputTokens ?? 100, output_tokens: opts.outputTokens ?? 20 };
      const content = blocks.map((b, i) => (b.type === 'text' ? b : { type: 'tool_use' as const, id: `toolu_${turns.length}_${i}`, name: b.name, input: b.input }));
      const stop = blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
      const id = `msg_loop_${turns.length}`;
      if (body.stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, type: 'message', role: 'assistant', model, content, stop_reason: stop, stop_sequence: null, usage }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(sse('message_start', { type: 'message_start', message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.input_tokens, output_tokens: 1 } } }));
      content.forEach((b, index) => {
        if (b.type === 'text') {
          res.write(sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
          res.write(sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: b.text } }));
        } else {
          res.write(sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } }));
          res.write(sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(b.input) } }));
        }
        res.write(sse('content_block_stop', { type: 'content_block_stop', index }));
      });
      res.write(sse('message_delta', { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }));
      res.end(sse('message_stop', { type: 'message_stop' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    turns,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** Claude Code's environment for a loopback server: no traffic anywhere else. */
export function claudeLoopbackEnv(url: string): Record<string, string> {
  return { ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: 'x', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1' };
}

/** The script the tests use: write a file, read it, edit it, then end with a summary. */
export function writeReadEditScript(file: string, summary: string): (turn: AgentTurn) => ScriptedBlock[] {
  return (turn) => {
    const abs = `${turn.cwd}/${file}`;
    switch (turn.toolResults) {
      case 0: return [{ type: 'text', text: `Creating ${file}.` }, { type: 'tool_use', name: 'Write', input: { file_path: abs, content: 'hello\n' } }];
      case 1: return [{ type: 'tool_use', name: 'Read', input: { file_path: abs } }];
      case 2: return [{ type: 'tool_use', name: 'Edit', input: { file_path: abs, old_string: 'hello', new_string: 'hello, edited' } }];
      default: return [{ type: 'text', text: summary }];
    }
  };
}
