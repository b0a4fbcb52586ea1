import * as vscode from 'vscode';
import type { PlanReviewMode } from './viewmodel/draft';
import type { Engine } from '../engine/api';
import type { EngineEvent } from '../engine/events';
import { EngineError, describeError } from '../engine/errors';
import type { Logger, SecretReader, UserPrompt } from '../engine/ports';
import type { LanguageModelPort } from '../engine/providers/types';
import { CONTEXT_KEYS } from './commandIds';
import { openEngine } from './engineFactory';
import { settingsToEngineConfig } from './settings';

export interface EngineHostDeps {
  log: Logger;
  secrets: SecretReader;
  ask: UserPrompt;
  lm: LanguageModelPort;
  /** Swappable for tests; defaults to the real engine. */
  open?: typeof openEngine;
  /** The `hyperion.*` reader, after the user confirmed or ignored risky workspace values (configTrust.ts). */
  readSettings?: () => Promise<(key: string) => unknown>;
  /** The Redis password from SecretStorage (Hyperion: Set Redis Password), put into `distributed.redisUrl`. */
  redisPassword?: () => Promise<string | undefined>;
}

/**
 * Owns the engine's lifetime for the extension: creates it on first use (never in an
 * untrusted workspace or without a folder), re-fires its events as one `onDidChange`, and
 * replaces it when keys or `hyperion.*` settings change (the engine caches provider clients
 * and its config). A replacement waits until nothing runs or lands, so work in flight is
 * never cut; the new engine reopens the same store, so nothing is lost either way.
 */
export class EngineHost implements vscode.Disposable {
  private engine: Engine | undefined;
  private opening: Promise<Engine> | undefined;
  private subscription: { dispose(): void } | undefined;
  private stale = false;
  private lastError: unknown;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires after any engine event, and when the engine appears, fails or is replaced. */
  readonly onDidChange = this.changed.event;
  private readonly events = new vscode.EventEmitter<EngineEvent>();
  /** Every engine event as it happens (notifications and the log react to some). */
  readonly onDidEngineEvent = this.events.event;
  autoApprove = false;
  /** `hyperion.planReview` as last read with the engine's settings. */
  planReview: PlanReviewMode = 'whenUnclear';
  /** Set when `hyperion.distributed.redisUrl` is (the Workers view shows); `problem` says why workers are not used. */
  workersSettings: { problem?: string } | undefined;

  constructor(private readonly deps: EngineHostDeps) {}

  /** The engine if it is open; views read from it synchronously and show nothing otherwise. */
  get current(): Engine | undefined {
    return this.engine;
  }

  /** Why the engine could not be opened last time, if it could not. */
  get error(): unknown {
    return this.lastError;
  }

  get repo(): string | undefined {
    return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  }

  /**
   * The engine, opening it if needed. Throws EngineError `usage/untrusted` in an untrusted
   * workspace, `usage/no-folder` without a folder, or whatever `createEngine` throws.
   */
  async get(): Promise<Engine> {
    if (this.engine) return this.engine;
    if (!vscode.workspace.isTrusted) {
      throw new EngineError('usage/untrusted', 'Hyperion does not run agents or land patches in an untrusted workspace');
    }
    const repo = this.repo;
    if (!repo) throw new EngineError('usage/no-folder', 'open a folder that is a git repository to use Hyperion');
    this.opening ??= this.open(repo);
    return this.opening;
  }

  private async open(repo: string): Promise<Engine> {
    const read = this.deps.readSettings ? await this.deps.readSettings() : (k: string) => vscode.workspace.getConfiguration('hyperion').get(k);
    const redisPassword = await this.deps.redisPassword?.().catch((e: unknown) => {
      this.deps.log.warn('could not read the Redis password from secret storage; Redis is used without one', { error: describeError(e) });
      return undefined;
    });
    const { config, autoApprove, planReview, problems, workers } = settingsToEngineConfig(read, { redisPassword });
    for (const p of problems) this.deps.log.warn(p);
    this.autoApprove = autoApprove;
    this.planReview = planReview;
    this.workersSettings = workers;
    void vscode.commands.executeCommand('setContext', CONTEXT_KEYS.distributed, workers !== undefined);
    try {
      const started = Date.now();
      const engine = await (this.deps.open ?? openEngine)({
        repo,
        config,
        ports: { log: this.deps.log, secrets: this.deps.secrets, ask: this.deps.ask, lm: this.deps.lm },
        isPathDirtyInEditor: (rel) => vscode.workspace.textDocuments.some((d) =>
          d.isDirty && d.uri.scheme === 'file' && vscode.workspace.asRelativePath(d.uri, false) === rel),
      });
      this.deps.log.info('engine opened', { repo, ms: Date.now() - started });
      this.engine = engine;
      this.lastError = undefined;
      this.subscription = engine.onDidChange((e) => {
        this.events.fire(e);
        this.changed.fire();
        if (this.stale) void this.restartIfIdle();
      });
      void vscode.commands.executeCommand('setContext', 'hyperion.engineError', false);
      this.changed.fire();
      return engine;
    } catch (e) {
      this.lastError = e;
      this.deps.log.error('could not open the engine', { error: describeError(e) });
      void vscode.commands.executeCommand('setContext', 'hyperion.engineError', true);
      this.changed.fire();
      throw e;
    } finally {
      this.opening = undefined;
    }
  }

  /** Settings or keys changed: reopen the engine now if idle, else once it is. */
  invalidate(): void {
    this.stale = true;
    void this.restartIfIdle();
  }

  private async restartIfIdle(): Promise<void> {
    const engine = this.engine;
    if (!engine) {
      this.stale = false;
      return;
    }
    const s = engine.queueSummary();
    if (s.running > 0 || s.queued > 0) return;
    this.stale = false;
    this.engine = undefined;
    this.subscription?.dispose();
    this.deps.log.info('reopening the engine with new settings or keys');
    try {
      await engine.dispose();
    } catch (e) {
      this.deps.log.warn('engine dispose failed', { error: describeError(e) });
    }
    await this.get().catch(() => undefined);
  }

  dispose(): void {
    this.subscription?.dispose();
    this.changed.dispose();
    this.events.dispose();
    const e = this.engine;
    this.engine = undefined;
    if (e) void e.dispose().catch(() => undefined);
  }
}
