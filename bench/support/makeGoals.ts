// Writes the recorded plans of the orchestration benchmark to bench/goals/*.json.
// Run once (or after editing the specs): ./node_modules/.bin/node --import tsx bench/support/makeGoals.ts
// The JSON files are the record; the benchmark reads them and never calls this.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validatePlan } from '../../src/engine/plan/validate';
import type { TaskType } from '../../src/engine/plan/schema';
import { seededRandom } from './content';
import type { GoalFile } from './goals';

type Spec = [id: string, type: TaskType, title: string, files: string[], deps: string[]];

interface GoalSpec {
  name: string;
  shape: string;
  goal: string;
  tasks: Spec[];
}

/** Typical size of what one task writes, in output tokens, by task type (±25 %, seeded). */
const TOKENS: Record<TaskType, number> = { design: 500, code_gen: 900, test: 700, docs: 400, audit: 300, optimize: 700, deploy: 300 };

const GOALS: GoalSpec[] = [
  {
    name: 'coupons', shape: 'chain', goal: 'Add coupon codes to checkout',
    tasks: [
      ['t1', 'design', 'Design the coupon model and rules', ['docs/design/coupons.md'], []],
      ['t2', 'code_gen', 'Implement the coupon module', ['src/coupons.ts'], ['t1']],
      ['t3', 'code_gen', 'Apply coupons in pricing', ['src/pricing.ts'], ['t2']],
      ['t4', 'test', 'Test coupon pricing end to end', ['test/coupons.test.ts'], ['t3']],
    ],
  },
  {
    name: 'csv-export', shape: 'chain', goal: 'Export orders as CSV from the admin API',
    tasks: [
      ['t1', 'code_gen', 'Add a CSV writer utility', ['src/util/csv.ts'], []],
      ['t2', 'code_gen', 'Add order export to the orders module', ['src/orders.ts'], ['t1']],
      ['t3', 'code_gen', 'Expose GET /admin/orders.csv', ['src/http/routes.ts'], ['t2']],
      ['t4', 'test', 'Test the CSV export route', ['test/orders-export.test.ts'], ['t3']],
      ['t5', 'docs', 'Document the export endpoint', ['docs/api.md'], ['t4']],
      ['t6', 'audit', 'Audit the export for data leaks', ['docs/audits/export.md'], ['t5']],
    ],
  },
  {
    name: 'input-validation', shape: 'fan', goal: 'Validate every public input with one shared validator',
    tasks: [
      ['t1', 'code_gen', 'Add the shared validation helpers', ['src/util/validate.ts'], []],
      ['t2', 'code_gen', 'Validate cart input', ['src/cart.ts'], ['t1']],
      ['t3', 'code_gen', 'Validate catalog input', ['src/catalog.ts'], ['t1']],
      ['t4', 'code_gen', 'Validate user input', ['src/users.ts'], ['t1']],
      ['t5', 'code_gen', 'Validate order input', ['src/orders.ts'], ['t1']],
      ['t6', 'code_gen', 'Validate inventory input', ['src/inventory.ts'], ['t1']],
      ['t7', 'code_gen', 'Validate login input', ['src/auth.ts'], ['t1']],
      ['t8', 'test', 'Test the validation helpers', ['test/validate.test.ts'], ['t1']],
    ],
  },
  {
    name: 'metrics', shape: 'fan-in', goal: 'Add business metrics to every module and document them',
    tasks: [
      ['t1', 'code_gen', 'Add cart metrics', ['src/metrics/cart.ts'], []],
      ['t2', 'code_gen', 'Add order metrics', ['src/metrics/orders.ts'], []],
      ['t3', 'code_gen', 'Add inventory metrics', ['src/metrics/inventory.ts'], []],
      ['t4', 'code_gen', 'Add user metrics', ['src/metrics/users.ts'], []],
      ['t5', 'code_gen', 'Add catalog metrics', ['src/metrics/catalog.ts'], []],
      ['t6', 'docs', 'Document every metric', ['docs/metrics.md'], ['t1', 't2', 't3', 't4', 't5']],
    ],
  },
  {
    name: 'rate-limit', shape: 'diamond', goal: 'Rate-limit the HTTP API per user',
    tasks: [
      ['t1', 'design', 'Design the rate limiter', ['docs/design/rate-limit.md'], []],
      ['t2', 'code_gen', 'Implement the token bucket', ['src/util/bucket.ts'], ['t1']],
      ['t3', 'code_gen', 'Add the rate-limit middleware', ['src/http/limit.ts'], ['t1']],
      ['t4', 'test', 'Test limits under burst load', ['test/limit.test.ts'], ['t2', 't3']],
    ],
  },
  {
    name: 'refunds', shape: 'double-diamond', goal: 'Support partial refunds',
    tasks: [
      ['t1', 'design', 'Design partial refunds', ['docs/design/refunds.md'], []],
      ['t2', 'code_gen', 'Add refund records to payments', ['src/payments.ts'], ['t1']],
      ['t3', 'code_gen', 'Restock refunded items', ['src/inventory.ts'], ['t1']],
      ['t4', 'code_gen', 'Add the refund service', ['src/refunds.ts'], ['t2', 't3']],
      ['t5', 'code_gen', 'Expose POST /orders/:id/refunds', ['src/http/routes.ts'], ['t4']],
      ['t6', 'test', 'Test the refund service', ['test/refunds.test.ts'], ['t4']],
      ['t7', 'docs', 'Document refunds', ['docs/refunds.md'], ['t5', 't6']],
    ],
  },
  {
    name: 'test-coverage', shape: 'wide-2x6', goal: 'Split the utilities into modules and cover each with tests',
    tasks: [
      ['t1', 'code_gen', 'Extract money rounding', ['src/util/rounding.ts'], []],
      ['t2', 'code_gen', 'Extract id generation', ['src/util/idgen.ts'], []],
      ['t3', 'code_gen', 'Extract structured logging', ['src/util/logger.ts'], []],
      ['t4', 'code_gen', 'Extract clock helpers', ['src/util/clock.ts'], []],
      ['t5', 'code_gen', 'Extract retry helpers', ['src/util/retry.ts'], []],
      ['t6', 'code_gen', 'Extract config loading', ['src/util/config.ts'], []],
      ['t7', 'test', 'Test money rounding', ['test/rounding.test.ts'], ['t1']],
      ['t8', 'test', 'Test id generation', ['test/idgen.test.ts'], ['t2']],
      ['t9', 'test', 'Test structured logging', ['test/logger.test.ts'], ['t3']],
      ['t10', 'test', 'Test clock helpers', ['test/clock.test.ts'], ['t4']],
      ['t11', 'test', 'Test retry helpers', ['test/retry.test.ts'], ['t5']],
      ['t12', 'test', 'Test config loading', ['test/config.test.ts'], ['t6']],
    ],
  },
  {
    name: 'search', shape: 'wide-3x4', goal: 'Add faceted product search',
    tasks: [
      ['t1', 'code_gen', 'Add the tokenizer', ['src/search/tokenize.ts'], []],
      ['t2', 'code_gen', 'Add the inverted index', ['src/search/index.ts'], []],
      ['t3', 'code_gen', 'Add facet counting', ['src/search/facets.ts'], []],
      ['t4', 'code_gen', 'Add result ranking', ['src/search/rank.ts'], []],
      ['t5', 'code_gen', 'Add the query parser', ['src/search/query.ts'], ['t1', 't2']],
      ['t6', 'code_gen', 'Add the facet filter', ['src/search/filter.ts'], ['t2', 't3']],
      ['t7', 'code_gen', 'Add the search service', ['src/search/service.ts'], ['t3', 't4']],
      ['t8', 'code_gen', 'Add index maintenance', ['src/search/maintain.ts'], ['t1', 't4']],
      ['t9', 'test', 'Test query parsing', ['test/search-query.test.ts'], ['t5', 't6']],
      ['t10', 'test', 'Test facet filtering', ['test/search-filter.test.ts'], ['t6', 't7']],
      ['t11', 'code_gen', 'Expose GET /search', ['src/http/search.ts'], ['t7', 't8']],
      ['t12', 'docs', 'Document search', ['docs/search.md'], ['t5', 't8']],
    ],
  },
  {
    name: 'wishlists', shape: 'mixed', goal: 'Add wishlists with sharing and notifications',
    tasks: [
      ['t1', 'design', 'Design wishlists', ['docs/design/wishlists.md'], []],
      ['t2', 'code_gen', 'Add the wishlist store', ['src/wishlists/store.ts'], ['t1']],
      ['t3', 'code_gen', 'Add wishlist sharing', ['src/wishlists/share.ts'], ['t1']],
      ['t4', 'code_gen', 'Notify on price drops', ['src/wishlists/notify.ts'], ['t1']],
      ['t5', 'test', 'Test the wishlist store', ['test/wishlists-store.test.ts'], ['t2']],
      ['t6', 'test', 'Test sharing links', ['test/wishlists-share.test.ts'], ['t3']],
      ['t7', 'test', 'Test price-drop notifications', ['test/wishlists-notify.test.ts'], ['t4']],
      ['t8', 'docs', 'Document wishlists', ['docs/wishlists.md'], ['t2', 't3', 't4']],
      ['t9', 'audit', 'Audit sharing for privacy leaks', ['docs/audits/wishlists.md'], ['t5', 't6', 't7', 't8']],
    ],
  },
  {
    name: 'shipping-carriers', shape: 'fan-out-fan-in', goal: 'Support five shipping carriers behind one interface',
    tasks: [
      ['t1', 'code_gen', 'Define the carrier interface', ['src/shipping.ts'], []],
      ['t2', 'code_gen', 'Add the UPS carrier', ['src/carriers/ups.ts'], ['t1']],
      ['t3', 'code_gen', 'Add the FedEx carrier', ['src/carriers/fedex.ts'], ['t1']],
      ['t4', 'code_gen', 'Add the DHL carrier', ['src/carriers/dhl.ts'], ['t1']],
      ['t5', 'code_gen', 'Add the USPS carrier', ['src/carriers/usps.ts'], ['t1']],
      ['t6', 'code_gen', 'Add the local courier', ['src/carriers/courier.ts'], ['t1']],
      ['t7', 'test', 'Test carrier selection', ['test/carriers.test.ts'], ['t2', 't3', 't4', 't5', 't6']],
    ],
  },
  {
    name: 'auth-and-audit-log', shape: 'two-chains', goal: 'Add 2FA and an audit log',
    tasks: [
      ['t1', 'code_gen', 'Add TOTP codes', ['src/auth/totp.ts'], []],
      ['t2', 'code_gen', 'Require 2FA at login', ['src/auth.ts'], ['t1']],
      ['t3', 'test', 'Test 2FA login', ['test/2fa.test.ts'], ['t2']],
      ['t4', 'code_gen', 'Add the audit log store', ['src/audit/log.ts'], []],
      ['t5', 'code_gen', 'Record admin actions', ['src/http/server.ts'], ['t4']],
      ['t6', 'test', 'Test the audit log', ['test/audit.test.ts'], ['t5']],
      ['t7', 'docs', 'Document 2FA and the audit log', ['docs/operations.md'], ['t3', 't6']],
    ],
  },
  {
    name: 'tax-rules', shape: 'lopsided', goal: 'Move tax rules to data and tidy the docs',
    tasks: [
      ['t1', 'design', 'Design the tax rule format', ['docs/design/tax.md'], []],
      ['t2', 'code_gen', 'Load tax rules from data', ['src/tax.ts'], ['t1']],
      ['t3', 'code_gen', 'Use tax rules in pricing', ['src/pricing.ts'], ['t2']],
      ['t4', 'test', 'Test tax rules', ['test/tax.test.ts'], ['t3']],
      ['t5', 'docs', 'Refresh the architecture doc', ['docs/architecture.md'], []],
      ['t6', 'docs', 'Refresh the contributing guide', ['docs/contributing.md'], []],
      ['t7', 'docs', 'Refresh the README', ['README.md'], []],
      ['t8', 'test', 'Test the money helpers', ['test/money.test.ts'], []],
    ],
  },
  {
    name: 'housekeeping', shape: 'independent', goal: 'Five independent housekeeping fixes',
    tasks: [
      ['t1', 'code_gen', 'Make ids URL-safe', ['src/util/ids.ts'], []],
      ['t2', 'code_gen', 'Log request durations', ['src/util/log.ts'], []],
      ['t3', 'code_gen', 'Use a monotonic clock', ['src/util/time.ts'], []],
      ['t4', 'test', 'Test the memory database', ['test/db.test.ts'], []],
      ['t5', 'docs', 'Document error codes', ['docs/errors.md'], []],
    ],
  },
];

function goalFile(g: GoalSpec): GoalFile {
  const r = seededRandom(g.name);
  const outputTokens: Record<string, number> = {};
  const tasks = g.tasks.map(([id, type, title, files, deps]) => {
    outputTokens[id] = Math.round(TOKENS[type] * (0.75 + 0.5 * r()));
    return {
      id,
      title,
      type,
      prompt: `${title} (${files.join(', ')}), as part of: ${g.goal.toLowerCase()}. Keep the existing style and exports.`,
      acceptanceCriteria: [type === 'test' ? 'the new tests pass' : type === 'docs' || type === 'design' || type === 'audit' ? 'the document covers the change' : 'the project type-checks'],
      dependsOn: deps,
      files,
    };
  });
  const plan = { goal: g.goal, rationale: `Split by module; ${g.shape} dependencies.`, confidence: 0.8, questions: [], assumptions: [], tasks };
  const v = validatePlan(plan);
  if (!v.ok) throw new Error(`${g.name}: ${v.errors.join('; ')}`);
  return { name: g.name, shape: g.shape, outputTokens, plan };
}

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'goals');
fs.mkdirSync(dir, { recursive: true });
GOALS.forEach((g, i) => {
  const file = path.join(dir, `${String(i + 1).padStart(2, '0')}-${g.name}.json`);
  fs.writeFileSync(file, `${JSON.stringify(goalFile(g), null, 2)}\n`);
});
process.stdout.write(`wrote ${GOALS.length} goals to ${dir}\n`);
