import { firstLine, isObj, jsonObject, shownPath, str } from './toolProgress';

/** What one line of `copilot -p … --output-format json` means to the harness. */
export type CopilotStreamEvent =
  | { kind: 'progress'; text: string }
  | { kind: 'message'; text: string };

/** A progress line for one of Copilot CLI's own tools (`create`, `edit`, `view`, `bash`, …). */
function copilotToolProgress(name: string, args: Record<string, unknown>, cwd: string): string {
  const file = str(args.path);
  switch (name) {
    case 'create':
    case 'edit':
      return file ? `editing ${shownPath(file, cwd)}` : `editing (${name})`;
    case 'view':
      return file ? `reading ${shownPath(file, cwd)}` : 'reading';
    case 'bash':
      return `running ${firstLine(str(args.command))}`.trim();
    case 'grep':
    case 'glob':
      return `searching ${firstLine(str(args.pattern))}`.trim();
    default:
      return `using ${name}`;
  }
}

/**
 * Parses one JSON line of Copilot CLI 1.0.102's `--output-format json`: each tool run
 * (`tool.execution_start`) as progress, and each assistant message with text (the last is the
 * summary). It reports no tokens (only premium requests), so no usage. Other lines give
 * nothing, so a newer Copilot with more event types still runs.
 */
export function parseCopilotLine(line: string, cwd: string): CopilotStreamEvent[] {
  const ev = jsonObject(line);
  if (!ev || !isObj(ev.data)) return [];
  if (ev.type === 'tool.execution_start' && typeof ev.data.toolName === 'string') {
    return [{ kind: 'progress', text: copilotToolProgress(ev.data.toolName, isObj(ev.data.arguments) ? ev.data.arguments : {}, cwd) }];
  }
  if (ev.type === 'assistant.message' && str(ev.data.content).trim() !== '') return [{ kind: 'message', text: str(ev.data.content) }];
  return [];
}
