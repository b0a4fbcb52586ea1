import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { deflate } from 'node:zlib';
import { git } from './exec';

/**
 * Writes blobs as loose objects from this process, the way `git hash-object -w --no-filters`
 * does: `blob <size>\0<bytes>` zlib-deflated into `<objects>/<2 hex>/<38 hex>`, written to a
 * temporary file in that folder and linked into place (an object that exists already is left
 * alone: same name, same content). A task's finishing answer used to cost a git process plus a
 * temp folder and a file per blob; this costs neither.
 *
 * Only for SHA-1 repositories whose object folder git names (`rev-parse --git-path objects`,
 * which honours GIT_OBJECT_DIRECTORY); elsewhere `objectsDirFor` answers undefined and the
 * caller uses git.
 */

const deflateAsync = promisify(deflate);
const dirs = new Map<string, Promise<string | undefined>>();
const folders = new Set<string>();

/** The repository's object folder when blobs can be written here, else undefined. Asked once per repository. */
export function objectsDirFor(repo: string): Promise<string | undefined> {
  let p = dirs.get(repo);
  if (!p) {
    p = git(['rev-parse', '--path-format=absolute', '--git-path', 'objects', '--show-object-format'], { cwd: repo, check: false }).then(
      (r) => {
        const [dir, format] = r.stdout.split('\n');
        return r.code === 0 && dir && format === 'sha1' ? dir : undefined;
      },
      () => undefined,
    );
    dirs.set(repo, p);
  }
  return p;
}

/** The blob id git gives `content` (UTF-8, no filters). */
export function blobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/** Writes `content` as a loose blob into `objectsDir` and returns its id. */
export function writeLooseBlob(objectsDir: string, content: Buffer): Promise<string> {
  return writeLooseObject(objectsDir, 'blob', content);
}

/** The id git gives an object of `type` with `content`. */
export function objectId(type: 'blob' | 'tree', content: Buffer): string {
  return createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
}

/** Writes `content` as a loose object of `type` into `objectsDir` (as `hash-object -w -t <type>`) and returns its id. */
export async function writeLooseObject(objectsDir: string, type: 'blob' | 'tree', content: Buffer): Promise<string> {
  const id = objectId(type, content);
  const folder = path.join(objectsDir, id.slice(0, 2));
  const file = path.join(folder, id.slice(2));
  if (await exists(file)) return id;
  const body = await deflateAsync(Buffer.concat([Buffer.from(`${type} ${content.length}\0`), content]));
  // A fan-out folder, once there, stays (git never removes one while we run): one mkdir each.
  if (!folders.has(folder)) {
    await mkdir(folder, { recursive: true });
    folders.add(folder);
  }
  const tmp = path.join(folder, `tmp_obj_hyperion_${process.pid}_${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(tmp, body, { mode: 0o444 });
  } catch (e) {
    // `git prune` removed the folder since (it drops empty ones): make it again.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await mkdir(folder, { recursive: true });
    await writeFile(tmp, body, { mode: 0o444 });
  }
  try {
    await link(tmp, file);
  } catch (e) {
    // Another writer put the same object there first: same name, same content.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return id;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
