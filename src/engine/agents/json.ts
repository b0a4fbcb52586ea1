import { z } from 'zod';

/**
 * Pulls one JSON object out of a model reply. Tolerates a ```json fence or prose around the
 * object (some vendors add it even when asked not to); returns an error sentence otherwise.
 */
export function parseJsonReply(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const trimmed = text.trim();
  const candidates = [trimmed];
  const fenced = /```(?:json)?\s*\n([\s\S]*?)\n```/.exec(trimmed);
  if (fenced) candidates.push(fenced[1]);
  const first = trimmed.indexOf('{');
  const last = trimmed.lastIndexOf('}');
  if (first >= 0 && last > first) candidates.push(trimmed.slice(first, last + 1));
  let error = 'the reply is empty';
  for (const c of candidates) {
    if (c === '') continue;
    try {
      return { ok: true, value: JSON.parse(c) };
    } catch (e) {
      error = `the reply is not valid JSON (${e instanceof Error ? e.message : String(e)})`;
    }
  }
  return { ok: false, error };
}

export function zodIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
