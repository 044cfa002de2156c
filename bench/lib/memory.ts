import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import WebSocket from "ws";
import { ADMIN_TOKEN, AppClient, STRIPE_WEBHOOK_SECRET } from "./app";
import { percentile } from "./chats";
import type { CheckOutcome } from "./checks";
import type { Log } from "./debits";
import { appBindings, applyMigrations, ROOT, startWorker } from "./runtime";
import type { TappedStandins } from "./standins";

/**
 * Item 5: one object with 1,000,000 ledger entries and 10,000 end users, in a workerd of its own (nothing else in
 * its isolate but the Worker's code), seeded in the ledger's own row shape with the product's rollup catch-up
 * (`/__bench/instances/:id/seed`), then asked for `/stats`. The isolate's heap is read from V8 itself through the
 * inspector (`Runtime.getHeapUsage` after `HeapProfiler.collectGarbage`): workerd has no `process.memoryUsage()`
 * (it answers zeros) nor `performance.memory`. The process's resident memory (with SQLite's page cache, the
 * runtime and Miniflare's helper Workers) is reported beside it as an upper bound.
 */

export interface MemoryResult {
  entries: number;
  users: number;
  seedSeconds: number;
  heapBeforeMb: number;
  heapAfterMb: number;
  heapTotalAfterMb: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  rssPeakMb: number;
  statsP50Ms: number;
  statsP99Ms: number;
  checks: CheckOutcome[];
}

const MB = 1024 * 1024;
const SEED_CHUNK = 100_000;
const SEED_DAYS = 90;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * One inspector session on the Worker's isolate (workerd serves one session per target: a second connection
 * after the first closed was never answered here), giving `Runtime.getHeapUsage` after a full GC, in bytes.
 */
async function inspector(port: number, worker: string) {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    id: string;
    webSocketDebuggerUrl: string;
  }[];
  const target = targets.find((t) => t.id === `core:user:${worker}`);
  if (!target) throw new Error(`no inspector target for ${worker}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let id = 0;
  const call = (method: string) =>
    new Promise<Record<string, number>>((resolve, reject) => {
      id += 1;
      const mine = id;
      const timer = setTimeout(() => reject(new Error(`inspector: no answer to ${method}`)), 60_000);
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(String(data)) as { id?: number; result?: Record<string, number> };
        if (message.id !== mine) return;
        clearTimeout(timer);
        ws.off("message", onMessage);
        resolve(message.result ?? {});
      };
      ws.on("message", onMessage);
      ws.send(JSON.stringify({ id: mine, method }));
    });
  /**
   * workerd dispatches inspector messages when the isolate has work: `poke` sends it a request, again and again
   * until the answer came (one poke that finished before the message arrived left it waiting for a minute).
   */
  const answered = async <T>(pending: Promise<T>, poke: () => Promise<unknown>): Promise<T> => {
    const settled = pending.then(
      () => true,
      () => true,
    );
    for (;;) {
      await poke();
      const done = await Promise.race([settled, new Promise<false>((r) => setTimeout(() => r(false), 200))]);
      if (done) return pending;
    }
  };
  return {
    async heap(poke: () => Promise<unknown>): Promise<{ used: number; total: number }> {
      await answered(call("HeapProfiler.collectGarbage"), poke);
      const usage = await answered(call("Runtime.getHeapUsage"), poke);
      return { used: usage.usedSize ?? Number.NaN, total: usage.totalSize ?? Number.NaN };
    },
    close: () => ws.close(),
  };
}

function rss(pid: number | null): { now: number; peak: number } {
  if (pid === null) return { now: Number.NaN, peak: Number.NaN };
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { now: (kb("VmRSS") * 1024) / MB, peak: (kb("VmHWM") * 1024) / MB };
}

export async function memoryAtScale(
  script: string,
  stateDir: string,
  standins: TappedStandins,
  sizes: { entries: number; users: number },
  log: Log,
): Promise<MemoryResult> {
  const port = await freePort();
  const name = "memory";
  const worker = await startWorker({
    name,
    scriptPath: script,
    port: 0,
    persistDir: stateDir,
    logFile: path.join(stateDir, "..", "memory.log"),
    bindings: appBindings(standins, { adminToken: ADMIN_TOKEN, stripeWebhookSecret: STRIPE_WEBHOOK_SECRET }),
    d1Databases: { DB: "ai-credits-bench" },
    durableObjects: { CREDIT_ACCOUNT: "BenchCreditAccount" },
    inspectorPort: port,
  });
  let closeSession = () => {};
  try {
    await applyMigrations(worker, "DB", path.join(ROOT, "migrations"));
    const client = new AppClient(worker.url);
    const id = "memory-1m";
    // History copy off: otherwise the alarm copies the million seeded entries to D1 while the heap is read.
    const instance = await client.provision(id, { fundUsd: 1_000_000, history: false });
    await client.call("GET", `/__bench/instances/${id}/stats`);
    const session = await inspector(port, name);
    closeSession = () => session.close();
    const poke = () => client.call("GET", `/__bench/instances/${id}/counters`);
    const heapBefore = await session.heap(poke);
    const rssBefore = rss(worker.pid);
    const stepMs = Math.floor((SEED_DAYS * 86_400_000) / sizes.entries);
    const startMs = Date.now() - SEED_DAYS * 86_400_000;
    const seeding = performance.now();
    for (let from = 1; from <= sizes.entries; from += SEED_CHUNK) {
      const to = Math.min(sizes.entries, from + SEED_CHUNK - 1);
      await client.call("POST", `/__bench/instances/${id}/seed`, { from, to, users: sizes.users, startMs, stepMs });
    }
    const seedSeconds = (performance.now() - seeding) / 1000;
    const times: number[] = [];
    let stats: { ok: boolean; balanceMicros: number; answers: { d30: number } } | null = null;
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      stats = await client.call("GET", `/__bench/instances/${id}/stats`);
      times.push(performance.now() - t0);
    }
    const heapAfter = await session.heap(poke);
    const rssAfter = rss(worker.pid);
    const { audit } = await client.audit(id, false);
    const violations: string[] = [];
    if (audit.entries !== sizes.entries + 2) violations.push(`${audit.entries} entries, seeded ${sizes.entries} + 2`);
    if (audit.ledgerSumMicros !== audit.balanceMicros) violations.push("ledger sum ≠ balance");
    if (audit.runningMismatches !== 0) violations.push(`${audit.runningMismatches} entries off the running sum`);
    if (!stats?.ok || stats.balanceMicros !== audit.balanceMicros) violations.push("/stats balance ≠ ledger");
    if ((stats?.answers.d30 ?? 0) <= 0) violations.push("/stats sees no answers in 30 days");
    if (instance.balanceMicros - audit.balanceMicros <= 0) violations.push("seeding charged nothing");
    const result: MemoryResult = {
      ...sizes,
      seedSeconds,
      heapBeforeMb: heapBefore.used / MB,
      heapAfterMb: heapAfter.used / MB,
      heapTotalAfterMb: heapAfter.total / MB,
      rssBeforeMb: rssBefore.now,
      rssAfterMb: rssAfter.now,
      rssPeakMb: rssAfter.peak,
      statsP50Ms: percentile(times, 50),
      statsP99Ms: percentile(times, 99),
      checks: [
        {
          label: `${sizes.entries.toLocaleString("en-US")}-entry ledger: invariants, /stats balance`,
          instances: 1,
          keys: 0,
          duplicatesSent: 0,
          resent: 0,
          violations,
        },
      ],
    };
    log(
      `  memory: ${sizes.entries} entries seeded in ${seedSeconds.toFixed(1)} s; heap ${result.heapBeforeMb.toFixed(1)} → ${result.heapAfterMb.toFixed(1)} MB; RSS ${result.rssBeforeMb.toFixed(0)} → ${result.rssAfterMb.toFixed(0)} MB (peak ${result.rssPeakMb.toFixed(0)})`,
    );
    return result;
  } finally {
    closeSession();
    await worker.close();
  }
}
