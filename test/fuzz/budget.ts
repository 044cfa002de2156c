import type fc from "fast-check";

/**
 * The fuzz budget. CI runs every property with its fixed seed and its own number of cases (chosen so
 * that the whole `test/fuzz` directory stays under a minute on two cores). A longer or different run
 * is one command, the variables reaching workerd through `envPrefix` in vitest.config.ts:
 *
 *   FUZZ_RUNS=5000 npx vitest run test/fuzz          # every property runs 5000 cases
 *   FUZZ_SCALE=10 npx vitest run test/fuzz           # every property runs 10 × its CI budget
 *   FUZZ_SEED=42 npx vitest run test/fuzz            # another seed
 *   FUZZ_SEED=42 FUZZ_PATH="17:3:0" npx vitest run test/fuzz -t "<test name>"   # replay a printed failure
 *
 * On failure fast-check prints the seed, the path and the shrunk counterexample.
 */
const vars = (import.meta as unknown as { env: Record<string, string | undefined> }).env;

function positive(name: string): number | undefined {
  const raw = vars[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

/** Fixed for CI so a red run is replayable; the date this suite was written. */
export const FUZZ_SEED = Number(vars.FUZZ_SEED ?? 20261125);
if (!Number.isSafeInteger(FUZZ_SEED)) throw new Error(`FUZZ_SEED must be an integer, got ${vars.FUZZ_SEED}`);
const RUNS = positive("FUZZ_RUNS");
const SCALE = positive("FUZZ_SCALE") ?? 1;
const PATH = vars.FUZZ_PATH || undefined;

/** Cases a property runs: its CI budget, unless FUZZ_RUNS or FUZZ_SCALE says otherwise. */
export function runsFor(ciRuns: number): number {
  return Math.max(1, Math.round(RUNS ?? ciRuns * SCALE));
}

/** fast-check parameters for one property; every property starts from the same seed. */
export function fuzzParams<T>(ciRuns: number): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: runsFor(ciRuns), ...(PATH ? { path: PATH } : {}) };
}

/** A vitest timeout for a property of `ciRuns` cases costing about `msPerCase` each (with room for shrinking). */
export function timeoutFor(ciRuns: number, msPerCase: number): number {
  return 30_000 + runsFor(ciRuns) * msPerCase * 3;
}

/** Cases run in this run per entry point, with what they were, printed at the end for docs/invariants.md. */
const totals = new Map<string, number>();
const details = new Map<string, Map<string, number>>();

function bump(entry: string, detail: string): void {
  const forEntry = details.get(entry) ?? new Map<string, number>();
  forEntry.set(detail, (forEntry.get(detail) ?? 0) + 1);
  details.set(entry, forEntry);
}

/** One fuzz case sent to `entry` (called once per case). */
export function count(entry: string, detail: string): void {
  totals.set(entry, (totals.get(entry) ?? 0) + 1);
  bump(entry, detail);
}

export function printTally(file: string): void {
  const lines = [...totals].map(([entry, n]) => {
    const parts = [...(details.get(entry) ?? [])].sort((a, b) => b[1] - a[1]).map(([d, k]) => `${d}: ${k}`);
    return `  ${entry}: ${n} cases — ${parts.join("; ")}`;
  });
  const total = [...totals.values()].reduce((a, b) => a + b, 0);
  console.log(`fuzz ${file} (seed ${FUZZ_SEED}): ${total} cases\n${lines.join("\n")}`);
}
