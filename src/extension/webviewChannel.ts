import { assertNever } from '../engine/errors';
import type { Logger } from '../engine/ports';
import { FromWebview, ToWebview, type DraftMessage } from '../protocol/messages';

export interface WebviewHandlers {
  /** The webview loaded its script and listens: send it the current state. */
  ready(): void;
  openNode(runId: string, taskId: string): void;
  selectRun(runId: string): void;
  /** The webview is `width` CSS pixels wide. */
  resize(width: number): void;
  /** The user asked for the graph in an editor tab. */
  openInEditor(): void;
  /** An edit of a draft plan drawn in the graph (or Start Run); absent: draft messages are logged and dropped. */
  draft?(m: DraftMessage): void;
}

/**
 * The host end of the graph webview's message channel. Incoming messages are validated
 * with `FromWebview` (invalid ones are logged and dropped, never thrown into VS Code);
 * outgoing ones with `ToWebview` before posting. Nothing is posted before the webview's
 * `webview/ready`: until then only the latest message is kept, because each message is a
 * full snapshot and older ones are stale. A webview that is hidden and shown again reloads
 * (no `retainContextWhenHidden`), so `reset()` goes back to waiting for `webview/ready`.
 */
export class WebviewChannel {
  private ready = false;
  private pending: ToWebview | undefined;

  constructor(
    private readonly post: (msg: ToWebview) => PromiseLike<boolean> | void,
    private readonly handlers: WebviewHandlers,
    private readonly log: Logger,
  ) {}

  /** Returns true when the message was valid and handled. */
  receive(raw: unknown): boolean {
    const parsed = FromWebview.safeParse(raw);
    if (!parsed.success) {
      this.log.warn('dropped an invalid message from the graph webview', { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
      return false;
    }
    const m = parsed.data;
    switch (m.type) {
      case 'webview/ready':
        this.ready = true;
        this.handlers.ready();
        if (this.pending) {
          const p = this.pending;
          this.pending = undefined;
          this.send(p);
        }
        return true;
      case 'node/open':
        this.handlers.openNode(m.runId, m.taskId);
        return true;
      case 'run/select':
        this.handlers.selectRun(m.runId);
        return true;
      case 'view/size':
        this.handlers.resize(m.width);
        return true;
      case 'graph/openEditor':
        this.handlers.openInEditor();
        return true;
      case 'draft/start':
      case 'draft/editTask':
      case 'draft/addTask':
      case 'draft/link':
      case 'draft/unlink':
        if (!this.handlers.draft) {
          this.log.warn('dropped a draft edit: this graph surface does not edit drafts', { type: m.type });
          return false;
        }
        this.handlers.draft(m);
        return true;
      default:
        return assertNever(m, 'webview message');
    }
  }

  /** Validates and posts, or holds the message until the webview is ready. Throws on a message that breaks the schema (a host bug). */
  send(msg: ToWebview): void {
    const valid = ToWebview.parse(msg);
    if (!this.ready) {
      this.pending = valid;
      return;
    }
    void this.post(valid);
  }

  get isReady(): boolean {
    return this.ready;
  }

  reset(): void {
    this.ready = false;
  }
}
