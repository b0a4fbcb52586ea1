import { compileProtection, pathViolations, type Protection } from '../../changes/policy';
import { EngineError, isEngineError } from '../../errors';
import type { LazyTaskWorktree } from '../../git/lazyWorktree';
import { captureWorktreeChange } from '../../git/taskWorktree';
import { toolPath } from '../tools';
import { applyEdit } from './edit';
import { DiskStore, type FileStore } from './fileStore';
import { NeedsWorktree, TreeStore } from './treeStore';

/**
 * The file tools of the built-in developer over the task's files. Paths are relative to
 * the repository root; absolute paths, `..`, `.git` and anything a symbolic link would lead
 * out of the worktree are refused with `agent/tool-refused`, and writes the patch policy
 * would block (its `block` rules, e.g. `.git`, control characters, over-long names) are
 * refused before they happen. Protected paths may be written: the change then needs an
 * explicit approval, as any patch touching them does.
 *
 * Two modes, same answers (fileStore.ts): over a checked-out worktree, or over the task's base
 * tree with the edits in memory (`new Workspace({ lazy })`), which needs no checkout until a
 * command must run: `materialize()` then checks the tree out (usually started in the
 * background already), lays the edits on it, and the worktree is the workspace from then on.
 */
export interface WorkspaceLimits {
  /** Lines of one read_file answer. */
  maxReadLines: number;
  /** Characters of one read_file answer. */
  maxReadChars: number;
  maxSearchLines: number;
  maxListEntries: number;
  /** Largest file write_file or edit_file will write. */
  maxWriteBytes: number;
}

export interface WorkspaceOptions {
  protectedPaths?: string[];
  limits?: Partial<WorkspaceLimits>;
  signal?: AbortSignal;
}

export const DEFAULT_WORKSPACE_LIMITS: WorkspaceLimits = { maxReadLines: 400, maxReadChars: 40_000, maxSearchLines: 100, maxListEntries: 500, maxWriteBytes: 1_000_000 };

export class Workspace {
  private readonly protection: Protection;
  private readonly limits: WorkspaceLimits;
  private readonly signal: AbortSignal | undefined;
  private store: FileStore;
  private dir: string | undefined;
  private materializing: Promise<string> | undefined;

  private readonly lazy: LazyTaskWorktree | undefined;
  private readonly onMaterialized: ((dir: string) => void) | undefined;

  /**
   * Over the worktree at `source`, or over a lazily checked-out task's base tree with the edits
   * in memory (`onMaterialized` is told the folder once it was checked out, for a command or
   * for a change the tree writer leaves to git).
   */
  constructor(source: string | { lazy: LazyTaskWorktree; onMaterialized?: (dir: string) => void }, opts: WorkspaceOptions = {}) {
    this.protection = compileProtection({ protectedPaths: opts.protectedPaths });
    this.limits = { ...DEFAULT_WORKSPACE_LIMITS, ...opts.limits };
    this.signal = opts.signal;
    if (typeof source === 'string') {
      this.dir = source;
      this.store = new DiskStore(source);
    } else {
      this.lazy = source.lazy;
      this.onMaterialized = source.onMaterialized;
      this.store = new TreeStore(source.lazy.repo, source.lazy.baseTree, opts.signal);
    }
  }

  /** The worktree's folder once there is one (always, for a workspace made over a worktree). */
  get root(): string | undefined {
    return this.dir;
  }

  /** The worktree, checked out with every edit so far on it when the workspace was over the tree. Throws `git/…`, `cancelled`. */
  materialize(): Promise<string> {
    if (this.dir !== undefined) return Promise.resolve(this.dir);
    this.materializing ??= (async () => {
      const wt = await this.lazy!.materialize();
      await (this.store as TreeStore).applyTo(wt.dir);
      this.store = new DiskStore(wt.dir);
      this.dir = wt.dir;
      this.onMaterialized?.(wt.dir);
      return wt.dir;
    })();
    return this.materializing;
  }

  /** Runs `op` on the store; what the tree store cannot model is done on the checked-out worktree instead. */
  private async on<T>(op: (store: FileStore) => Promise<T>): Promise<T> {
    try {
      return await op(this.store);
    } catch (e) {
      if (!(e instanceof NeedsWorktree)) throw e;
      await this.materialize();
      return op(this.store);
    }
  }

  /**
   * The change: the edits written as a tree (no checkout), or the worktree's difference from
   * the base tree once there is a worktree. Throws `git/…`, `cancelled`.
   */
  async change(baseTree: string): Promise<{ patch: string; tree: string }> {
    if (this.store instanceof TreeStore) {
      try {
        return await this.store.capture(true);
      } catch (e) {
        if (!(e instanceof NeedsWorktree)) throw e;
        await this.materialize();
      }
    }
    return captureWorktreeChange({ dir: this.dir!, baseTree }, { signal: this.signal });
  }

  /** The repository path `raw` names, after every confinement check. */
  private async resolve(raw: unknown, what: 'file' | 'folder', write: boolean): Promise<string> {
    const rel = toolPath(raw as string, what);
    if (write) {
      const blocking = pathViolations(rel, this.protection).filter((v) => v.severity === 'block');
      if (blocking.length > 0) throw new EngineError('agent/tool-refused', blocking[0]!.message);
    }
    await this.on((s) => s.confine(rel));
    return rel;
  }

  /** A file the plan names, for the prompt: its text, or undefined when it is missing, a link, a folder or refused. */
  async namedFile(p: string): Promise<string | undefined> {
    try {
      const rel = await this.resolve(p, 'file', false);
      if ((await this.on((s) => s.kind(rel, false))) !== 'file') return undefined;
      return await this.on((s) => s.read(rel));
    } catch (e) {
      if (isEngineError(e, 'agent/')) return undefined;
      throw e;
    }
  }

  async readFile(p: unknown, offset?: number, limit?: number): Promise<string> {
    const rel = await this.resolve(p, 'file', false);
    const text = await this.on((s) => s.read(rel));
    if (text.includes('\0')) return `(binary file, ${Buffer.byteLength(text)} bytes)`;
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const from = Math.max(1, Math.floor(offset ?? 1));
    const count = Math.max(1, Math.min(Math.floor(limit ?? this.limits.maxReadLines), this.limits.maxReadLines));
    if (lines.length > 0 && from > lines.length) throw new EngineError('agent/tool-refused', `"${rel}" has ${lines.length} lines; offset ${from} is past its end`);
    const out: string[] = [];
    let chars = 0;
    let last = from - 1;
    for (let i = from - 1; i < Math.min(lines.length, from - 1 + count); i++) {
      const l = `${i + 1}\t${lines[i]}`;
      if (chars + l.length > this.limits.maxReadChars && out.length > 0) break;
      out.push(l);
      chars += l.length + 1;
      last = i + 1;
    }
    const more = last < lines.length ? `\n… (lines ${last + 1}-${lines.length} not shown; read_file with offset ${last + 1})` : '';
    return (out.length > 0 ? out.join('\n') : '(empty file)') + more;
  }

  async listDir(p: unknown): Promise<string> {
    const rel = await this.resolve(p ?? '', 'folder', false);
    const names = (await this.on((s) => s.list(rel))).sort();
    const shown = names.slice(0, this.limits.maxListEntries);
    const more = names.length > shown.length ? `\n… and ${names.length - shown.length} more` : '';
    return shown.length === 0 ? '(empty folder)' : shown.join('\n') + more;
  }

  /** A regular expression (POSIX extended, as `git grep -E`) over tracked and new files. */
  async search(pattern: unknown, p?: unknown): Promise<string> {
    if (typeof pattern !== 'string' || pattern.trim() === '') throw new EngineError('agent/tool-refused', 'the search pattern is empty');
    if (pattern.length > 300) throw new EngineError('agent/tool-refused', 'the search pattern is longer than 300 characters');
    const where = p === undefined || p === '' ? '' : await this.resolve(p, 'folder', false);
    const r = await this.on((s) => s.grep(['-n', '-I', '-E', '--no-color', '-e', pattern], where, this.signal));
    if (r.code === 1) return '(no matches)';
    if (r.code !== 0) throw new EngineError('agent/tool-failed', `search failed: ${r.stderr.trim().split('\n')[0]}`);
    const lines = r.stdout.split('\n').filter(Boolean);
    const shown = lines.slice(0, this.limits.maxSearchLines).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l));
    const more = lines.length > shown.length ? `\n… and ${lines.length - shown.length} more matches` : '';
    return shown.join('\n') + more;
  }

  async editFile(p: unknown, oldString: unknown, newString: unknown, replaceAll: unknown): Promise<string> {
    if (typeof oldString !== 'string' || typeof newString !== 'string') throw new EngineError('agent/tool-refused', 'old_string and new_string must be strings');
    const rel = await this.resolve(p, 'file', true);
    const text = await this.on((s) => s.read(rel));
    const r = applyEdit(text, oldString, newString, replaceAll === true);
    if (!r.ok) throw new EngineError('agent/tool-refused', `edit of ${rel} not made: ${r.error}`);
    await this.write(rel, r.text);
    const where = r.lines.length === 1 ? `line ${r.lines[0]}` : `lines ${r.lines.join(', ')}`;
    return `edited ${rel}: replaced ${r.replaced} place${r.replaced === 1 ? '' : 's'} (${where})${r.tolerant ? ', matched ignoring whitespace' : ''}`;
  }

  async writeFile(p: unknown, content: unknown): Promise<string> {
    if (typeof content !== 'string') throw new EngineError('agent/tool-refused', 'content must be a string');
    const rel = await this.resolve(p, 'file', true);
    const kind = await this.on((s) => s.kind(rel, true));
    if (kind === 'dir') throw new EngineError('agent/tool-refused', `"${rel}" is a folder`);
    await this.write(rel, content);
    return `${kind !== undefined ? 'overwrote' : 'created'} ${rel} (${content.split('\n').length} lines)`;
  }

  async deleteFile(p: unknown): Promise<string> {
    const rel = await this.resolve(p, 'file', true);
    const kind = await this.on((s) => s.kind(rel, false));
    if (!kind) throw new EngineError('agent/tool-not-found', `no file "${rel}" in the repository`);
    if (kind === 'dir') throw new EngineError('agent/tool-refused', `"${rel}" is a folder; delete its files one by one`);
    await this.on((s) => s.remove(rel));
    return `deleted ${rel}`;
  }

  private async write(rel: string, text: string): Promise<void> {
    if (Buffer.byteLength(text) > this.limits.maxWriteBytes) throw new EngineError('agent/tool-refused', `"${rel}" would be over ${this.limits.maxWriteBytes} bytes`);
    if ((await this.on((s) => s.kind(rel, false))) === 'link') throw new EngineError('agent/tool-refused', `"${rel}" is a symbolic link; it is not written through`);
    await this.on((s) => s.write(rel, text));
  }
}
