import * as fs from 'node:fs';
import * as path from 'node:path';
import initSqlJs, { type SqlJsStatic } from 'sql.js';
import { EngineError } from '../errors';

let loading: Promise<SqlJsStatic> | undefined;

/**
 * Where sql-wasm.wasm is: an explicit path, else next to the running bundle (the esbuild
 * builds copy it into dist/), else the sql.js package.
 */
export function locateWasm(explicit?: string): string {
  if (explicit) return explicit;
  if (typeof __dirname === 'string') {
    const beside = path.join(__dirname, 'sql-wasm.wasm');
    if (fs.existsSync(beside)) return beside;
  }
  return require.resolve('sql.js/dist/sql-wasm.wasm');
}

/** Loads sql.js once per process; later calls share the first load (and its wasm path). */
export function loadSqlJs(wasmPath?: string): Promise<SqlJsStatic> {
  if (!loading) {
    const attempt = (async () => {
      const file = locateWasm(wasmPath);
      let wasmBinary: Buffer;
      try {
        wasmBinary = fs.readFileSync(file);
      } catch (e) {
        throw new EngineError('store/wasm-missing', `could not read the SQLite engine at ${file}`, { cause: e });
      }
      return initSqlJs({ wasmBinary: wasmBinary.buffer.slice(wasmBinary.byteOffset, wasmBinary.byteOffset + wasmBinary.byteLength) as ArrayBuffer });
    })();
    loading = attempt;
    // A failed load must not poison the process: the next open retries.
    attempt.catch(() => {
      if (loading === attempt) loading = undefined;
    });
  }
  return loading;
}
