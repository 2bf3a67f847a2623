// The jaffle_shop fixture project (test/fixtures/jaffle_shop) with jaffle_shop's real seeds, for the unit and the
// browser suites alike. The seeds are shared data kept beside the repository (read-only), not in it.
import assert from 'node:assert/strict';
import { cpSync, existsSync } from 'node:fs';
import path from 'node:path';

const SEEDS = ['raw_customers.csv', 'raw_orders.csv', 'raw_payments.csv'];

/**
 * jaffle_shop's real seeds: `../shared/dbt-projects/` from the checkout, as the project's guide places it, else
 * SEGMENT_LENS_JAFFLE_SEEDS, else the workplace's fixed place.
 */
export function jaffleSeeds(repoRoot: string): string {
  const candidates = [
    process.env.SEGMENT_LENS_JAFFLE_SEEDS,
    path.resolve(repoRoot, '..', 'shared', 'dbt-projects', 'jaffle_shop_seeds'),
    '/work/shared/dbt-projects/jaffle_shop_seeds',
  ].filter((dir): dir is string => !!dir);
  const found = candidates.find((dir) => existsSync(path.join(dir, 'raw_customers.csv')));
  assert.ok(found, `jaffle_shop's seeds are in none of ${candidates.join(', ')}`);
  return found;
}

/** Copies the fixture project (without its expected renderings) and its three seeds into `dir`. */
export function copyJaffleShop(repoRoot: string, dir: string): void {
  cpSync(path.join(repoRoot, 'test', 'fixtures', 'jaffle_shop'), dir, {
    recursive: true,
    filter: (src) => path.basename(src) !== 'expected',
  });
  for (const seed of SEEDS) cpSync(path.join(jaffleSeeds(repoRoot), seed), path.join(dir, 'seeds', seed));
}
