import { inject } from "vitest";

/**
 * How much the fault simulation runs. CI (`npm test`) gets the fixed default budget; `npm run test:faults`
 * (test/faults/vitest.config.ts) passes FAULT_SEED, FAULT_RUNS, FAULT_STEPS, FAULT_PATH, FAULT_REPLAY and
 * FAULT_SHRINK_MS from the shell.
 */
export interface FaultBudget {
  /** fast-check seed; random (and printed) when not given. */
  seed: number | null;
  /** Sequences (fast-check runs). */
  runs: number;
  /** Most steps (commands) per sequence. */
  steps: number;
  /** fast-check's `path` of a reported failure: with its seed it replays the shrunk case at once. */
  path: string | null;
  /** The `replayPath` fast-check prints inside a failing command sequence. */
  replayPath: string | null;
  /** Shrinking stops after this long and the shortest sequence found so far is reported. */
  shrinkMs: number;
  /**
   * Strict (the default): the three defects found on 2026-12-06 (docs/invariants.md) are fixed, so they fail
   * the run like any violation. FAULT_STRICT=0 counts them instead, to replay against an older build.
   */
  strict: boolean;
}

/**
 * The CI budget: keeps the suite under about two minutes on two cores (see docs/invariants.md). Its seed is
 * fixed, so `npm test` checks the same 40 sequences every time and a red run is a regression; new sequences are
 * explored by `npm run test:faults` (a random seed unless FAULT_SEED is given). Two random seeds found open
 * defects on 2026-12-07 (docs/invariants.md "Open findings"): they are replayed there, not left to chance in CI.
 */
export const CI_BUDGET = { runs: 40, steps: 30, seed: 20261206 } as const;

type Provided = Partial<Record<"seed" | "runs" | "steps" | "path" | "replayPath" | "shrinkMs" | "strict", string>>;

declare module "vitest" {
  export interface ProvidedContext {
    faultBudget: Provided;
  }
}

function int(value: string | undefined): number | null {
  if (value === undefined || value.trim() === "") return null;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`fault budget: ${value} is not an integer`);
  return n;
}

export function faultBudget(): FaultBudget {
  let provided: Provided | null = null;
  try {
    provided = inject("faultBudget") ?? null;
  } catch {
    // Not provided (the main config): the CI budget.
  }
  const ci = provided === null;
  provided ??= {};
  return {
    seed: int(provided.seed) ?? (ci ? CI_BUDGET.seed : null),
    runs: int(provided.runs) ?? CI_BUDGET.runs,
    steps: int(provided.steps) ?? CI_BUDGET.steps,
    path: provided.path?.trim() || null,
    replayPath: provided.replayPath?.trim() || null,
    shrinkMs: int(provided.shrinkMs) ?? 5 * 60_000,
    strict: provided.strict !== "0",
  };
}
