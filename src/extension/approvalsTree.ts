import * as vscode from 'vscode';
import type { EngineHost } from './engineHost';
import { toTreeItem } from './treeItems';
import { approvalSections, changeItem, fileItem, queueItem, sectionChildren, SectionIds, sectionItem, type ApprovalsSections } from './viewmodel/approvals';
import type { TreeNode } from './viewmodel/nodes';

/**
 * Approvals and queue: changes waiting for review (with the reviewer's verdict, expandable
 * to their files), queue entries in flight, and the latest landed or failed entries with
 * their reasons. A section that gains items gets a new id so it shows expanded.
 */
export class ApprovalsTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sectionIds = new SectionIds();

  constructor(private readonly host: EngineHost) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  private sections(): ApprovalsSections | undefined {
    const engine = this.host.current;
    if (!engine) return undefined;
    return approvalSections({ changes: engine.listChanges({ status: 'proposed' }), queue: engine.listQueue() });
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const engine = this.host.current;
    const prices = engine?.config.prices;
    switch (node.kind) {
      case 'section': {
        const s = this.sections();
        return toTreeItem(sectionItem(node.section, s ? s[node.section].length : 0, node.id));
      }
      case 'change': {
        const c = engine?.getChange(node.changeId);
        return c ? toTreeItem(changeItem(c, prices)) : new vscode.TreeItem(node.changeId);
      }
      case 'file': {
        const c = engine?.getChange(node.changeId);
        return c ? toTreeItem(fileItem(c, node.path)) : new vscode.TreeItem(node.path);
      }
      case 'queue': {
        const entry = engine?.listQueue().find((e) => e.id === node.entryId);
        if (!engine || !entry) return new vscode.TreeItem(node.entryId);
        const change = engine.getChange(node.changeId);
        const check = entry.hasCheckOutput && (entry.state === 'failed' || entry.state === 'quarantined') ? engine.getCheckOutput(entry.id) : undefined;
        return toTreeItem(queueItem(entry, { title: change?.taskTitle, version: change?.version, autoApprove: this.host.autoApprove, check }));
      }
      default:
        return new vscode.TreeItem(node.kind === 'message' ? node.text : node.kind);
    }
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    const engine = this.host.current ?? (await this.host.get().catch(() => undefined));
    if (!engine) return [];
    const s = this.sections()!;
    if (!node) {
      // Ids first, so that emptying a section counts as a drop and its next item as a gain.
      const sections = (['review', 'queue', 'recent'] as const).map((section): TreeNode => ({ kind: 'section', section, id: this.sectionIds.next(section, s[section].length) }));
      // No sections at all when there is nothing: the view's welcome text shows instead.
      return s.review.length + s.queue.length + s.recent.length === 0 ? [] : sections;
    }
    if (node.kind === 'section') return sectionChildren(node.section, s);
    if (node.kind === 'change') {
      const c = engine.getChange(node.changeId);
      return c ? c.files.map((path) => ({ kind: 'file', changeId: c.id, path })) : [];
    }
    return [];
  }

  dispose(): void {
    this.changed.dispose();
  }
}
