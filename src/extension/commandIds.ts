/**
 * Every command the extension registers. `test/unit/manifest.test.ts` checks that this list,
 * the manifest's `contributes.commands` and the `registerCommand` calls agree.
 */
export const COMMANDS = {
  planTask: 'hyperion.planTask',
  approveChange: 'hyperion.approveChange',
  rejectChange: 'hyperion.rejectChange',
  openDiff: 'hyperion.openDiff',
  retryTask: 'hyperion.retryTask',
  cancelRun: 'hyperion.cancelRun',
  revertChange: 'hyperion.revertChange',
  showQueue: 'hyperion.showQueue',
  setApiKey: 'hyperion.setApiKey',
  selectModels: 'hyperion.selectModels',
  openLog: 'hyperion.openLog',
  deleteRun: 'hyperion.deleteRun',
  retryEntry: 'hyperion.retryEntry',
  showCheckOutput: 'hyperion.showCheckOutput',
  openGraphInEditor: 'hyperion.openGraphInEditor',
  openTaskWorktree: 'hyperion.openTaskWorktree',
  showTranscript: 'hyperion.showTranscript',
  startRun: 'hyperion.startRun',
  editDraftTask: 'hyperion.editDraftTask',
  addDraftTask: 'hyperion.addDraftTask',
  removeDraftTask: 'hyperion.removeDraftTask',
  openRunSummary: 'hyperion.openRunSummary',
  reviewInline: 'hyperion.reviewInline',
  acceptHunk: 'hyperion.acceptHunk',
  rejectHunk: 'hyperion.rejectHunk',
  undoHunkDecision: 'hyperion.undoHunkDecision',
  applyInlineReview: 'hyperion.applyInlineReview',
  nextHunk: 'hyperion.nextHunk',
  previousHunk: 'hyperion.previousHunk',
  addReviewComment: 'hyperion.addReviewComment',
  requestChanges: 'hyperion.requestChanges',
  openVersionDiff: 'hyperion.openVersionDiff',
  setRedisPassword: 'hyperion.setRedisPassword',
  refreshWorkers: 'hyperion.refreshWorkers',
} as const;
export type CommandId = (typeof COMMANDS)[keyof typeof COMMANDS];

export const VIEWS = {
  container: 'hyperion',
  runs: 'hyperion.runs',
  approvals: 'hyperion.approvals',
  graph: 'hyperion.graph',
  workers: 'hyperion.workers',
} as const;

/** Context keys set with `setContext`, used in `when` clauses of the manifest. */
export const CONTEXT_KEYS = {
  awaitingReview: 'hyperion.awaitingReview',
  runActive: 'hyperion.runActive',
  hasMerged: 'hyperion.hasMerged',
  engineError: 'hyperion.engineError',
  /** `resource` strings of the diff documents of changes still waiting for review (the diff title's ✓/✕). */
  reviewableResources: 'hyperion.reviewableResources',
  /** Some queue entry can be retried (blocked, failed, conflicted, quarantined). */
  hasRetryable: 'hyperion.hasRetryableEntry',
  /** Some queue entry has stored check output. */
  hasCheckOutput: 'hyperion.hasCheckOutput',
  /** Some run is a draft plan (Start Run, Edit Task… in the palette). */
  hasDraft: 'hyperion.hasDraft',
  /** The active editor shows a file of a change under inline review. */
  inlineReview: 'hyperion.inlineReview',
  /** `hyperion.distributed.redisUrl` is set (the Workers view shows). */
  distributed: 'hyperion.distributed',
} as const;
