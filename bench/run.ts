/**
 * `npm run bench` / `npm run bench:smoke` — see docs/benchmarks.md.
 *
 * Bundles the app once (bench/wrangler.jsonc: src/ unchanged plus bench-only routes and classes) and the baselines
 * (bench/baseline/), serves the bundle twice — the product (`BenchCreditAccount`) and the same bot path with
 * metering removed (`UnmeteredAccount`) — and the baselines in workerd with local D1 and SQLite Durable Objects,
 * starts the Telegram/Stripe/model stand-ins (Telegram tapped to time every reply), and measures items 1–5 and the
 * debit guard, checking correctness after each. Exits 1 on a correctness violation or when the debit guard fails,
 * 2 when the harness itself fails; a missed goal is reported, never a failure.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type AnswerSettings, answerLatency, checkAnswers, costCells, ownerUnderLoad, type Side } from "./lib/answers";
import { ADMIN_TOKEN, AppClient, STRIPE_WEBHOOK_SECRET } from "./lib/app";
import { thresholdBurst } from "./lib/burst";
import type { Counted } from "./lib/cost";
import { guardRounds, hotInstance, type Settings, type Stack, warmUp } from "./lib/debits";
import { hourlyAtScale } from "./lib/hourly";
import { memoryAtScale } from "./lib/memory";
import { allChecks, type Environment, evaluateTargets, type Results } from "./lib/report";
import { resultsMarkdown } from "./lib/report-markdown";
import { appBindings, applyMigrations, bundle, pinCores, ROOT, type RunningWorker, startWorker } from "./lib/runtime";
import { startTappedStandins, type TappedStandins } from "./lib/standins";

interface Plan {
  debits: Settings;
  answers: AnswerSettings;
  hourly: { rows: number; outEvery: number; live: number };
  memory: { entries: number; users: number };
}

const FULL: Plan = {
  debits: { rounds: 3, seconds: 1.5, concurrencies: [1, 16, 64], baselineB: true, bursts: 2, warmUpSeconds: 1 },
  answers: {
    delays: [0, 1_000],
    chats: [1, 16, 64],
    spread: 100,
    rounds: 3,
    seconds: 1.5,
    slowSeconds: 3,
    ownerSeconds: 8,
    ownerModelMs: 1_000,
    costDelayMs: 3_000,
    costAnswers: 8,
  },
  hourly: { rows: 100_000, outEvery: 10, live: 100 },
  memory: { entries: 1_000_000, users: 10_000 },
};

const SMOKE: Plan = {
  debits: { rounds: 3, seconds: 2, concurrencies: [16], baselineB: false, bursts: 1, warmUpSeconds: 1 },
  answers: {
    delays: [0],
    chats: [1, 16],
    spread: 10,
    rounds: 1,
    seconds: 1,
    slowSeconds: 1,
    ownerSeconds: 2,
    ownerModelMs: 200,
    costDelayMs: 500,
    costAnswers: 1,
  },
  hourly: { rows: 10_000, outEvery: 10, live: 20 },
  memory: { entries: 100_000, users: 1_000 },
};

const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const outArg = args.indexOf("--out");
const outFile = outArg >= 0 ? args[outArg + 1] : smoke ? undefined : path.join(ROOT, "docs", "benchmarks.md");
const plan = smoke ? SMOKE : FULL;
const t0 = performance.now();
const log = (message: string) => {
  process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
};

function version(pkg: string): string {
  try {
    const file = path.join(ROOT, "node_modules", pkg, "package.json");
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}

async function startApp(name: string, className: string, script: string, stateDir: string, standins: TappedStandins) {
  const worker = await startWorker({
    name,
    scriptPath: script,
    port: 0,
    persistDir: path.join(stateDir, name),
    logFile: path.join(stateDir, `${name}.log`),
    bindings: appBindings(standins, { adminToken: ADMIN_TOKEN, stripeWebhookSecret: STRIPE_WEBHOOK_SECRET }),
    d1Databases: { DB: "ai-credits-bench" },
    durableObjects: { CREDIT_ACCOUNT: className },
  });
  await applyMigrations(worker, "DB", path.join(ROOT, "migrations"));
  return worker;
}

async function main(): Promise<number> {
  const loadStart = os.loadavg();
  // SQLite state on tmpfs when there is one: the measurement is of the code and the runtime, not of this VM's fsync.
  const shm = existsSync("/dev/shm") ? "/dev/shm" : null;
  const work = mkdtempSync(path.join(shm ?? os.tmpdir(), "ai-credits-bench-"));
  log(`${smoke ? "smoke" : "full"} run; state in ${work}${shm ? " (tmpfs)" : ""}`);
  const closers: (() => Promise<void>)[] = [];
  let failed = true;
  try {
    const [script, baselineScript] = await Promise.all([
      bundle(path.join(ROOT, "bench", "wrangler.jsonc"), path.join(work, "build-app")),
      bundle(path.join(ROOT, "bench", "baseline", "wrangler.jsonc"), path.join(work, "build-baseline")),
    ]);
    log("bundled app and baselines with wrangler");
    const standins = await startTappedStandins(STRIPE_WEBHOOK_SECRET);
    closers.push(() => standins.close());
    const workers: RunningWorker[] = [];
    closers.push(async () => {
      await Promise.all(workers.map((w) => w.close()));
    });
    const app = await startApp("app", "BenchCreditAccount", script, work, standins);
    workers.push(app);
    const bare = await startApp("unmetered", "UnmeteredAccount", script, work, standins);
    workers.push(bare);
    const baseline = await startWorker({
      name: "baseline",
      scriptPath: baselineScript,
      port: 0,
      persistDir: path.join(work, "baseline"),
      logFile: path.join(work, "baseline.log"),
      durableObjects: { NOOP: "NoopObject", COUNTER: "CounterObject" },
    });
    workers.push(baseline);
    const pinning = pinCores([app.pid, bare.pid, baseline.pid]);
    log(`app ${app.url}, metering removed ${bare.url}, baselines ${baseline.url}; cores: ${pinning}`);
    const client = new AppClient(app.url);
    const stack: Stack = { app, baseline, client };
    await fetch(`${standins.stripe.origin}/__control/webhook-endpoint`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: `${app.url}/stripe/webhook` }),
    });

    await warmUp(stack, plan.debits, log);
    log("debit guard: hot instance");
    const hot = await hotInstance(stack, plan.debits, log);
    const guardId = "hot-c16";
    const [guardCounters, guardAudit] = await Promise.all([client.counters(guardId), client.audit(guardId, false)]);
    const debits = Math.max(1, guardAudit.audit.usageEntries);
    const c1 = hot.cells.find((c) => c.connections === 1 && c.target.startsWith("usage debit"));
    const c16 = hot.cells.find((c) => c.connections === 16 && c.target.startsWith("usage debit"));
    const debit: Counted = {
      workerRequests: 1,
      cpuMs: c16?.load.serverCpuUsPerRequest == null ? null : c16.load.serverCpuUsPerRequest / 1000,
      objectRequests: 1 + guardCounters.alarms / debits,
      // One debit at a time: its end-to-end latency bounds the object's active time from above.
      objectMs: (c1 ?? c16)?.load.p50 ?? Number.NaN,
      d1RowsRead: guardCounters.d1RowsRead / debits,
      d1RowsWritten: guardCounters.d1RowsWritten / debits,
      subrequests: guardCounters.d1RoundTrips / debits,
    };

    const sides: Side[] = [
      { name: "product", worker: app, client },
      { name: "metering removed", worker: bare, client: new AppClient(bare.url) },
    ];
    const telegram = standins.telegram.origin;
    log("1. answers: product vs metering removed");
    const latency = await answerLatency(sides, standins.tap, telegram, plan.answers, log);
    log("2. the owner under load");
    const owner = await ownerUnderLoad(sides[0] as Side, standins.tap, telegram, plan.answers, log);
    log("3. what an answer makes the platform count");
    const cost = await costCells(sides[0] as Side, sides[1] as Side, standins.tap, telegram, plan.answers, log);
    const productBots = [...(latency.bots.get("product") ?? []), owner.bot, ...cost.bots];
    const answersCheck = await checkAnswers(client, productBots, [
      ...latency.failures,
      ...owner.failures,
      ...cost.failures,
    ]);
    log("threshold burst");
    const burst = await thresholdBurst(stack, standins, plan.debits, log);
    log("4. the hourly run");
    const hourly = await hourlyAtScale(app, client, standins.tap, telegram, plan.hourly, log);
    log("5. memory");
    const memory = await memoryAtScale(script, path.join(work, "memory"), standins, plan.memory, log);

    const cpus = os.cpus();
    const env: Environment = {
      date: new Date().toISOString(),
      mode: smoke ? "smoke" : "full",
      cpu: cpus[0]?.model.trim() ?? "?",
      cores: cpus.length,
      memoryGb: os.totalmem() / 1024 ** 3,
      kernel: os.release(),
      loadStart,
      loadEnd: os.loadavg(),
      node: process.version,
      wrangler: version("wrangler"),
      miniflare: version("miniflare"),
      workerd: version("workerd"),
      autocannon: version("autocannon"),
      stateDir: shm ? "tmpfs (/dev/shm)" : os.tmpdir(),
      pinning,
      seconds: (performance.now() - t0) / 1000,
    };
    const results: Results = {
      env,
      settings: plan.debits,
      answerSettings: plan.answers,
      hot,
      debit,
      answers: { latency: latency.rows, owner: owner.rows, cost: cost.cells, checks: [answersCheck] },
      hourly,
      memory,
      burst,
    };
    const markdown = resultsMarkdown(results);
    process.stdout.write(`\n${markdown}\n`);
    if (outFile) {
      const template = readFileSync(path.join(ROOT, "bench", "benchmarks.template.md"), "utf8");
      writeFileSync(outFile, template.replace("{{results}}", markdown));
      log(`wrote ${path.relative(ROOT, outFile)}`);
    }
    const violations = allChecks(results).flatMap((c) => c.check.violations.map((v) => `${c.scenario}: ${v}`));
    const missed = evaluateTargets(results).filter((t) => !t.met);
    if (missed.length > 0) log(`goals not met (not a failure): ${missed.map((t) => t.name).join("; ")}`);
    const guard = guardRounds(hot);
    if (violations.length > 0) {
      process.stderr.write(`\n${violations.length} correctness violation(s):\n${violations.join("\n")}\n`);
      return 1;
    }
    if (!guard.ok) {
      process.stderr.write(
        `\ndebit guard failed: c=16 usage debits ÷ no-op baseline ${guard.ratios.map((r) => r.toFixed(2)).join(", ")}\n`,
      );
      return 1;
    }
    log("no correctness violations; debit guard passed");
    failed = false;
    return 0;
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    if (failed) log(`kept ${work} (worker logs: *.log)`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
