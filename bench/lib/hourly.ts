import { type AppClient, sleep } from "./app";
import { provisionBots } from "./chats";
import type { CheckOutcome } from "./checks";
import type { Log } from "./debits";
import { cpuTimeMs, type RunningWorker } from "./runtime";
import type { ReplyTap } from "./standins";

/**
 * Item 4, the hourly run at 100,000 instances (10,000 out of credits). One local workerd cannot hold 10,000 live
 * objects (docs/cron.md, "Local ceiling"), so the run is measured in two parts and projected:
 * 1. real: `live` provisioned instances run out of credits (the operator takes their balance back, their alarm
 *    projects it to D1), then the product's `runHourly` visits them: visits per second at its 25 in flight, CPU
 *    per visit, one alert each;
 * 2. dry, at full size: D1 seeded with 100,000 projection rows (every 10th out of credits), then the same
 *    `runHourly` with each visit answered at once by a stand-in namespace: the paged projection query's time,
 *    the fan-out and the invocation's subrequests.
 */

export interface HourlyResult {
  rows: number;
  outOfCredits: number;
  live: number;
  liveVisited: number;
  liveAlerted: number;
  liveFailed: number;
  liveWallMs: number;
  liveCpuMsPerVisit: number | null;
  dryVisits: number;
  drySubrequests: number;
  dryD1Ms: number;
  dryWallMs: number;
  dryCpuMs: number | null;
  pages: number;
  checks: CheckOutcome[];
}

interface RunReport {
  visited: number;
  alerted: number;
  failed: number;
  subrequests: number;
}

export async function hourlyAtScale(
  app: RunningWorker,
  client: AppClient,
  tap: ReplyTap,
  telegramOrigin: string,
  sizes: { rows: number; outEvery: number; live: number },
  log: Log,
): Promise<HourlyResult> {
  const violations: string[] = [];
  const ids = Array.from({ length: sizes.live }, (_, i) => `hourly-${String(i).padStart(4, "0")}`);
  const bots = await provisionBots(client, telegramOrigin, ids, app.url);
  for (const bot of bots) {
    const balance = await client.balance(bot.id);
    await client.call("POST", `/admin/instances/${bot.id}/adjustments`, {
      idempotencyKey: `hourly-out-${bot.id}`,
      amountMicros: -balance,
      reason: "benchmark: out of credits",
    });
  }
  await Promise.all(bots.map((b) => client.waitFlushed(b.id)));
  await sleep(500);
  const callsBefore = bots.map((b) => tap.telegramCalls(b.token));
  const cpu0 = cpuTimeMs(app.pid);
  const t0 = performance.now();
  const live = await client.call<{ report: RunReport }>("POST", "/__bench/cron/hourly");
  const liveWallMs = performance.now() - t0;
  const cpu1 = cpuTimeMs(app.pid);
  const reached = bots.filter((b, i) => tap.telegramCalls(b.token) > (callsBefore[i] ?? 0)).length;
  if (live.report.alerted < sizes.live) violations.push(`live run alerted ${live.report.alerted} of ${sizes.live}`);
  if (reached < sizes.live) violations.push(`only ${reached} of ${sizes.live} owners got a Telegram call`);
  log(`  hourly, live: ${live.report.visited} visited, ${live.report.alerted} alerted in ${liveWallMs.toFixed(0)} ms`);

  // The full-size projection: rows up to `sizes.rows` in all, every `outEvery`-th out of credits.
  const existing = await client.call<{ rows: number }>("GET", "/__bench/cron/d1/instances");
  const seedRows = Math.max(0, sizes.rows - existing.rows);
  const CHUNK = 25_000;
  for (let from = 1; from <= seedRows; from += CHUNK) {
    await client.call("POST", "/__bench/cron/d1/instances", {
      from,
      to: Math.min(seedRows, from + CHUNK - 1),
      outEvery: sizes.outEvery,
    });
  }
  const counted = await client.call<{ rows: number; out: number }>("GET", "/__bench/cron/d1/instances");
  const cpu2 = cpuTimeMs(app.pid);
  const t1 = performance.now();
  const dry = await client.call<{ report: RunReport; visits: number; d1Ms: number }>(
    "POST",
    "/__bench/cron/hourly-dry",
  );
  const dryWallMs = performance.now() - t1;
  const cpu3 = cpuTimeMs(app.pid);
  if (dry.visits !== counted.out) violations.push(`dry run visited ${dry.visits} of ${counted.out} out of credits`);
  log(
    `  hourly, dry at ${counted.rows} rows (${counted.out} out): ${dry.visits} visits, ${dry.report.subrequests} subrequests, D1 paging ${dry.d1Ms} ms`,
  );
  return {
    rows: counted.rows,
    outOfCredits: counted.out,
    live: sizes.live,
    liveVisited: live.report.visited,
    liveAlerted: live.report.alerted,
    liveFailed: live.report.failed,
    liveWallMs,
    liveCpuMsPerVisit: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / Math.max(1, live.report.visited),
    dryVisits: dry.visits,
    drySubrequests: dry.report.subrequests,
    dryD1Ms: dry.d1Ms,
    dryWallMs,
    dryCpuMs: cpu2 === null || cpu3 === null ? null : cpu3 - cpu2,
    pages: dry.report.subrequests - dry.visits,
    checks: [
      {
        label: "hourly run: every out-of-credits owner visited and alerted once",
        instances: sizes.live,
        keys: 0,
        duplicatesSent: 0,
        resent: 0,
        violations,
      },
    ],
  };
}
