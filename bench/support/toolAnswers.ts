import type { LoopbackToolCall } from '../../test/support/loopback/common';
import type { PlanTask } from '../../src/engine/plan/schema';
import { fileContent } from './content';
import { CHARS_PER_TOKEN, tokensOf } from './rates';
import type { GoalFile } from './goals';

/**
 * The tool developer's answer in the orchestration bench (`--developer tools`): the same new
 * code per file as the whole-file answer writes (`fileContent`, the goal's outputTokens), but
 * put in place as a tool protocol model would: an existing file gets `edit_file` with a short
 * unique anchor from its end, a new file gets `write_file`, and `finish` closes the one turn.
 *
 * It also gives what the whole-file protocol would have to write for the very same resulting
 * files (the existing content plus the new code, for every file touched), so the two
 * protocols are compared on the same change.
 */
export interface ToolAnswer {
  toolCalls: LoopbackToolCall[];
  /** Output tokens of the tool calls (names and JSON arguments). */
  outputTokens: number;
  /** Output tokens of a whole-file finish that leads to the same files. */
  wholeFileTokens: number;
  /** The part of both that concerns files which existed before the task: [tools, whole-file]. */
  existing: [number, number];
  /** The same for the files the task created: [tools, whole-file]. */
  created: [number, number];
  /** The new code alone (every file's added text, JSON-quoted): what any protocol must write at the least. */
  newCodeTokens: number;
}

/** The named files as the prompt shows them ("### path" then a fenced block, or "(does not exist yet)"). */
export function filesInPrompt(user: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  const re = /^### (\S+)\n(?:\(does not exist yet\)|(```|~~~~)\n([\s\S]*?)\n?\2)$/gm;
  for (let m = re.exec(user); m; m = re.exec(user)) out.set(m[1]!, m[2] === undefined ? undefined : `${m[3]}\n`);
  return out;
}

/** The shortest run of last lines of `text` that occurs in it once: what a model quotes to anchor an edit. */
function uniqueTail(text: string): string {
  const lines = text.replace(/\n+$/, '').split('\n');
  for (let k = 1; k <= lines.length; k++) {
    const tail = lines.slice(-k).join('\n');
    if (tail.trim().length >= 8 && text.indexOf(tail) === text.lastIndexOf(tail)) return tail;
  }
  return lines.join('\n');
}

export function toolAnswer(goal: GoalFile, tasks: readonly PlanTask[], summary: string, user: string): ToolAnswer {
  const current = filesInPrompt(user);
  const calls: LoopbackToolCall[] = [];
  const wholeFiles = new Map<string, string>();
  const addedCode: string[] = [];
  for (const t of tasks) {
    const per = Math.ceil((goal.outputTokens[t.id]! * CHARS_PER_TOKEN) / t.files.length);
    for (const p of t.files) {
      const added = fileContent(`${goal.name}/${t.id}/${p}`, per);
      addedCode.push(added);
      const before = current.get(p);
      if (before === undefined || before.trim() === '') {
        calls.push({ name: 'write_file', input: { path: p, content: added } });
        wholeFiles.set(p, wholeFiles.has(p) ? `${wholeFiles.get(p)}\n${added}` : added);
      } else {
        const anchor = uniqueTail(before);
        calls.push({ name: 'edit_file', input: { path: p, old_string: anchor, new_string: `${anchor}\n\n${added}` } });
        wholeFiles.set(p, `${(wholeFiles.get(p) ?? before).replace(/\n+$/, '')}\n\n${added}`);
      }
    }
  }
  calls.push({ name: 'finish', input: { summary } });
  const edits = calls.filter((c) => c.name === 'edit_file');
  const edited = new Set(edits.map((c) => (c.input as { path: string }).path));
  const writes = calls.filter((c) => c.name === 'write_file' && !edited.has((c.input as { path: string }).path));
  const part = (cs: LoopbackToolCall[], inWhole: (p: string) => boolean): [number, number] => [
    cs.length === 0 ? 0 : tokensOf(JSON.stringify(cs.map((c) => ({ name: c.name, input: c.input })))),
    cs.length === 0 ? 0 : tokensOf(JSON.stringify([...wholeFiles].filter(([p]) => inWhole(p)).map(([path, content]) => ({ path, content })))),
  ];
  return {
    existing: part(edits, (p) => edited.has(p)),
    created: part(writes, (p) => !edited.has(p)),
    newCodeTokens: tokensOf(JSON.stringify(addedCode)),
    toolCalls: calls,
    outputTokens: tokensOf(JSON.stringify(calls.map((c) => ({ name: c.name, input: c.input })))),
    wholeFileTokens: tokensOf(JSON.stringify({ action: 'finish', summary, files: [...wholeFiles].map(([path, content]) => ({ path, content })) })),
  };
}
