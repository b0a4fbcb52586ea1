import { ERROR_TITLES, type ErrorCode } from '../errorCodes';
import { EngineError } from '../errors';

/**
 * How a worker's error crosses Redis: BullMQ keeps only a message, so the code travels in
 * front of it as `[code] message`, and `(transient)` marks what the task's retry policy may
 * retry (a stalled agent). A stall BullMQ gave up on (the worker died more often than allowed)
 * is transient too: a new attempt gets a new job.
 */
export function formatJobFailure(e: EngineError): string {
  const transient = (e.details as { transient?: boolean } | undefined)?.transient === true;
  return `[${e.code}]${transient ? ' (transient)' : ''} ${e.message}`;
}

export function parseJobFailure(reason: string): EngineError {
  const m = /^\[([a-z-]+(?:\/[a-z-]+)?)\]( \(transient\))? ([\s\S]*)$/.exec(reason);
  if (m && Object.prototype.hasOwnProperty.call(ERROR_TITLES, m[1])) {
    return new EngineError(m[1] as ErrorCode, m[3], m[2] ? { details: { transient: true } } : {});
  }
  const stalled = /stalled/i.test(reason);
  return new EngineError('distributed/job-failed', stalled ? `the job's workers stopped answering too often (${reason})` : `the task failed on a worker: ${reason}`, stalled ? { details: { transient: true } } : {});
}
