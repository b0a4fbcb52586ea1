import type http from 'node:http';
import { chunk, pacer, sendJson, sleep, startLoopback, startSse, type LoopbackScript, type LoopbackServer, type LoopbackStep, type ReceivedRequest } from './common';

/**
 * A loopback OpenAI Chat Completions server (`POST /v1/chat/completions`), JSON and SSE
 * (`data: {...}` chunks, a usage chunk when `stream_options.include_usage`, then `data: [DONE]`).
 * Give `server.url` to the SDK as `baseURL`.
 */
export function startOpenAIServer(script: LoopbackScript): Promise<LoopbackServer> {
  return startLoopback(script, { respond }, '/v1');
}

async function respond(step: LoopbackStep, req: ReceivedRequest, res: http.ServerResponse): Promise<void> {
  const stream = req.body?.stream === true;
  const model = (step.type === 'reply' && step.model) || req.body?.model || 'loopback-model';
  const id = `chatcmpl-loop${Math.random().toString(36).slice(2, 10)}`;
  const created = Math.floor(Date.now() / 1000);
  const frame = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

  switch (step.type) {
    case 'error':
      sendJson(res, step.status, step.body ?? { error: { message: `loopback error ${step.status}`, type: 'loopback', code: null } }, step.headers);
      return;
    case 'garbage':
      res.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' });
      res.end(step.body ?? (stream ? 'data: {not json at all\n\n' : '<html>definitely not json'));
      return;
    case 'hang':
      return; // never answer; close() tears the socket down
    case 'drop':
    case 'truncate': {
      if (!stream) {
        res.socket?.destroy();
        return;
      }
      startSse(res);
      const parts = chunk(step.text ?? '{"partial": "answer that never ends"}');
      const n = Math.min(step.afterChunks ?? 2, parts.length);
      res.write(frame({ role: 'assistant', content: '' }, null));
      for (let i = 0; i < n; i++) res.write(frame({ content: parts[i] }, null));
      await sleep(20);
      if (step.type === 'drop') res.socket?.destroy();
      else res.end();
      return;
    }
    case 'reply': {
      const parts = chunk(step.text, step.chunkChars);
      const usage = { prompt_tokens: step.usage?.input ?? 100, completion_tokens: step.usage?.output ?? parts.length, total_tokens: (step.usage?.input ?? 100) + (step.usage?.output ?? parts.length) };
      const calls = (step.toolCalls ?? []).map((c, i) => ({ id: c.id ?? `call_loop_${i}`, type: 'function' as const, function: { name: c.name, arguments: JSON.stringify(c.input) } }));
      const finish = step.finishReason ?? (calls.length > 0 ? 'tool_calls' : 'stop');
      const first = step.latency?.firstTokenMs ?? 0;
      const per = step.latency?.perTokenMs ?? 0;
      // Tool-call arguments are output too: they take the same time per chunk as text.
      const argParts = calls.map((c) => chunk(c.function.arguments, step.chunkChars ?? 16));
      if (!stream) {
        await sleep(first + per * (parts.length + argParts.reduce((n, a) => n + a.length, 0)));
        sendJson(res, 200, {
          id, object: 'chat.completion', created, model,
          choices: [{ index: 0, message: { role: 'assistant', content: step.text, refusal: null, ...(calls.length > 0 ? { tool_calls: calls } : {}) }, finish_reason: finish, logprobs: null }],
          usage,
        });
        return;
      }
      startSse(res);
      if (first) await sleep(first);
      res.write(frame({ role: 'assistant', content: '' }, null));
      for (let i = 0; i < parts.length; i++) {
        if (i > 0 && per) await sleep(per);
        res.write(frame({ content: parts[i] }, null));
      }
      // Each call: a first piece with id and name, then its arguments in chunks, paced against
      // a clock (a timer per chunk would take ≥ 1 ms each and stretch short per-token delays).
      const paced = pacer(per);
      for (let i = 0; i < calls.length; i++) {
        const c = calls[i]!;
        res.write(frame({ tool_calls: [{ index: i, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }] }, null));
        for (const piece of argParts[i]!) {
          await paced();
          res.write(frame({ tool_calls: [{ index: i, function: { arguments: piece } }] }, null));
        }
      }
      res.write(frame({}, finish));
      if (req.body?.stream_options?.include_usage) {
        res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`);
      }
      res.end('data: [DONE]\n\n');
      return;
    }
  }
}
