import fs from 'node:fs/promises';
import path from 'node:path';
import { readObjects } from '../../git/catFile';
import { git } from '../../git/exec';
import { ignoredPaths } from '../../git/ignoredPaths';
import { diffTrees } from '../../git/plumbing';
import { treeEntries, writeTreeFromFiles } from '../../git/treeWriter';
import { blockedFolder, escapes, isFile, isFolder, noFolder, notFound, type FileStore, type NodeKind } from './fileStore';

/**
 * The built-in developer's files without a checkout: the task's base tree, read through the
 * repository's long-lived `cat-file --batch`, with the developer's writes and deletions held
 * in memory. Paths resolve as they would on disk once the base tree is checked out (a
 * symbolic link in the tree is followed, and refused when it leads out of the repository;
 * folders stay when their last file is deleted), and the change is what `git add -A` would
 * take from that disk (a new file that an ignore rule matches is left out, a file deleted and
 * written again loses its executable bit), written as loose objects with one `diff-tree`.
 *
 * Whatever this store does not model (a tree it cannot parse, a name the tree writer leaves to
 * git) throws `NeedsWorktree`: the workspace then checks the tree out, lays these edits on it
 * and carries on there (`applyTo`).
 */
export class NeedsWorktree extends Error {}

type Node = { kind: 'file'; text?: string; id?: string } | { kind: 'dir'; tree?: string } | { kind: 'link'; target: string };
type Walk =
  | { t: 'found'; path: string; node: Node }
  | { t: 'missing'; parent: string; rest: string[]; viaLink: boolean }
  | { t: 'notdir' }
  | { t: 'outside' };

export interface OverlayFile {
  text: string;
  /** Created where no file was (a new file, or one deleted first): written with mode 100644. */
  fresh: boolean;
}

const MAX_LINK_HOPS = 40;
const utf8Name = (latin1: string) => Buffer.from(latin1, 'latin1').toString('utf8');
const join = (a: string, b: string) => (a ? `${a}/${b}` : b);

export class TreeStore implements FileStore {
  /** The developer's edits by real (link-free) path: a file's new text, or null for a deletion. */
  readonly overlay = new Map<string, OverlayFile | null>();
  /** Folders made by writes (on disk they stay once made, as base folders do). */
  readonly madeDirs = new Set<string>();
  private readonly texts = new Map<string, string>();

  constructor(readonly repo: string, readonly baseTree: string, private readonly signal?: AbortSignal) {}

  private async blobText(id: string): Promise<string> {
    const hit = this.texts.get(id);
    if (hit !== undefined) return hit;
    const [a] = await readObjects(this.repo, [id], this.signal);
    if (a?.type !== 'blob') throw new NeedsWorktree(`${id} is not a blob`);
    const text = a.content.toString('utf8');
    this.texts.set(id, text);
    return text;
  }

  private async entries(tree: string): Promise<Map<string, { mode: string; id: string }>> {
    const list = await treeEntries(this.repo, tree, this.signal);
    if (!list) throw new NeedsWorktree(`tree ${tree} is left to git`);
    return new Map(list.map((e) => [utf8Name(e.name), { mode: e.mode, id: e.id }]));
  }

  /** The base tree's entry at a real path, undefined when there is none. */
  private async baseEntry(p: string): Promise<{ mode: string; id: string } | undefined> {
    let tree = this.baseTree;
    const parts = p.split('/');
    for (const [i, name] of parts.entries()) {
      const e = (await this.entries(tree)).get(name);
      if (!e) return undefined;
      if (i === parts.length - 1) return e;
      if (e.mode !== '40000') return undefined;
      tree = e.id;
    }
    return undefined;
  }

  /** What is at a real path (no link in its folders), the link at its end not followed. */
  private async node(p: string): Promise<Node | undefined> {
    if (p === '') return { kind: 'dir', tree: this.baseTree };
    const o = this.overlay.get(p);
    if (o) return { kind: 'file', text: o.text };
    if (this.madeDirs.has(p)) return { kind: 'dir', tree: undefined };
    if (o === null) return undefined;
    const b = await this.baseEntry(p);
    if (!b) return undefined;
    if (b.mode === '40000') return { kind: 'dir', tree: b.id };
    // A submodule is checked out as an empty folder.
    if (b.mode === '160000') return { kind: 'dir', tree: undefined };
    if (b.mode === '120000') return { kind: 'link', target: await this.blobText(b.id) };
    return { kind: 'file', id: b.id };
  }

  /** Resolves `rel` as the system would on the checked-out tree. */
  private async walk(rel: string, followLast: boolean): Promise<Walk> {
    const cur: string[] = [];
    let queue = (rel === '' ? [] : rel.split('/')).map((name) => ({ name, fromLink: false }));
    let node: Node = { kind: 'dir', tree: this.baseTree };
    let hops = 0;
    while (queue.length > 0) {
      const { name, fromLink } = queue.shift()!;
      if (name === '' || name === '.') continue;
      if (name === '..') {
        if (cur.length === 0) return { t: 'outside' };
        cur.pop();
        node = (await this.node(cur.join('/')))!;
        continue;
      }
      const p = join(cur.join('/'), name);
      const n = await this.node(p);
      if (!n) return { t: 'missing', parent: cur.join('/'), rest: [name, ...queue.map((q) => q.name)], viaLink: fromLink || queue.some((q) => q.fromLink) };
      if (n.kind === 'link' && (queue.length > 0 || followLast)) {
        if (++hops > MAX_LINK_HOPS) return { t: 'notdir' };
        if (n.target.startsWith('/')) return { t: 'outside' };
        queue = [...n.target.split('/').map((t) => ({ name: t, fromLink: true })), ...queue];
        continue;
      }
      if (n.kind !== 'dir' && queue.length > 0) return { t: 'notdir' };
      cur.push(name);
      node = n;
    }
    return { t: 'found', path: cur.join('/'), node };
  }

  async confine(rel: string): Promise<void> {
    // As on disk: the deepest part of the path that exists must resolve inside.
    const parts = rel === '' ? [] : rel.split('/');
    for (let k = parts.length; k >= 0; k--) {
      const w = await this.walk(parts.slice(0, k).join('/'), true);
      if (w.t === 'outside') throw escapes(rel);
      if (w.t === 'found') return;
    }
  }

  async kind(rel: string, follow: boolean): Promise<NodeKind> {
    const w = await this.walk(rel, follow);
    return w.t === 'found' ? w.node.kind : undefined;
  }

  async read(rel: string): Promise<string> {
    const w = await this.walk(rel, true);
    if (w.t !== 'found') throw notFound(rel);
    if (w.node.kind === 'dir') throw isFolder(rel);
    if (w.node.kind !== 'file') throw notFound(rel);
    return w.node.text ?? this.blobText(w.node.id!);
  }

  async list(rel: string): Promise<string[]> {
    const w = await this.walk(rel, true);
    if (w.t === 'notdir') throw isFile(rel);
    if (w.t !== 'found') throw noFolder(rel);
    if (w.node.kind !== 'dir') throw isFile(rel);
    const dir = w.path;
    const names = new Set<string>(w.node.tree ? (await this.entries(w.node.tree)).keys() : []);
    const prefix = dir ? `${dir}/` : '';
    for (const p of [...this.overlay.keys(), ...this.madeDirs]) if (p.startsWith(prefix) && p.length > prefix.length) names.add(p.slice(prefix.length).split('/')[0]!);
    const out: string[] = [];
    for (const name of names) {
      if (name === '.git') continue;
      const n = await this.node(join(dir, name));
      if (n) out.push(n.kind === 'dir' ? `${name}/` : name);
    }
    return out;
  }

  /** The real path `rel` names, its folders' links followed (as `mkdir -p` and `rm` follow them). */
  private async realPath(rel: string, forWrite: boolean): Promise<string> {
    const parts = rel.split('/');
    const leaf = parts.pop()!;
    const w = await this.walk(parts.join('/'), true);
    if (w.t === 'outside') throw escapes(rel);
    if (w.t === 'found') {
      if (w.node.kind !== 'dir') throw blockedFolder(rel);
      return join(w.path, leaf);
    }
    // A missing folder is made by a write (not through a dangling link, which mkdir refuses).
    if (w.t === 'missing' && forWrite && !w.viaLink && !w.rest.includes('..')) return join(join(w.parent, w.rest.join('/')), leaf);
    if (forWrite) throw blockedFolder(rel);
    throw notFound(rel);
  }

  async write(rel: string, text: string): Promise<void> {
    const p = await this.realPath(rel, true);
    const before = await this.node(p);
    this.overlay.set(p, { text, fresh: before?.kind === 'file' ? (this.overlay.get(p)?.fresh ?? false) : true });
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) this.madeDirs.add(parts.slice(0, i).join('/'));
  }

  async remove(rel: string): Promise<void> {
    this.overlay.set(await this.realPath(rel, false), null);
  }

  async grep(flags: string[], where: string, signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
    const c = await this.capture(false);
    const r = await git(['grep', ...flags, c.tree, ...(where ? ['--', `:(literal)${where}`] : [])], { cwd: this.repo, signal, check: false });
    const prefix = `${c.tree}:`;
    return { ...r, stdout: r.stdout.split('\n').map((l) => (l.startsWith(prefix) ? l.slice(prefix.length) : l)).join('\n') };
  }

  /** New text of files the base tree does not track, for the ignore rules of the tree they land in. */
  private gitignoreAt = async (d: string): Promise<string | undefined> => {
    const n = await this.node(join(d, '.gitignore'));
    return n?.kind === 'file' ? (n.text ?? this.blobText(n.id!)) : undefined;
  };

  /** The tree the edits lead to and, with `withPatch`, the canonical diff from the base tree. Throws `NeedsWorktree`. */
  async capture(withPatch: boolean): Promise<{ tree: string; patch: string }> {
    // The edits as `git add -A` would take them from the checked-out tree.
    const files: Array<{ path: string; content: string | null; fresh: boolean }> = [];
    const added: string[] = [];
    for (const [p, o] of this.overlay) {
      const tracked = await this.baseEntry(p);
      if (o === null) {
        if (tracked && tracked.mode !== '40000') files.push({ path: p, content: null, fresh: false });
      } else {
        files.push({ path: p, content: o.text, fresh: o.fresh });
        if (!tracked) added.push(p);
      }
    }
    const write = (list: typeof files) => (list.length === 0 ? Promise.resolve(this.baseTree) : writeTreeFromFiles(this.repo, this.baseTree, list, this.signal));
    // The ignore rules (a git process) are asked while the tree is written; a rare ignored file costs a second write.
    const [ignored, all] = await Promise.all([ignoredPaths(this.repo, added, this.gitignoreAt, this.signal), write(files)]);
    const tree = ignored.size === 0 ? all : await write(files.filter((f) => !ignored.has(f.path)));
    if (tree === undefined) throw new NeedsWorktree('the tree writer leaves these paths to git');
    const patch = !withPatch || tree === this.baseTree ? '' : await diffTrees(this.repo, this.baseTree, tree, { signal: this.signal });
    return { tree, patch };
  }

  /** Lays the edits on a checkout of the base tree at `dir` (the workspace then works there). */
  async applyTo(dir: string): Promise<void> {
    for (const [p, o] of this.overlay) if (o === null || o.fresh) await fs.rm(path.join(dir, p), { force: true });
    for (const d of [...this.madeDirs].sort()) await fs.mkdir(path.join(dir, d), { recursive: true });
    for (const [p, o] of this.overlay) if (o) await fs.writeFile(path.join(dir, p), o.text);
  }
}
