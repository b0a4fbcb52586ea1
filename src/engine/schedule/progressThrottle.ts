/**
 * Bounds an agent's progress lines before they become live events: the first line goes out at
 * once, then at most one line per `intervalMs` (the newest one; lines in between are dropped,
 * the task's row only ever shows the latest) and never the same line twice in a row. `flush`
 * sends a held line and stops the timer; call it when the agent ends.
 */
export function throttleProgress(send: (text: string) => void, intervalMs = 250): { push(text: string): void; flush(): void } {
  let last: string | undefined;
  let held: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const out = (text: string) => {
    if (text === last) return;
    last = text;
    send(text);
  };
  const tick = () => {
    timer = undefined;
    if (held === undefined) return;
    const text = held;
    held = undefined;
    out(text);
    timer = setTimeout(tick, intervalMs);
  };
  return {
    push(text) {
      if (timer) {
        held = text;
        return;
      }
      out(text);
      timer = setTimeout(tick, intervalMs);
    },
    flush() {
      clearTimeout(timer);
      timer = undefined;
      if (held !== undefined) out(held);
      held = undefined;
    },
  };
}
