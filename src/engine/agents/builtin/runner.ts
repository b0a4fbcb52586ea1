import { spawn } from 'node:child_process';
import { killGroup } from '../processRun';

/**
 * Runs one allowed command for the built-in developer: in the task's worktree, without a
 * shell, in a process group of its own (killed whole on timeout or abort), with an
 * environment that carries no provider keys or other secrets, stdin closed, and the output
 * kept as head + tail so a chatty test run cannot flood the model's context.
 */
export interface CommandOutcome {
  exitCode: number | null;
  timedOut: boolean;
  /** stdout and stderr interleaved as they came, cut to head + tail. */
  output: string;
  truncated: boolean;
  /** Set when the program could not start (not installed). */
  startError?: string;
  durationMs: number;
}

/** Output kept for the model: about 8 KB, a quarter of it from the head. */
export const OUTPUT_HEAD = 2048;
export const OUTPUT_TAIL = 6144;

/** Variables never passed to a command the model asked for: keys, tokens and credentials. */
const SECRET_NAME = /(?:API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY|SESSION|AUTH)/i;
const SECRET_EXACT = new Set(['OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL', 'AWS_ACCESS_KEY_ID', 'SSH_AUTH_SOCK', 'GIT_ASKPASS', 'SSH_ASKPASS']);
/**
 * Set by a runner around Hyperion: node:test's context makes the project's own `node --test`
 * skip its files, and an outer npm's `npm_*` settings (its package's prefix among them) make
 * `npm test` in the worktree run the outer package's script.
 */
const RUNNER_CONTEXT = new Set(['NODE_TEST_CONTEXT', 'INIT_CWD']);

/** The environment a command runs with: the user's, minus anything that looks like a secret. */
export function commandEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || SECRET_NAME.test(k) || SECRET_EXACT.has(k) || RUNNER_CONTEXT.has(k) || /^npm_/i.test(k) || k.startsWith('HYPERION_')) continue;
    out[k] = v;
  }
  // Tests that look for CI or a TTY behave the same every run; git never prompts.
  out.CI = '1';
  out.GIT_TERMINAL_PROMPT = '0';
  return out;
}

class HeadTail {
  private head = '';
  private tail = '';
  private total = 0;

  push(s: string): void {
    this.total += s.length;
    if (this.head.length < OUTPUT_HEAD) {
      const take = s.slice(0, OUTPUT_HEAD - this.head.length);
      this.head += take;
      s = s.slice(take.length);
    }
    if (s) this.tail = (this.tail + s).slice(-OUTPUT_TAIL);
  }

  text(): { output: string; truncated: boolean } {
    const omitted = this.total - this.head.length - this.tail.length;
    if (omitted <= 0) return { output: this.head + this.tail, truncated: false };
    return { output: `${this.head}\n[… ${omitted} characters omitted …]\n${this.tail}`, truncated: true };
  }
}

/**
 * `argv` runs as given, without a shell; with `shell`, `argv[0]` is a command line for the
 * platform's shell (only for the user's own configured check command, never for model text).
 */
export function runAllowedCommand(argv: readonly string[], o: { cwd: string; timeoutMs: number; signal: AbortSignal; shell?: boolean; env?: Record<string, string>; onOutput?: (text: string) => void }): Promise<CommandOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const out = new HeadTail();
    let timedOut = false;
    let startError: string | undefined;
    const child = spawn(argv[0]!, o.shell ? [] : argv.slice(1), { cwd: o.cwd, env: o.env ?? commandEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32', windowsHide: true, shell: o.shell === true });
    const stop = () => {
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, o.timeoutMs);
    const onAbort = () => stop();
    o.signal.addEventListener('abort', onAbort, { once: true });
    const take = (b: Buffer) => {
      const s = b.toString('utf8');
      out.push(s);
      o.onOutput?.(s);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let settled = false;
    const settle = (code: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      // Whatever the command left running in its group goes with it.
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      resolve({ exitCode: timedOut ? null : code, timedOut, ...out.text(), ...(startError !== undefined ? { startError } : {}), durationMs: Date.now() - started });
    };
    child.on('error', (e) => {
      startError = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `"${argv[0]}" is not installed or not on PATH` : e.message;
      if (child.pid === undefined) settle(null);
    });
    child.on('close', (code) => settle(code));
  });
}
