import { execFileSync, spawn } from "node:child_process";
import { createWriteStream, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { Log, LogLevel, Miniflare } from "miniflare";
import type { RunningStandins } from "../../standins";

/**
 * Runs a Worker in workerd the way `wrangler dev` runs it, minus `wrangler dev`'s extra proxy process.
 * `wrangler dev` puts a proxy Worker (a second workerd process) in front of the user Worker; on this
 * 2-core machine that hop costs more than the request itself (a no-op Durable Object round trip went
 * from ~900 to ~250 requests/s through it), which would hide every difference we want to measure.
 * So the bench bundles with wrangler (`wrangler deploy --dry-run`, the production bundle) and serves
 * it with Miniflare — the library `wrangler dev` itself runs the user Worker with (it ships with wrangler,
 * same version) — giving the same workerd, local D1 and SQLite-backed Durable Objects.
 */

export const ROOT = path.resolve(import.meta.dirname, "..", "..");

export function run(command: string, args: string[], cwd = ROOT): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${output}`));
    });
  });
}

/** Bundles a Worker exactly as `wrangler deploy` would; returns the entry module's path. */
export async function bundle(configPath: string, outdir: string): Promise<string> {
  const wrangler = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  await run(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", outdir, "-c", configPath]);
  return path.join(outdir, "index.js");
}

/** pids of the workerd processes this process started. */
function workerdChildren(): Set<number> {
  const pids = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const name = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      if (name === "workerd" && ppid === process.pid) pids.add(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

const CLOCK_TICKS = 100;

/** CPU time (user + system) a process has used so far, in ms; null where /proc is not available. */
export function cpuTimeMs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/**
 * Gives the Workers and the load generator a core each: every workerd on the last core, this process
 * (autocannon, the stand-ins, the harness) on the others. Left to the scheduler, the load generator and
 * workerd share both cores and take turns on each, and a request's CPU cost moved by ±20% between cells
 * of the same code; pinned, every target is measured on the same single core. Returns what was done,
 * for the report; nothing is pinned with fewer than 2 cores or without `taskset` (util-linux).
 */
export function pinCores(workerPids: (number | null)[]): string {
  const cpus = allowedCpus();
  const pids = workerPids.filter((pid): pid is number => pid !== null);
  if (cpus.length < 2) return "not pinned (1 core)";
  if (pids.length < workerPids.length) return "not pinned (a workerd process was not found)";
  const serverCore = String(cpus.at(-1));
  const loadCores = cpus.slice(0, -1).join(",");
  try {
    for (const pid of pids) execFileSync("taskset", ["-a", "-cp", serverCore, String(pid)], { stdio: "ignore" });
    execFileSync("taskset", ["-a", "-cp", loadCores, String(process.pid)], { stdio: "ignore" });
  } catch {
    return "not pinned (taskset failed or is missing)";
  }
  return `workerd on CPU ${serverCore}, load generator on CPU ${loadCores} (taskset)`;
}

/** The CPUs this process may run on (a container may allow fewer, or others, than the machine has). */
function allowedCpus(): number[] {
  try {
    const list = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "";
    return list.split(",").flatMap((part) => {
      const [from, to = from] = part.split("-").map(Number);
      if (from === undefined || to === undefined || Number.isNaN(from) || Number.isNaN(to)) return [];
      return Array.from({ length: to - from + 1 }, (_, i) => from + i);
    });
  } catch {
    return [];
  }
}

/** The Stripe stand-in takes any test key; the app and whoever reads the stand-in's API use this one. */
export const LOCAL_STRIPE_SECRET_KEY = "sk_test_local_standin";

/**
 * The app's secrets and vars for a local run against the stand-ins (the benchmark and the Node-side scale
 * tests): the production defaults of wrangler.jsonc, with every outside service pointed at 127.0.0.1.
 */
export function appBindings(
  standins: RunningStandins,
  secrets: { adminToken: string; stripeWebhookSecret: string },
): Record<string, string> {
  return {
    ADMIN_TOKEN: secrets.adminToken,
    TOKEN_ENCRYPTION_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    STRIPE_SECRET_KEY: LOCAL_STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET: secrets.stripeWebhookSecret,
    AI_API_KEY: "local-ai-key",
    PUBLIC_BASE_URL: "http://127.0.0.1",
    TELEGRAM_API_BASE: standins.telegram.origin,
    STRIPE_API_BASE: standins.stripe.origin,
    AI_BASE_URL: `${standins.model.origin}/v1`,
    AI_MODEL: "gpt-4o-mini",
    MODEL_PRICES: JSON.stringify({ "gpt-4o-mini": { input: 0.15, output: 0.6 }, "gpt-4o": { input: 2.5, output: 10 } }),
    CREDIT_MARKUP: "1",
    LICENSE_BONUSES: JSON.stringify({ starter: 50, pro: 200 }),
    MIN_TOP_UP_USD: "250",
    MIN_RECHARGE_AT_USD: "100",
    MAX_TOP_UP_USD: "10000",
    MIN_MANUAL_TOP_UP_USD: "50",
    MAX_RECHARGES_PER_DAY: "5",
    BACKGROUND_FLOOR_USD: "5",
    END_USER_DAILY_CAP_USD: "1",
  };
}

export interface RunningWorker {
  url: string;
  /** The workerd process serving it (for CPU accounting), if it could be identified. */
  pid: number | null;
  miniflare: Miniflare;
  close(): Promise<void>;
}

export interface WorkerSpec {
  name: string;
  scriptPath: string;
  port: number;
  persistDir: string;
  logFile: string;
  bindings?: Record<string, string>;
  d1Databases?: Record<string, string>;
  durableObjects: Record<string, string>;
  /** Serves the V8 inspector (Chrome DevTools Protocol) on this port: the isolate's heap can be read. */
  inspectorPort?: number;
}

export async function startWorker(spec: WorkerSpec): Promise<RunningWorker> {
  const before = workerdChildren();
  const log = createWriteStream(spec.logFile, { flags: "a" });
  const miniflare = new Miniflare({
    host: "127.0.0.1",
    port: spec.port,
    cf: false,
    ...(spec.inspectorPort ? { inspectorPort: spec.inspectorPort } : {}),
    log: new Log(LogLevel.WARN),
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.pipe(log, { end: false });
      stderr.pipe(log, { end: false });
    },
    d1Persist: path.join(spec.persistDir, "d1"),
    durableObjectsPersist: path.join(spec.persistDir, "do"),
    workers: [
      {
        name: spec.name,
        modules: true,
        scriptPath: spec.scriptPath,
        modulesRoot: path.dirname(spec.scriptPath),
        compatibilityDate: "2026-04-20",
        compatibilityFlags: ["nodejs_compat"],
        bindings: spec.bindings ?? {},
        d1Databases: spec.d1Databases ?? {},
        durableObjects: Object.fromEntries(
          Object.entries(spec.durableObjects).map(([binding, className]) => [binding, { className, useSQLite: true }]),
        ),
      },
    ],
  });
  const url = (await miniflare.ready).origin;
  const started = [...workerdChildren()].filter((pid) => !before.has(pid));
  return {
    url,
    pid: started.length === 1 ? (started[0] ?? null) : null,
    miniflare,
    async close() {
      await miniflare.dispose();
      log.end();
    },
  };
}

/** Applies the D1 migrations (drizzle-kit output, statements split by its breakpoints) to a fresh database. */
export async function applyMigrations(worker: RunningWorker, binding: string, dir: string): Promise<number> {
  const db = await worker.miniflare.getD1Database(binding);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  for (const file of files) {
    const statements = readFileSync(path.join(dir, file), "utf8")
      .split("--> statement-breakpoint")
      .map((s) => s.trim())
      .filter(Boolean);
    await db.batch(statements.map((s) => db.prepare(s)));
  }
  return files.length;
}
