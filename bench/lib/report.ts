import { FLUSH_DELAY_MS } from "../../src/ledger/rules";
import type { CheckOutcome } from "./checks";
import type { LoadResult } from "./load";
import {
  APP_QUIET_MS,
  BASELINE_QUIET_MS,
  type BurstResult,
  type Cell,
  type HistoryResult,
  type HotResult,
  type ManyResult,
  type Settings,
  type StatsResult,
} from "./scenarios";

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
  /** How the Workers and the load generator were placed on the cores. */
  pinning: string;
  seconds: number;
}

export interface Results {
  env: Environment;
  settings: Settings;
  hot: HotResult;
  disk: HotResult | null;
  history: HistoryResult;
  many: ManyResult;
  stats: StatsResult;
  burst: BurstResult;
}

export interface TargetStatus {
  name: string;
  target: string;
  measured: string;
  met: boolean;
}

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "—");
const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "—");
/** The lowest and highest of a cell's per-round ratios, e.g. "0.41–0.52×"; null with fewer than two rounds. */
const spread = (ns: number[]) =>
  ns.length < 2 || !ns.every(Number.isFinite) ? null : `${Math.min(...ns).toFixed(2)}–${Math.max(...ns).toFixed(2)}×`;
/** A measured ratio with its notes in brackets, the per-round range last when there is one. */
const measuredWith = (value: number, notes: string[], rounds: number[]) => {
  const range = spread(rounds);
  const all = range ? [...notes, `rounds ${range}`] : notes;
  return all.length ? `${ratio(value)} (${all.join("; ")})` : ratio(value);
};
const cpu = (l: LoadResult) => (l.serverCpuUsPerRequest === null ? "—" : f0(l.serverCpuUsPerRequest));

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

const isBaselineA = (c: Cell) => c.target.startsWith("baseline (a)");
const isBaselineB = (c: Cell) => c.target.startsWith("baseline (b)");
const isDebit = (c: Cell) => c.target.startsWith("usage debit");

/** Debits/s of the app over req/s of a baseline at the same concurrency (the app counts fresh debits only). */
function hotRatios(cells: Cell[], connections: number) {
  const at = cells.filter((c) => c.connections === connections);
  const a = at.find(isBaselineA);
  const b = at.find(isBaselineB);
  const app = at.find(isDebit);
  const debits = app?.debitsPerSecond ?? Number.NaN;
  // Round i of the app against round i of a baseline: the two ran back to back, so a slow spell of the
  // shared machine shows as a spread here instead of hiding in the totals.
  const perRound = (base: Cell | undefined) =>
    (app?.rounds ?? []).map((r, i) => (r.debitsPerSecond ?? Number.NaN) / (base?.rounds[i]?.perSecond ?? Number.NaN));
  return {
    app,
    a: debits / (a?.load.perSecond ?? Number.NaN),
    b: debits / (b?.load.perSecond ?? Number.NaN),
    roundsA: perRound(a),
    roundsB: perRound(b),
    requestsA: (app?.load.perSecond ?? Number.NaN) / (a?.load.perSecond ?? Number.NaN),
    requestsB: (app?.load.perSecond ?? Number.NaN) / (b?.load.perSecond ?? Number.NaN),
    cpuA: (app?.load.serverCpuUsPerRequest ?? Number.NaN) / (a?.load.serverCpuUsPerRequest ?? Number.NaN),
    cpuB: (app?.load.serverCpuUsPerRequest ?? Number.NaN) / (b?.load.serverCpuUsPerRequest ?? Number.NaN),
  };
}

function hotTable(hot: HotResult): string {
  const rows = hot.cells.map((c) => {
    const r = hotRatios(hot.cells, c.connections);
    const isApp = isDebit(c);
    return [
      String(c.connections),
      c.target,
      f0(c.load.perSecond),
      c.debitsPerSecond === null ? "—" : f0(c.debitsPerSecond),
      f2(c.load.p50),
      f2(c.load.p99),
      cpu(c.load),
      isApp ? ratio(r.a) : "",
      isApp ? ratio(r.b) : "",
      isApp ? ratio(1 / r.cpuA) : "",
      isApp ? ratio(1 / r.cpuB) : "",
    ];
  });
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
      "by CPU: (a) ÷ debit",
      "by CPU: (b) ÷ debit",
    ],
    rows,
  );
}

export function evaluateTargets(r: Results): TargetStatus[] {
  const c16 = hotRatios(r.hot.cells, r.settings.historyConnections);
  const historyRatio = (r.history.on.debitsPerSecond ?? 0) / (r.history.off.debitsPerSecond ?? Number.NaN);
  const historyRounds = r.history.on.rounds.map(
    (on, i) => (on.debitsPerSecond ?? Number.NaN) / (r.history.off.rounds[i]?.debitsPerSecond ?? Number.NaN),
  );
  const small = r.stats.rows[0];
  const large = r.stats.rows.at(-1);
  const statsRatio = (large?.rpc.p50 ?? Number.NaN) / (small?.rpc.p50 ?? Number.NaN);
  const violations = allChecks(r).reduce((n, c) => n + c.check.violations.length, 0);
  const sizes = `${f0(large?.entries ?? 0)} / ${f0(small?.entries ?? 0)}`;
  return [
    {
      name: `hot instance c=${r.settings.historyConnections} vs baseline (a)`,
      target: "≥ 0.5×",
      measured: measuredWith(c16.a, [`by CPU per request: ${ratio(1 / c16.cpuA)}`], c16.roundsA),
      met: c16.a >= 0.5,
    },
    {
      name: `hot instance c=${r.settings.historyConnections} vs baseline (b)`,
      target: "≥ 0.8×",
      measured: measuredWith(c16.b, [`by CPU per request: ${ratio(1 / c16.cpuB)}`], c16.roundsB),
      met: c16.b >= 0.8,
    },
    {
      name: "history on / off throughput",
      target: "≥ 0.9×",
      measured: measuredWith(historyRatio, [], historyRounds),
      met: historyRatio >= 0.9,
    },
    {
      name: `stats latency ${sizes} entries (p50 of the RPC)`,
      target: "≤ 1.5×",
      measured: ratio(statsRatio),
      met: statsRatio <= 1.5,
    },
    { name: "correctness violations", target: "0", measured: String(violations), met: violations === 0 },
  ];
}

export function allChecks(r: Results): { scenario: string; check: CheckOutcome }[] {
  return [
    ...r.hot.checks.map((check) => ({ scenario: "1. hot instance", check })),
    ...(r.disk?.checks ?? []).map((check) => ({ scenario: "1. hot instance (state on disk)", check })),
    ...r.history.checks.map((check) => ({ scenario: "2. history on / off", check })),
    ...r.many.checks.map((check) => ({ scenario: "4. many instances", check })),
    ...r.stats.checks.map((check) => ({ scenario: "5. stats at scale", check })),
    ...r.burst.checks.map((check) => ({ scenario: "6. threshold burst", check })),
  ];
}

export function resultsMarkdown(r: Results): string {
  const out: string[] = [];
  const e = r.env;
  out.push(
    table(
      ["", ""],
      [
        ["date", e.date],
        ["run", `\`npm run ${e.mode === "full" ? "bench" : "bench:smoke"}\` (${f0(e.seconds)} s)`],
        ["machine", `${e.cpu}, ${e.cores} cores, ${f0(e.memoryGb)} GB, Linux ${e.kernel}`],
        [
          "load average (1 min) at start / end",
          `${f2(e.loadStart[0] ?? Number.NaN)} / ${f2(e.loadEnd[0] ?? Number.NaN)}`,
        ],
        [
          "versions",
          `node ${e.node}, wrangler ${e.wrangler}, miniflare ${e.miniflare}, workerd ${e.workerd}, autocannon ${e.autocannon}`,
        ],
        ["state", e.stateDir],
        ["cores", e.pinning],
        [
          "cells",
          `${r.settings.rounds} × ${r.settings.seconds} s per cell, interleaved with the cells it is compared with; each run ends when its workerd has been idle ${APP_QUIET_MS / 1000} s (app) or ${BASELINE_QUIET_MS / 1000} s (baselines), and the CPU of the work it left behind is added to its CPU and its seconds`,
        ],
      ],
    ),
  );

  if (e.mode === "smoke") {
    out.push(
      "\n**Smoke run**: one short cell per target, so the speed figures below are noise on a shared machine; the run exists for its correctness checks. Read speed from `npm run bench`.",
    );
  }
  out.push("\n### 1. Hot instance: one instance, usage debits through the HTTP API\n");
  out.push(hotTable(r.hot));
  const c16 = hotRatios(r.hot.cells, r.settings.historyConnections);
  out.push(
    `\nThroughput ratios use fresh debits; counting every answered request (10% are replays) instead, c=${r.settings.historyConnections} gives ${ratio(c16.requestsA)} of (a) and ${ratio(c16.requestsB)} of (b). "By CPU" divides a baseline's workerd CPU time per request by the debit's: the throughput ratio one core would give, steadier than throughput on a shared machine. The target is judged on throughput.`,
  );
  if (c16.app) {
    const deferred = (c16.app.load.deferredCpuMs * 1000) / c16.app.load.responses;
    out.push(
      `\nWork a run leaves behind (the alarm's history copy and rollups, up to ${FLUSH_DELAY_MS / 1000} s after a debit) is charged to it, as the "cells" row says; at c=${r.settings.historyConnections} it came to ${f0(deferred)} µs per debit request.`,
    );
  }
  const roundsA = spread(c16.roundsA);
  const roundsB = spread(c16.roundsB);
  if (roundsA && roundsB) {
    out.push(
      `\nRound by round (each round runs every target once, back to back), c=${r.settings.historyConnections} ranged ${roundsA} of (a) and ${roundsB} of (b): how far one cell on this machine can move the ratio.`,
    );
  }
  if (r.disk) {
    out.push("\nThe same at c=16 with the state on disk (SQLite commits reach the VM's disk):\n");
    out.push(hotTable(r.disk));
  }

  const h = r.history;
  const hr = (h.on.debitsPerSecond ?? 0) / (h.off.debitsPerSecond ?? Number.NaN);
  out.push(`\n### 2. History cost: D1 flush on / off (c=${r.settings.historyConnections})\n`);
  out.push(
    table(
      ["flush", "debits/s", "p50 ms", "p99 ms", "workerd CPU µs/req"],
      [h.on, h.off].map((c) => [
        c.target.replace("history flush ", ""),
        f0(c.debitsPerSecond ?? Number.NaN),
        f2(c.load.p50),
        f2(c.load.p99),
        cpu(c.load),
      ]),
    ),
  );
  out.push(
    `\nOn / off: **${ratio(hr)}**. D1 statements per debit: **${h.d1StatementsPerDebit.toFixed(4)}** (${h.d1RoundTripsPerDebit.toFixed(4)} round trips per debit: each flush is one \`batch\` of up to 5 × 200-row inserts plus the projection update). Statements the "off" instance sent during its runs: ${h.offRunD1Statements}.`,
  );

  out.push(`\n### 4. Many instances: the same total load (c=${r.settings.manyConnections}) spread over N instances\n`);
  out.push(
    table(
      ["instances", "debits/s", "req/s", "p50 ms", "p99 ms", "workerd CPU µs/req"],
      r.many.cells.map((c) => [
        String(c.instances),
        f0(c.debitsPerSecond ?? Number.NaN),
        f0(c.load.perSecond),
        f2(c.load.p50),
        f2(c.load.p99),
        cpu(c.load),
      ]),
    ),
  );

  out.push("\n### 5. Stats at scale: the `stats` RPC behind `/stats`, one instance, c=1\n");
  const first = r.stats.rows[0];
  out.push(
    table(
      [
        "ledger entries",
        "end users",
        "seeded in s",
        "RPC p50 ms",
        "RPC p99 ms",
        "RPC p50 ÷ smallest",
        "compute ms",
        "compute ÷ smallest",
      ],
      r.stats.rows.map((s) => [
        f0(s.entries),
        f0(s.users),
        f2(s.seedSeconds),
        f2(s.rpc.p50),
        f2(s.rpc.p99),
        ratio(s.rpc.p50 / (first?.rpc.p50 ?? Number.NaN)),
        s.computeMs.toFixed(3),
        ratio(s.computeMs / (first?.computeMs ?? Number.NaN)),
      ]),
    ),
  );

  const b = r.burst;
  out.push("\n### 6. Threshold burst\n");
  out.push(
    table(
      ["bursts", "concurrent debits", "recharges started per burst", "burst → credited (s)"],
      [
        [
          String(b.bursts),
          `${b.concurrent} × $1 (+${Math.round(b.concurrent * 0.1)} duplicates), $200 → threshold $150`,
          b.invoicesPerBurst.join(", "),
          b.secondsToCredit.map(f2).join(", "),
        ],
      ],
    ),
  );

  out.push("\n### 3. Correctness after each scenario\n");
  out.push(
    table(
      ["scenario", "instances", "distinct keys", "duplicates sent", "re-sent after the run", "violations"],
      allChecks(r).map((c) => [
        `${c.scenario}: ${c.check.label}`,
        String(c.check.instances),
        f0(c.check.keys),
        f0(c.check.duplicatesSent),
        f0(c.check.resent),
        c.check.violations.length === 0
          ? "0"
          : `**${c.check.violations.length}**: ${c.check.violations.slice(0, 3).join("; ")}`,
      ]),
    ),
  );

  out.push("\n### Targets\n");
  out.push(
    table(
      ["target", "wanted", "measured", ""],
      evaluateTargets(r).map((t) => [t.name, t.target, t.measured, t.met ? "met" : "**missed**"]),
    ),
  );
  return out.join("\n");
}
