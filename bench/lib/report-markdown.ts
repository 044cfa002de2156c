import { type Counted, costLines, MODEL, MODEL_COST_PER_ANSWER, PRICES, total } from "./cost";
import { APP_QUIET_MS, BASELINE_QUIET_MS, GUARD, guardRounds } from "./debits";
import {
  allChecks,
  costFor,
  costTable,
  evaluateTargets,
  f0,
  f1,
  f2,
  hotTable,
  hourlyProjection,
  latencyTable,
  pct,
  type Results,
  SUBREQUEST_LIMIT,
  table,
  usd,
  verdict,
} from "./report";

/** The generated half of docs/benchmarks.md: every figure beside its goal. */
export function resultsMarkdown(r: Results): string {
  const out: string[] = [];
  const e = r.env;
  const s = r.answerSettings;
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
          `answers: ${s.rounds} round(s) per cell, product and metering removed interleaved, ${s.seconds} s windows (${s.slowSeconds} s with a slow model; every message sent inside a window is waited for); debits: ${r.settings.rounds} × ${r.settings.seconds} s, each run ending when its workerd has been idle ${APP_QUIET_MS / 1000} s (app) or ${BASELINE_QUIET_MS / 1000} s (baselines)`,
        ],
      ],
    ),
  );
  if (e.mode === "smoke") {
    out.push(
      "\n**Smoke run**: short cells; its speed figures are noise. It exists for its correctness checks and the debit guard.",
    );
  }

  out.push("\n### Goals\n");
  out.push(
    table(
      ["item", "goal", "measured", ""],
      evaluateTargets(r).map((t) => [t.name, t.target, t.measured, verdict(t.met)]),
    ),
  );

  out.push("\n### 1. The time metering adds to an answer\n");
  out.push(
    'Telegram update POSTed to the webhook → the reply\'s `sendMessage` at the Telegram stand-in. Product: the production bot path; metering removed: the same bundle with `UnmeteredAccount` bound (no hold, settle, ledger, stats or alarm). "Added" is product minus metering removed, per percentile.\n',
  );
  out.push(latencyTable(r.answers.latency));

  out.push("\n### 2. The owner under load\n");
  out.push(
    table(
      ["command", "on the instance", "n", "p50 ms", "p99 ms", "goal p99 ≤ 50 ms"],
      r.answers.owner.map((o) => [
        o.command,
        o.load,
        String(o.n),
        f1(o.p50),
        f1(o.p99),
        o.load === "idle" ? "" : verdict(o.p99 <= 50),
      ]),
    ),
  );

  out.push("\n### 3. What one answer costs the operator on Cloudflare\n");
  out.push(
    `List prices of ${PRICES.date}: Workers $0.30 per 1M requests and $0.02 per 1M CPU ms; Durable Objects $0.15 per 1M requests (RPC calls and alarm invocations) and $12.50 per 1M GB-s of wall time while active, at 128 MB; D1 $0.001 per 1M rows read and $1.00 per 1M rows written; marginal prices (the monthly included amounts are left out). Model: ${MODEL.name} at $0.15 / $0.60 per 1M input / output tokens, a typical answer taken as ${f0(MODEL.inputTokens)} input and ${MODEL.outputTokens} output tokens = ${usd(MODEL_COST_PER_ANSWER * 1e6)} per 1M answers.\n`,
  );
  out.push(
    table(
      [
        "cell",
        "answers (model asked by the Worker)",
        "object active ms / answer (answers ∪ alarms)",
        "alarms / answer",
        "alarm ms / answer",
        "D1 rows read / written per answer",
        "D1 round trips",
        "Telegram calls",
        "model calls",
        "workerd CPU ms / answer",
      ],
      r.answers.cost.map((c) => [
        `${c.side}: model ${c.delayMs} ms, ${c.chats} chat(s), wait ${c.wait} the object`,
        `${c.answers} (${c.modelOutside})`,
        f1(c.busyMsPerAnswer),
        f2(c.alarmsPerAnswer),
        f1(c.alarmMsPerAnswer),
        `${f2(c.d1RowsReadPerAnswer)} / ${f2(c.d1RowsWrittenPerAnswer)}`,
        f2(c.d1RoundTripsPerAnswer),
        f2(c.telegramCallsPerAnswer),
        f2(c.modelCallsPerAnswer),
        c.cpuMsPerAnswer === null ? "—" : f2(c.cpuMsPerAnswer),
      ]),
    ),
  );
  const modelM = MODEL_COST_PER_ANSWER * 1e6;
  const variants: [string, Counted | null][] = [
    [
      `An answer, model ${s.costDelayMs / 1000} s, one chat at a time, the model's wait inside the object (as before it moved: the object waits out the model)`,
      costFor(r, s.costDelayMs, 1, "inside"),
    ],
    [
      `An answer, model ${s.costDelayMs / 1000} s, one chat at a time, the model asked by the webhook's Worker (the product)`,
      costFor(r, s.costDelayMs, 1),
    ],
    [
      `An answer, model ${s.costDelayMs / 1000} s, 16 chats on the instance, the model asked by the Worker`,
      costFor(r, s.costDelayMs, 16),
    ],
    [
      `An answer on the bot path with metering removed, model ${s.costDelayMs / 1000} s, one chat at a time (the same webhook, inbox, lease and send; no hold, settle, ledger, alarm or D1)`,
      costFor(r, s.costDelayMs, 1, "outside", "metering removed"),
    ],
    ["A pipeline debit (POST /v1/instances/:id/usage)", r.debit],
  ];
  for (const [title, counted] of variants) {
    if (!counted) continue;
    out.push(`\n${costTable(title, counted)}`);
    const lines = costLines(counted);
    const t = total(lines);
    const largest = [...lines].sort((a, b) => b.usdPerMillion - a.usdPerMillion)[0];
    out.push(
      `\n${usd(t)} per 1M = ${pct(t / modelM)} of the model's ${usd(modelM)} per 1M answers; the largest item: ${largest?.item ?? "—"} (${usd(largest?.usdPerMillion ?? Number.NaN)}).`,
    );
  }
  const inside = costFor(r, s.costDelayMs, 1, "inside");
  const outside = costFor(r, s.costDelayMs, 1);
  const removed = costFor(r, s.costDelayMs, 1, "outside", "metering removed");
  if (inside && outside) {
    const saving = total(costLines(inside)) - total(costLines(outside));
    out.push(
      `\nMoving the model's wait out of the object saves ${usd(saving)} per 1M answers at a ${s.costDelayMs / 1000} s model (one chat at a time): an answer's platform cost goes from ${pct(total(costLines(inside)) / modelM)} to ${pct(total(costLines(outside)) / modelM)} of the model's.`,
    );
  }
  if (outside && removed) {
    const metering = total(costLines(outside)) - total(costLines(removed));
    out.push(
      `\nWhat metering itself costs (the product's answer minus the same answer with metering removed, model ${s.costDelayMs / 1000} s, one chat at a time): ${usd(metering)} per 1M answers = ${pct(metering / modelM)} of the model's.`,
    );
  }

  out.push("\n### 4. The hourly run at 100,000 instances\n");
  const h = r.hourly;
  const p = hourlyProjection(h);
  out.push(
    table(
      ["", ""],
      [
        ["D1 projection rows / out of credits", `${f0(h.rows)} / ${f0(h.outOfCredits)}`],
        [
          "dry run (visits answered by a stand-in): visits, subrequests, D1 queries",
          `${f0(h.dryVisits)}, ${f0(h.drySubrequests)}, ${f0(h.pages)}`,
        ],
        [
          "the projection query, all pages (D1 time inside the invocation)",
          `${f0(h.dryD1Ms)} ms (${f1(h.dryD1Ms / Math.max(1, h.pages))} ms per page of 500)`,
        ],
        [
          "dry run wall time / workerd CPU",
          `${f0(h.dryWallMs)} ms / ${h.dryCpuMs === null ? "—" : `${f0(h.dryCpuMs)} ms`}`,
        ],
        [
          `live run: ${h.live} real out-of-credits objects`,
          `${h.liveVisited} visited, ${h.liveAlerted} alerted, ${h.liveFailed} failed in ${f0(h.liveWallMs)} ms (${f0(p.perWaveMs)} ms per wave of 25 visits; workerd CPU ${h.liveCpuMsPerVisit === null ? "—" : f1(h.liveCpuMsPerVisit)} ms per visit)`,
        ],
        [
          "projected: time to reach every out-of-credits owner",
          `${f0(p.seconds)} s (${f0(p.waves)} waves of 25) — goal ≤ 600 s`,
        ],
        [
          "projected: CPU of the invocation (upper bound: workerd, objects included)",
          `${f1(p.cpuS)} s — Workers Paid limit 5 min (default 30 s)`,
        ],
        [
          "subrequests of one invocation",
          `${f0(h.drySubrequests)} — limit ${f0(SUBREQUEST_LIMIT)} (wrangler.jsonc \`limits.subrequests\`; Workers Paid: 10,000 unless set, up to 10 million): ${p.invocations} invocation(s) worth`,
        ],
        ["D1 queries of one invocation", `${f0(h.pages)} — limit 1,000 (Workers Paid)`],
      ],
    ),
  );

  out.push(
    `\n### 5. Memory: ${f0(r.memory.entries)} ledger entries and ${f0(r.memory.users)} end users in one object\n`,
  );
  const m = r.memory;
  out.push(
    table(
      ["", "before seeding", "after seeding and /stats"],
      [
        ["isolate heap used (V8, after GC), MB", f1(m.heapBeforeMb), f1(m.heapAfterMb)],
        ["isolate heap allocated, MB", "", f1(m.heapTotalAfterMb)],
        [
          "workerd RSS (upper bound: runtime, SQLite cache, helper Workers), MB",
          f0(m.rssBeforeMb),
          `${f0(m.rssAfterMb)} (peak ${f0(m.rssPeakMb)})`,
        ],
        ["seeding", "", `${f1(m.seedSeconds)} s`],
        ["`stats` RPC p50 / p99 ms", "", `${f2(m.statsP50Ms)} / ${f2(m.statsP99Ms)}`],
      ],
    ),
  );

  out.push("\n### Debit guard: one hot instance, usage debits against the baselines\n");
  out.push(hotTable(r.hot));
  const g = guardRounds(r.hot);
  out.push(
    `\nGuard (c=${GUARD.connections}, usage debits/s ÷ baseline (a) req/s, round by round): ${g.ratios.map((x) => `${x.toFixed(2)}×`).join(", ")}; ${g.passed} of ${g.ratios.length} at or above ${GUARD.ratio}× — ${g.ok ? "passes" : "**fails**"} (${GUARD.mustPass} of ${GUARD.rounds} needed).`,
  );

  out.push("\n### Threshold burst (correctness)\n");
  out.push(
    table(
      ["bursts", "concurrent debits", "recharges started per burst", "burst → credited (s)"],
      [
        [
          String(r.burst.bursts),
          `${r.burst.concurrent} × $1, $200 → threshold $150`,
          r.burst.invoicesPerBurst.join(", "),
          r.burst.secondsToCredit.map((x) => x.toFixed(2)).join(", "),
        ],
      ],
    ),
  );

  out.push("\n### Correctness after each scenario\n");
  out.push(
    table(
      ["scenario", "instances", "keys / answers", "violations"],
      allChecks(r).map(({ scenario, check }) => [
        `${scenario}: ${check.label}`,
        f0(check.instances),
        f0(check.keys),
        String(check.violations.length),
      ]),
    ),
  );
  return out.join("\n");
}
