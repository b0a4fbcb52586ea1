import type http from 'node:http';
import { chunk, pacer, sendJson, sleep, startLoopback, startSse, type LoopbackScript, type LoopbackServer, type LoopbackStep, type ReceivedRequest } from './common';

/**
 * A loopback Anthropic Messages server (`POST /v1/messages`), JSON and SSE (`message_start`,
 * `content_block_start`, `content_block_delta` with `text_delta` or — when the request forces a
 * tool — `input_json_delta`, `content_block_stop`, `message_delta`, `message_stop`).
 * Give `server.url` to the SDK as `baseURL`.
 */
export function startAnthropicServer(script: LoopbackScript): Promise<LoopbackServer> {
  return startLoopback(script, { respond }, '');
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

async function respond(step: LoopbackStep, req: ReceivedRequest, res: http.ServerResponse): Promise<void> {
  const stream = req.body?.stream === true;
  const forcedTool: string | undefined = req.body?.tool_choice?.type === 'tool' ? req.body.tool_choice.name : undefined;
  const model = (step.type === 'reply' && step.model) || req.body?.model || 'loopback-claude';
  const id = `msg_loop${Math.random().toString(36).slice(2, 10)}`;
  const start = (inputTokens: number) =>
    sse('message_start', {
      type: 'message_start',
      message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: 1 } },
    });
  const blockStart = () =>
    sse('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: forcedTool ? { type: 'tool_use', id: 'toolu_loop', name: forcedTool, input: {} } : { type: 'text', text: '' },
    });
  const delta = (s: string) =>
    sse('content_block_delta', {
      type: 'content_block_delta',
      index: 0,
      delta: forcedTool ? { type: 'input_json_delta', partial_json: s } : { type: 'text_delta', text: s },
    });

  switch (step.type) {
    case 'error':
      sendJson(res, step.status, step.body ?? { type: 'error', error: { type: 'loopback_error', message: `loopback error ${step.status}` } }, step.headers);
      return;
    case 'garbage':
      res.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' });
      res.end(step.body ?? (stream ? 'event: message_start\ndata: {not json\n\n' : '<html>definitely not json'));
      return;
    case 'hang':
      return;
    case 'drop':
    case 'truncate': {
      if (!stream) {
        res.socket?.destroy();
        return;
      }
      startSse(res);
      const parts = chunk(step.text ?? '{"partial": "answer that never ends"}');
      res.write(start(50));
      res.write(blockStart());
      const n = Math.min(step.afterChunks ?? 2, parts.length);
      for (let i = 0; i < n; i++) res.write(delta(parts[i]));
      await sleep(20);
      if (step.type === 'drop') res.socket?.destroy();
      else res.end();
      return;
    }
    case 'reply': {
      const parts = chunk(step.text, step.chunkChars);
      const input = step.usage?.input ?? 100;
      const output = step.usage?.output ?? parts.length;
      const calls = (step.toolCalls ?? []).map((c, i) => ({ id: c.id ?? `toolu_loop_${i}`, name: c.name, input: c.input }));
      const stopReason = step.finishReason ?? (forcedTool || calls.length > 0 ? 'tool_use' : 'end_turn');
      const first = step.latency?.firstTokenMs ?? 0;
      const per = step.latency?.perTokenMs ?? 0;
      const argParts = calls.map((c) => chunk(JSON.stringify(c.input), step.chunkChars ?? 16));
      if (!stream) {
        await sleep(first + per * (parts.length + argParts.reduce((n, a) => n + a.length, 0)));
        let toolInput: unknown = step.text;
        if (forcedTool) {
          try {
            toolInput = JSON.parse(step.text);
          } catch {
            // A model that writes non-JSON tool input: pass the string through as the input.
          }
        }
        sendJson(res, 200, {
          id, type: 'message', role: 'assistant', model,
          content: forcedTool
            ? [{ type: 'tool_use', id: 'toolu_loop', name: forcedTool, input: toolInput }]
            : [...(step.text || calls.length === 0 ? [{ type: 'text', text: step.text }] : []), ...calls.map((c) => ({ type: 'tool_use', ...c }))],
          stop_reason: stopReason, stop_sequence: null,
          usage: { input_tokens: input, output_tokens: output },
        });
        return;
      }
      startSse(res);
      if (first) await sleep(first);
      res.write(start(input));
      res.write(blockStart());
      for (let i = 0; i < parts.length; i++) {
        if (i > 0 && per) await sleep(per);
        res.write(delta(parts[i]));
      }
      res.write(sse('content_block_stop', { type: 'content_block_stop', index: 0 }));
      const paced = pacer(per);
      for (let i = 0; i < calls.length; i++) {
        const c = calls[i]!;
        res.write(sse('content_block_start', { type: 'content_block_start', index: i + 1, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } }));
        for (const piece of argParts[i]!) {
          await paced();
          res.write(sse('content_block_delta', { type: 'content_block_delta', index: i + 1, delta: { type: 'input_json_delta', partial_json: piece } }));
        }
        res.write(sse('content_block_stop', { type: 'content_block_stop', index: i + 1 }));
      }
      res.write(sse('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: output } }));
      res.end(sse('message_stop', { type: 'message_stop' }));
      return;
    }
  }
}
