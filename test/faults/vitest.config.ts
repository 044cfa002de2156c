import { defineConfig, mergeConfig } from "vitest/config";
import base from "../../vitest.config";

/**
 * `npm run test:faults`: the fault simulation alone, its budget taken from the shell. Tests run inside
 * workerd and cannot read the host's environment, so the values travel through vitest's `provide` /
 * `inject` (test/faults/budget.ts). `npm test` uses the main config: nothing provided, the CI budget applies.
 */
const VARIABLES = {
  seed: "FAULT_SEED",
  runs: "FAULT_RUNS",
  steps: "FAULT_STEPS",
  path: "FAULT_PATH",
  replayPath: "FAULT_REPLAY",
  shrinkMs: "FAULT_SHRINK_MS",
  strict: "FAULT_STRICT",
} as const;

const faultBudget = Object.fromEntries(
  Object.entries(VARIABLES).flatMap(([key, name]) => (process.env[name] ? [[key, process.env[name]]] : [])),
);

export default mergeConfig(
  base,
  defineConfig({ test: { include: ["test/faults/**/*.eviction.test.ts"], provide: { faultBudget } } }),
);
