import { checkPatchPolicy, type PatchPolicyOptions, type PolicyReport } from '../changes/policy';
import { describeError, isEngineError } from '../errors';

export type { PolicyReport, PolicyViolation } from '../changes/policy';

/**
 * The change policy as the scheduler applies it to every change request (agent output and
 * ready-made patches alike). An empty patch touches nothing and breaks no rule; a patch the
 * parser cannot read is blocked (rule `malformed`) instead of failing the task, so the user
 * sees why in the rejected change.
 */
export function checkPolicy(patch: string, opts: PatchPolicyOptions): PolicyReport {
  if (patch.trim() === '') return { files: [], violations: [], blocked: false, needsExplicitApproval: false };
  try {
    return checkPatchPolicy(patch, opts);
  } catch (e) {
    if (!isEngineError(e, 'patch/')) throw e;
    const message = `malformed: the patch cannot be read (${describeError(e)}).`;
    // `rule` is typed as the policy's rule union; `malformed` is the scheduler's own addition.
    return { files: [], violations: [{ rule: 'malformed' as never, message, severity: 'block' }], blocked: true, needsExplicitApproval: false };
  }
}

/** One line naming every blocking rule, for the rejected change's `error`. */
export function blockingReason(report: PolicyReport): string | null {
  const blocking = report.violations.filter((v) => v.severity === 'block');
  return blocking.length === 0 ? null : blocking.map((v) => v.message).join(' ');
}
