import { describeError, isEngineError } from '../errors';
import { parsePatch } from './patch';
import { repairPatch } from './repair';

/**
 * Which text of a patch lands: the patch as given, or its repair. The rule, for every caller:
 * a patch that git applies as given lands as given, so what lands is exactly what `git apply`
 * makes of it. Repair (a guess about a damaged model patch) runs only for a patch that does not
 * apply, and its result is used only when it applies.
 *
 * Kept pure: applying is the caller's, passed in as a function (the scheduler applies to a
 * tree with `applyAndDiff`, the queue with `patchChanges`).
 */

/** What the caller's apply made of a text: its result, or git's reason for refusing it. */
export type ApplyOutcome<T> = { ok: true; value: T } | { ok: false; error: string };

export type ResolvedPatch<T> =
  | { kind: 'applied'; patch: string; repairs: string[]; value: T }
  /** `repaired` is the repair that was tried (and did not apply either), when one could be made. */
  | { kind: 'does-not-apply'; error: string; repaired?: { patch: string; repairs: string[] } };

/**
 * Applies `text` as given; only when that fails, repairs it and applies the repair. Returns
 * the text that applied with the caller's value, or git's reason for the original (with the
 * repair's own failure appended). Throws only what `apply` throws.
 */
export async function resolvePatch<T>(text: string, apply: (patch: string) => Promise<ApplyOutcome<T>>): Promise<ResolvedPatch<T>> {
  const first = await apply(text);
  if (first.ok) return { kind: 'applied', patch: text, repairs: [], value: first.value };
  const repaired = tryRepair(text);
  if (repaired === undefined || 'error' in repaired) {
    return { kind: 'does-not-apply', error: repaired === undefined ? first.error : `${first.error} (${clip(repaired.error)})` };
  }
  const second = await apply(repaired.patch);
  if (second.ok) return { kind: 'applied', patch: repaired.patch, repairs: repaired.repairs, value: second.value };
  return { kind: 'does-not-apply', error: `${first.error} (repaired with ${repaired.repairs.join(', ')}, it still does not apply: ${clip(second.error)})`, repaired };
}

/** The repair's part of a reason stays short: git's reason for the patch as given comes first and matters most. */
function clip(s: string): string {
  return s.length > 160 ? `${s.slice(0, 159)}…` : s;
}

/**
 * The repair of a patch that did not apply: undefined when repair changes nothing (so there is
 * nothing new to try), `{ error }` when it cannot be repaired.
 */
export function tryRepair(text: string): { patch: string; repairs: string[] } | { error: string } | undefined {
  try {
    const r = repairPatch(text);
    return r.patch === text || r.repairs.length === 0 ? undefined : r;
  } catch (e) {
    if (!isEngineError(e, 'patch/')) throw e;
    return { error: `repair refused: ${describeError(e)}` };
  }
}

/** True when our strict parser reads the text as it stands (so the policy can read it without repair). */
export function parsesAsGiven(text: string): boolean {
  try {
    parsePatch(text);
    return true;
  } catch (e) {
    if (!isEngineError(e, 'patch/')) throw e;
    return false;
  }
}
