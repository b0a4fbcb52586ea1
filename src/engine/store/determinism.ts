import { EngineError } from '../errors';

/**
 * Writes are journaled as SQL and replayed by every process that opens the store, so a
 * write must give the same result on replay. These patterns catch the usual sources of
 * non-determinism; a string literal that merely mentions them is rejected too (pass such
 * text as a parameter instead).
 */
const RULES: Array<[RegExp, string]> = [
  [/\brandom(blob)?\s*\(/i, 'random()'],
  [/\bcurrent_(timestamp|date|time)\b/i, 'CURRENT_TIMESTAMP/CURRENT_DATE/CURRENT_TIME'],
  [/'now'/i, "'now'"],
  [/\b(date|time|datetime|julianday|unixepoch|strftime|timediff)\s*\(\s*\)/i, 'a date function without arguments (it means now)'],
  [/\b(changes|total_changes|last_insert_rowid|sqlite_version|sqlite_source_id)\s*\(/i, 'a function whose value depends on earlier statements of the connection'],
];

const checked = new Map<string, string | null>();

/** Throws `store/nondeterministic-sql` for SQL that would replay differently. */
export function assertDeterministic(sql: string): void {
  let verdict = checked.get(sql);
  if (verdict === undefined) {
    verdict = null;
    for (const [re, what] of RULES) {
      if (re.test(sql)) {
        verdict = what;
        break;
      }
    }
    if (checked.size > 2000) checked.clear();
    checked.set(sql, verdict);
  }
  if (verdict !== null) {
    throw new EngineError(
      'store/nondeterministic-sql',
      `this write uses ${verdict}, which would give a different result when the journal is replayed; compute the value in code and pass it as a parameter`,
      { details: { sql } },
    );
  }
}
