import * as path from 'node:path';
import { nodeStoreFs, type StoreFs } from '../../src/engine/store/fs-port';

export interface Fault {
  /** errno code to throw, e.g. ENOSPC or EROFS. */
  code: string;
  /** Which files fail; default all. Matched against the file's base name. */
  files?: RegExp;
  /** Which operations fail. */
  ops: Array<'write' | 'open-write' | 'rename' | 'truncate' | 'fsync'>;
  /** Runs just before the fault is thrown (once), e.g. to let another reader look. */
  before?: () => void;
  /** For 'write': write half of the first failing buffer before failing (a torn append). */
  partial?: boolean;
}

/** A node:fs port whose writes fail on demand, for the cases a real mount cannot cover. */
export function faultyFs(): { fs: StoreFs; set(f: Fault | undefined): void; failures: () => number } {
  let fault: Fault | undefined;
  let failures = 0;
  let tornOnce = false;
  const fdPath = new Map<number, string>();
  const hits = (file: string, op: Fault['ops'][number]) =>
    !!fault && fault.ops.includes(op) && (!fault.files || fault.files.test(path.basename(file)));
  const boom = () => {
    failures++;
    const before = fault!.before;
    fault!.before = undefined;
    before?.();
    return Object.assign(new Error(`${fault!.code}: injected fault`), { code: fault!.code });
  };
  const fs: StoreFs = {
    ...nodeStoreFs,
    openSync(p, flags, mode) {
      if (flags !== 'r' && hits(p, 'open-write')) throw boom();
      const fd = nodeStoreFs.openSync(p, flags, mode);
      fdPath.set(fd, p);
      return fd;
    },
    closeSync(fd) {
      fdPath.delete(fd);
      nodeStoreFs.closeSync(fd);
    },
    writeSync(fd, b, o, l, p) {
      const file = fdPath.get(fd) ?? '';
      if (hits(file, 'write')) {
        if (fault!.partial && !tornOnce && l > 1) {
          tornOnce = true;
          return nodeStoreFs.writeSync(fd, b, o, Math.floor(l / 2), p);
        }
        throw boom();
      }
      return nodeStoreFs.writeSync(fd, b, o, l, p);
    },
    fsyncSync(fd) {
      if (hits(fdPath.get(fd) ?? '', 'fsync')) throw boom();
      nodeStoreFs.fsyncSync(fd);
    },
    ftruncateSync(fd, len) {
      if (hits(fdPath.get(fd) ?? '', 'truncate')) throw boom();
      nodeStoreFs.ftruncateSync(fd, len);
    },
    renameSync(a, b) {
      if (hits(b, 'rename')) throw boom();
      nodeStoreFs.renameSync(a, b);
    },
  };
  return {
    fs,
    set(f) {
      fault = f;
      tornOnce = false;
    },
    failures: () => failures,
  };
}
