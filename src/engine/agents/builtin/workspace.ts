import fs from 'node:fs/promises';
import path from 'node:path';
import { compileProtection, pathViolations, type Protection } from '../../changes/policy';
import { EngineError } from '../../errors';
import { git } from '../../git/exec';
import { toolPath } from '../tools';
import { applyEdit } from './edit';

/**
 * The file tools of the built-in developer over the task's worktree. Paths are relative to
 * the repository root; absolute paths, `..`, `.git` and anything a symbolic link would lead
 * out of the worktree are refused with `agent/tool-refused`, and writes the patch policy
 * would block (its `block` rules, e.g. `.git`, control characters, over-long names) are
 * refused before they happen. Protected paths may be written: the change then needs an
 * explicit approval, as any patch touching them does.
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

export const DEFAULT_WORKSPACE_LIMITS: WorkspaceLimits = { maxReadLines: 400, maxReadChars: 40_000, maxSearchLines: 100, maxListEntries: 500, maxWriteBytes: 1_000_000 };

export class Workspace {
  private readonly protection: Protection;
  private readonly limits: WorkspaceLimits;
  private realRoot: string | undefined;
  private readonly signal: AbortSignal | undefined;

  constructor(readonly root: string, opts: { protectedPaths?: string[]; limits?: Partial<WorkspaceLimits>; signal?: AbortSignal } = {}) {
    this.protection = compileProtection({ protectedPaths: opts.protectedPaths });
    this.limits = { ...DEFAULT_WORKSPACE_LIMITS, ...opts.limits };
    this.signal = opts.signal;
  }

  /** The absolute path of a repository path, after every confinement check. */
  private async resolve(raw: unknown, what: 'file' | 'folder', write: boolean): Promise<{ rel: string; abs: string }> {
    const rel = toolPath(raw as string, what);
    if (write) {
      const blocking = pathViolations(rel, this.protection).filter((v) => v.severity === 'block');
      if (blocking.length > 0) throw new EngineError('agent/tool-refused', blocking[0]!.message);
    }
    const abs = path.join(this.root, rel);
    this.realRoot ??= await fs.realpath(this.root);
    // The deepest existing ancestor must resolve inside the worktree: a symbolic link in the
    // repository must not lead a read or a write elsewhere.
    let probe = abs;
    for (;;) {
      let real: string;
      try {
        real = await fs.realpath(probe);
      } catch {
        const parent = path.dirname(probe);
        if (parent === probe) break;
        probe = parent;
        continue;
      }
      if (real !== this.realRoot && !real.startsWith(this.realRoot + path.sep)) {
        throw new EngineError('agent/tool-refused', `"${rel}" leads outside the repository through a symbolic link`);
      }
      break;
    }
    return { rel, abs };
  }

  async readFile(p: unknown, offset?: number, limit?: number): Promise<string> {
    const { rel, abs } = await this.resolve(p, 'file', false);
    const text = await readText(abs, rel);
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
    const { rel, abs } = await this.resolve(p ?? '', 'folder', false);
    let entries;
    try {
      entries = await fs.readdir(abs, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new EngineError('agent/tool-not-found', `no folder "${rel}" in the repository`);
      if (code === 'ENOTDIR') throw new EngineError('agent/tool-not-found', `"${rel}" is a file; use read_file`);
      throw e;
    }
    const names = entries.filter((e) => e.name !== '.git').map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
    const shown = names.slice(0, this.limits.maxListEntries);
    const more = names.length > shown.length ? `\n… and ${names.length - shown.length} more` : '';
    return shown.length === 0 ? '(empty folder)' : shown.join('\n') + more;
  }

  /** A regular expression (POSIX extended, as `git grep -E`) over tracked and new files. */
  async search(pattern: unknown, p?: unknown): Promise<string> {
    if (typeof pattern !== 'string' || pattern.trim() === '') throw new EngineError('agent/tool-refused', 'the search pattern is empty');
    if (pattern.length > 300) throw new EngineError('agent/tool-refused', 'the search pattern is longer than 300 characters');
    const where = p === undefined || p === '' ? '' : (await this.resolve(p, 'folder', false)).rel;
    const args = ['grep', '-n', '-I', '-E', '--no-color', '--untracked', '--exclude-standard', '-e', pattern, ...(where ? ['--', `:(literal)${where}`] : [])];
    const r = await git(args, { cwd: this.root, signal: this.signal, check: false });
    if (r.code === 1) return '(no matches)';
    if (r.code !== 0) throw new EngineError('agent/tool-failed', `search failed: ${r.stderr.trim().split('\n')[0]}`);
    const lines = r.stdout.split('\n').filter(Boolean);
    const shown = lines.slice(0, this.limits.maxSearchLines).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l));
    const more = lines.length > shown.length ? `\n… and ${lines.length - shown.length} more matches` : '';
    return shown.join('\n') + more;
  }

  async editFile(p: unknown, oldString: unknown, newString: unknown, replaceAll: unknown): Promise<string> {
    if (typeof oldString !== 'string' || typeof newString !== 'string') throw new EngineError('agent/tool-refused', 'old_string and new_string must be strings');
    const { rel, abs } = await this.resolve(p, 'file', true);
    const text = await readText(abs, rel);
    const r = applyEdit(text, oldString, newString, replaceAll === true);
    if (!r.ok) throw new EngineError('agent/tool-refused', `edit of ${rel} not made: ${r.error}`);
    await this.write(abs, rel, r.text);
    const where = r.lines.length === 1 ? `line ${r.lines[0]}` : `lines ${r.lines.join(', ')}`;
    return `edited ${rel}: replaced ${r.replaced} place${r.replaced === 1 ? '' : 's'} (${where})${r.tolerant ? ', matched ignoring whitespace' : ''}`;
  }

  async writeFile(p: unknown, content: unknown): Promise<string> {
    if (typeof content !== 'string') throw new EngineError('agent/tool-refused', 'content must be a string');
    const { rel, abs } = await this.resolve(p, 'file', true);
    const existed = await fs.stat(abs).then((s) => {
      if (s.isDirectory()) throw new EngineError('agent/tool-refused', `"${rel}" is a folder`);
      return true;
    }, (e: NodeJS.ErrnoException) => {
      if (e instanceof EngineError) throw e;
      return false;
    });
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await this.write(abs, rel, content);
    return `${existed ? 'overwrote' : 'created'} ${rel} (${content.split('\n').length} lines)`;
  }

  async deleteFile(p: unknown): Promise<string> {
    const { rel, abs } = await this.resolve(p, 'file', true);
    const st = await fs.lstat(abs).catch(() => undefined);
    if (!st) throw new EngineError('agent/tool-not-found', `no file "${rel}" in the repository`);
    if (st.isDirectory()) throw new EngineError('agent/tool-refused', `"${rel}" is a folder; delete its files one by one`);
    await fs.rm(abs);
    return `deleted ${rel}`;
  }

  private async write(abs: string, rel: string, text: string): Promise<void> {
    if (Buffer.byteLength(text) > this.limits.maxWriteBytes) throw new EngineError('agent/tool-refused', `"${rel}" would be over ${this.limits.maxWriteBytes} bytes`);
    const st = await fs.lstat(abs).catch(() => undefined);
    if (st?.isSymbolicLink()) throw new EngineError('agent/tool-refused', `"${rel}" is a symbolic link; it is not written through`);
    await fs.writeFile(abs, text);
  }
}

async function readText(abs: string, rel: string): Promise<string> {
  try {
    return await fs.readFile(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new EngineError('agent/tool-not-found', `no file "${rel}" in the repository`);
    if (code === 'EISDIR') throw new EngineError('agent/tool-not-found', `"${rel}" is a folder; use list_dir`);
    throw e;
  }
}
