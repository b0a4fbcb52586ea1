import { EngineError } from '../errors';
import { errnoCode } from './fs-port';

/** `store/write-failed` with one sentence that names the folder and the reason. */
export function storeWriteFailed(dir: string, e: unknown, what: string): EngineError {
  if (e instanceof EngineError) return e;
  const code = errnoCode(e);
  const reason =
    code === 'ENOSPC' ? 'the disk is full'
    : code === 'EDQUOT' ? 'the disk quota is exceeded'
    : code === 'EROFS' ? 'the folder is on a read-only file system'
    : code === 'EACCES' || code === 'EPERM' ? 'permission was denied'
    : (e as Error)?.message ?? String(e);
  return new EngineError('store/write-failed', `could not ${what} the Hyperion state folder ${dir} because ${reason}`, {
    cause: e,
    details: { dir, errno: code },
  });
}
