import type { Migration } from './types';

/**
 * Versioned schema. Append new migrations at the end; never edit a released one.
 * Times are integer milliseconds since the epoch. JSON columns are TEXT.
 */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'runs, plans, tasks, attempts, model calls, change requests, queue, events',
    sql: `
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  goal TEXT NOT NULL,
  repo TEXT NOT NULL,
  base_commit TEXT,
  target_ref TEXT,
  status TEXT NOT NULL,            -- planning | running | paused | done | failed | cancelled
  approve TEXT NOT NULL DEFAULT 'none',
  cost_usd REAL NOT NULL DEFAULT 0,
  error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE plans (
  run_id TEXT PRIMARY KEY REFERENCES runs(id),
  plan_json TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE tasks (
  run_id TEXT NOT NULL REFERENCES runs(id),
  id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  title TEXT NOT NULL,
  type TEXT NOT NULL,
  prompt TEXT NOT NULL,
  acceptance_json TEXT NOT NULL,
  depends_json TEXT NOT NULL,
  files_json TEXT NOT NULL,
  route_json TEXT,
  status TEXT NOT NULL,            -- pending | ready | running | proposed | approved | rejected | merged | failed | skipped | cancelled
  result_summary TEXT,
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER,
  finished_at INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, id)
);
CREATE INDEX tasks_updated ON tasks(updated_at);
CREATE TABLE attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  status TEXT NOT NULL,            -- running | ok | error
  error_category TEXT,             -- transient | model-output | permanent | cancelled
  error TEXT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX attempts_task ON attempts(run_id, task_id);
CREATE TABLE model_calls (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT,
  task_id TEXT,
  role TEXT NOT NULL,
  cache_key TEXT,                  -- hash of the request; a finished call is never paid for twice
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cost_usd REAL NOT NULL DEFAULT 0,
  response_text TEXT,
  duration_ms INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX model_calls_key ON model_calls(cache_key);
CREATE TABLE change_requests (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  base_commit TEXT NOT NULL,
  patch TEXT NOT NULL,
  files_json TEXT NOT NULL,
  excluded_files_json TEXT NOT NULL DEFAULT '[]',
  summary TEXT NOT NULL DEFAULT '',
  model TEXT,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cost_usd REAL NOT NULL DEFAULT 0,
  review_verdict TEXT,             -- approve | request_changes | null
  review_comments TEXT,
  needs_explicit_approval INTEGER NOT NULL DEFAULT 0,
  policy_json TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL,            -- proposed | approved | rejected | queued | merged | failed | superseded | reverted
  error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX change_requests_task ON change_requests(run_id, task_id);
CREATE TABLE queue_entries (
  id TEXT PRIMARY KEY,
  change_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'land',  -- land | revert
  target_ref TEXT NOT NULL,
  state TEXT NOT NULL,             -- queued | checking | landing | merged | conflicted | failed | quarantined | rejected | reverted | blocked
  seq INTEGER NOT NULL,            -- approval order
  depends_json TEXT NOT NULL DEFAULT '[]',
  lease_owner TEXT,
  lease_expires_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  proposal_commit TEXT,
  candidate_commit TEXT,
  landed_commit TEXT,
  old_tip TEXT,
  repairs_json TEXT NOT NULL DEFAULT '[]',
  conflict_paths_json TEXT NOT NULL DEFAULT '[]',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX queue_state ON queue_entries(state, seq);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,             -- user | agent | queue | planner | system
  kind TEXT NOT NULL,              -- e.g. task/state, queue/state, change/proposed
  run_id TEXT,
  task_id TEXT,
  subject_id TEXT,                 -- change id or queue entry id
  from_state TEXT,
  to_state TEXT,
  reason TEXT,
  data_json TEXT
);
CREATE INDEX events_run ON events(run_id, id);
CREATE INDEX events_subject ON events(subject_id, id);
`,
  },
  {
    version: 2,
    description: 'index model calls by task, for per-task usage sums',
    sql: `CREATE INDEX model_calls_task ON model_calls(run_id, task_id);`,
  },
  {
    version: 3,
    description: 'check command output per landing attempt; the paths a blocked queue entry waits on',
    sql: `
ALTER TABLE queue_entries ADD COLUMN blocked_paths_json TEXT NOT NULL DEFAULT '[]';
CREATE TABLE check_outputs (
  entry_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,         -- queue_entries.attempts when the check ran
  command TEXT NOT NULL,
  exit_code INTEGER,               -- null: killed (timeout) or could not start
  timed_out INTEGER NOT NULL DEFAULT 0,
  output TEXT NOT NULL,            -- head and tail of stdout+stderr, at most ~1 MB
  truncated INTEGER NOT NULL DEFAULT 0,
  failing_json TEXT NOT NULL DEFAULT '[]',
  duration_ms INTEGER,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (entry_id, attempt)
);
`,
  },
  {
    version: 4,
    description: 'bind approvals to the approved patch; keep every version of a regenerated change',
    sql: `
ALTER TABLE change_requests ADD COLUMN approved_patch_hash TEXT;
ALTER TABLE change_requests ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
CREATE TABLE change_versions (
  change_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  base_commit TEXT NOT NULL,
  patch TEXT NOT NULL,
  approved_patch_hash TEXT,
  replaced_at INTEGER NOT NULL,
  reason TEXT,
  PRIMARY KEY (change_id, version)
);
`,
  },
  {
    version: 5,
    description: 'coding-agent transcripts, one per task attempt (bounded), for history',
    sql: `
CREATE TABLE task_transcripts (
  run_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,        -- tasks.attempts when the agent ran
  agent TEXT NOT NULL,
  transcript TEXT NOT NULL,        -- head and tail of what the agent printed, at most ~256 KB
  truncated INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, task_id, attempt)
);
`,
  },
  {
    version: 6,
    description: 'partial acceptance by hunks; review comments and change requests',
    sql: `
ALTER TABLE change_requests ADD COLUMN partly_accepted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE change_versions ADD COLUMN rejected_patch TEXT;
CREATE TABLE change_comments (
  id TEXT PRIMARY KEY,
  change_id TEXT NOT NULL,
  version INTEGER NOT NULL,          -- the version the comment was written on
  path TEXT,                         -- null: on the whole change
  line INTEGER,                      -- 1-based in the proposed file; null: on the whole file
  body TEXT NOT NULL,
  author TEXT NOT NULL,              -- 'user' or 'reviewer'
  created_at INTEGER NOT NULL,
  sent_in_version INTEGER,           -- the version whose request sent it to the agent
  answered_in_version INTEGER,       -- the version the agent made from it
  answer TEXT                        -- the agent's summary of that version
);
CREATE INDEX change_comments_by_change ON change_comments (change_id, created_at);
`,
  },
  {
    version: 7,
    description: 'which worker ran each attempt of a task that ran on workers (issue 13)',
    sql: `
CREATE TABLE worker_runs (
  run_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,        -- the task's attempt (attempts.n) the job belongs to
  job_id TEXT NOT NULL,
  seq INTEGER NOT NULL,            -- 1 for the first worker that took the job, 2 after a stall…
  worker TEXT NOT NULL,
  host TEXT NOT NULL,
  status TEXT NOT NULL,            -- running | ok | error | stalled
  error TEXT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  PRIMARY KEY (job_id, seq)
);
CREATE INDEX worker_runs_task ON worker_runs (run_id, task_id);
`,
  },
  {
    version: 8,
    description: "the built-in developer's tool calls per model call; the result of a change's own check in its worktree",
    sql: `
ALTER TABLE model_calls ADD COLUMN tool_calls_json TEXT;
ALTER TABLE change_requests ADD COLUMN verification_json TEXT;
`,
  },
  {
    version: 9,
    description: 'which process drives each run, so another process neither requeues nor resumes it',
    sql: `
ALTER TABLE runs ADD COLUMN runner TEXT;  -- <host>:<pid>/<token> while a loop runs it (runs/runner.ts)
`,
  },
];
