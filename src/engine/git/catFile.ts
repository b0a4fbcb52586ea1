import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EngineError } from '../errors';

/**
 * One long-lived `git cat-file --batch` per repository for reading blobs by `<tree>:<path>`.
 * Every task reads its named files (and the queue and policy read package.json files) before
 * anything else can happen, and a git process per read cost a spawn and git's start-up each
 * time; a batch process answers the next request over its pipe. It sees objects written after
 * it started (git looks each name up afresh, and rescans packs on a miss).
 *
 * The process is closed after `IDLE_MS` without requests and never keeps the host alive while
 * idle. A request whose signal fires is rejected at once (its answer is still read and dropped,
 * since the pipe is shared). When the process fails, its pending requests reject with
 * `git/failed`; the caller may read them another way, and the next request starts a new one.
 */

const IDLE_MS = 5000;

export type BatchAnswer = { type: string; content: Buffer } | undefined;

interface Request {
  names: string[];
  answers: BatchAnswer[];
  resolve(a: BatchAnswer[]): void;
  reject(e: unknown): void;
  /** Rejected already (cancelled): its answers are read and dropped. */
  dropped: boolean;
}

class BatchReader {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly queue: Request[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly repo: string, private readonly onClosed: () => void) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  read(names: string[], signal?: AbortSignal): Promise<BatchAnswer[]> {
    if (signal?.aborted) return Promise.reject(new EngineError('cancelled', 'git was cancelled'));
    const child = this.ensure();
    return new Promise<BatchAnswer[]>((resolve, reject) => {
      const req: Request = { names, answers: [], resolve, reject, dropped: false };
      const onAbort = () => {
        req.dropped = true;
        reject(new EngineError('cancelled', 'git was cancelled'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.resolve = (a) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(a);
      };
      this.queue.push(req);
      clearTimeout(this.idle);
      this.busy(true);
      child.stdin.write(names.map((n) => `${n}\n`).join(''));
    });
  }

  private ensure(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn('git', ['-c', 'core.protectNTFS=true', '-c', 'core.protectHFS=true', '-c', 'core.quotePath=false', 'cat-file', '--batch'], {
      cwd: this.repo,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => this.onData(b));
    child.stderr.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString('utf8')).slice(-2000);
    });
    child.stdin.on('error', () => {});
    const fail = (why: string) => this.close(child, new EngineError('git/failed', `git cat-file --batch ${why}${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''}`));
    child.on('error', (e) => fail(`could not run: ${e.message}`));
    child.on('close', (code) => fail(`ended (exit ${code ?? 'by signal'})`));
    return child;
  }

  /** Holds the host's event loop only while requests are pending. */
  private busy(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const h of [c, c.stdin, c.stdout, c.stderr] as Array<{ ref?(): void; unref?(): void }>) (on ? h.ref : h.unref)?.call(h);
  }

  private onData(b: Buffer): void {
    this.buf = this.buf.length === 0 ? b : Buffer.concat([this.buf, b]);
    for (;;) {
      const req = this.queue[0];
      if (!req) {
        this.buf = Buffer.alloc(0);
        return;
      }
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) return;
      const header = this.buf.subarray(0, nl).toString('utf8');
      const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
      if (!m) {
        // `<name> missing` / `<name> ambiguous`: no content follows.
        req.answers.push(undefined);
        this.buf = this.buf.subarray(nl + 1);
      } else {
        const size = Number(m[2]);
        if (this.buf.length < nl + 1 + size + 1) return;
        req.answers.push({ type: m[1]!, content: Buffer.from(this.buf.subarray(nl + 1, nl + 1 + size)) });
        this.buf = this.buf.subarray(nl + 1 + size + 1);
      }
      if (req.answers.length === req.names.length) {
        this.queue.shift();
        if (!req.dropped) req.resolve(req.answers);
        if (this.queue.length === 0) this.rest();
      }
    }
  }

  private rest(): void {
    this.busy(false);
    clearTimeout(this.idle);
    const child = this.child;
    this.idle = setTimeout(() => child && this.close(child, undefined), IDLE_MS);
    this.idle.unref();
  }

  /** Ends `child` (the current process; a late event of an older one is ignored) and fails what it still owed. */
  private close(child: ChildProcessWithoutNullStreams, err: EngineError | undefined): void {
    if (this.child !== child) return;
    this.child = undefined;
    clearTimeout(this.idle);
    this.onClosed();
    for (const r of this.queue.splice(0)) if (!r.dropped) r.reject(err ?? new EngineError('git/failed', 'git cat-file --batch was closed'));
    this.buf = Buffer.alloc(0);
    child.stdin.end();
    if (err) child.kill();
  }
}

const readers = new Map<string, BatchReader>();

/**
 * The object each of `names` (`<treeish>:<path>`, no newline) names, read through the
 * repository's batch process: its type and bytes, or undefined when there is none. Throws
 * `cancelled` when `signal` fires and `git/failed` when the process failed.
 */
export function readObjects(repo: string, names: string[], signal?: AbortSignal): Promise<BatchAnswer[]> {
  if (names.length === 0) return Promise.resolve([]);
  let r = readers.get(repo);
  if (!r) {
    const created = new BatchReader(repo, () => {
      if (readers.get(repo) === created) readers.delete(repo);
    });
    readers.set(repo, created);
    r = created;
  }
  return r.read(names, signal);
}

/** The pid of the repository's batch process while one runs (for tests that kill it). */
export function batchProcessPid(repo: string): number | undefined {
  return readers.get(repo)?.pid;
}
