import { z } from 'zod';
import { EngineError, isEngineError, throwIfAborted } from '../errors';
import { applyAndDiff, readBlobsAt, treeFromFilesWithDiff } from '../git/batch';
import type { Logger } from '../ports';
import type { ChatMessage } from '../providers/types';
import { parseJsonReply, zodIssues } from './json';
import { AGENT_ACTION_SCHEMA, developerSystemPrompt, developerTaskPrompt } from './prompts';
import { boundNamedFiles } from './namedFiles';
import { createRepoTools } from './tools';
import type { AgentTask, DependencyResult, ModelClientLike } from './types';

const AgentAction = z.discriminatedUnion('action', [
  z.object({ action: z.literal('read_file'), path: z.string() }),
  z.object({ action: z.literal('list_dir'), path: z.string().default('') }),
  z.object({ action: z.literal('search'), query: z.string() }),
  z.object({
    action: z.literal('finish'),
    summary: z.string().default(''),
    files: z.array(z.object({ path: z.string(), content: z.string() })).optional(),
    deletes: z.array(z.string()).optional(),
    patch: z.string().optional(),
  }),
]);
type AgentAction = z.infer<typeof AgentAction>;

export interface DeveloperInput {
  repo: string;
  task: AgentTask;
  /** Tree (or commit) the task starts from: the run's base with its dependencies' patches applied. */
  baseTree: string;
  deps: DependencyResult[];
  client: ModelClientLike;
  /** Model replies in total, including the finishing one (`config.agentMaxSteps`). */
  maxSteps: number;
  signal: AbortSignal;
  log: Logger;
  /** Replies that were not a valid action, told to the model and retried. Default 3. */
  maxMalformed?: number;
  /** Finishing outputs that did not apply or named bad paths, told to the model and retried. Default 2. */
  maxPatchRetries?: number;
}

export interface DeveloperOutput {
  /** Canonical unified diff against `baseTree` (`git diff-tree --full-index --binary`); '' for no change. */
  patch: string;
  /** The tree `patch` leads to from `baseTree` (`baseTree` itself when the patch is empty); dependents start from it. */
  tree: string;
  summary: string;
  /** `provider/model` of the last reply. */
  model?: string;
}

/** Contents of the task's named files at its base, bounded for the prompt. One git process for all. */
async function namedFiles(repo: string, tree: string, files: string[], signal: AbortSignal): Promise<Array<{ path: string; content: string | undefined }>> {
  let contents: Array<string | undefined>;
  try {
    contents = await readBlobsAt(repo, tree, files, { signal });
  } catch (e) {
    if (isEngineError(e, 'cancelled')) throw e;
    contents = files.map(() => undefined);
  }
  return boundNamedFiles(files, contents);
}

/**
 * Runs one developer agent to completion: a bounded loop of one-JSON-object turns with
 * read-only tools over `baseTree`, ending in a patch that is guaranteed to apply to `baseTree`.
 *
 * Throws EngineError `agent/model-output` when the model keeps replying with malformed
 * actions, keeps producing patches that do not apply, or runs out of steps; `cancelled`
 * when `signal` fires; provider errors pass through unchanged.
 */
export async function runDeveloper(input: DeveloperInput): Promise<DeveloperOutput> {
  const { repo, task, baseTree, client, signal } = input;
  const maxMalformed = input.maxMalformed ?? 3;
  const maxPatchRetries = input.maxPatchRetries ?? 2;
  const tools = createRepoTools(repo, baseTree, { signal });
  const messages: ChatMessage[] = [
    { role: 'system', content: developerSystemPrompt(input.maxSteps) },
    { role: 'user', content: developerTaskPrompt(task, await namedFiles(repo, baseTree, task.files, signal), input.deps) },
  ];
  let steps = 0;
  let malformed = 0;
  let patchRetries = 0;
  let model: string | undefined;
  for (;;) {
    throwIfAborted(signal);
    const res = await client.chat(task.type, {
      messages: [...messages],
      json: { name: 'agent_action', schema: AGENT_ACTION_SCHEMA },
      signal,
      tags: { role: task.type, taskId: task.id, runId: task.runId },
    });
    model = `${res.ref.provider}/${res.ref.model}`;
    messages.push({ role: 'assistant', content: res.text });
    const parsed = parseJsonReply(res.text);
    const action = parsed.ok ? AgentAction.safeParse(parsed.value) : undefined;
    if (!parsed.ok || !action?.success) {
      malformed++;
      const why = !parsed.ok ? parsed.error : `the JSON is not a valid action (${zodIssues(action!.error!)})`;
      if (malformed > maxMalformed) throw new EngineError('agent/model-output', `the model kept replying with invalid actions: ${why}`);
      messages.push({ role: 'user', content: `Error: ${why}. Reply with exactly one JSON object as described.` });
      continue;
    }
    steps++;
    const a: AgentAction = action.data;
    if (a.action === 'finish') {
      const out = await finishToPatch(repo, baseTree, a, signal);
      if (out.ok) return { patch: out.patch, tree: out.tree, summary: a.summary, model };
      patchRetries++;
      if (patchRetries > maxPatchRetries) throw new EngineError('agent/model-output', `the model's change could not be used: ${out.error}`);
      messages.push({ role: 'user', content: `Your change was not accepted: ${out.error}. Fix it and finish again (or use "files" with whole file contents).` });
      continue;
    }
    if (steps >= input.maxSteps) throw new EngineError('agent/model-output', `the agent did not finish within ${input.maxSteps} steps`);
    const result = await runTool(tools, a);
    const last = steps + 1 >= input.maxSteps ? '\nThis is your last reply: you must finish now.' : '';
    messages.push({ role: 'user', content: `${result}${last}` });
  }
}

async function runTool(tools: ReturnType<typeof createRepoTools>, a: Exclude<AgentAction, { action: 'finish' }>): Promise<string> {
  try {
    switch (a.action) {
      case 'read_file':
        return `Contents of ${a.path}:\n${await tools.readFile(a.path)}`;
      case 'list_dir':
        return `Entries of ${a.path === '' ? '(root)' : a.path}:\n${await tools.listDir(a.path)}`;
      case 'search':
        return `Matches for ${JSON.stringify(a.query)}:\n${await tools.search(a.query)}`;
    }
  } catch (e) {
    if (isEngineError(e, 'cancelled')) throw e;
    if (isEngineError(e, 'agent/')) return `Tool error: ${e.message}`;
    throw e;
  }
}

type FinishAction = Extract<AgentAction, { action: 'finish' }>;

/** Turns a finish action into a canonical diff against `baseTree`, or a reason for the model. */
async function finishToPatch(repo: string, baseTree: string, a: FinishAction, signal: AbortSignal): Promise<{ ok: true; patch: string; tree: string } | { ok: false; error: string }> {
  const hasFiles = (a.files?.length ?? 0) > 0 || (a.deletes?.length ?? 0) > 0;
  const hasPatch = a.patch !== undefined && a.patch.trim() !== '';
  if (hasFiles && hasPatch) return { ok: false, error: 'give either "files"/"deletes" or "patch", not both' };
  try {
    if (hasFiles) {
      const entries = [...(a.files ?? []).map((f) => ({ path: f.path, content: f.content as string | null })), ...(a.deletes ?? []).map((p) => ({ path: p, content: null }))];
      const seen = new Set<string>();
      for (const e of entries) {
        if (seen.has(e.path)) return { ok: false, error: `"${e.path}" is named twice` };
        seen.add(e.path);
        if (e.path.split('/')[0]?.toLowerCase() === '.git') return { ok: false, error: `"${e.path}" is inside .git` };
      }
      return { ok: true, ...(await treeFromFilesWithDiff(repo, baseTree, entries, { signal })) };
    }
    if (hasPatch) {
      const r = await applyAndDiff(repo, baseTree, a.patch!, { signal });
      if (!r.ok) return { ok: false, error: `the patch does not apply: ${r.error}` };
      return r;
    }
    return { ok: true, patch: '', tree: baseTree };
  } catch (e) {
    if (isEngineError(e, 'patch/')) return { ok: false, error: e.message };
    throw e;
  }
}
