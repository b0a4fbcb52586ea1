import { ERROR_TITLES } from '../engine/errorCodes';
import { isEngineError } from '../engine/errors';

/** Buttons an error message can offer; the extension maps each to a command. */
export type ErrorAction = 'Open Log' | 'Set API Key' | 'Select Models' | 'Retry' | 'Show Queue' | 'Open Folder';

export interface UserFacingError {
  /** One sentence for the notification. */
  message: string;
  actions: ErrorAction[];
  /** `cancelled` is not an error to the user: show nothing or an info line. */
  severity: 'error' | 'warning' | 'info';
  /** The file 'Open Folder' reveals (the kept copy of a damaged journal). */
  reveal?: string;
}

/**
 * Turns anything thrown by the engine into one clear sentence and the actions that help.
 * `what` names the operation ("Planning", "Approving the change"). The engine's own message
 * is appended only when it says something the code does not (never for auth, whose message
 * could echo server text). Retry is offered only where the caller can retry (`canRetry`).
 */
export function toUserError(e: unknown, what: string, canRetry = false): UserFacingError {
  const retry: ErrorAction[] = canRetry ? ['Retry'] : [];
  if (!isEngineError(e)) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { message: `${what} failed: ${msg}`, actions: [...retry, 'Open Log'], severity: 'error' };
  }
  const code = e.code;
  const detail = (e.message.split('\n')[0] ?? '').replace(/[.\s]+$/, '');
  const provider = typeof e.details?.provider === 'string' ? e.details.provider : 'the model provider';
  if (code === 'cancelled') return { message: `${what} was cancelled.`, actions: [], severity: 'info' };
  if (code === 'provider/auth') {
    return {
      message: `${what} failed: ${provider} rejected the API key or none is set. Set a valid key, or pick a VS Code language model.`,
      actions: ['Set API Key', 'Select Models'],
      severity: 'error',
    };
  }
  if (code === 'provider/rate-limited') return { message: `${what} failed: ${provider} is rate-limiting requests. Wait a minute and try again.`, actions: [...retry, 'Open Log'], severity: 'warning' };
  if (code === 'provider/timeout') return { message: `${what} failed: ${provider} did not answer in time.`, actions: [...retry, 'Open Log'], severity: 'warning' };
  if (code === 'provider/network') return { message: `${what} failed: could not reach ${provider}. Check its base URL in the settings.`, actions: [...retry, 'Open Log'], severity: 'error' };
  if (code === 'provider/bad-request' || code === 'provider/no-recording') return { message: `${what} failed: ${detail}. Check the model settings.`, actions: ['Select Models', 'Open Log'], severity: 'error' };
  if (code.startsWith('provider/')) return { message: `${what} failed: ${provider} had an error (${detail}).`, actions: [...retry, 'Open Log'], severity: 'error' };
  if (code.startsWith('plan/')) return { message: `${what} failed: the planner did not produce a valid plan (${detail}).`, actions: [...retry, 'Open Log'], severity: 'error' };
  if (code.startsWith('usage/')) return { message: `${what} failed: ${detail}.`, actions: ['Open Log'], severity: 'error' };
  if (code.startsWith('budget/')) return { message: `${what} stopped: the run reached its budget (${detail}).`, actions: ['Open Log'], severity: 'warning' };
  if (code.startsWith('policy/') || code.startsWith('patch/')) return { message: `${what} failed: the change broke a rule (${detail}).`, actions: ['Open Log'], severity: 'error' };
  if (code.startsWith('queue/') || code.startsWith('git/')) return { message: `${what} failed: ${detail}.`, actions: ['Show Queue', 'Open Log'], severity: 'error' };
  if (code === 'store/damaged') {
    // The engine's sentence already says what was recovered and where the damaged file is.
    const copy = typeof e.details?.copy === 'string' ? e.details.copy : undefined;
    return { message: `${detail}.`, actions: copy ? ['Open Folder', 'Open Log'] : ['Open Log'], severity: 'error', ...(copy ? { reveal: copy } : {}) };
  }
  if (code === 'store/lock-lost') {
    // The store refuses every write after this, so only a fresh engine can go on.
    return { message: `${what} stopped: Hyperion lost its write lock on its state folder (another process took it or the lock file was deleted), so it stopped saving. Reload the window to continue.`, actions: ['Open Log'], severity: 'error' };
  }
  if (code.startsWith('store/')) {
    // A damaged database file kept aside (store/corrupt) can be revealed like a damaged journal.
    const copy = typeof e.details?.copy === 'string' ? e.details.copy : undefined;
    const message = `${what} failed: Hyperion could not read or write its state (${detail}).`;
    return copy ? { message, actions: ['Open Folder', 'Open Log'], severity: 'error', reveal: copy } : { message, actions: ['Open Log'], severity: 'error' };
  }
  return { message: `${what} failed: ${ERROR_TITLES[code]} (${detail}).`, actions: [...retry, 'Open Log'], severity: 'error' };
}
