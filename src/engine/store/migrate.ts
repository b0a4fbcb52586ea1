import type { Database } from 'sql.js';
import { EngineError } from '../errors';
import type { Migration } from './types';

/** Versions must be positive integers in strictly increasing order. */
export function checkMigrationList(migrations: Migration[]): void {
  let prev = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= prev) {
      throw new EngineError('store/bad-migrations', `migration versions must increase from 1; found ${m.version} after ${prev}`);
    }
    prev = m.version;
  }
}

/**
 * Applies every migration newer than `PRAGMA user_version` in one transaction; on failure
 * nothing is applied and `store/migration-failed` names the version.
 */
export function applyMigrations(db: Database, migrations: Migration[]): void {
  const current = Number(db.exec('PRAGMA user_version')[0]?.values[0]?.[0] ?? 0);
  const pending = migrations.filter((m) => m.version > current);
  if (pending.length === 0) return;
  db.exec('BEGIN');
  let at: Migration | undefined;
  try {
    for (const m of pending) {
      at = m;
      db.exec(m.sql);
      db.exec(`PRAGMA user_version = ${m.version}`);
    }
    db.exec('COMMIT');
  } catch (e) {
    db.exec('ROLLBACK');
    throw new EngineError('store/migration-failed', `schema migration ${at?.version} (${at?.description}) failed: ${(e as Error).message}`, { cause: e });
  }
}
