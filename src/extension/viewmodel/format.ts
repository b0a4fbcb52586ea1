import type { ModelRef } from '../../engine/config';

/** Small formatting helpers shared by the trees, the status bar and the graph. */

/** What a cost shows when no price is known for the model that spent it: unknown, not free. */
export const UNKNOWN_COST = '—';

/**
 * `$0.00` below a cent shows as `<$0.01` once anything was spent, so cost never hides.
 * `known: false` (a model without a price entry) shows "—": the engine counts such calls as
 * $0, which would read as free.
 */
export function formatCost(usd: number, known = true): string {
  if (!known && !(usd > 0)) return UNKNOWN_COST;
  const text = !Number.isFinite(usd) || usd <= 0 ? '$0.00' : usd < 0.01 ? '<$0.01' : `$${usd.toFixed(2)}`;
  // Part priced, part not: what is shown is a lower bound.
  return known ? text : `${text}+`;
}

/** Prices as in `EngineConfig.prices`: keyed `provider:model` or `model` (see modelClient's cost). */
export type PriceTable = Readonly<Record<string, unknown>>;

/** Whether the engine can price calls to `ref`; no route (a ready-made patch) costs a known zero. */
export function isPriced(prices: PriceTable | undefined, ref: ModelRef | undefined): boolean {
  if (!ref) return true;
  if (!prices) return false;
  return prices[`${ref.provider}:${ref.model}`] !== undefined || prices[ref.model] !== undefined;
}

/** Whether a change's `model` (a model name, maybe `provider:model`) has a price entry; none means a known zero. */
export function isModelNamePriced(prices: PriceTable | undefined, model: string | undefined): boolean {
  if (!model) return true;
  if (!prices) return false;
  return Object.keys(prices).some((k) => k === model || k.endsWith(`:${model}`) || model.endsWith(`:${k}`));
}

/** How a run's status reads in the trees: the derived statuses as words. */
export function runStatusText(status: string): string {
  if (status === 'awaiting-review') return 'waiting for review';
  return status;
}

/** Collapses whitespace and cuts to `max` characters with an ellipsis: tree labels stay one line. */
export function oneLine(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
