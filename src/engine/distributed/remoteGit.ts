import { EngineError, describeError } from '../errors';
import { git } from '../git/exec';

/** The remote's URL as git config has it, for error messages (credentials in it removed). */
async function remoteUrl(repo: string, remote: string): Promise<string> {
  const r = await git(['remote', 'get-url', remote], { cwd: repo, check: false }).catch(() => undefined);
  if (!r || r.code !== 0) return '(no such remote)';
  return r.stdout.trim().replace(/\/\/[^@/]*@/, '//***@');
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).at(-1)?.slice(0, 300) ?? '';
}

async function remoteGit(repo: string, remote: string, args: string[], what: string, signal?: AbortSignal): Promise<void> {
  let r;
  try {
    // No prompt can block a worker: a remote that asks for credentials fails instead.
    r = await git(args, { cwd: repo, signal, check: false, env: { GIT_TERMINAL_PROMPT: '0', GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes' } });
  } catch (e) {
    throw new EngineError('distributed/remote', `could not ${what} remote "${remote}" (${await remoteUrl(repo, remote)}): ${describeError(e)}`, { cause: e });
  }
  if (r.code !== 0) {
    throw new EngineError('distributed/remote', `could not ${what} remote "${remote}" (${await remoteUrl(repo, remote)}): ${lastLine(r.stderr) || `git exited with ${r.code}`}`);
  }
}

/** Pushes `commit` to `ref` on the remote (forced: a ref is one attempt's, rewritten only by a retry of it). Throws `distributed/remote`. */
export async function pushCommit(repo: string, remote: string, commit: string, ref: string, signal?: AbortSignal): Promise<void> {
  await remoteGit(repo, remote, ['push', '--quiet', '--no-verify', remote, `+${commit}:${ref}`], 'push to', signal);
}

/** Fetches `ref` from the remote into the same local ref. Throws `distributed/remote`. */
export async function fetchRef(repo: string, remote: string, ref: string, signal?: AbortSignal): Promise<void> {
  await remoteGit(repo, remote, ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', remote, `+${ref}:${ref}`], 'fetch from', signal);
}

/**
 * Deletes refs on the remote once nobody needs them (a task's base and result after its result
 * was fetched, a check's candidate after its check), so `refs/hyperion/*` does not grow with
 * every task. Throws `distributed/remote`.
 */
export async function deleteRemoteRefs(repo: string, remote: string, refs: readonly string[], signal?: AbortSignal): Promise<void> {
  if (refs.length === 0) return;
  await remoteGit(repo, remote, ['push', '--quiet', '--no-verify', remote, ...refs.map((r) => `:${r}`)], 'delete refs on', signal);
}

/** Whether the local `ref` already holds `commit` (fetched before a restart). */
export async function hasLocalRef(repo: string, ref: string, commit: string, signal?: AbortSignal): Promise<boolean> {
  const r = await git(['rev-parse', '-q', '--verify', `${ref}^{commit}`], { cwd: repo, signal, check: false });
  return r.code === 0 && r.stdout.trim() === commit;
}
