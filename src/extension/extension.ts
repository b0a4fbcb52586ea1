import * as vscode from 'vscode';
import { isBusyRun } from '../engine/api';
import { approvalSections, isEntryRetryable } from './viewmodel/approvals';
import { ApprovalsTreeProvider } from './approvalsTree';
import { watchBlockedEntries } from './blockedWatcher';
import { CheckOutputProvider } from './checkOutput';
import { CONTEXT_KEYS, VIEWS } from './commandIds';
import { registerCommands } from './commands';
import { trustedSettingsReader } from './configTrust';
import { CHANGE_SCHEME } from './changeUris';
import { ChangeContentProvider, changeResourceKeys } from './diffView';
import { EngineHost } from './engineHost';
import { watchEngineEvents } from './engineEvents';
import { GraphViewProvider } from './graphView';
import { vscodeLanguageModels } from './languageModels';
import { channelLogger } from './logger';
import { vscodeUserPrompt } from './prompt';
import { RunsTreeProvider } from './runsTree';
import { TranscriptProvider } from './transcript';
import { TRANSCRIPT_SCHEME } from './viewmodel/agents';
import { secretReader } from './secrets';
import { QueueStatusBar } from './statusBar';
import { CHECK_SCHEME } from './viewmodel/checkOutput';
import { ReviewNotice } from './viewmodel/reviewNotice';
import { RunSummaryProvider, SUMMARY_SCHEME } from './runSummaryDoc';
import { InlineReview } from './inlineReview';
import { ReviewComments } from './reviewComments';
import { REDIS_PASSWORD_SECRET } from './settings';
import { WorkersTreeProvider } from './workersTree';

/** What the extension exports, for in-editor tests: read-only access to the host. */
export interface HyperionApi {
  readonly host: EngineHost;
}

/** The review notice as a progress notification: it has no buttons, and closes when `until` resolves. */
function progressNotice(): ReviewNotice {
  return new ReviewNotice({
    open: (until) => {
      let progress: vscode.Progress<{ message?: string }> | undefined;
      let pending: string | undefined;
      let dismissed!: () => void;
      const dismissedP = new Promise<void>((r) => { dismissed = r; });
      void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Hyperion', cancellable: true }, (p, token) => {
        progress = p;
        if (pending !== undefined) p.report({ message: pending });
        token.onCancellationRequested(() => dismissed());
        return Promise.race([until, dismissedP]);
      });
      const report = (message: string) => { if (progress) progress.report({ message }); else pending = message; };
      return { handle: { report }, dismissed: dismissedP };
    },
  });
}

/**
 * Activation registers views, commands and the status bar and returns at once. The engine
 * (and sql.js) load on first use; when the workspace is trusted that first use is right
 * after activation, so a run interrupted by Reload Window resumes without a click.
 */
export function activate(context: vscode.ExtensionContext): HyperionApi {
  const activationStarted = Date.now();
  const channel = vscode.window.createOutputChannel('Hyperion', { log: true });
  const log = channelLogger(channel);
  const host = new EngineHost({
    log, secrets: secretReader(context.secrets), ask: vscodeUserPrompt, lm: vscodeLanguageModels,
    readSettings: () => trustedSettingsReader(context.globalState, log),
    redisPassword: async () => context.secrets.get(REDIS_PASSWORD_SECRET),
  });
  const transcripts = new TranscriptProvider(host);
  const runs = new RunsTreeProvider(host);
  const approvals = new ApprovalsTreeProvider(host);
  const graph = new GraphViewProvider(context.extensionUri, host, log);
  const statusBar = new QueueStatusBar(host);
  const contents = new ChangeContentProvider(host);
  const checkOutputs = new CheckOutputProvider(host);
  const notice = progressNotice();
  const summaries = new RunSummaryProvider(host);
  const inlineReview = new InlineReview(host, log);
  const reviewComments = new ReviewComments(host, log);
  const workers = new WorkersTreeProvider(host);
  const workersView = vscode.window.createTreeView(VIEWS.workers, { treeDataProvider: workers });

  const runsView = vscode.window.createTreeView(VIEWS.runs, { treeDataProvider: runs, showCollapseAll: true });
  const approvalsView = vscode.window.createTreeView(VIEWS.approvals, { treeDataProvider: approvals });

  // Engine events arrive in bursts (a task change logs several events): refresh at most every 150 ms.
  let timer: NodeJS.Timeout | undefined;
  let settle: NodeJS.Timeout | undefined;
  const refresh = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      runs.refresh();
      approvals.refresh();
      graph.refresh();
      statusBar.update();
      const engine = host.current;
      if (!engine) return;
      inlineReview.refresh(engine);
      reviewComments.refresh();
      const queue = engine.listQueue();
      const s = approvalSections({ changes: engine.listChanges({ status: 'proposed' }), queue });
      approvalsView.badge = s.review.length > 0 ? { value: s.review.length, tooltip: `${s.review.length} waiting for review` } : undefined;
      notice.update(s.review.length);
      const setContext = (key: string, value: unknown) => void vscode.commands.executeCommand('setContext', key, value);
      setContext(CONTEXT_KEYS.awaitingReview, s.review.length > 0);
      // The diff title's ✓/✕ show only while the change is still waiting for review.
      setContext(CONTEXT_KEYS.reviewableResources, s.review.flatMap(changeResourceKeys));
      setContext(CONTEXT_KEYS.hasRetryable, queue.some((e) => isEntryRetryable(e.state)));
      setContext(CONTEXT_KEYS.hasCheckOutput, queue.some((e) => e.hasCheckOutput === true));
      const recent = engine.listRuns(20);
      setContext(CONTEXT_KEYS.runActive, recent.some((r) => isBusyRun(r.status)));
      setContext(CONTEXT_KEYS.hasMerged, engine.listChanges({ status: 'merged' }).length > 0);
      setContext(CONTEXT_KEYS.hasDraft, recent.some((r) => r.status === 'draft'));
      summaries.refresh();
      workers.refresh();
    }, 150);
  };

  context.subscriptions.push(
    channel, host, runs, approvals, graph, statusBar, contents, checkOutputs, notice, runsView, approvalsView,
    host.onDidChange(refresh),
    watchEngineEvents(host, log, contents, checkOutputs),
    watchBlockedEntries(host, log),
    vscode.window.registerWebviewViewProvider(VIEWS.graph, graph),
    vscode.workspace.registerTextDocumentContentProvider(CHANGE_SCHEME, contents),
    vscode.workspace.registerTextDocumentContentProvider(CHECK_SCHEME, checkOutputs),
    vscode.workspace.registerTextDocumentContentProvider(TRANSCRIPT_SCHEME, transcripts),
    transcripts,
    host.onDidEngineEvent((e) => {
      if (e.runId && e.taskId && (e.kind === 'task/progress' || e.kind === 'task/state')) transcripts.refresh(e.runId, e.taskId);
    }),
    ...registerCommands({ host, log, channel, secrets: context.secrets, notice, openGraphInEditor: () => graph.openInEditor(), refreshWorkers: () => workers.refresh(true) }),
    context.secrets.onDidChange((e) => { if (e.key.startsWith('hyperion.apiKey.')) host.invalidate(); }),
    vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('hyperion')) host.invalidate(); }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => { void host.get().catch(() => undefined); refresh(); }),
    { dispose: () => { if (timer) clearTimeout(timer); } },
    // VS Code joins a tree refresh asked for while one is being fetched, so a row read just before
    // another process's last write can stay stale: refresh once more when its writes settle.
    host.onDidEngineEvent((e) => {
      if (e.kind !== 'store/changed') return;
      if (settle) clearTimeout(settle);
      settle = setTimeout(() => { settle = undefined; refresh(); }, 1000);
    }),
    { dispose: () => { if (settle) clearTimeout(settle); } },
    summaries,
    vscode.workspace.registerTextDocumentContentProvider(SUMMARY_SCHEME, summaries),
    inlineReview, reviewComments, ...inlineReview.commands(), ...reviewComments.commands(),
    workers, workersView, workers.watch(workersView),
    context.secrets.onDidChange((e) => { if (e.key === REDIS_PASSWORD_SECRET) host.invalidate(); }),
  );

  if (vscode.workspace.isTrusted && host.repo) {
    setTimeout(() => void host.get().catch(() => undefined), 0);
  }
  log.info('Hyperion activated', { vscode: vscode.version, trusted: vscode.workspace.isTrusted, ms: Date.now() - activationStarted });
  return { host };
}

export function deactivate(): void {
  // Disposables in context.subscriptions close the engine (and flush its store).
}
