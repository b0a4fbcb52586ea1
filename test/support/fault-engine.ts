import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Engine, RunnablePlan, TaskView } from '../../src/engine/api';
import { EngineConfig } from '../../src/engine/config';
import { createEngine, type CreateEngineOptions } from '../../src/engine/engine';
import type { Logger } from '../../src/engine/ports';
import { startAnthropicServer } from './loopback/anthropic';
import type { LoopbackScript, LoopbackServer, LoopbackStep, ReceivedRequest } from './loopback/common';
import { testSecrets } from './loopback/client';
import { startOpenAIServer } from './loopback/openai';
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import { makeRepo, type TempRepo } from './queue-repo';
import { replyFor } from './tool-answers';

/**
 * Harness for whole-engine fault tests: a real repository, a real on-disk store, the real
 * SDK clients talking HTTP to a loopback model server (through a socket-tracking proxy),
 * and a model script that answers the developer/reviewer protocol correctly unless a
 * fault function says otherwise for a given request.
 */
export type Protocol = 'openai' | 'anthropic';

export interface ModelRequest {
  /** 0-based arrival order. */
  index: number;
  role: 'developer' | 'reviewer' | 'planner';
  /** The plan task the request is for (parsed from "# Subtask <id>:"). */
  taskId: string | undefined;
  /** How many earlier requests had the same role and task. */
  nth: number;
  at: number;
}

/** Returns a fault step for a request, or undefined to answer it normally. */
export type FaultRule = (r: ModelRequest) => LoopbackStep | undefined;

export function describeModelRequest(body: unknown): Pick<ModelRequest, 'role' | 'taskId'> {
  const text = JSON.stringify(body ?? '');
  const role = text.includes('You review one proposed change') ? 'reviewer' : text.includes('careful software developer') ? 'developer' : 'planner';
  const m = /# Subtask ([A-Za-z0-9._-]+):/.exec(text);
  return { role, taskId: m?.[1] };
}

/** The developer's finishing turn for a task of `threeTaskPlan`-style plans. */
export function finishFor(taskId: string): string {
  return JSON.stringify({ action: 'finish', summary: `wrote ${taskId}`, files: [{ path: `out/${taskId}.txt`, content: `${taskId} done\n` }] });
}

export const APPROVE = JSON.stringify({ verdict: 'approve', comments: 'fine' });

export interface ModelScript {
  script: LoopbackScript;
  requests: ModelRequest[];
}

export function modelScript(fault: FaultRule = () => undefined): ModelScript {
  const requests: ModelRequest[] = [];
  const seen = new Map<string, number>();
  const script = (req: ReceivedRequest, index: number): LoopbackStep => {
    const { role, taskId } = describeModelRequest(req.body);
    const key = `${role}:${taskId}`;
    const nth = seen.get(key) ?? 0;
    seen.set(key, nth + 1);
    const r: ModelRequest = { index, role, taskId, nth, at: Date.now() };
    requests.push(r);
    const f = fault(r);
    if (f) return f;
    if (role === 'reviewer') return { type: 'reply', text: APPROVE };
    if (role === 'developer' && taskId) return replyFor(req.body, finishFor(taskId));
    return { type: 'error', status: 400, body: { error: { message: 'the fault script has no planner answer' } } };
  };
  return { script, requests };
}

export interface ModelEndpoint {
  protocol: Protocol;
  server: LoopbackServer;
  proxy: FaultProxy;
  requests: ModelRequest[];
  /** Base URL for the provider config (through the proxy). */
  baseUrl: string;
  close(): Promise<void>;
}

export async function startModel(protocol: Protocol, fault?: FaultRule): Promise<ModelEndpoint> {
  const ms = modelScript(fault);
  const server = protocol === 'openai' ? await startOpenAIServer(ms.script) : await startAnthropicServer(ms.script);
  const proxy = await startFaultProxy(server.port);
  return {
    protocol,
    server,
    proxy,
    requests: ms.requests,
    baseUrl: proxy.url(protocol === 'openai' ? '/v1' : ''),
    async close() {
      await proxy.close();
      await server.close();
    },
  };
}

/** A config routing every role to `endpoint`, with fast retries and a short call timeout. */
export function faultConfig(endpoint: ModelEndpoint | undefined, over: Partial<Record<string, unknown>> = {}): EngineConfig {
  const protocol = endpoint?.protocol ?? 'openai';
  return EngineConfig.parse({
    providers: { [protocol]: { baseUrl: endpoint?.baseUrl ?? 'http://127.0.0.1:9/v1' } },
    routes: { default: [{ provider: protocol, model: 'm' }] },
    timeoutMs: 3000,
    maxRetries: 2,
    concurrency: 3,
    taskTimeoutMs: 30_000,
    agentMaxSteps: 4,
    ...over,
  });
}

export function plainTask(id: string, dependsOn: string[] = []): RunnablePlan['tasks'][number] {
  return { id, title: `task ${id}`, type: 'code_gen', prompt: `write out/${id}.txt`, acceptanceCriteria: [], dependsOn, files: [`out/${id}.txt`] };
}

/** Three independent tasks, so one task's fault cannot hold the others back. */
export function threeTaskPlan(): RunnablePlan {
  return { goal: 'write three files', rationale: '', confidence: 0.9, questions: [], assumptions: [], tasks: ['t1', 't2', 't3'].map((id) => plainTask(id)) };
}

/** A logger that keeps warnings and errors (shown when a test fails). */
export function keepingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (msg: string, data?: Record<string, unknown>) => void lines.push(`${level} ${msg} ${data ? JSON.stringify(data).slice(0, 400) : ''}`);
  return { lines, trace() {}, debug() {}, info() {}, warn: keep('warn'), error: keep('error') };
}

export interface EngineHarness {
  engine: Engine;
  repo: TempRepo;
  stateDir: string;
  log: ReturnType<typeof keepingLogger>;
  cleanup(): Promise<void>;
}

export async function openHarness(config: EngineConfig, extra: Partial<CreateEngineOptions> = {}): Promise<EngineHarness> {
  const repo = makeRepo({ 'README.md': 'hello\n' });
  const stateDir = extra.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hyperion-'));
  const log = keepingLogger();
  const engine = await createEngine({ repo: repo.dir, config, ports: { log, secrets: testSecrets }, ...extra, stateDir });
  return {
    engine,
    repo,
    stateDir,
    log,
    async cleanup() {
      await engine.dispose().catch(() => undefined);
      repo.cleanup();
      if (!extra.stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Rejects after `ms` so a stuck run fails the test instead of hanging it. */
export function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** `id=status (error)` for assertion messages. */
export function taskLine(tasks: TaskView[]): string {
  return tasks.map((t) => `${t.id}=${t.status}${t.error ? ` (${t.error})` : ''}`).join(', ');
}

/** True for a clear one-sentence error: non-empty, one line, not too long. */
export function isOneSentence(s: string | undefined): boolean {
  return typeof s === 'string' && s.trim().length > 0 && !s.includes('\n') && s.length <= 500;
}
