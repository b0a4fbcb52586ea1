/**
 * Every error code the engine and its hosts raise, each with the short title hosts show
 * when the engine's own sentence is not enough. The map is exhaustive by type: a new code
 * does not compile until it has a title here, and `ErrorCode` is derived from it.
 *
 * Families (before the slash) decide the CLI exit code: `usage`, `plan`, `request` → 2,
 * `provider` → 3, the rest → 1 (see `errorFamily`).
 */
export const ERROR_TITLES = {
  cancelled: 'cancelled',

  'agent/failed': 'the coding agent failed',
  'agent/unknown': 'no agent of that name is configured',
  'agent/stalled': 'the coding agent printed nothing for too long and was stopped',
  'agent/escaped': 'the coding agent changed files outside its worktree',
  'agent/not-installed': 'the coding agent is not installed',
  'agent/model-output': 'the agent answered in a form Hyperion cannot use',
  'agent/tool-failed': 'an agent tool failed',
  'agent/tool-not-found': 'the agent asked for a tool that does not exist',
  'agent/tool-refused': 'an agent tool refused the request',
  'agent/over-budget': 'the coding agent reached the budget and was stopped',

  'distributed/auth': 'Redis refused the password or user',
  'distributed/bad-url': 'a Redis URL Hyperion cannot use',
  'distributed/unreachable': 'Redis could not be reached',
  'distributed/job-failed': 'the task failed on a worker',
  'distributed/remote': 'the git remote could not be reached',
  'distributed/wrong-repo': "the job is for another repository than the worker's clone",
  'distributed/bad-result': 'a worker sent a result Hyperion cannot use',

  'git/bad-identity': 'git has no usable identity for the commit',
  'git/bad-output': 'git printed something Hyperion did not expect',
  'git/bad-path': 'a path git cannot take',
  'git/bad-rev': 'an unknown git revision',
  'git/failed': 'a git command failed',
  'git/merge-failed': 'git could not merge',
  'git/spawn': 'git could not be started',
  'git/unknown-rev': 'an unknown git revision',

  'patch/does-not-apply': 'the patch does not apply',
  'patch/empty': 'the patch is empty',
  'patch/malformed': 'the patch is malformed',
  'patch/outside-repo': 'the patch writes outside the repository',
  'patch/unrepairable': 'the patch cannot be repaired',

  'plan/invalid': 'the plan is invalid',
  'plan/bad-edit': 'the draft plan cannot take that edit',
  'plan/not-draft': 'the run is not a draft',

  'policy/blocked': 'the change breaks the patch policy',
  'policy/needs-approval': 'the change needs an explicit approval',
  'policy/none': 'no policy applies',
  'policy/absolute-path': 'an absolute path',
  'policy/path-escape': 'a path outside the repository',
  'policy/git-dir': "a path inside git's own folder",
  'policy/symlink': 'a symbolic link',
  'policy/gitlink': 'a submodule link',
  'policy/binary': 'a binary file',
  'policy/exec-mode': 'an executable file mode',
  'policy/size-limit': 'the change is too large',
  'policy/protected-path': 'a protected path',
  'policy/control-char': 'a control character in a path',
  'policy/backslash': 'a backslash in a path',
  'policy/path-too-long': 'a path too long for the file system',
  'policy/auto-run': 'a file that runs code on your next action',
  'policy/hyperion-config': "Hyperion's own configuration",

  'provider/rate-limited': 'the provider is rate-limiting requests',
  'provider/server': 'the provider had a server error',
  'provider/timeout': 'the provider did not answer in time',
  'provider/network': 'the provider could not be reached',
  'provider/auth': 'the provider refused the API key or none is set',
  'provider/bad-request': 'the provider refused the request',
  'provider/no-recording': 'no recorded response matches',

  'queue/already-queued': 'the change is already queued',
  'queue/bad-state': 'the queue entry cannot do that in its state',
  'queue/detached-head': 'HEAD is detached',
  'queue/lease-lost': 'another worker took the queue entry',
  'queue/landing-lock': 'another process is landing into this checkout',
  'queue/not-found': 'no such queue entry',
  'queue/not-merged': 'the change has not merged',
  'queue/worktree-update': 'the work tree could not be updated',

  'request/bad-json': 'the request file is not valid JSON',
  'request/invalid': 'the request file is invalid',
  'request/unreadable': 'the request file cannot be read',

  'schedule/dependencies-conflict': "the dependencies' changes conflict",
  'schedule/missing-dependency': 'a dependency has no change',

  'store/async-transaction': 'a store transaction was not synchronous',
  'store/bad-migrations': 'the schema migrations are out of order',
  'store/closed': 'the store is closed',
  'store/corrupt': 'the state database is damaged',
  'store/damaged': 'the state journal was damaged',
  'store/in-transaction': 'not allowed inside a transaction',
  'store/lock-lost': 'the write lock was lost',
  'store/locked': 'the state database is locked by another process',
  'store/migration-failed': 'a schema migration failed',
  'store/nondeterministic-sql': 'a write would not replay the same',
  'store/replay-failed': 'the journal could not be replayed',
  'store/too-new': 'the state was written by a newer Hyperion',
  'store/trust-unreadable': 'the trusted-config record cannot be read',
  'store/wasm-missing': "sql.js's WebAssembly file is missing",
  'store/write-failed': 'the state could not be written',

  'usage/approve': 'a bad --approve value',
  'usage/bad-plan': 'a malformed plan',
  'usage/bad-recording': 'a malformed recording file',
  'usage/bad-run': 'the run cannot be started',
  'usage/bad-state': 'not possible in its current state',
  'usage/command': 'an unknown command',
  'usage/config': 'an invalid config file',
  'usage/empty-goal': 'the goal is empty',
  'usage/extra-argument': 'an extra argument',
  'usage/flag': 'an option the command does not take',
  'usage/missing-argument': 'a missing argument',
  'usage/no-folder': 'no folder is open',
  'usage/no-provider': 'no model provider is configured',
  'usage/not-a-repo': 'not a git repository',
  'usage/nothing-left': 'nothing left to approve',
  'usage/provider': 'an unknown provider',
  'usage/queue': 'an unknown queue action',
  'usage/run-active': 'the run is still active',
  'usage/too-large': 'the input is too large',
  'usage/unknown-change': 'no such change',
  'usage/unknown-run': 'no such run',
  'usage/untrusted-config': 'the repository config was not confirmed',
  'usage/unsupported': 'not supported',
  'usage/untrusted': 'the workspace is not trusted',
  'usage/no-transcript': 'no agent transcript is stored for that task',
  'usage/unknown-hunk': 'no such hunk in the change',
  'usage/empty-comment': 'the comment is empty',
  'usage/unknown-version': 'no such version of the change',
} as const;

export type ErrorCode = keyof typeof ERROR_TITLES;
export type ErrorFamily = ErrorCode extends infer C ? (C extends `${infer F}/${string}` ? F : C) : never;

export function isErrorCode(s: string): s is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_TITLES, s);
}

export function errorFamily(code: ErrorCode): ErrorFamily {
  return (code.includes('/') ? code.slice(0, code.indexOf('/')) : code) as ErrorFamily;
}
