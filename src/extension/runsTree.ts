import * as vscode from 'vscode';
import type { EngineHost } from './engineHost';
import { toTreeItem } from './treeItems';
import { taskAgentView } from './viewmodel/agents';
import type { TreeNode } from './viewmodel/nodes';
import { orderedTasks, runItem, taskItem } from './viewmodel/runs';

/**
 * Runs → tasks: the history of the last 100 requests, newest first. Tasks are listed in dependency order with "after …" in their description.
 * Reading the tree opens the engine (that is what resumes a store after Reload Window);
 * when it cannot be opened the tree is empty and the view's welcome text says why.
 */
export class RunsTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  /** `limit`: the history list's length, the same last-100 requests as `hyperion history`. */
  constructor(private readonly host: EngineHost, private readonly limit = 100) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const engine = this.host.current;
    if (node.kind === 'run') {
      const run = engine?.getRun(node.runId);
      return run ? toTreeItem(runItem(run, engine?.listRuns(1)[0]?.id === run.id, engine?.config.prices)) : new vscode.TreeItem(node.runId);
    }
    if (node.kind === 'task') {
      const run = engine?.getRun(node.runId);
      const task = run?.tasks.find((t) => t.id === node.taskId);
      return task && engine ? toTreeItem(taskItem(task, engine.config.prices, taskAgentView(task), run?.status === 'draft')) : new vscode.TreeItem(node.taskId);
    }
    return new vscode.TreeItem(node.kind === 'message' ? node.text : node.kind);
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    const engine = this.host.current ?? (await this.host.get().catch(() => undefined));
    if (!engine) return [];
    if (!node) return engine.listRequests(this.limit).map((r) => ({ kind: 'run', runId: r.runId }));
    if (node.kind === 'run') {
      const run = engine.getRun(node.runId);
      return run ? orderedTasks(run).map((t) => ({ kind: 'task', runId: run.id, taskId: t.id, changeId: t.changeId })) : [];
    }
    return [];
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return node.kind === 'task' ? { kind: 'run', runId: node.runId } : undefined;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
