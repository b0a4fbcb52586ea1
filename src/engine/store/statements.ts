import type { Database, Statement } from 'sql.js';
import { EngineError } from '../errors';
import type { SqlParams, SqlValue } from './types';

/**
 * Prepared statements for reads, keyed by SQL text. sql.js frees every statement when the
 * connection is exported or closed, so the owner clears the cache before doing either.
 */
export class StatementCache {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: () => Database) {}

  rows(sql: string, params: SqlParams | undefined, firstOnly: boolean): Record<string, SqlValue>[] {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db().prepare(sql);
      if (this.statements.size >= 200) this.clear();
      this.statements.set(sql, stmt);
    }
    try {
      const p = normalizeParams(params);
      if (p !== undefined) stmt.bind(p);
      const rows: Record<string, SqlValue>[] = [];
      while (stmt.step()) {
        rows.push(stmt.getAsObject() as Record<string, SqlValue>);
        if (firstOnly) break;
      }
      return rows;
    } finally {
      stmt.reset();
    }
  }

  clear(): void {
    for (const s of this.statements.values()) {
      try {
        s.free();
      } catch {
        // Already freed by sql.js (export frees every statement).
      }
    }
    this.statements.clear();
  }
}

/** Copies params with undefined turned into null, so execution and the journal agree. */
export function normalizeParams(params: SqlParams | undefined): SqlParams | undefined {
  if (params === undefined) return undefined;
  if (Array.isArray(params)) return params.map((v) => (v === undefined ? null : v));
  const o: Record<string, SqlValue> = {};
  for (const [k, v] of Object.entries(params)) o[k] = v === undefined ? null : v;
  return o;
}

export function userVersion(db: Database): number {
  return Number(db.exec('PRAGMA user_version')[0]?.values[0]?.[0] ?? 0);
}

/** The store's private bookkeeping table: the snapshot generation lives inside the snapshot. */
export const META_TABLE = '_hyperion_store';

export function readGeneration(db: Database, file: string): number {
  try {
    return Number(db.exec(`SELECT generation FROM ${META_TABLE}`)[0]?.values[0]?.[0]);
  } catch (e) {
    throw new EngineError('store/corrupt', `${file} is not a Hyperion database`, { cause: e });
  }
}
