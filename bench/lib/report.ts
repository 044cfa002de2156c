import path from "node:path";
import { unstable_readConfig } from "wrangler";
import type { AnswerSettings, AnswersResult, CostCell, LatencyRow } from "./answers";
import type { BurstResult } from "./burst";
import type { CheckOutcome } from "./checks";
import { answerCounted, type Counted, costLines, MODEL_COST_PER_ANSWER, total } from "./cost";
import { type Cell, GUARD, guardRounds, type HotResult, type Settings } from "./debits";
import type { HourlyResult } from "./hourly";
import type { LoadResult } from "./load";
import type { MemoryResult } from "./memory";
import { ROOT } from "./runtime";

export interface Environment {
  date: string;
  mode: "full" | "smoke";
  cpu: string;
  cores: number;
  memoryGb: number;
  kernel: string;
  loadStart: number[];
  loadEnd: number[];
  node: string;
  wrangler: string;
  miniflare: string;
  workerd: string;
  autocannon: string;
  stateDir: string;
  pinning: string;
  seconds: number;
}

export interface Results {
  env: Environment;
  settings: Settings;
  answerSettings: AnswerSettings;
  hot: HotResult;
  /** The pipeline debit as the platform counts it (from the hot instance at c=16 and the c=1 latency). */
  debit: Counted;
  answers: AnswersResult;
  hourly: HourlyResult;
  memory: MemoryResult;
  burst: BurstResult;
}

export interface TargetStatus {
  name: string;
  target: string;
  measured: string;
  met: boolean;
}

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "—");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "—");
const usd = (n: number) => (Number.isFinite(n) ? `$${n < 10 ? n.toFixed(3) : n.toFixed(2)}` : "—");
const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "—");
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(2)}%` : "—");
const cpu = (l: LoadResult) => (l.serverCpuUsPerRequest === null ? "—" : f0(l.serverCpuUsPerRequest));
const verdict = (met: boolean) => (met ? "met" : "**not met**");

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

// ---------------------------------------------------------------- item 1

const GOAL_P50_MS = 3;
const GOAL_P99_MS = 15;
const GOAL_OWNER_P99_MS = 50;
const GOAL_COST_SHARE = 0.01;
const GOAL_HOURLY_S = 600;
/** Workers Paid's default subrequests per invocation; wrangler.jsonc's `limits.subrequests` may raise it (to 10M). */
const DEFAULT_SUBREQUEST_LIMIT = 10_000;
/** The product's own limit per invocation, as deployed (wrangler.jsonc). */
export const SUBREQUEST_LIMIT =
  unstable_readConfig({ config: path.join(ROOT, "wrangler.jsonc") }).limits?.subrequests ?? DEFAULT_SUBREQUEST_LIMIT;
const D1_QUERY_LIMIT = 1_000;
const GOAL_HEAP_MB = 128;

interface Added {
  delayMs: number;
  instances: number;
  chats: number;
  product: LatencyRow;
  bare: LatencyRow;
  p50: number;
  p99: number;
}

function added(rows: LatencyRow[]): Added[] {
  const out: Added[] = [];
  for (const product of rows.filter((r) => r.side === "product")) {
    const bare = rows.find(
      (r) =>
        r.side !== "product" &&
        r.delayMs === product.delayMs &&
        r.instances === product.instances &&
        r.chats === product.chats,
    );
    if (!bare) continue;
    out.push({ ...product, product, bare, p50: product.p50 - bare.p50, p99: product.p99 - bare.p99 });
  }
  return out;
}

function latencyTable(rows: LatencyRow[]): string {
  return table(
    [
      "model delay",
      "chats × instances",
      "answers (product / removed)",
      "product p50 / p99 ms",
      "metering removed p50 / p99 ms",
      "added p50 ms (≤ 3)",
      "added p99 ms (≤ 15)",
    ],
    added(rows).map((a) => [
      `${a.delayMs} ms`,
      a.instances === 1 ? `${a.chats} on 1` : `1 on each of ${a.instances}`,
      `${a.product.answers} / ${a.bare.answers}`,
      `${f1(a.product.p50)} / ${f1(a.product.p99)}`,
      `${f1(a.bare.p50)} / ${f1(a.bare.p99)}`,
      `${f1(a.p50)} ${a.p50 <= GOAL_P50_MS ? "" : "✗"}`.trim(),
      `${f1(a.p99)} ${a.p99 <= GOAL_P99_MS ? "" : "✗"}`.trim(),
    ]),
  );
}

// ---------------------------------------------------------------- item 3

function costTable(title: string, counted: Counted): string {
  const lines = costLines(counted);
  return [
    `**${title}**\n`,
    table(
      ["billed item", "per unit", "$ per 1,000,000"],
      [
        ...lines.map((l) => [l.item, `${f2(l.perUnit)}${l.unit ? ` ${l.unit}` : ""}`, usd(l.usdPerMillion)]),
        ["**total**", "", `**${usd(total(lines))}**`],
      ],
    ),
  ].join("\n");
}

function costFor(
  r: Results,
  delayMs: number,
  chats: number,
  wait: CostCell["wait"] = "outside",
  side: CostCell["side"] = "product",
): Counted | null {
  const cell = r.answers.cost.find(
    (c) => c.side === side && c.delayMs === delayMs && c.chats === chats && c.wait === wait && c.answers > 0,
  );
  return cell ? answerCounted(cell, r.debit.cpuMs) : null;
}

// ---------------------------------------------------------------- targets

function hourlyProjection(h: HourlyResult) {
  const waves = Math.ceil(h.outOfCredits / 25);
  const liveWaves = Math.max(1, Math.ceil(h.liveVisited / 25));
  const perWaveMs = h.liveWallMs / liveWaves;
  const seconds = (h.dryD1Ms + waves * perWaveMs) / 1000;
  const invocations = Math.ceil(h.drySubrequests / SUBREQUEST_LIMIT);
  const cpuS = ((h.dryCpuMs ?? 0) + (h.liveCpuMsPerVisit ?? 0) * h.outOfCredits) / 1000;
  return { waves, perWaveMs, seconds, invocations, cpuS };
}

export function evaluateTargets(r: Results): TargetStatus[] {
  const out: TargetStatus[] = [];
  const a = added(r.answers.latency);
  if (a.length > 0) {
    const worstP50 = Math.max(...a.map((x) => x.p50));
    const worstP99 = Math.max(...a.map((x) => x.p99));
    out.push({
      name: "1. time metering adds to an answer, p50 (worst cell)",
      target: `≤ ${GOAL_P50_MS} ms`,
      measured: `${f1(worstP50)} ms (cells: ${a.map((x) => f1(x.p50)).join(", ")})`,
      met: worstP50 <= GOAL_P50_MS,
    });
    out.push({
      name: "1. time metering adds to an answer, p99 (worst cell)",
      target: `≤ ${GOAL_P99_MS} ms`,
      measured: `${f1(worstP99)} ms (cells: ${a.map((x) => f1(x.p99)).join(", ")})`,
      met: worstP99 <= GOAL_P99_MS,
    });
  }
  const loaded = r.answers.owner.filter((o) => o.load.startsWith("64"));
  if (loaded.length > 0) {
    const worst = Math.max(...loaded.map((o) => o.p99));
    out.push({
      name: "2. /balance and /stats p99 with 64 answers in flight",
      target: `≤ ${GOAL_OWNER_P99_MS} ms`,
      measured: loaded.map((o) => `${o.command} ${f1(o.p99)} ms`).join(", "),
      met: worst <= GOAL_OWNER_P99_MS,
    });
  }
  const modelPerMillion = MODEL_COST_PER_ANSWER * 1e6;
  const metered = costFor(r, r.answerSettings.costDelayMs, 1);
  const removed = costFor(r, r.answerSettings.costDelayMs, 1, "outside", "metering removed");
  if (metered && removed) {
    const whole = total(costLines(metered));
    const metering = whole - total(costLines(removed));
    out.push({
      name: `3. platform cost of metering ÷ model cost (model ${r.answerSettings.costDelayMs / 1000} s, one chat at a time)`,
      target: "< 1%",
      measured: `${pct(metering / modelPerMillion)} (metering ${usd(metering)} = the answer's ${usd(whole)} − ${usd(whole - metering)} without metering, vs the model's ${usd(modelPerMillion)} per 1M answers; the whole answer's platform cost is ${pct(whole / modelPerMillion)})`,
      met: metering / modelPerMillion < GOAL_COST_SHARE,
    });
  }
  const h = r.hourly;
  const p = hourlyProjection(h);
  out.push({
    name: "4. hourly run: every out-of-credits owner reached within 10 min, inside the limits",
    target: `≤ ${GOAL_HOURLY_S} s, ≤ ${f0(SUBREQUEST_LIMIT)} subrequests and ≤ ${f0(D1_QUERY_LIMIT)} D1 queries per invocation`,
    measured: `${f0(p.seconds)} s projected; ${f0(h.drySubrequests)} subrequests (${p.invocations} invocation(s) worth), ${f0(h.pages)} D1 queries`,
    met: p.seconds <= GOAL_HOURLY_S && h.drySubrequests <= SUBREQUEST_LIMIT && h.pages <= D1_QUERY_LIMIT,
  });
  out.push({
    name: `5. isolate heap with ${f0(r.memory.entries)} entries and ${f0(r.memory.users)} end users`,
    target: `< ${GOAL_HEAP_MB} MB`,
    measured: `${f1(r.memory.heapAfterMb)} MB used (${f1(r.memory.heapTotalAfterMb)} MB allocated; workerd RSS ${f0(r.memory.rssAfterMb)} MB)`,
    met: r.memory.heapAfterMb < GOAL_HEAP_MB && r.memory.heapTotalAfterMb < GOAL_HEAP_MB,
  });
  const g = guardRounds(r.hot);
  out.push({
    name: `debit guard: c=${GUARD.connections} usage debits ÷ baseline (a), rounds at or above ${GUARD.ratio}×`,
    target: `≥ ${GUARD.mustPass} of ${GUARD.rounds}`,
    measured: `${g.passed} of ${g.ratios.length} (${g.ratios.map(ratio).join(", ")})`,
    met: g.ok,
  });
  const violations = allChecks(r).reduce((n, c) => n + c.check.violations.length, 0);
  out.push({ name: "correctness violations", target: "0", measured: String(violations), met: violations === 0 });
  return out;
}

export function allChecks(r: Results): { scenario: string; check: CheckOutcome }[] {
  return [
    ...r.hot.checks.map((check) => ({ scenario: "debit guard", check })),
    ...r.answers.checks.map((check) => ({ scenario: "1–3. answers", check })),
    ...r.hourly.checks.map((check) => ({ scenario: "4. hourly run", check })),
    ...r.memory.checks.map((check) => ({ scenario: "5. memory", check })),
    ...r.burst.checks.map((check) => ({ scenario: "threshold burst", check })),
  ];
}

function hotTable(hot: HotResult): string {
  const at = (c: Cell) => hot.cells.filter((x) => x.connections === c.connections);
  return table(
    [
      "conc.",
      "target",
      "req/s",
      "debits/s",
      "p50 ms",
      "p99 ms",
      "workerd CPU µs/req",
      "debits/s ÷ (a)",
      "debits/s ÷ (b)",
    ],
    hot.cells.map((c) => {
      const a = at(c).find((x) => x.target.startsWith("baseline (a)"));
      const b = at(c).find((x) => x.target.startsWith("baseline (b)"));
      const d = c.debitsPerSecond;
      return [
        String(c.connections),
        c.target,
        f0(c.load.perSecond),
        d === null ? "—" : f0(d),
        f2(c.load.p50),
        f2(c.load.p99),
        cpu(c.load),
        d === null || !a ? "" : ratio(d / a.load.perSecond),
        d === null || !b ? "" : ratio(d / b.load.perSecond),
      ];
    }),
  );
}

export { costFor, costTable, f0, f1, f2, hotTable, hourlyProjection, latencyTable, pct, table, usd, verdict };
