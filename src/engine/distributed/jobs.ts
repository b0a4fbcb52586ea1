import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EngineError } from '../errors';
import { git } from '../git/exec';

/**
 * What travels through Redis, checked with zod at both ends (a job or a result is data from
 * another machine). A job carries the task, never a key, a URL with a password or a config:
 * each worker runs the named agent with its own configuration and credentials.
 */
export const AgentJob = z.object({
  v: z.literal(1),
  /** The coordinator's repository identity (`repoIdentity`); a worker refuses another. */
  repoId: z.string().min(1),
  runId: z.string().min(1),
  taskId: z.string().min(1),
  attempt: z.number().int().min(1),
  agent: z.string().min(1),
  model: z.string().optional(),
  /** The ref on the shared remote that holds `baseCommit`. */
  baseRef: z.string().startsWith('refs/hyperion/'),
  baseCommit: z.string().regex(/^[0-9a-f]{40,64}$/),
  baseTree: z.string().regex(/^[0-9a-f]{40,64}$/),
  /** Where the worker pushes its result commit. */
  resultRef: z.string().startsWith('refs/hyperion/'),
  task: z.object({
    runId: z.string(), id: z.string(), title: z.string(), type: z.string(), prompt: z.string(),
    acceptanceCriteria: z.array(z.string()), dependsOn: z.array(z.string()), files: z.array(z.string()),
  }),
  deps: z.array(z.object({ taskId: z.string(), title: z.string(), summary: z.string(), patch: z.string() })),
});
export type AgentJob = z.infer<typeof AgentJob>;

export const AgentJobResult = z.object({
  v: z.literal(1),
  resultCommit: z.string().regex(/^[0-9a-f]{40,64}$/),
  summary: z.string(),
  model: z.string(),
  /** The tail of what the agent printed. */
  transcript: z.string(),
  usage: z.object({ inputTokens: z.number(), outputTokens: z.number(), costUsd: z.number().nullable() }).nullable(),
  worker: z.string(),
  host: z.string(),
});
export type AgentJobResult = z.infer<typeof AgentJobResult>;

/** What a worker reports (job progress) when it starts a job: who runs it. */
export const JobStart = z.object({ worker: z.string(), host: z.string(), startedAt: z.number() });
export type JobStart = z.infer<typeof JobStart>;

/**
 * The queue of one agent for one repository: workers of another project, or without the
 * agent, never see the job. (BullMQ queue names may not contain ':'.)
 */
export function agentQueueName(repoId: string, agent: string): string {
  const repoKey = createHash('sha256').update(repoId).digest('hex').slice(0, 12);
  return `hyperion-${repoKey}-agent-${agent.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

function refSegment(id: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : `h-${createHash('sha256').update(id).digest('hex').slice(0, 16)}`;
}

/** The refs of one attempt of a task on the shared remote. */
export function taskRefs(runId: string, taskId: string, attempt: number): { base: string; result: string } {
  const dir = `refs/hyperion/tasks/${refSegment(runId)}/${refSegment(taskId)}/${attempt}`;
  return { base: `${dir}/base`, result: `${dir}/result` };
}

/** One job per attempt of a task: adding it again (a coordinator restart, a reconnect) is a no-op. */
export function agentJobId(runId: string, taskId: string, attempt: number): string {
  return `${refSegment(runId)}.${refSegment(taskId)}.${attempt}`;
}

/**
 * A repository's identity: its root commits (sorted). Clones of one project share them, and
 * another project has others, so a worker can refuse a job meant for a different repository
 * without any configuration. Throws `git/…` for an empty repository.
 */
export async function repoIdentity(repo: string, signal?: AbortSignal): Promise<string> {
  // A clone of a remote whose HEAD names a branch without commits has no HEAD commit: say so, not git's "ambiguous argument".
  const head = await git(['rev-parse', '--verify', '-q', 'HEAD^{commit}'], { cwd: repo, signal, check: false });
  if (head.code !== 0) {
    const branch = (await git(['symbolic-ref', '-q', '--short', 'HEAD'], { cwd: repo, signal, check: false })).stdout.trim();
    throw new EngineError('git/bad-rev', `${repo} has no commit checked out${branch ? ` (its branch ${branch} has no commit yet)` : ''}: clone a remote that has the project's commits, or check out one of its branches`);
  }
  const r = await git(['rev-list', '--max-parents=0', 'HEAD'], { cwd: repo, signal });
  const roots = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
  return roots.join(',');
}

/**
 * A merge-queue check of one candidate commit. The worker runs its OWN `checkCommand`: the job
 * names the coordinator's only so a worker configured differently refuses instead of passing
 * a candidate with another check. Nothing in Redis is ever run as a command.
 */
export const CheckJob = z.object({
  v: z.literal(1),
  repoId: z.string().min(1),
  commit: z.string().regex(/^[0-9a-f]{40,64}$/),
  ref: z.string().startsWith('refs/hyperion/'),
  command: z.string().min(1),
  timeoutMs: z.number().int().positive(),
});
export type CheckJob = z.infer<typeof CheckJob>;

export const CheckJobResult = z.object({
  v: z.literal(1),
  ok: z.boolean(),
  reason: z.string().optional(),
  exitCode: z.number().nullable(),
  timedOut: z.boolean(),
  durationMs: z.number(),
  output: z.string(),
  truncated: z.boolean(),
  failingLines: z.array(z.string()),
  worker: z.string(),
});
export type CheckJobResult = z.infer<typeof CheckJobResult>;

export function checkQueueName(repoId: string): string {
  return `hyperion-${createHash('sha256').update(repoId).digest('hex').slice(0, 12)}-checks`;
}

/** Where a candidate is pushed for a check (kept per commit: the same candidate is checked once per lease). */
export function checkRef(commit: string): string {
  return `refs/hyperion/checks/${commit}`;
}
