import { parsePatch, patchFiles } from '../changes/patch';
import { describeError } from '../errors';

/**
 * Adapter over the change policy, so the scheduler depends on one small shape.
 * TODO(policy): delegate to `changes/policy.ts` `checkPatchPolicy` once it lands; until then
 * this applies the rules the scheduler cannot do without (parseable, size, protected paths).
 */
export interface PolicyViolation {
  rule: string;
  path?: string;
  message: string;
  severity: 'block' | 'needs-approval';
}
export interface PolicyReport {
  files: string[];
  violations: PolicyViolation[];
  blocked: boolean;
  needsExplicitApproval: boolean;
}

export function checkPolicy(patch: string, opts: { protectedPaths?: string[]; maxPatchBytes?: number }): PolicyReport {
  const violations: PolicyViolation[] = [];
  let files: string[] = [];
  if (opts.maxPatchBytes !== undefined && Buffer.byteLength(patch) > opts.maxPatchBytes) {
    violations.push({ rule: 'max-patch-bytes', message: `the patch is larger than ${opts.maxPatchBytes} bytes`, severity: 'block' });
  }
  if (patch.trim() !== '') {
    try {
      files = patchFiles(parsePatch(patch));
    } catch (e) {
      violations.push({ rule: 'malformed-patch', message: describeError(e), severity: 'block' });
    }
  }
  for (const f of files) {
    if (f.split('/')[0]?.toLowerCase() === '.git') violations.push({ rule: 'git-dir', path: f, message: `"${f}" is inside .git`, severity: 'block' });
    for (const p of opts.protectedPaths ?? []) {
      const prefix = p.replace(/\/+$/, '');
      if (f === prefix || f.startsWith(`${prefix}/`)) violations.push({ rule: 'protected-path', path: f, message: `"${f}" is protected (${p})`, severity: 'block' });
    }
  }
  return {
    files,
    violations,
    blocked: violations.some((v) => v.severity === 'block'),
    needsExplicitApproval: violations.some((v) => v.severity === 'needs-approval'),
  };
}
