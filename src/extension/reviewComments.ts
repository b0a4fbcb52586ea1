import * as vscode from 'vscode';
import type { ChangeCommentView, ChangeView, Engine } from '../engine/api';
import type { Logger } from '../engine/ports';
import { CHANGE_SCHEME, parseChangeUri } from './changeUris';
import { COMMANDS } from './commandIds';
import { guarded, resolveChange } from './commands';
import { changeUri } from './diffView';
import type { EngineHost } from './engineHost';
import { commentPlacement, threadLabel, threadExpanded } from './viewmodel/comments';
import { targetOf } from './viewmodel/nodes';

/** Plain text for a comment body: what a person or an agent wrote is never read as Markdown or HTML. */
function plain(text: string): vscode.MarkdownString {
  return new vscode.MarkdownString().appendText(text);
}

/**
 * Review comments through VS Code's Comments API, on the proposed side of a change (the diff
 * editor's right side and the inline review are the same document). The engine holds the
 * comments; threads here are drawn from it and redrawn when they change. A new thread the user
 * opens is stored by Add Comment (or sent at once by Request Changes) and then redrawn.
 */
export class ReviewComments implements vscode.Disposable {
  private readonly controller = vscode.comments.createCommentController('hyperion.review', 'Hyperion Review');
  private readonly threads = new Map<string, { signature: string; threads: vscode.CommentThread[] }>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly host: EngineHost, private readonly log: Logger) {
    this.controller.options = { prompt: 'Comment for the agent…', placeHolder: 'What should the agent change here?' };
    this.controller.commentingRangeProvider = {
      provideCommentingRanges: (doc) => {
        const parsed = doc.uri.scheme === CHANGE_SCHEME ? parseChangeUri(doc.uri) : undefined;
        if (!parsed || parsed.side !== 'proposed' || parsed.at !== undefined) return [];
        const c = this.host.current?.getChange(parsed.changeId);
        if (!c || c.status !== 'proposed' || (parsed.version ?? 1) !== c.version) return [];
        return [new vscode.Range(0, 0, Math.max(0, doc.lineCount - 1), 0)];
      },
    };
    this.disposables.push(vscode.workspace.onDidOpenTextDocument(() => this.refresh()));
  }

  /** Redraws the threads of every change that has a document open, where its comments changed. */
  refresh(): void {
    const engine = this.host.current;
    if (!engine) return;
    const ids = new Set(vscode.workspace.textDocuments.flatMap((d) => {
      const p = d.uri.scheme === CHANGE_SCHEME ? parseChangeUri(d.uri) : undefined;
      return p ? [p.changeId] : [];
    }));
    for (const id of ids) {
      try {
        this.render(engine, id);
      } catch (e) {
        this.log.warn('could not draw review comments', { changeId: id, error: String(e) });
      }
    }
  }

  private render(engine: Engine, changeId: string): void {
    const change = engine.getChange(changeId);
    if (!change) return;
    const comments = engine.listComments(changeId);
    const signature = JSON.stringify([change.version, change.status, comments]);
    if (this.threads.get(changeId)?.signature === signature) return;
    for (const t of this.threads.get(changeId)?.threads ?? []) t.dispose();
    const threads = comments.map((c) => this.thread(change, c));
    this.threads.set(changeId, { signature, threads });
  }

  private thread(change: ChangeView, c: ChangeCommentView): vscode.CommentThread {
    const at = commentPlacement(change, c);
    const uri = changeUri('proposed', change.id, at.path, change.version);
    const items: vscode.Comment[] = [{
      body: plain(c.body), mode: vscode.CommentMode.Preview,
      author: { name: c.author === 'reviewer' ? 'Reviewer agent' : 'You' }, label: `v${c.version}`,
    }];
    if (c.answer !== undefined) {
      items.push({ body: plain(c.answer), mode: vscode.CommentMode.Preview, author: { name: 'Agent' }, label: `answered in v${c.answeredInVersion}` });
    }
    const t = this.controller.createCommentThread(uri, new vscode.Range(at.line, 0, at.line, 0), items);
    t.label = threadLabel(c, at.onWholeChange);
    t.canReply = false;
    t.collapsibleState = threadExpanded(change, c, at.onWholeChange) ? vscode.CommentThreadCollapsibleState.Expanded : vscode.CommentThreadCollapsibleState.Collapsed;
    t.contextValue = 'hyperion-comment';
    return t;
  }

  /** Stores the text of a new thread's reply box as a comment; returns the change it is on. */
  private async store(engine: Engine, reply: vscode.CommentReply): Promise<ChangeView | undefined> {
    const parsed = parseChangeUri(reply.thread.uri);
    const text = reply.text.trim();
    if (!parsed) return undefined;
    if (text !== '') {
      const line = reply.thread.range ? reply.thread.range.start.line + 1 : undefined;
      engine.addComment(parsed.changeId, { path: parsed.file, ...(line !== undefined ? { line } : {}), body: text });
    }
    reply.thread.dispose();
    this.refresh();
    return engine.getChange(parsed.changeId);
  }

  private async requestChanges(engine: Engine, arg: unknown): Promise<void> {
    let change: ChangeView | undefined;
    if (arg && typeof arg === 'object' && 'thread' in arg && 'text' in arg) change = await this.store(engine, arg as vscode.CommentReply);
    else change = await resolveChange(engine, targetOf(arg), () => engine.listChanges({ status: 'proposed' }), 'Request changes on which change?');
    if (!change) return;
    const pending = engine.listComments(change.id).filter((c) => c.author === 'user' && c.sentInVersion === undefined);
    const extra: Array<{ body: string }> = [];
    if (pending.length === 0) {
      const body = await vscode.window.showInputBox({
        title: `Request changes on "${change.taskTitle}"`, prompt: 'What should the agent change? (a comment on the whole change)', ignoreFocusOut: true,
      });
      if (body === undefined || body.trim() === '') return;
      extra.push({ body });
    }
    const n = pending.length + extra.length;
    const from = change.version;
    const { version } = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Hyperion: asking the agent of "${change.taskTitle}" to address ${n} comment${n === 1 ? '' : 's'}…`, cancellable: true },
      (_p, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        return engine.requestChanges(change!.id, { comments: extra, version: from, signal: controller.signal });
      },
    );
    this.refresh();
    vscode.window.setStatusBarMessage(`Hyperion: "${change.taskTitle}" is now v${version}`, 6000);
    await openVersionDiff(engine, change.id, from, version);
  }

  commands(): vscode.Disposable[] {
    const { host, log } = this;
    return [
      vscode.commands.registerCommand(COMMANDS.addReviewComment, guarded('Adding the comment', log, async (arg) => {
        if (arg && typeof arg === 'object' && 'thread' in arg) await this.store(await host.get(), arg as vscode.CommentReply);
      })),
      vscode.commands.registerCommand(COMMANDS.requestChanges, guarded('Requesting changes', log, async (arg) => this.requestChanges(await host.get(), arg))),
      vscode.commands.registerCommand(COMMANDS.openVersionDiff, guarded('Opening the diff between versions', log, async (arg) => {
        const engine = await host.get();
        const change = await resolveChange(engine, targetOf(arg), () => engine.listChanges().filter((c) => c.version > 1), 'Compare the versions of which change?');
        if (!change) return;
        const versions = engine.listVersions(change.id).map((v) => v.version);
        if (versions.length < 2) {
          void vscode.window.showInformationMessage(`Hyperion: "${change.taskTitle}" has only one version.`);
          return;
        }
        let from = versions[versions.length - 2]!;
        if (versions.length > 2) {
          const pick = await vscode.window.showQuickPick(versions.slice(0, -1).map((v) => ({ label: `v${v} → v${change.version}`, v })), { title: `Compare versions of "${change.taskTitle}"`, ignoreFocusOut: true });
          if (!pick) return;
          from = pick.v;
        }
        await openVersionDiff(engine, change.id, from, change.version);
      })),
    ];
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    for (const t of this.threads.values()) for (const th of t.threads) th.dispose();
    this.controller.dispose();
  }
}

/** The diff between two versions of a change: one file with `vscode.diff`, several with `vscode.changes`. */
export async function openVersionDiff(engine: Engine, changeId: string, from: number, to: number): Promise<void> {
  const change = engine.getChange(changeId);
  if (!change) return;
  const versions = engine.listVersions(changeId);
  const filesOf = (v: number) => [...(versions.find((x) => x.version === v)?.patch ?? '').matchAll(/^diff --git a\/\S+ b\/(\S+)$/gm)].map((m) => m[1]!);
  const files = [...new Set([...filesOf(from), ...filesOf(to)])];
  const uri = (v: number, f: string) => changeUri('proposed', changeId, f, change.version, v);
  const title = `${change.taskTitle}: v${from} ↔ v${to}`;
  if (files.length === 1) {
    await vscode.commands.executeCommand('vscode.diff', uri(from, files[0]!), uri(to, files[0]!), `${title}: ${files[0]}`, { preview: true });
    return;
  }
  await vscode.commands.executeCommand('vscode.changes', title, files.map((f) => [uri(to, f), uri(from, f), uri(to, f)]));
}
