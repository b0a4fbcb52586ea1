import * as vscode from 'vscode';
import type { Engine } from '../engine/api';
import type { Logger } from '../engine/ports';
import { CHANGE_SCHEME, parseChangeUri } from './changeUris';
import { COMMANDS, CONTEXT_KEYS } from './commandIds';
import { guarded, resolveChange } from './commands';
import { changeUri, openChangeDiff } from './diffView';
import type { EngineHost } from './engineHost';
import { placeHunks, ReviewSession, type HunkPlacement } from './viewmodel/inlineReview';
import { targetOf } from './viewmodel/nodes';

const GHOST_MAX = 80;

interface HunkArg {
  changeId: string;
  path: string;
  index: number;
}

function hunkArg(arg: unknown): HunkArg | undefined {
  const o = arg as Partial<HunkArg> | undefined;
  return o && typeof o.changeId === 'string' && typeof o.path === 'string' && typeof o.index === 'number' ? { changeId: o.changeId, path: o.path, index: o.index } : undefined;
}

/**
 * Inline review: a change's file opened in a normal editor as the change leaves it, with the
 * added lines highlighted, the removed lines as ghost text (all of them in the hover), and an
 * Accept / Reject lens on each hunk. When every hunk is decided, Apply makes one engine call:
 * approve (all accepted), reject (none), or `acceptHunks` (some). The diff editor stays as it was.
 */
export class InlineReview implements vscode.Disposable {
  private readonly sessions = new Map<string, ReviewSession>();
  private readonly lensChanged = new vscode.EventEmitter<void>();
  private readonly added = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('diffEditor.insertedLineBackground'),
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.addedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly rejectedAdded = vscode.window.createTextEditorDecorationType({
    isWholeLine: true, textDecoration: 'line-through', opacity: '0.55',
  });
  private readonly removed = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('editorGhostText.foreground'), fontStyle: 'italic', margin: '0 0 0 2em' },
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.deletedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly host: EngineHost, private readonly log: Logger) {
    this.disposables.push(
      vscode.languages.registerCodeLensProvider({ scheme: CHANGE_SCHEME }, { provideCodeLenses: (doc) => this.lenses(doc), onDidChangeCodeLenses: this.lensChanged.event }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.decorateAll()),
      vscode.window.onDidChangeActiveTextEditor((e) => this.updateContext(e)),
    );
  }

  /** The session of the document's change, when the document shows the version under review. */
  private sessionOf(doc: vscode.TextDocument): { session: ReviewSession; path: string } | undefined {
    const parsed = doc.uri.scheme === CHANGE_SCHEME ? parseChangeUri(doc.uri) : undefined;
    if (!parsed || parsed.side !== 'proposed' || parsed.at !== undefined) return undefined;
    const session = this.sessions.get(parsed.changeId);
    if (!session || (parsed.version ?? 1) !== session.version) return undefined;
    return { session, path: parsed.file };
  }

  private placements(doc: vscode.TextDocument): { session: ReviewSession; placed: HunkPlacement[] } | undefined {
    const s = this.sessionOf(doc);
    return s ? { session: s.session, placed: placeHunks(s.session.hunks, s.path, doc.lineCount) } : undefined;
  }

  private lenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const p = this.placements(doc);
    if (!p) return [];
    const { session, placed } = p;
    const out: vscode.CodeLens[] = [];
    const top = new vscode.Range(0, 0, 0, 0);
    const c = session.counts();
    const outcome = session.outcome();
    const summary = outcome.kind === 'undecided'
      ? `Hyperion review v${session.version}: ${c.accepted + c.rejected} of ${c.total} hunks decided`
      : outcome.kind === 'approve' ? `Apply review: approve all ${c.total} hunks`
        : outcome.kind === 'reject' ? 'Apply review: reject the whole change'
          : `Apply review: land ${c.accepted} of ${c.total} hunks`;
    out.push(new vscode.CodeLens(top, outcome.kind === 'undecided'
      ? { title: summary, command: COMMANDS.nextHunk, tooltip: 'Go to the next hunk (Alt+F5)' }
      : { title: `$(check-all) ${summary}`, command: COMMANDS.applyInlineReview, arguments: [session.changeId] }));
    for (const h of placed) {
      const range = new vscode.Range(h.anchorLine, 0, h.anchorLine, 0);
      const arg: HunkArg = { changeId: session.changeId, path: h.path, index: h.index };
      const d = session.decision(h.path, h.index);
      const what = h.wholeFile ? 'file' : `hunk ${h.index + 1}`;
      if (d === undefined) {
        out.push(new vscode.CodeLens(range, { title: `$(check) Accept ${what}`, command: COMMANDS.acceptHunk, arguments: [arg] }));
        out.push(new vscode.CodeLens(range, { title: `$(close) Reject ${what}`, command: COMMANDS.rejectHunk, arguments: [arg] }));
      } else {
        out.push(new vscode.CodeLens(range, { title: d === 'accept' ? `Accepted ${what}` : `Rejected ${what}`, command: '' }));
        out.push(new vscode.CodeLens(range, { title: 'Undo', command: COMMANDS.undoHunkDecision, arguments: [arg] }));
      }
    }
    return out;
  }

  private decorate(editor: vscode.TextEditor): void {
    const p = this.placements(editor.document);
    const placed = p?.placed ?? [];
    const line = (n: number) => new vscode.Range(n, 0, n, 0);
    const isRejected = (h: HunkPlacement) => p?.session.decision(h.path, h.index) === 'reject';
    editor.setDecorations(this.added, placed.filter((h) => !isRejected(h)).flatMap((h) => h.addedLines.map(line)));
    editor.setDecorations(this.rejectedAdded, placed.filter(isRejected).flatMap((h) => h.addedLines.map(line)));
    editor.setDecorations(this.removed, placed.flatMap((h) => h.removed.map((r): vscode.DecorationOptions => {
      const first = r.texts[0]!.trim();
      const shown = first.length > GHOST_MAX ? `${first.slice(0, GHOST_MAX)}…` : first;
      const more = r.texts.length > 1 ? ` (+${r.texts.length - 1} more removed)` : '';
      // appendCodeblock escapes: the agent's text is never read as Markdown or HTML.
      const hover = new vscode.MarkdownString(`Removed by hunk ${h.index + 1}:`).appendCodeblock(r.texts.join('\n'), 'text');
      // At the end of the line: an empty range at column 0 would draw the ghost text before the line's own text.
      const end = editor.document.lineAt(Math.min(r.line, editor.document.lineCount - 1)).range.end;
      return { range: new vscode.Range(end, end), hoverMessage: hover, renderOptions: { after: { contentText: `− ${shown}${more}` } } };
    })));
  }

  private decorateAll(): void {
    for (const e of vscode.window.visibleTextEditors) this.decorate(e);
    this.updateContext(vscode.window.activeTextEditor);
  }

  private updateContext(editor: vscode.TextEditor | undefined): void {
    void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.inlineReview, editor !== undefined && this.sessionOf(editor.document) !== undefined);
  }

  private changed(): void {
    this.lensChanged.fire();
    this.decorateAll();
  }

  /** A change moved on (approved elsewhere, regenerated): its session no longer applies. */
  refresh(engine: Engine): void {
    let dropped = false;
    for (const [id, s] of this.sessions) {
      const c = engine.getChange(id);
      if (!c || c.status !== 'proposed' || c.version !== s.version) (this.sessions.delete(id), (dropped = true));
    }
    if (dropped) this.changed();
  }

  private async open(engine: Engine, arg: unknown): Promise<void> {
    const t = targetOf(arg);
    const change = await resolveChange(engine, t, () => engine.listChanges({ status: 'proposed' }), 'Review which change inline?');
    if (!change) return;
    if (change.status !== 'proposed') {
      void vscode.window.showInformationMessage(`Hyperion: "${change.taskTitle}" is ${change.status}; only a change waiting for review can be reviewed inline. Open Diff shows it.`);
      return;
    }
    let session = this.sessions.get(change.id);
    if (!session || session.version !== change.version) {
      session = new ReviewSession(change.id, change.version, engine.listHunks(change.id));
      this.sessions.set(change.id, session);
    }
    const files = [...new Set(session.hunks.map((h) => h.path))];
    let file = t.path && files.includes(t.path) ? t.path : files[0];
    if (!t.path && files.length > 1) {
      const pick = await vscode.window.showQuickPick(
        files.map((f) => ({ label: f, description: `${session!.hunks.filter((h) => h.path === f).length} hunk(s)` })),
        { title: `Review "${change.taskTitle}" inline`, placeHolder: 'Which file?', ignoreFocusOut: true },
      );
      if (!pick) return;
      file = pick.label;
    }
    if (!file) return;
    const editor = await vscode.window.showTextDocument(changeUri('proposed', change.id, file, change.version), { preview: false });
    this.changed();
    const first = placeHunks(session.hunks, file, editor.document.lineCount)[0];
    if (first) this.reveal(editor, first.anchorLine);
  }

  private reveal(editor: vscode.TextEditor, line: number): void {
    const pos = new vscode.Position(line, 0);
    editor.selection = new vscode.Selection(pos, pos);
    editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  private step(dir: 1 | -1): void {
    const editor = vscode.window.activeTextEditor;
    const p = editor ? this.placements(editor.document) : undefined;
    if (!editor || !p) return;
    const next = ReviewSession.step(p.placed, editor.selection.active.line, dir);
    if (next) this.reveal(editor, next.anchorLine);
  }

  private decideFrom(arg: unknown, d: 'accept' | 'reject' | undefined): void {
    const h = hunkArg(arg);
    const session = h ? this.sessions.get(h.changeId) : undefined;
    if (!h || !session) return;
    session.decide(h.path, h.index, d);
    this.changed();
    // After a decision, move on to the next hunk still undecided in this file, or, when all
    // are decided, to the top where the Apply lens is.
    const editor = vscode.window.activeTextEditor;
    const p = editor ? this.placements(editor.document) : undefined;
    if (d !== undefined && editor && p) {
      const next = p.placed.find((x) => session.decision(x.path, x.index) === undefined);
      if (next) this.reveal(editor, next.anchorLine);
      else if (session.outcome().kind !== 'undecided') this.reveal(editor, 0);
    }
  }

  private async apply(engine: Engine, arg: unknown): Promise<void> {
    const changeId = typeof arg === 'string' ? arg : targetOf(arg).changeId;
    const session = changeId ? this.sessions.get(changeId) : undefined;
    if (!session) return;
    const outcome = session.outcome();
    const title = engine.getChange(session.changeId)?.taskTitle ?? session.changeId;
    switch (outcome.kind) {
      case 'undecided':
        void vscode.window.showInformationMessage(`Hyperion: ${outcome.left.length} hunk(s) are not decided yet (${outcome.left.map((l) => `${l.path} #${l.index + 1}`).join(', ')}).`);
        return;
      case 'reject':
        await engine.rejectChange(session.changeId, 'every hunk rejected in inline review');
        break;
      case 'approve':
        await engine.acceptHunks(session.changeId, { hunks: session.hunks.map((h) => ({ path: h.path, index: h.index })), version: session.version });
        break;
      case 'partial':
        await engine.acceptHunks(session.changeId, { hunks: outcome.hunks, version: session.version });
        break;
    }
    this.sessions.delete(session.changeId);
    this.changed();
    // The review tab shows the version just replaced (rejected hunks included): close it, and
    // show what lands instead, the new version's diff.
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((tab) =>
      tab.input instanceof vscode.TabInputText && tab.input.uri.scheme === CHANGE_SCHEME && parseChangeUri(tab.input.uri)?.changeId === session.changeId);
    await vscode.window.tabGroups.close(tabs);
    const now = engine.getChange(session.changeId);
    if (now && outcome.kind === 'partial') await openChangeDiff(now, this.host.repo);
    const c = session.counts();
    vscode.window.setStatusBarMessage(outcome.kind === 'reject' ? `Hyperion: rejected "${title}"` : `Hyperion: accepted ${c.accepted} of ${c.total} hunks of "${title}"`, 6000);
    this.log.info('inline review applied', { changeId: session.changeId, outcome: outcome.kind, accepted: c.accepted, total: c.total });
  }

  commands(): vscode.Disposable[] {
    const { host, log } = this;
    return [
      vscode.commands.registerCommand(COMMANDS.reviewInline, guarded('Opening the inline review', log, async (arg) => this.open(await host.get(), arg))),
      vscode.commands.registerCommand(COMMANDS.acceptHunk, (arg) => this.decideFrom(arg, 'accept')),
      vscode.commands.registerCommand(COMMANDS.rejectHunk, (arg) => this.decideFrom(arg, 'reject')),
      vscode.commands.registerCommand(COMMANDS.undoHunkDecision, (arg) => this.decideFrom(arg, undefined)),
      vscode.commands.registerCommand(COMMANDS.applyInlineReview, guarded('Applying the inline review', log, async (arg) => this.apply(await host.get(), arg))),
      vscode.commands.registerCommand(COMMANDS.nextHunk, () => this.step(1)),
      vscode.commands.registerCommand(COMMANDS.previousHunk, () => this.step(-1)),
    ];
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.lensChanged.dispose();
    this.added.dispose();
    this.rejectedAdded.dispose();
    this.removed.dispose();
  }
}
