/**
 * Extra context for the planner from the editor: the active file's path and the selected
 * text (or nothing). Pure; `maxChars` bounds what goes into the prompt.
 */
export function planContext(editor: { relativePath?: string; languageId?: string; selection?: string; selectionLines?: [number, number] } | undefined, maxChars = 4000): string | undefined {
  if (!editor?.relativePath) return undefined;
  const parts = [`Active file: ${editor.relativePath}${editor.languageId ? ` (${editor.languageId})` : ''}`];
  const sel = editor.selection?.trim();
  if (sel) {
    const lines = editor.selectionLines ? ` (lines ${editor.selectionLines[0]}-${editor.selectionLines[1]})` : '';
    const room = Math.max(0, maxChars - parts[0].length - 40);
    const body = sel.length > room ? `${sel.slice(0, room)}\n[selection cut at ${room} characters]` : sel;
    parts.push(`Selected text${lines}:\n${body}`);
  }
  return parts.join('\n');
}
