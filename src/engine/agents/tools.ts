import { EngineError } from '../errors';
import { git } from '../git/exec';

/**
 * Read-only tools for developer agents, confined to one tree object of the repository.
 *
 * Everything is read from git objects (`ls-tree`, `cat-file`, `grep <tree>`), never from the
 * worktree, so a path cannot reach files outside the repository, untracked files, or `.git/`.
 * Bad paths are refused with EngineError `agent/tool-refused`; the agent loop turns any tool
 * error into a message for the model instead of failing the task.
 */
export interface RepoTools {
  readFile(path: string): Promise<string>;
  listDir(path: string): Promise<string>;
  search(query: string): Promise<string>;
}

export interface RepoToolLimits {
  /** Bytes of a file shown to the model; the rest is cut with a note. */
  maxFileBytes: number;
  /** Lines of search output. */
  maxSearchLines: number;
  /** Entries of a listing. */
  maxListEntries: number;
}

export const DEFAULT_TOOL_LIMITS: RepoToolLimits = { maxFileBytes: 64_000, maxSearchLines: 100, maxListEntries: 500 };

/**
 * Normalises a repository-relative path for the tools. `''`, `.` and `/`-free relative paths
 * are accepted; absolute paths, `..`, backslashes, NULs and anything under `.git` are refused.
 */
export function toolPath(p: string, what: 'file' | 'folder'): string {
  if (typeof p !== 'string') throw new EngineError('agent/tool-refused', `the ${what} path must be a string`);
  const trimmed = p.trim().replace(/\/+$/, '');
  if (trimmed === '' || trimmed === '.') {
    if (what === 'folder') return '';
    throw new EngineError('agent/tool-refused', 'a file path is required');
  }
  if (trimmed.startsWith('/') || /^[A-Za-z]:/.test(trimmed) || trimmed.startsWith('~')) {
    throw new EngineError('agent/tool-refused', `"${p}" is an absolute path; use a path relative to the repository root`);
  }
  if (trimmed.includes('\\') || trimmed.includes('\0') || trimmed.includes('\n')) {
    throw new EngineError('agent/tool-refused', `"${p}" contains characters that are not allowed in a path`);
  }
  const segs = trimmed.split('/').filter((s) => s !== '' && s !== '.');
  if (segs.some((s) => s === '..')) throw new EngineError('agent/tool-refused', `"${p}" leaves the repository ("..")`);
  if (segs[0]?.toLowerCase() === '.git') throw new EngineError('agent/tool-refused', `"${p}" is inside .git, which agents cannot read`);
  return segs.join('/');
}

/** Tools over `tree` (a tree or commit sha) of `repo`. */
export function createRepoTools(repo: string, tree: string, opts: { signal?: AbortSignal; limits?: Partial<RepoToolLimits> } = {}): RepoTools {
  const limits = { ...DEFAULT_TOOL_LIMITS, ...opts.limits };
  const signal = opts.signal;
  const entryOf = async (p: string): Promise<{ mode: string; type: string; sha: string } | undefined> => {
    const r = await git(['ls-tree', '-z', tree, '--', `:(literal)${p}`], { cwd: repo, signal });
    const rec = r.stdout.split('\0').find((l) => l.endsWith(`\t${p}`));
    if (!rec) return undefined;
    const m = /^(\d{6}) (\w+) ([0-9a-f]+)\t/.exec(rec);
    return m ? { mode: m[1], type: m[2], sha: m[3] } : undefined;
  };
  return {
    async readFile(raw) {
      const p = toolPath(raw, 'file');
      const e = await entryOf(p);
      if (!e) throw new EngineError('agent/tool-not-found', `no file "${p}" in the repository`);
      if (e.type === 'tree') throw new EngineError('agent/tool-not-found', `"${p}" is a folder; use list_dir`);
      if (e.type !== 'blob') throw new EngineError('agent/tool-not-found', `"${p}" is a submodule, not a file`);
      const r = await git(['cat-file', 'blob', e.sha], { cwd: repo, signal });
      const text = r.stdout;
      if (text.includes('\0')) return `(binary file, ${Buffer.byteLength(text)} bytes)`;
      if (Buffer.byteLength(text) > limits.maxFileBytes) {
        return `${Buffer.from(text).subarray(0, limits.maxFileBytes).toString('utf8')}\n… (cut: the file has ${Buffer.byteLength(text)} bytes)`;
      }
      return text;
    },
    async listDir(raw) {
      const p = toolPath(raw, 'folder');
      if (p !== '') {
        const e = await entryOf(p);
        if (!e) throw new EngineError('agent/tool-not-found', `no folder "${p}" in the repository`);
        if (e.type !== 'tree') throw new EngineError('agent/tool-not-found', `"${p}" is a file; use read_file`);
      }
      const r = await git(['ls-tree', '-z', p === '' ? tree : `${tree}:${p}`], { cwd: repo, signal });
      const names = r.stdout
        .split('\0')
        .filter(Boolean)
        .map((rec) => {
          const m = /^\d{6} (\w+) [0-9a-f]+\t(.*)$/s.exec(rec);
          return m ? (m[1] === 'tree' ? `${m[2]}/` : m[2]) : '';
        })
        .filter(Boolean);
      const shown = names.slice(0, limits.maxListEntries);
      const more = names.length > shown.length ? `\n… and ${names.length - shown.length} more` : '';
      return shown.length === 0 ? '(empty folder)' : shown.join('\n') + more;
    },
    async search(query) {
      if (typeof query !== 'string' || query.trim() === '') throw new EngineError('agent/tool-refused', 'the search query is empty');
      if (query.length > 200) throw new EngineError('agent/tool-refused', 'the search query is longer than 200 characters');
      const r = await git(['grep', '-I', '-n', '-F', '--no-color', '-e', query, tree], { cwd: repo, signal, check: false });
      if (r.code === 1) return '(no matches)';
      if (r.code !== 0) throw new EngineError('agent/tool-failed', `search failed: ${r.stderr.trim().split('\n')[0]}`);
      const prefix = `${tree}:`;
      const lines = r.stdout.split('\n').filter(Boolean).map((l) => (l.startsWith(prefix) ? l.slice(prefix.length) : l));
      const shown = lines.slice(0, limits.maxSearchLines).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l));
      const more = lines.length > shown.length ? `\n… and ${lines.length - shown.length} more matches` : '';
      return shown.join('\n') + more;
    },
  };
}
