import { describeError, isEngineError } from '../errors';
import type { Logger } from '../ports';
import type { MergeQueue } from '../queue/types';

/**
 * One background landing loop at a time: a request while a pass runs schedules one more
 * pass, so an approval made mid-pass is never left waiting.
 */
export function landingLoop(queue: MergeQueue, log: Logger, stop: AbortSignal) {
  let landing: Promise<void> | undefined;
  let again = false;
  function kick(): Promise<void> {
    if (landing) {
      again = true;
      return landing;
    }
    landing = (async () => {
      do {
        again = false;
        await queue.runUntilIdle(stop);
      } while (again && !stop.aborted);
    })()
      .catch((e) => {
        if (!isEngineError(e, 'cancelled')) log.error('merge queue stopped', { error: describeError(e) });
      })
      .finally(() => {
        landing = undefined;
      });
    return landing;
  }
  return {
    kick,
    /** Resolves when no pass is running (including passes requested while waiting). */
    async idle(): Promise<void> {
      while (landing) await landing;
    },
  };
}
