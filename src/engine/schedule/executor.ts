import { runHarnessTask, type HarnessTaskInput } from './runHarnessTask';

/** What a task's agent produced: the same shape wherever it ran. */
export type AgentTaskOutput = Awaited<ReturnType<typeof runHarnessTask>>;

/** One agent task to execute: the harness input plus which attempt of the task this is. */
export interface ExecutorTaskInput extends HarnessTaskInput {
  /** The task's attempt number (1-based), so a remote job is added once per attempt. */
  attempt: number;
}

/**
 * The executor port: where a task's agent runs. The scheduler keeps every state change on
 * the coordinator (attempts, the change request, policy, review, landing); an executor only
 * turns a task and its base into a patch and the tree it leads to.
 *
 * `inProcessExecutor` (the default) runs the agent here, in a worktree of this checkout. The
 * distributed one (`distributed/executor.ts`) hands the task to a worker through Redis.
 * Contract of `runAgentTask`: resolves with a patch relative to `input.base.baseTree`, or
 * throws an EngineError (a transient one, `details.transient`, is retried by the task's
 * retry policy); it stops when `input.signal` fires.
 */
export interface TaskExecutor {
  /** Shown in logs and status: "in-process", "redis://host:port". */
  readonly name: string;
  runAgentTask(input: ExecutorTaskInput): Promise<AgentTaskOutput>;
  /** Releases connections. Idempotent. */
  dispose(): Promise<void>;
}

export const inProcessExecutor: TaskExecutor = {
  name: 'in-process',
  runAgentTask: (input) => runHarnessTask(input),
  dispose: async () => {},
};
