/**
 * `npm run bench` / `npm run bench:smoke` — see docs/benchmarks.md.
 *
 * Bundles the app (bench/wrangler.jsonc: src/ unchanged plus bench-only routes) and the baselines
 * (bench/baseline/), serves both in workerd with local D1 and SQLite Durable Objects, starts the
 * Telegram/Stripe/model stand-ins, runs scenarios 1–6 with autocannon, checks correctness after each,
 * prints the tables and (full run, or --out FILE) writes the report. Exits 1 on a correctness violation,
 * never on a missed speed target.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type RunningStandins, startStandins } from "../standins";
import { ADMIN_TOKEN, AppClient, STRIPE_WEBHOOK_SECRET } from "./lib/app";
import { allChecks, type Environment, evaluateTargets, type Results, resultsMarkdown } from "./lib/report";
import { appBindings, applyMigrations, bundle, pinCores, ROOT, type RunningWorker, startWorker } from "./lib/runtime";
import {
  historyCost,
  hotInstance,
  manyInstances,
  type Settings,
  type Stack,
  statsAtScale,
  thresholdBurst,
  warmUp,
} from "./lib/scenarios";

const FULL: Settings = {
  rounds: 5,
  seconds: 1.5,
  concurrencies: [1, 16, 64],
  historyConnections: 16,
  manyInstances: [1, 10, 100],
  manyConnections: 64,
  statsSizes: [1_000, 100_000, 1_000_000],
  statsSeconds: 1,
  statsRepeat: 50,
  bursts: 3,
  warmUpSeconds: 1,
};

const SMOKE: Settings = {
  rounds: 1,
  seconds: 1,
  concurrencies: [1, 16, 64],
  historyConnections: 16,
  manyInstances: [1, 10, 25],
  manyConnections: 64,
  statsSizes: [1_000, 10_000, 100_000],
  statsSeconds: 1,
  statsRepeat: 10,
  bursts: 1,
  warmUpSeconds: 0.3,
};

const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const outArg = args.indexOf("--out");
const outFile = outArg >= 0 ? args[outArg + 1] : smoke ? undefined : path.join(ROOT, "docs", "benchmarks.md");
const settings = smoke ? SMOKE : FULL;
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

async function startStack(
  name: string,
  stateDir: string,
  scripts: { app: string; baseline: string },
  standins: RunningStandins,
  logDir: string,
): Promise<Stack & { pinning: string; close(): Promise<void> }> {
  const started: RunningWorker[] = [];
  try {
    const app = await startWorker({
      name: `${name}-app`,
      scriptPath: scripts.app,
      port: 0,
      persistDir: path.join(stateDir, "app"),
      logFile: path.join(logDir, `${name}-app.log`),
      bindings: appBindings(standins, { adminToken: ADMIN_TOKEN, stripeWebhookSecret: STRIPE_WEBHOOK_SECRET }),
      d1Databases: { DB: "ai-credits-bench" },
      durableObjects: { CREDIT_ACCOUNT: "BenchCreditAccount" },
    });
    started.push(app);
    const baseline = await startWorker({
      name: `${name}-baseline`,
      scriptPath: scripts.baseline,
      port: 0,
      persistDir: path.join(stateDir, "baseline"),
      logFile: path.join(logDir, `${name}-baseline.log`),
      durableObjects: { NOOP: "NoopObject", COUNTER: "CounterObject" },
    });
    started.push(baseline);
    await applyMigrations(app, "DB", path.join(ROOT, "migrations"));
    const pinning = pinCores([app.pid, baseline.pid]);
    log(
      `${name}: app ${app.url} (workerd ${app.pid ?? "?"}), baselines ${baseline.url} (workerd ${baseline.pid ?? "?"}); cores: ${pinning}`,
    );
    return {
      app,
      baseline,
      pinning,
      client: new AppClient(app.url),
      async close() {
        await Promise.all(started.map((w) => w.close()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((w) => w.close()));
    throw error;
  }
}

async function main(): Promise<number> {
  const loadStart = os.loadavg();
  // SQLite state on tmpfs when there is one: the measurement is then of the code and the runtime, not of
  // this VM's fsync (which dominates otherwise); the full run repeats scenario 1 at c=16 on disk.
  const shm = existsSync("/dev/shm") ? "/dev/shm" : null;
  const work = mkdtempSync(path.join(shm ?? os.tmpdir(), "ai-credits-bench-"));
  const diskWork = shm && !smoke ? mkdtempSync(path.join(os.tmpdir(), "ai-credits-bench-disk-")) : null;
  log(`${smoke ? "smoke" : "full"} run; state in ${work}${shm ? " (tmpfs)" : ""}`);
  const closers: (() => Promise<void>)[] = [];
  let failed = true;
  try {
    const [app, baseline] = await Promise.all([
      bundle(path.join(ROOT, "bench", "wrangler.jsonc"), path.join(work, "build-app")),
      bundle(path.join(ROOT, "bench", "baseline", "wrangler.jsonc"), path.join(work, "build-baseline")),
    ]);
    log("bundled app and baselines with wrangler");
    const standins = await startStandins({}, STRIPE_WEBHOOK_SECRET);
    closers.push(() => standins.close());
    const stack = await startStack("main", path.join(work, "state"), { app, baseline }, standins, work);
    closers.push(() => stack.close());
    await fetch(`${standins.stripe.origin}/__control/webhook-endpoint`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: `${stack.app.url}/stripe/webhook` }),
    });

    await warmUp(stack, settings, log);
    log("1. hot instance");
    const hot = await hotInstance(stack, settings, log, {
      label: "hot",
      concurrencies: settings.concurrencies,
      direct: true,
    });
    let disk = null;
    if (diskWork) {
      log("1. hot instance, state on disk");
      const diskStack = await startStack("disk", path.join(diskWork, "state"), { app, baseline }, standins, work);
      try {
        await warmUp(diskStack, settings, log);
        disk = await hotInstance(diskStack, settings, log, {
          label: "disk",
          concurrencies: [settings.historyConnections],
          direct: false,
        });
      } finally {
        await diskStack.close();
      }
    }
    log("2. history on / off");
    const history = await historyCost(stack, settings, log);
    log("4. many instances");
    const many = await manyInstances(stack, settings, log);
    log("5. stats at scale");
    const stats = await statsAtScale(stack, settings, log);
    log("6. threshold burst");
    const burst = await thresholdBurst(stack, standins, settings, log);

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
      stateDir: shm
        ? `tmpfs (/dev/shm)${diskWork ? "; scenario 1 at c=16 repeated with the state on disk" : ""}`
        : os.tmpdir(),
      pinning: stack.pinning,
      seconds: (performance.now() - t0) / 1000,
    };
    const results: Results = { env, settings, hot, disk, history, many, stats, burst };
    const markdown = resultsMarkdown(results);
    process.stdout.write(`\n${markdown}\n`);
    if (outFile) {
      const template = readFileSync(path.join(ROOT, "bench", "benchmarks.template.md"), "utf8");
      writeFileSync(outFile, template.replace("{{results}}", markdown));
      log(`wrote ${path.relative(ROOT, outFile)}`);
    }
    const violations = allChecks(results).flatMap((c) => c.check.violations.map((v) => `${c.scenario}: ${v}`));
    const missed = evaluateTargets(results).filter((t) => !t.met);
    if (missed.length > 0) log(`speed targets missed (not a failure): ${missed.map((t) => t.name).join("; ")}`);
    if (violations.length > 0) {
      process.stderr.write(`\n${violations.length} correctness violation(s):\n${violations.join("\n")}\n`);
      return 1;
    }
    log("no correctness violations");
    failed = false;
    return 0;
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    if (failed) log(`kept ${work} (worker logs: *.log)`);
    else rmSync(work, { recursive: true, force: true });
    if (diskWork) rmSync(diskWork, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
