import type { RequestSpec } from "autocannon";
import { FLUSH_DELAY_MS } from "../../src/ledger/rules";
import type { AppClient } from "./app";
import { type CheckOutcome, checkDebits } from "./checks";
import { combine, DebitBook, type LoadResult, measure } from "./load";
import type { RunningWorker } from "./runtime";

/** The debit guard (docs/benchmarks.md): usage debits on one hot instance against the baselines, interleaved. */

export interface Settings {
  /** Each debit cell is `rounds` runs of `seconds`, interleaved with the cells it is compared with. */
  rounds: number;
  seconds: number;
  concurrencies: number[];
  /** Baseline (b) (one SQLite UPDATE) beside (a) (no-op); the guard needs only (a). */
  baselineB: boolean;
  bursts: number;
  warmUpSeconds: number;
}

export interface Stack {
  app: RunningWorker;
  baseline: RunningWorker;
  client: AppClient;
}

/** The guard: the smoke run fails if c=16 falls under this share of baseline (a) in 2 of its 3 rounds. */
export const GUARD = { connections: 16, ratio: 0.4, rounds: 3, mustPass: 2 };

export type Log = (message: string) => void;

export interface Cell {
  target: string;
  connections: number;
  load: LoadResult;
  /** Fresh debits per second (answers without `Idempotent-Replayed`); null for the baselines. */
  debitsPerSecond: number | null;
  /** Each round's own figures, in round order: every target ran once per round, back to back. */
  rounds: { perSecond: number; debitsPerSecond: number | null }[];
}

const JSON_HEADERS = { "content-type": "application/json" };
function rotate<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

interface Target {
  name: string;
  worker: RunningWorker;
  request: () => RequestSpec;
  book?: DebitBook;
  /** How long the target's process must stay idle after a run before the next one starts (`LoadSpec.quietMs`). */
  quietMs: number;
}

/**
 * The app leaves work behind a run of debits (the alarm's history copy and rollups, due `FLUSH_DELAY_MS`
 * after the first unflushed debit): its process must stay idle past that delay before a run counts as over.
 * The baselines leave nothing; a short pause lets their last answers settle.
 */
export const APP_QUIET_MS = FLUSH_DELAY_MS + 500;
export const BASELINE_QUIET_MS = 300;

/** Runs every target `rounds` times, rotating the order each round, and combines each target's runs. */
async function interleaved(targets: Target[], connections: number, settings: Settings, log: Log): Promise<Cell[]> {
  const runs = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
  const charges = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < settings.rounds; round++) {
    for (const target of rotate(targets, round)) {
      const before = target.book?.chargesSeen() ?? 0;
      const load = await measure({
        origin: target.worker.url,
        connections,
        seconds: settings.seconds,
        requests: [target.request()],
        pid: target.worker.pid,
        quietMs: target.quietMs,
      });
      runs.get(target.name)?.push(load);
      charges.get(target.name)?.push((target.book?.chargesSeen() ?? 0) - before);
      log(
        `  ${target.name} c=${connections} round ${round + 1}: ${load.perSecond.toFixed(0)}/s p50 ${load.p50.toFixed(2)} ms`,
      );
    }
  }
  return targets.map((t) => {
    const loads = runs.get(t.name) ?? [];
    const fresh = charges.get(t.name) ?? [];
    const load = combine(loads);
    return {
      target: t.name,
      connections,
      load,
      debitsPerSecond: t.book ? fresh.reduce((sum, n) => sum + n, 0) / load.seconds : null,
      rounds: loads.map((l, i) => ({
        perSecond: l.perSecond,
        debitsPerSecond: t.book ? (fresh[i] ?? 0) / l.seconds : null,
      })),
    };
  });
}

/**
 * A baseline request built the way the debits are (a fresh JSON body per request, the answer parsed),
 * so the load generator spends the same CPU per request on every target of the shared machine.
 */
function baselineRequest(path: string): () => RequestSpec {
  let n = 0;
  return () => ({
    method: "POST",
    path,
    headers: JSON_HEADERS,
    setupRequest: (request: RequestSpec) => {
      n += 1;
      const body = {
        idempotencyKey: `baseline-${n}`,
        operation: "response",
        costMicros: 1 + (n % 10_000),
        endUserId: "user-1",
      };
      return { ...request, body: JSON.stringify(body) };
    },
    onResponse: (status, body) => {
      if (status === 200) JSON.parse(body);
    },
  });
}

function baselines(stack: Stack, name: string, withB: boolean): Target[] {
  const all: Target[] = [
    {
      name: "baseline (a) Worker → DO no-op",
      worker: stack.baseline,
      request: baselineRequest(`/noop/${name}`),
      quietMs: BASELINE_QUIET_MS,
    },
    {
      name: "baseline (b) DO SQLite UPDATE … RETURNING",
      worker: stack.baseline,
      request: baselineRequest(`/update/${name}`),
      quietMs: BASELINE_QUIET_MS,
    },
  ];
  return withB ? all : all.slice(0, 1);
}

function appTarget(stack: Stack, book: DebitBook, name = "usage debit (POST /v1/instances/:id/usage)"): Target {
  return { name, worker: stack.app, request: () => book.request(), book, quietMs: APP_QUIET_MS };
}

export async function warmUp(stack: Stack, settings: Settings, log: Log): Promise<void> {
  const instance = await stack.client.provision(`warm-up-${crypto.randomUUID().slice(0, 8)}`, { fundUsd: 100_000 });
  const book = new DebitBook("warm-up", [instance]);
  await warm([...baselines(stack, "warm-up", true), appTarget(stack, book)], settings.warmUpSeconds);
  log("warmed up");
}

/** Unmeasured load on each target: its objects exist, their code is compiled and their caches are full. */
async function warm(targets: Target[], seconds: number): Promise<void> {
  for (const target of targets) {
    await measure({
      origin: target.worker.url,
      connections: 16,
      seconds,
      requests: [target.request()],
      pid: target.worker.pid,
      quietMs: target.quietMs,
    });
  }
}

// ---------------------------------------------------------------- 1. hot instance

export interface HotResult {
  cells: Cell[];
  checks: CheckOutcome[];
}

export async function hotInstance(stack: Stack, settings: Settings, log: Log): Promise<HotResult> {
  const cells: Cell[] = [];
  const pending: (() => Promise<CheckOutcome>)[] = [];
  for (const connections of settings.concurrencies) {
    const instance = await stack.client.provision(`hot-c${connections}`, { fundUsd: 100_000 });
    const book = new DebitBook(`hot-c${connections}`, [instance]);
    const targets = [...baselines(stack, `hot-c${connections}`, settings.baselineB), appTarget(stack, book)];
    // The cell's own objects are warmed first: the first round on a fresh object (its first debits, its first
    // alarm and D1 registry write) was the guard's lowest in 7 of 9 smoke runs of 2026-12-07.
    await warm(targets, settings.warmUpSeconds);
    cells.push(...(await interleaved(targets, connections, settings, log)));
    pending.push(() => checkDebits(stack.client, book, [instance.balanceMicros]));
  }
  // Checked together once the cells are done: the waits for each object's flush overlap.
  return { cells, checks: await Promise.all(pending.map((check) => check())) };
}

/** The guard's verdict from the c=16 cells: each round's fresh debits/s over the no-op baseline's requests/s. */
export function guardRounds(hot: HotResult): { ratios: number[]; passed: number; ok: boolean } {
  const at = hot.cells.filter((c) => c.connections === GUARD.connections);
  const a = at.find((c) => c.target.startsWith("baseline (a)"));
  const debit = at.find((c) => c.target.startsWith("usage debit"));
  const ratios = (debit?.rounds ?? []).map(
    (r, i) => (r.debitsPerSecond ?? 0) / (a?.rounds[i]?.perSecond ?? Number.NaN),
  );
  const passed = ratios.filter((r) => r >= GUARD.ratio).length;
  return { ratios, passed, ok: passed >= Math.min(GUARD.mustPass, ratios.length) && ratios.length > 0 };
}
