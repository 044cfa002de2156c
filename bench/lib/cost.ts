import type { CostCell } from "./answers";

/**
 * Item 3: what the platform bills for an answer and for a pipeline debit, from what the benchmark counted,
 * at Cloudflare's list prices (Workers Paid, Standard usage model; marginal prices above the included amounts).
 * Read on 2026-12-06 from developers.cloudflare.com: /workers/platform/pricing/, /durable-objects/platform/pricing/
 * and /d1/platform/pricing/ (the D1 and Workers limits pages say "Last updated Apr 21, 2026").
 */
export const PRICES = {
  date: "2026-12-06 (developers.cloudflare.com pricing pages for Workers, Durable Objects and D1)",
  workerRequest: 0.3 / 1e6,
  workerCpuMs: 0.02 / 1e6,
  objectRequest: 0.15 / 1e6,
  /** $12.50 per million GB-s; an object is billed at 128 MB for the wall time it is active. */
  gbSecond: 12.5 / 1e6,
  objectGb: 0.125,
  d1RowRead: 0.001 / 1e6,
  d1RowWritten: 1.0 / 1e6,
};

/** OpenAI gpt-4o-mini list prices and the answer the goal compares with (an assumption, stated in the report). */
export const MODEL = {
  name: "gpt-4o-mini",
  inputPerToken: 0.15 / 1e6,
  outputPerToken: 0.6 / 1e6,
  inputTokens: 1_000,
  outputTokens: 300,
};
export const MODEL_COST_PER_ANSWER =
  MODEL.inputTokens * MODEL.inputPerToken + MODEL.outputTokens * MODEL.outputPerToken;

/** One billed quantity per answer (or per debit), priced. */
export interface CostLine {
  item: string;
  perUnit: number;
  unit: string;
  usdPerMillion: number;
}

export interface Counted {
  workerRequests: number;
  /** workerd CPU per unit, ms: an upper bound of the Worker's billed CPU (it includes the object's). */
  cpuMs: number | null;
  objectRequests: number;
  /** Wall time the object is active for one unit, ms. */
  objectMs: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  subrequests: number;
}

export function costLines(c: Counted): CostLine[] {
  const million = 1e6;
  return [
    {
      item: "Worker requests",
      perUnit: c.workerRequests,
      unit: "",
      usdPerMillion: c.workerRequests * PRICES.workerRequest * million,
    },
    {
      item: "Worker CPU (upper bound: workerd's CPU per unit, the object's and idle time included)",
      perUnit: c.cpuMs ?? Number.NaN,
      unit: "ms",
      usdPerMillion: (c.cpuMs ?? 0) * PRICES.workerCpuMs * million,
    },
    {
      item: "Durable Object requests (RPC + alarms)",
      perUnit: c.objectRequests,
      unit: "",
      usdPerMillion: c.objectRequests * PRICES.objectRequest * million,
    },
    {
      item: "Durable Object duration at 128 MB",
      perUnit: c.objectMs,
      unit: "ms",
      usdPerMillion: (c.objectMs / 1000) * PRICES.objectGb * PRICES.gbSecond * million,
    },
    { item: "D1 rows read", perUnit: c.d1RowsRead, unit: "", usdPerMillion: c.d1RowsRead * PRICES.d1RowRead * million },
    {
      item: "D1 rows written",
      perUnit: c.d1RowsWritten,
      unit: "",
      usdPerMillion: c.d1RowsWritten * PRICES.d1RowWritten * million,
    },
    { item: "subrequests (not billed; limits only)", perUnit: c.subrequests, unit: "", usdPerMillion: 0 },
  ];
}

export const total = (lines: CostLine[]) => lines.reduce((sum, l) => sum + l.usdPerMillion, 0);

/**
 * An answer as the platform counts it: its webhook request, its RPCs (the webhook's, and the model's answer
 * delivered when the Worker asked the model), the alarms it caused, its object time. Workers bills the CPU of the
 * Worker only (an object's is in its duration); the cell's whole workerd CPU per answer stands for it (an upper
 * bound: it includes the object's), else `workerCpuMs`, a debit's.
 */
export function answerCounted(cell: CostCell, workerCpuMs: number | null): Counted {
  const deliveries = cell.modelOutside / Math.max(1, cell.answers);
  return {
    workerRequests: 1,
    cpuMs: cell.cpuMsPerAnswer ?? workerCpuMs,
    objectRequests: 1 + deliveries + cell.alarmsPerAnswer,
    objectMs: cell.busyMsPerAnswer,
    d1RowsRead: cell.d1RowsReadPerAnswer,
    d1RowsWritten: cell.d1RowsWrittenPerAnswer,
    subrequests: cell.telegramCallsPerAnswer + cell.modelCallsPerAnswer + cell.d1RoundTripsPerAnswer,
  };
}
