import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Shared machinery for the loopback model servers: a script of steps (answers and faults),
 * request recording, latency simulation and clean shutdown. Servers bind 127.0.0.1:0 only.
 */
export interface Latency {
  /** Delay before the first token (streaming) or before the whole answer (non-streaming). */
  firstTokenMs?: number;
  /** Delay between streamed chunks; non-streaming answers wait perTokenMs × chunks in total. */
  perTokenMs?: number;
}

export type LoopbackStep =
  /** A normal answer. With a forced tool (Anthropic) the text is the tool input JSON. */
  | {
    type: 'reply'; text: string; usage?: { input: number; output: number }; finishReason?: string; model?: string; latency?: Latency; chunkChars?: number;
    /** Native tool calls after the text (OpenAI `tool_calls`, Anthropic `tool_use` blocks), streamed in pieces too. */
    toolCalls?: LoopbackToolCall[];
  }
  /** An HTTP error with an optional JSON body and headers (e.g. 429 with retry-after). */
  | { type: 'error'; status: number; headers?: Record<string, string>; body?: unknown }
  /** 200 with a body that is not the protocol's JSON. */
  | { type: 'garbage'; body?: string }
  /** Destroy the socket: before anything for a JSON request, after `afterChunks` chunks for a stream. */
  | { type: 'drop'; text?: string; afterChunks?: number }
  /** End a stream cleanly at the HTTP level but without its final event(s). */
  | { type: 'truncate'; text?: string; afterChunks?: number }
  /** Accept the request and never answer (until close()). */
  | { type: 'hang' };

export interface LoopbackToolCall {
  id?: string;
  name: string;
  input: unknown;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body (or the raw string if it was not JSON). */
  body: any;
}

export type LoopbackScript = LoopbackStep[] | ((req: ReceivedRequest, index: number) => LoopbackStep);

export interface LoopbackServer {
  /** Base URL to give the SDK (OpenAI: ends with /v1; Anthropic: the origin). */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: ReceivedRequest[];
  /** Append steps to an array script. */
  push(...steps: LoopbackStep[]): void;
  close(): Promise<void>;
}

export interface Responder {
  /** Writes one step as the protocol's response. */
  respond(step: LoopbackStep, req: ReceivedRequest, res: http.ServerResponse): Promise<void>;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Paces a stream at `perMs` a chunk against the clock: each call waits until its chunk is due,
 * and not at all when it is already late, so a sub-millisecond pace is kept on average.
 */
export function pacer(perMs: number): () => Promise<void> {
  const start = performance.now();
  let n = 0;
  return async () => {
    n++;
    const wait = start + n * perMs - performance.now();
    if (wait >= 1) await sleep(wait);
  };
}

/** Splits text into streamed chunks (roughly "tokens"). */
export function chunk(text: string, size = 8): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

export function startSse(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
}

export async function startLoopback(script: LoopbackScript, responder: Responder, urlSuffix: string): Promise<LoopbackServer> {
  const requests: ReceivedRequest[] = [];
  const queue = Array.isArray(script) ? [...script] : undefined;
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      const raw = Buffer.concat(parts).toString('utf8');
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        // keep the raw string
      }
      const received: ReceivedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body };
      const index = requests.length;
      requests.push(received);
      const step: LoopbackStep | undefined = queue ? queue.shift() : (script as Exclude<LoopbackScript, LoopbackStep[]>)(received, index);
      if (!step) {
        // A 4xx that no client retries: a test that runs out of script fails loudly and fast.
        sendJson(res, 418, { error: { type: 'loopback_exhausted', message: `loopback script has no step for request #${index + 1}` } });
        return;
      }
      responder.respond(step, received, res).catch(() => res.destroy());
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${urlSuffix}`,
    port,
    requests,
    push(...steps) {
      if (!queue) throw new Error('push() needs an array script');
      queue.push(...steps);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
