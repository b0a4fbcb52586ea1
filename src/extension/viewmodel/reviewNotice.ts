import { plural } from './format';

/**
 * The "N changes waiting for your review" notice. An information message cannot be
 * closed by code, so every run used to leave one behind that went stale as soon as the
 * changes were reviewed. Instead one progress notification is kept open while anything
 * waits, its text follows the count, and it closes by itself when the count reaches
 * zero (or when the user dismisses it). Pure over an injected `open`.
 */
export interface NoticeHandle {
  /** Shows `message`; resolves when the user dismisses the notice. */
  report(message: string): void;
}

export interface ReviewNoticeOptions {
  /** Opens the notice; it stays until `until` resolves. `dismissed` resolves if the user closes it. */
  open(until: Promise<void>): { handle: NoticeHandle; dismissed: Promise<void> };
}

export function reviewNoticeText(count: number): string {
  return `${plural(count, 'change')} waiting for your review. Open each diff from the Approvals view.`;
}

export class ReviewNotice {
  private handle: NoticeHandle | undefined;
  private close: (() => void) | undefined;
  /** How many notices were opened; for tests. */
  opened = 0;

  constructor(private readonly o: ReviewNoticeOptions) {}

  /** Shows or updates the notice for `count` waiting changes; closes it at zero. */
  update(count: number, openIfClosed = false): void {
    if (count <= 0) {
      this.close?.();
      return;
    }
    if (this.handle) {
      this.handle.report(reviewNoticeText(count));
      return;
    }
    if (!openIfClosed) return;
    let resolve!: () => void;
    const until = new Promise<void>((r) => { resolve = r; });
    const { handle, dismissed } = this.o.open(until);
    this.opened += 1;
    this.handle = handle;
    this.close = () => {
      this.handle = undefined;
      this.close = undefined;
      resolve();
    };
    const closeMe = this.close;
    void dismissed.then(() => { if (this.close === closeMe) closeMe(); });
    handle.report(reviewNoticeText(count));
  }

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  dispose(): void {
    this.close?.();
  }
}
