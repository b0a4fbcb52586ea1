import * as vscode from 'vscode';
import type { EngineHost } from './engineHost';
import { toTreeItem } from './treeItems';
import type { ItemView } from './viewmodel/nodes';
import { engineTaskTitle, workerRows, WORKERS_REUSE_MS, WorkersModel, WorkersPoll } from './viewmodel/workers';

/**
 * The Workers view: the `hyperion worker` processes connected to `hyperion.distributed.redisUrl`.
 * Rows come from viewmodel/workers.ts; this class only asks the engine and hands them to VS
 * Code. The view is declared with `when: hyperion.distributed`, so it exists only while
 * workers are configured; while it is visible a poll keeps heartbeats current.
 */
export class WorkersTreeProvider implements vscode.TreeDataProvider<ItemView>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ItemView | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly model = new WorkersModel();
  /** The next getChildren asks Redis even if a listing is fresh (poll, Refresh Workers). */
  private force = false;
  readonly poll: WorkersPoll;

  constructor(private readonly host: EngineHost, private readonly now: () => number = Date.now) {
    this.poll = new WorkersPoll({ refresh: () => this.refresh(true), timers: { setInterval: (fn, ms) => setInterval(fn, ms), clearInterval: (h) => clearInterval(h as NodeJS.Timeout) } });
  }

  /** Shows the rows again; `fresh` asks Redis now, otherwise a listing under a second old is reused. */
  refresh(fresh = false): void {
    if (fresh) this.force = true;
    this.changed.fire(undefined);
  }

  /** Binds the poll to the view's visibility; returns what to dispose. */
  watch(view: vscode.TreeView<ItemView>): vscode.Disposable {
    this.poll.setVisible(view.visible);
    const update = () => this.poll.setEnabled(this.host.workersSettings !== undefined);
    update();
    return vscode.Disposable.from(view.onDidChangeVisibility((e) => this.poll.setVisible(e.visible)), this.host.onDidChange(update));
  }

  getTreeItem(v: ItemView): vscode.TreeItem {
    return toTreeItem(v);
  }

  async getChildren(element?: ItemView): Promise<ItemView[]> {
    if (element) return [];
    const settings = this.host.workersSettings;
    if (!settings) return [];
    if (settings.problem) return workerRows({ kind: 'problem', text: settings.problem }, this.now());
    const engine = this.host.current ?? (await this.host.get().catch(() => undefined));
    if (!engine) return [];
    const fresh = this.force;
    this.force = false;
    const state = await this.model.load(engine, fresh ? undefined : { now: this.now(), maxAgeMs: WORKERS_REUSE_MS });
    return workerRows(state, this.now(), engineTaskTitle(engine));
  }

  dispose(): void {
    this.poll.dispose();
    this.changed.dispose();
  }
}
