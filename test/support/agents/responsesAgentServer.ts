import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the scripted model answers with: a shell command to run, or a final message. */
export type ResponsesStep = { type: 'shell'; script: string } | { type: 'message'; text: string } | { type: 'error'; status: number; message: string };

export interface ResponsesTurn {
  /** How many tool outputs the conversation carries so far: where the script stands. */
  toolOutputs: number;
  /** The names of the tools the agent offered. */
  tools: string[];
  body: Record<string, unknown>;
}

export interface ResponsesAgentServer {
  /** The provider's base URL, with `/v1`. */
  url: string;
  turns: ResponsesTurn[];
  close(): Promise<void>;
}

function sse(data: Record<string, unknown>): string {
  return `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
}

function toolName(t: unknown): string {
  const o = t as { name?: string; function?: { name?: string } };
  return o?.name ?? o?.function?.name ?? '';
}

/**
 * A loopback OpenAI Responses API server (`POST /v1/responses`, SSE) that plays Codex's model:
 * each request is answered with the step `script` gives for the turn. A shell step becomes a
 * call of whichever shell tool Codex offers (`shell` takes an argv, `exec_command` a line).
 */
export async function startResponsesAgentServer(script: (turn: ResponsesTurn) => ResponsesStep): Promise<ResponsesAgentServer> {
  const turns: ResponsesTurn[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.startsWith('/v1/responses')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `loopback: no ${req.method} ${req.url}` } }));
        return;
      }
      const body = JSON.parse(raw || '{}') as Record<string, unknown>;
      const input = Array.isArray(body.input) ? (body.input as { type?: string }[]) : [];
      const tools = Array.isArray(body.tools) ? body.tools.map(toolName) : [];
      const turn = { toolOutputs: input.filter((i) => i?.type === 'function_call_output' || i?.type === 'custom_tool_call_output').length, tools, body };
      turns.push(turn);
      const step = script(turn);
      const n = turns.length;
      if (step.type === 'error') {
        res.writeHead(step.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: step.message, type: 'invalid_request_error' } }));
        return;
      }
      let item: Record<string, unknown>;
      if (step.type === 'message') {
        item = { type: 'message', id: `msg_${n}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: step.text, annotations: [] }] };
      } else if (tools.includes('shell')) {
        item = { type: 'function_call', id: `fc_${n}`, call_id: `call_${n}`, name: 'shell', arguments: JSON.stringify({ command: ['bash', '-lc', step.script] }), status: 'completed' };
      } else {
        item = { type: 'function_call', id: `fc_${n}`, call_id: `call_${n}`, name: 'exec_command', arguments: JSON.stringify({ cmd: step.script }), status: 'completed' };
      }
      const id = `resp_${n}`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(sse({ type: 'response.created', response: { id } }));
      res.write(sse({ type: 'response.output_item.added', output_index: 0, item }));
      res.write(sse({ type: 'response.output_item.done', output_index: 0, item }));
      res.end(sse({ type: 'response.completed', response: { id, usage: { input_tokens: 100, input_tokens_details: { cached_tokens: 0 }, output_tokens: 20, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 120 } } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    turns,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
