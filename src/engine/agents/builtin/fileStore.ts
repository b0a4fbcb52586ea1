import fs from 'node:fs/promises';
import path from 'node:path';
import { EngineError } from '../../errors';
import { git } from '../../git/exec';

/**
 * Where the built-in developer's files live: a checked-out worktree (`DiskStore`) or the
 * task's base tree with the developer's edits held in memory (`TreeStore`, treeStore.ts).
 * Both answer with the same results and the same errors for the same operations, so the
 * workspace's confinement and policy rules (workspace.ts) hold the same way over either;
 * test/unit/builtin-workspace-modes.test.ts runs one script against both and compares.
 * Paths are repository-relative and already checked by `toolPath`.
 */
export type NodeKind = 'file' | 'dir' | 'link' | undefined;

export interface FileStore {
  /** Refuses (`agent/tool-refused`) a path whose deepest existing part resolves outside the repository. */
  confine(rel: string): Promise<void>;
  /** What is at `rel`: a symbolic link at the end followed (`follow`) or not; undefined when nothing is. */
  kind(rel: string, follow: boolean): Promise<NodeKind>;
  /** The file's text (links followed); `agent/tool-not-found` when there is none or it is a folder. */
  read(rel: string): Promise<string>;
  /** The folder's entries, folders with a trailing '/', `.git` left out; `agent/tool-not-found` when it is no folder. */
  list(rel: string): Promise<string[]>;
  /** Creates or overwrites a file (not a link), making its folders. */
  write(rel: string, text: string): Promise<void>;
  /** Removes a file or link. */
  remove(rel: string): Promise<void>;
  /** `git grep -n -z` with `flags` over the files as they are now; stdout with the tree prefix, if any, removed. */
  grep(flags: string[], where: string, signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }>;
}

export const notFound = (rel: string) => new EngineError('agent/tool-not-found', `no file "${rel}" in the repository`);
export const isFolder = (rel: string) => new EngineError('agent/tool-not-found', `"${rel}" is a folder; use list_dir`);
export const noFolder = (rel: string) => new EngineError('agent/tool-not-found', `no folder "${rel}" in the repository`);
export const isFile = (rel: string) => new EngineError('agent/tool-not-found', `"${rel}" is a file; use read_file`);
export const escapes = (rel: string) => new EngineError('agent/tool-refused', `"${rel}" leads outside the repository through a symbolic link`);
export const blockedFolder = (rel: string) => new EngineError('agent/tool-refused', `"${rel}" cannot be written: one of its folders is a file`);

/** The worktree on disk. */
export class DiskStore implements FileStore {
  private realRoot: string | undefined;

  constructor(readonly root: string) {}

  async confine(rel: string): Promise<void> {
    this.realRoot ??= await fs.realpath(this.root);
    // The deepest existing ancestor must resolve inside the worktree: a symbolic link in the
    // repository must not lead a read or a write elsewhere.
    let probe = path.join(this.root, rel);
    for (;;) {
      let real: string;
      try {
        real = await fs.realpath(probe);
      } catch {
        const parent = path.dirname(probe);
        if (parent === probe) return;
        probe = parent;
        continue;
      }
      if (real !== this.realRoot && !real.startsWith(this.realRoot + path.sep)) throw escapes(rel);
      return;
    }
  }

  async kind(rel: string, follow: boolean): Promise<NodeKind> {
    const st = await (follow ? fs.stat : fs.lstat)(path.join(this.root, rel)).catch(() => undefined);
    if (!st) return undefined;
    return st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file';
  }

  async read(rel: string): Promise<string> {
    try {
      return await fs.readFile(path.join(this.root, rel), 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') throw notFound(rel);
      if (code === 'EISDIR') throw isFolder(rel);
      throw e;
    }
  }

  async list(rel: string): Promise<string[]> {
    let entries;
    try {
      entries = await fs.readdir(path.join(this.root, rel), { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP') throw noFolder(rel);
      if (code === 'ENOTDIR') throw isFile(rel);
      throw e;
    }
    return entries.filter((e) => e.name !== '.git').map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
  }

  async write(rel: string, text: string): Promise<void> {
    const abs = path.join(this.root, rel);
    try {
      await fs.mkdir(path.dirname(abs), { recursive: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'ENOENT') throw blockedFolder(rel);
      throw e;
    }
    await fs.writeFile(abs, text);
  }

  async remove(rel: string): Promise<void> {
    await fs.rm(path.join(this.root, rel));
  }

  grep(flags: string[], where: string, signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
    return git(['grep', ...flags, '--untracked', '--exclude-standard', ...(where ? ['--', `:(literal)${where}`] : [])], { cwd: this.root, signal, check: false });
  }
}
