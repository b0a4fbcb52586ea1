import * as vscode from 'vscode';
import type { ItemView } from './viewmodel/nodes';

/** Turns a host-neutral `ItemView` into a TreeItem. Labels and tooltips stay plain text (no Markdown), so model-written titles cannot inject anything. */
export function toTreeItem(v: ItemView): vscode.TreeItem {
  const collapsible = v.collapsible === 'expanded'
    ? vscode.TreeItemCollapsibleState.Expanded
    : v.collapsible === 'collapsed' ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None;
  const item = new vscode.TreeItem(v.label, collapsible);
  item.id = v.id;
  item.description = v.description;
  item.tooltip = v.tooltip;
  item.contextValue = v.contextValue;
  if (v.icon) item.iconPath = new vscode.ThemeIcon(v.icon.id, v.icon.color ? new vscode.ThemeColor(v.icon.color) : undefined);
  if (v.command) item.command = { command: v.command.command, title: v.command.title, arguments: v.command.args };
  return item;
}
