import fs from 'node:fs';
import path from 'node:path';
import type { EngineConfig } from '../../config';
import { EngineError, throwIfAborted } from '../../errors';
import type { Logger } from '../../ports';
import { jsonAsToolCall } from '../../providers/toolFallback';
import type { ChatMessage, ToolResult } from '../../providers/types';
import { BUILTIN_DEVELOPER, type AgentHarness, type HarnessInput, type HarnessResult } from '../harness';
import { boundNamedFiles } from '../namedFiles';
import type { ModelClientLike } from '../types';
import { decideCommand } from './allowList';
import { runToolCall, type ToolState } from './dispatch';
import { toolDeveloperSystemPrompt, toolDeveloperTaskPrompt } from './prompts';
import { DEVELOPER_TOOLS } from './toolSpecs';
import { DEFAULT_WORKSPACE_LIMITS, Workspace } from './workspace';

/**
 * The built-in developer as a coding agent (issue 11): a loop of model turns with native tool
 * calls (or their one-JSON-object fallback, chosen by the provider) over the task's files. It
 * edits files, runs allowed commands and the task's check, and ends with `finish`.
 *
 * Given a lazy worktree (`input.lazyWorktree`, as `runHarnessTask` gives it), it reads the
 * task's base tree from git objects and keeps its edits in memory, so a task that runs nothing
 * never waits for a checkout; the first command checks the tree out with the edits on it (a
 * task with a check starts that checkout in the background at once), and the change is handed
 * back as `change`. Given a plain worktree, it works there and `runHarnessTask` captures the
 * worktree's difference, as for any agent. Either way policy, review and the queue see the same.
 */
export interface ToolDeveloperDeps {
  /** The user's checkout (its node_modules is lent to the worktree while commands run). */
  repo: string;
  client: ModelClientLike;
  config: EngineConfig;
  log: Logger;
  /** The plan's per-task check command, if it has one. */
  verify?: string;
}

const MAX_TRANSCRIPT = 200_000;
/** Replies without a tool call, told to the model, before the task fails. */
const MAX_TOOLLESS = 3;
const CHANGING_TOOLS = new Set(['edit_file', 'write_file', 'delete_file']);

export function toolDeveloperHarness(deps: ToolDeveloperDeps): AgentHarness {
  return { name: BUILTIN_DEVELOPER, run: (input) => runToolDeveloper(deps, input) };
}

function packageScripts(text: string | undefined): string[] {
  try {
    const pkg = JSON.parse(text ?? '') as { scripts?: Record<string, unknown> };
    return Object.keys(pkg.scripts ?? {});
  } catch {
    return [];
  }
}

/**
 * The task's check: the plan's `verify` when the allow list takes it (it is model text from
 * the planner), else the configured `checkCommand` (the user's own, trusted like the queue's).
 */
export function taskCheckCommand(deps: Pick<ToolDeveloperDeps, 'config' | 'verify' | 'log'>, scripts: readonly string[]): string | undefined {
  if (deps.verify) {
    const d = decideCommand(deps.verify, { packageScripts: scripts, extra: deps.config.agent.allowedCommands, checkCommand: deps.config.checkCommand });
    if (d.allowed) return deps.verify;
    deps.log.warn('the plan\'s verify command is not on the allow list; using the configured check', { verify: deps.verify, reason: d.reason });
  }
  return deps.config.checkCommand;
}

/** Lends the checkout's node_modules to the worktree (tests need it), never captured: removed before the harness returns. */
function lendDependencies(repo: string, dir: string): () => void {
  const source = path.join(repo, 'node_modules');
  const target = path.join(dir, 'node_modules');
  try {
    if (!fs.statSync(source).isDirectory() || fs.existsSync(target)) return () => {};
    fs.symlinkSync(source, target, 'dir');
  } catch {
    return () => {};
  }
  return () => {
    try {
      if (fs.lstatSync(target).isSymbolicLink()) fs.rmSync(target, { force: true });
    } catch {
      // already gone
    }
  };
}

async function runToolDeveloper(deps: ToolDeveloperDeps, input: HarnessInput): Promise<HarnessResult> {
  const { task, signal } = input;
  const { config, client } = deps;
  const lazy = input.lazyWorktree;
  // A task with a check will run it: its checkout starts now, while the model writes.
  if (lazy && (deps.verify || config.checkCommand)) lazy.start();
  let unlend = () => {};
  // Dependencies are lent for the commands only: a checkout made later, to read the change, must not hold them.
  let turnsOver = false;
  // A raised maxPatchBytes raises what the developer may write; below the default, the patch policy says no.
  const wsOptions = { protectedPaths: config.protectedPaths, signal, limits: { maxWriteBytes: Math.max(DEFAULT_WORKSPACE_LIMITS.maxWriteBytes, config.maxPatchBytes) } };
  const ws = lazy
    ? new Workspace({
      lazy,
      onMaterialized: (dir) => {
        if (!turnsOver) unlend = lendDependencies(deps.repo, dir);
      },
    }, wsOptions)
    : new Workspace(input.worktree, wsOptions);
  const [pkg, ...named] = await Promise.all(['package.json', ...task.files].map((p) => ws.namedFile(p)));
  const scripts = packageScripts(pkg);
  const checkCommand = taskCheckCommand(deps, scripts);
  const maxSteps = config.agent.maxSteps;
  const transcript: string[] = [];
  let transcriptChars = 0;
  const note = (s: string) => {
    transcript.push(s);
    transcriptChars += s.length;
    while (transcriptChars > MAX_TRANSCRIPT && transcript.length > 1) transcriptChars -= transcript.shift()!.length;
  };
  const state: ToolState = {
    ws,
    allow: { checkCommand, packageScripts: scripts, extra: config.agent.allowedCommands },
    checkCommand,
    checkInShell: checkCommand !== undefined && checkCommand === config.checkCommand,
    timeoutMs: config.agent.commandTimeoutMs,
    signal,
    dirty: false,
    edited: false,
    verification: undefined,
    failedFinishes: 0,
    onOutput: (text) => input.onEvent({ type: 'output', stream: 'stdout', text }),
    onProgress: (text) => input.onEvent({ type: 'progress', text }),
  };
  const messages: ChatMessage[] = [
    { role: 'system', content: toolDeveloperSystemPrompt({ maxSteps, checkCommand }) },
    { role: 'user', content: toolDeveloperTaskPrompt(task, boundNamedFiles(task.files, named), input.deps) },
  ];
  const usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
  let model: string | undefined;
  let toolless = 0;
  if (!lazy) unlend = lendDependencies(deps.repo, input.worktree);
  let result: HarnessResult;
  try {
    result = await turns();
  } finally {
    turnsOver = true;
    unlend();
  }
  // The lent dependencies are gone before the change is read, so they are never part of it.
  return lazy ? { ...result, change: await ws.change(lazy.baseTree) } : result;

  async function turns(): Promise<HarnessResult> {
    for (let step = 1; step <= maxSteps; step++) {
      throwIfAborted(signal);
      const res = await client.chat(task.type, {
        messages: [...messages],
        tools: DEVELOPER_TOOLS,
        stream: true,
        onDelta: (d) => {
          if (d.kind === 'text') input.onEvent({ type: 'output', stream: 'stdout', text: d.text });
          else input.onEvent({ type: 'progress', text: `calling ${d.name}` });
        },
        signal,
        tags: { role: task.type, taskId: task.id, runId: task.runId },
      });
      model = `${res.ref.provider}/${res.ref.model}`;
      usage.inputTokens += res.usage.inputTokens;
      usage.outputTokens += res.usage.outputTokens;
      usage.costUsd += res.costUsd;
      // Some compatible servers take `tools` but let the model answer in text: a JSON call in the text counts.
      const calls = res.toolCalls?.length ? res.toolCalls : (jsonAsToolCall(res, DEVELOPER_TOOLS).toolCalls ?? []);
      if (res.text.trim()) note(`assistant: ${res.text.trim()}`);
      const last = step + 1 === maxSteps ? '\nYou have one reply left: call finish in it.' : '';
      if (calls.length === 0) {
        if (++toolless > MAX_TOOLLESS) throw new EngineError('agent/model-output', `the model kept answering without calling a tool (${MAX_TOOLLESS + 1} replies)`);
        // Some APIs refuse an empty assistant turn.
        messages.push({ role: 'assistant', content: res.text.trim() ? res.text : '(no answer)' });
        messages.push({ role: 'user', content: `Answer by calling a tool; call finish with a summary when the subtask is done.${last}` });
        continue;
      }
      messages.push({ role: 'assistant', content: res.text, toolCalls: calls });
      const results: ToolResult[] = [];
      let finished: { summary: string } | undefined;
      let failedChange: string | undefined;
      for (const call of calls) {
        if (finished) {
          results.push({ callId: call.id, name: call.name, content: 'not run: the task had finished', isError: true });
          continue;
        }
        // The model has not seen that error: finishing now would hand in a change it did not mean.
        if (call.name === 'finish' && failedChange) {
          results.push({ callId: call.id, name: call.name, content: `not finished: ${failedChange} failed earlier in this reply; read its error, fix it, then finish again`, isError: true });
          continue;
        }
        // Each tool call counts as the agent printing something, so a long run of silent tool turns is not taken for a stall.
        input.onEvent({ type: 'output', stream: 'stdout', text: `[${call.name}]\n` });
        const answer = await runToolCall(state, call);
        note(`${call.name} ${JSON.stringify(call.input).slice(0, 500)}\n→ ${answer.isError ? 'error: ' : ''}${answer.content.slice(0, 2000)}`);
        results.push({ callId: call.id, name: call.name, content: answer.content, isError: answer.isError || undefined });
        if (answer.finish) finished = answer.finish;
        if (answer.isError && CHANGING_TOOLS.has(call.name)) failedChange ??= call.name;
      }
      if (finished) {
        return { summary: finished.summary, usage, transcript: transcript.join('\n'), model, ...(state.verification ? { verification: state.verification } : {}) };
      }
      messages.push({ role: 'user', content: last, toolResults: results });
    }
    throw new EngineError('agent/model-output', `the agent did not finish within ${maxSteps} steps`);
  }
}
