import { isEngineError } from '../errors';
import { readObjects } from './catFile';
import { objectsDirFor, writeLooseBlob, writeLooseObject } from './looseObjects';

/**
 * Writes the tree of a base tree with whole files written over it (`content: null` deletes)
 * from the engine, as loose objects: the base's trees along the changed paths are read through
 * the repository's long-lived `cat-file --batch` (catFile.ts) and only those trees are written
 * again. It gives the tree `read-tree` + `update-index --index-info` + `write-tree` give for the
 * same files (existing files keep an executable mode, everything else written is 100644, a
 * folder left empty disappears), without those three git processes, which were most of a
 * finishing developer answer's engine time.
 *
 * Only the plain cases are done here; for anything else `writeTreeFromFiles` answers undefined
 * and the caller uses git, so git's own checks and rules still decide those:
 * - a repository whose objects are not SHA-1 loose objects this process may write (looseObjects.ts),
 * - a path with a name outside [A-Za-z0-9._@+,=-] or one git treats specially (`.git`, a
 *   trailing dot), since git's path protections then have the say,
 * - a file written or deleted where the base has a folder, a folder needed where the base has
 *   a file, a link or a submodule, or a path named both as a file and as a folder,
 * - a base tree with an entry mode git would normalise when it rewrites that tree.
 */

type Change = { kind: 'write'; content: string; fresh?: boolean } | { kind: 'delete' } | { kind: 'set'; mode: string; id: string };
interface Folder {
  files: Map<string, Change>;
  folders: Map<string, Folder>;
}

interface Entry {
  mode: string;
  /** The name's bytes as stored. */
  name: Buffer;
  /** 20 raw bytes. */
  id: Buffer;
}

const SAFE_NAME = /^[A-Za-z0-9_@+,=-][A-Za-z0-9._@+,=-]*$|^\.[A-Za-z0-9_@+,=-][A-Za-z0-9._@+,=-]*$/;
const CANONICAL_MODES = new Set(['100644', '100755', '120000', '160000', '40000']);
const TREE_MODE = '40000';

/** Thrown inside the walk when git should decide; never leaves this file. */
class UseGit extends Error {}

function safeName(name: string): boolean {
  return SAFE_NAME.test(name) && name.toLowerCase() !== '.git' && !name.endsWith('.');
}

function folderOf(files: ReadonlyArray<{ path: string; change: Change }>): Folder | undefined {
  const root: Folder = { files: new Map(), folders: new Map() };
  for (const f of files) {
    const parts = f.path.split('/');
    if (!parts.every(safeName)) return undefined;
    let at = root;
    for (const dir of parts.slice(0, -1)) {
      if (at.files.has(dir)) return undefined;
      let next = at.folders.get(dir);
      if (!next) at.folders.set(dir, (next = { files: new Map(), folders: new Map() }));
      at = next;
    }
    const name = parts[parts.length - 1]!;
    if (at.folders.has(name) || at.files.has(name)) return undefined;
    at.files.set(name, f.change);
  }
  return root;
}

function parseTree(raw: Buffer): Entry[] {
  const out: Entry[] = [];
  let at = 0;
  while (at < raw.length) {
    const sp = raw.indexOf(0x20, at);
    const nul = raw.indexOf(0, sp + 1);
    if (sp < 0 || nul < 0 || nul + 21 > raw.length) throw new UseGit('unreadable tree');
    const mode = raw.subarray(at, sp).toString('latin1');
    if (!CANONICAL_MODES.has(mode)) throw new UseGit(`mode ${mode}`);
    out.push({ mode, name: raw.subarray(sp + 1, nul), id: raw.subarray(nul + 1, nul + 21) });
    at = nul + 21;
  }
  return out;
}

/** git's order of tree entries: by name bytes, a folder's name compared as if it ended in '/'. */
function compareEntries(a: Entry, b: Entry): number {
  const ka = a.mode === TREE_MODE ? Buffer.concat([a.name, Buffer.from('/')]) : a.name;
  const kb = b.mode === TREE_MODE ? Buffer.concat([b.name, Buffer.from('/')]) : b.name;
  return Buffer.compare(ka, kb);
}

function serialize(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of [...entries].sort(compareEntries)) parts.push(Buffer.from(`${e.mode} `, 'latin1'), e.name, Buffer.from([0]), e.id);
  return Buffer.concat(parts);
}

const trees = new Map<string, Entry[]>();
const TREES_MAX = 2000;

/** The entries of tree `id`, from a small cache (a tree never changes) or the batch reader. */
async function readTree(repo: string, id: string, signal?: AbortSignal): Promise<Entry[]> {
  const key = `${repo}\0${id}`;
  const hit = trees.get(key);
  if (hit) return hit;
  readsFromGit++;
  const [answer] = await readObjects(repo, [id], signal);
  if (answer?.type !== 'tree') throw new UseGit(`${id} is not a tree`);
  const entries = parseTree(answer.content);
  remember(key, entries);
  return entries;
}

function remember(key: string, entries: Entry[]): void {
  if (trees.size >= TREES_MAX) trees.delete(trees.keys().next().value!);
  trees.set(key, entries);
}

/**
 * Writes a tree of `entries` and keeps them as that tree's entries: a dependent's answer
 * starts from this tree, and then reads none of the trees written here back from git.
 */
async function writeTree(repo: string, objects: string, entries: Entry[]): Promise<string> {
  const id = await writeLooseObject(objects, 'tree', serialize(entries));
  remember(`${repo}\0${id}`, entries);
  return id;
}

/** The folder's new entries, or an empty list when nothing is left in it. */
async function rewrite(repo: string, objects: string, id: string | undefined, folder: Folder, signal?: AbortSignal): Promise<Entry[]> {
  const entries = id === undefined ? [] : await readTree(repo, id, signal);
  const byName = new Map(entries.map((e) => [e.name.toString('latin1'), e]));
  const writes = [...folder.files].map(async ([name, change]) => {
    const old = byName.get(name);
    if (old?.mode === TREE_MODE) throw new UseGit(`${name} is a folder`);
    if (change.kind === 'delete') return { name, entry: undefined };
    if (change.kind === 'set') return { name, entry: { mode: change.mode, name: Buffer.from(name, 'latin1'), id: Buffer.from(change.id, 'hex') } };
    const blob = await writeLooseBlob(objects, Buffer.from(change.content, 'utf8'));
    const mode = old?.mode === '100755' && !change.fresh ? '100755' : '100644';
    return { name, entry: { mode, name: Buffer.from(name, 'latin1'), id: Buffer.from(blob, 'hex') } };
  });
  const subs = [...folder.folders].map(async ([name, sub]) => {
    const old = byName.get(name);
    if (old !== undefined && old.mode !== TREE_MODE) throw new UseGit(`${name} is not a folder`);
    const inner = await rewrite(repo, objects, old?.id.toString('hex'), sub, signal);
    if (inner.length === 0) return { name, entry: undefined };
    const tree = await writeTree(repo, objects, inner);
    return { name, entry: { mode: TREE_MODE, name: Buffer.from(name, 'latin1'), id: Buffer.from(tree, 'hex') } };
  });
  for (const { name, entry } of await Promise.all([...writes, ...subs])) {
    if (entry === undefined) byName.delete(name);
    else byName.set(name, entry);
  }
  return [...byName.values()];
}

let written = 0;
let readsFromGit = 0;

/**
 * The id of `baseTree` with `files` written over it, written from here as loose objects, or
 * undefined when git should do it (see the file comment). Paths must have passed
 * `assertRepoRelativePath`. Throws `cancelled` when `signal` fires.
 */
export async function writeTreeFromFiles(
  repo: string,
  baseTree: string,
  files: ReadonlyArray<{ path: string; content: string | null; fresh?: boolean }>,
  signal?: AbortSignal,
): Promise<string | undefined> {
  return writeChanges(repo, baseTree, files.map((f) => ({ path: f.path, change: f.content === null ? { kind: 'delete' } : { kind: 'write', content: f.content, fresh: f.fresh } })), signal);
}

/** One entry of a tree as `treeEntries` gives it. */
export interface TreeEntry {
  mode: string;
  /** The name as stored (latin1 of its bytes, as the writer keys them). */
  name: string;
  id: string;
}

/**
 * The entries of tree `id` (from the writer's cache or the batch reader), or undefined when it
 * is no tree this writer can read (an odd mode, not a tree): the caller then asks git. Throws
 * `cancelled` when `signal` fires and `git/failed` when the batch reader failed.
 */
export async function treeEntries(repo: string, id: string, signal?: AbortSignal): Promise<TreeEntry[] | undefined> {
  try {
    return (await readTree(repo, id, signal)).map((e) => ({ mode: e.mode, name: e.name.toString('latin1'), id: e.id.toString('hex') }));
  } catch (e) {
    if (e instanceof UseGit) return undefined;
    throw e;
  }
}

async function writeChanges(repo: string, baseTree: string, changes: ReadonlyArray<{ path: string; change: Change }>, signal?: AbortSignal): Promise<string | undefined> {
  const folder = folderOf(changes);
  if (!folder || !/^[0-9a-f]{40}$/.test(baseTree)) return undefined;
  const objects = await objectsDirFor(repo);
  if (objects === undefined) return undefined;
  try {
    const root = await rewrite(repo, objects, baseTree, folder, signal);
    const tree = await writeTree(repo, objects, root);
    written++;
    return tree;
  } catch (e) {
    if (e instanceof UseGit) return undefined;
    // The shared reader failed (git/failed): git's own processes still can.
    if (isEngineError(e, 'git/failed')) return undefined;
    throw e;
  }
}

/** How many trees were written from the engine so far (for tests). */
export function treesWrittenHere(): number {
  return written;
}

/** How many trees were read from git so far (for tests). */
export function treesReadFromGit(): number {
  return readsFromGit;
}

/** A tree entry at a path: a blob, link or submodule, as `mode` and `id`. */
export interface LeafEntry {
  mode: string;
  id: string;
}

/** The leaf entries that differ from tree `from` to tree `to` (undefined = absent on that side), or undefined when a folder became a file or back. */
async function treeDelta(repo: string, from: string | undefined, to: string | undefined, prefix: string, out: Array<{ path: string; before?: LeafEntry; after?: LeafEntry }>, signal?: AbortSignal): Promise<void> {
  const a = new Map((from === undefined ? [] : await readTree(repo, from, signal)).map((e) => [e.name.toString('latin1'), e]));
  const b = new Map((to === undefined ? [] : await readTree(repo, to, signal)).map((e) => [e.name.toString('latin1'), e]));
  const inner: Array<Promise<void>> = [];
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(name);
    const y = b.get(name);
    if (x && y && x.mode === y.mode && x.id.equals(y.id)) continue;
    const path = `${prefix}${name}`;
    const xTree = x?.mode === TREE_MODE;
    const yTree = y?.mode === TREE_MODE;
    if (x && y && xTree !== yTree) throw new UseGit(`${path} changes between a folder and a file`);
    if (xTree || yTree) inner.push(treeDelta(repo, x?.id.toString('hex'), y?.id.toString('hex'), `${path}/`, out, signal));
    else out.push({ path, before: x && { mode: x.mode, id: x.id.toString('hex') }, after: y && { mode: y.mode, id: y.id.toString('hex') } });
  }
  await Promise.all(inner);
}

/** The leaf entry at `path` in `tree`, or undefined; throws UseGit when a folder is there. */
async function leafAt(repo: string, tree: string, path: string, signal?: AbortSignal): Promise<LeafEntry | undefined> {
  const parts = path.split('/');
  let at: string = tree;
  for (const [i, name] of parts.entries()) {
    const e = (await readTree(repo, at, signal)).find((x) => x.name.toString('latin1') === name);
    if (!e) return undefined;
    const last = i === parts.length - 1;
    if (last && e.mode === TREE_MODE) throw new UseGit(`${path} is a folder`);
    if (last) return { mode: e.mode, id: e.id.toString('hex') };
    if (e.mode !== TREE_MODE) return undefined;
    at = e.id.toString('hex');
  }
  return undefined;
}

const sameLeaf = (x: LeafEntry | undefined, y: LeafEntry | undefined) => x?.mode === y?.mode && x?.id === y?.id;

/**
 * `start` with the changes from `fromTree` to `toTree` laid over it, written here, when every
 * path those change holds in `start` what it held in `fromTree`: then `git apply` of the diff
 * from `fromTree` to `toTree` on `start` gives exactly this tree (each touched file ends as in
 * `toTree`, nothing else moves). Undefined otherwise (a path changed on both sides, a folder
 * that became a file, a name git must check), and the caller applies the patch with git.
 */
export async function carryChanges(repo: string, start: string, fromTree: string, toTree: string, signal?: AbortSignal): Promise<string | undefined> {
  if (![start, fromTree, toTree].every((t) => /^[0-9a-f]{40}$/.test(t))) return undefined;
  try {
    const delta: Array<{ path: string; before?: LeafEntry; after?: LeafEntry }> = [];
    await treeDelta(repo, fromTree, toTree, '', delta, signal);
    const now = await Promise.all(delta.map((d) => leafAt(repo, start, d.path, signal)));
    if (delta.some((d, i) => !sameLeaf(d.before, now[i]))) return undefined;
    const tree = await writeChanges(repo, start, delta.map((d) => ({ path: d.path, change: d.after ? { kind: 'set', ...d.after } : { kind: 'delete' } })), signal);
    if (tree !== undefined) carried++;
    return tree;
  } catch (e) {
    if (e instanceof UseGit || isEngineError(e, 'git/failed')) return undefined;
    throw e;
  }
}

let carried = 0;

/** How many changes `carryChanges` laid over another tree (for tests). */
export function changesCarried(): number {
  return carried;
}
