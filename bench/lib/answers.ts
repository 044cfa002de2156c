import { type AppClient, OWNER_TELEGRAM_ID, sleep } from "./app";
import {
  ask,
  type Bot,
  type Chat,
  clients,
  converse,
  type Exchange,
  epochMs,
  percentile,
  provisionBots,
  unionMs,
} from "./chats";
import { type CheckOutcome, checkHistory } from "./checks";
import type { Log } from "./debits";
import { cpuTimeMs, type RunningWorker } from "./runtime";
import type { ReplyTap } from "./standins";

/**
 * Items 1–3 of docs/benchmarks.md: what metering adds to an answer (the product against the same bot path with
 * metering removed, interleaved), the owner's `/balance` and `/stats` under load, and what an answer makes the
 * platform count (requests, the object's busy time, alarms, D1 rows, subrequests) for the cost table.
 */

export interface AnswerSettings {
  /** Model stand-in delays, ms. */
  delays: number[];
  /** Concurrent chats on one instance. */
  chats: number[];
  /** Instances of the "across instances" cell (one chat each). */
  spread: number;
  rounds: number;
  /** Window of a cell at delay 0 and at a slow model (every message sent inside it is waited for). */
  seconds: number;
  slowSeconds: number;
  ownerSeconds: number;
  /** The model's delay while the owner's commands are measured (64 answers stay in flight behind it). */
  ownerModelMs: number;
  /** The cost cells: the model's delay, and the answers asked one at a time on one instance. */
  costDelayMs: number;
  costAnswers: number;
}

export interface Side {
  name: "product" | "metering removed";
  worker: RunningWorker;
  client: AppClient;
}

export interface LatencyRow {
  delayMs: number;
  instances: number;
  chats: number;
  side: Side["name"];
  answers: number;
  p50: number;
  p99: number;
}

export interface OwnerRow {
  command: string;
  load: string;
  n: number;
  p50: number;
  p99: number;
}

export interface CostCell {
  side: Side["name"];
  delayMs: number;
  chats: number;
  /** Where the model's wait is: the product's (the webhook's Worker), or the object (as before it moved). */
  wait: "outside" | "inside";
  answers: number;
  /**
   * The object's active time per answer, ms: the union of its answers' spans and its alarms' spans (recorded in
   * the object); overlapping time counts once, as Cloudflare bills it. An answer whose model call the webhook's
   * Worker made spans update POSTed → model asked, and model answered → reply at Telegram (the object is idle
   * while the model thinks); any other answer spans update POSTed → reply at Telegram.
   */
  busyMsPerAnswer: number;
  /** Answers whose model call the webhook's Worker made (the object delivered its completion). */
  modelOutside: number;
  alarmsPerAnswer: number;
  alarmMsPerAnswer: number;
  d1RoundTripsPerAnswer: number;
  d1RowsReadPerAnswer: number;
  d1RowsWrittenPerAnswer: number;
  telegramCallsPerAnswer: number;
  modelCallsPerAnswer: number;
  /** workerd CPU per answer (Worker and object together: an upper bound of the Worker's billed CPU), ms. */
  cpuMsPerAnswer: number | null;
}

export interface AnswersResult {
  latency: LatencyRow[];
  owner: OwnerRow[];
  cost: CostCell[];
  checks: CheckOutcome[];
}

function rotate<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** After a cell: the product's alarm copies and rolls up ~1 s after its last answer; both sides get the pause. */
const SETTLE_MS = 1_500;

export async function answerLatency(
  sides: Side[],
  tap: ReplyTap,
  telegramOrigin: string,
  settings: AnswerSettings,
  log: Log,
): Promise<{ rows: LatencyRow[]; bots: Map<Side["name"], Bot[]>; failures: string[] }> {
  const failures: string[] = [];
  const bots = new Map<Side["name"], Bot[]>();
  const hot = new Map<Side["name"], Bot>();
  const spread = new Map<Side["name"], Bot[]>();
  for (const side of sides) {
    const tag = side.name === "product" ? "p" : "u";
    const [one, ...many] = await provisionBots(
      side.client,
      telegramOrigin,
      [`answer-${tag}-hot`, ...Array.from({ length: settings.spread }, (_, i) => `answer-${tag}-${i}`)],
      side.worker.url,
    );
    hot.set(side.name, one as Bot);
    spread.set(side.name, many);
    bots.set(side.name, [one as Bot, ...many]);
  }
  const configs = [
    ...settings.chats.map((chats) => ({ instances: 1, chats })),
    ...(settings.spread > 0 ? [{ instances: settings.spread, chats: settings.spread }] : []),
  ];
  const samples = new Map<string, number[]>();
  for (const delayMs of settings.delays) {
    for (const config of configs) {
      for (let round = 0; round < settings.rounds; round++) {
        for (const side of rotate(sides, round)) {
          const targets = config.instances === 1 ? [hot.get(side.name) as Bot] : (spread.get(side.name) ?? []);
          const chats: Chat[] = clients(targets, config.chats);
          const seconds = delayMs > 0 ? settings.slowSeconds : settings.seconds;
          const exchanges = await converse(tap, chats, seconds, delayMs, failures);
          const key = `${delayMs}|${config.instances}|${config.chats}|${side.name}`;
          samples.set(key, [...(samples.get(key) ?? []), ...exchanges.map((e) => e.replied - e.sent)]);
          await sleep(SETTLE_MS);
        }
      }
      for (const side of sides) {
        const key = `${delayMs}|${config.instances}|${config.chats}|${side.name}`;
        const ms = samples.get(key) ?? [];
        log(
          `  model ${delayMs} ms, ${config.chats} chats on ${config.instances}: ${side.name} p50 ${percentile(ms, 50).toFixed(1)} ms p99 ${percentile(ms, 99).toFixed(1)} ms (${ms.length})`,
        );
      }
    }
  }
  const rows: LatencyRow[] = [];
  for (const delayMs of settings.delays) {
    for (const config of configs) {
      for (const side of sides) {
        const ms = samples.get(`${delayMs}|${config.instances}|${config.chats}|${side.name}`) ?? [];
        rows.push({
          delayMs,
          ...config,
          side: side.name,
          answers: ms.length,
          p50: percentile(ms, 50),
          p99: percentile(ms, 99),
        });
      }
    }
  }
  return { rows, bots, failures };
}

/** Item 2: the owner's commands, one at a time, while 64 answers wait on a 1 s model on the same instance; then idle. */
export async function ownerUnderLoad(
  product: Side,
  tap: ReplyTap,
  telegramOrigin: string,
  settings: AnswerSettings,
  log: Log,
): Promise<{ rows: OwnerRow[]; bot: Bot; failures: string[] }> {
  const failures: string[] = [];
  const [bot] = await provisionBots(product.client, telegramOrigin, ["owner-load"], product.worker.url);
  if (!bot) throw new Error("no bot");
  const commands = ["/balance", "/stats"];
  const ownerLoop = async (seconds: number) => {
    const times = new Map<string, number[]>(commands.map((c) => [c, []]));
    const deadline = performance.now() + seconds * 1000;
    for (let i = 0; performance.now() < deadline; i++) {
      const command = commands[i % commands.length] as string;
      try {
        const e = await ask(tap, bot, OWNER_TELEGRAM_ID, command);
        times.get(command)?.push(e.replied - e.sent);
      } catch (error) {
        failures.push(String(error));
        break;
      }
    }
    return times;
  };
  const idle = await ownerLoop(Math.max(1, settings.ownerSeconds / 3));
  const answers = converse(tap, clients([bot], 64), settings.ownerSeconds + 1, settings.ownerModelMs, failures);
  await sleep(Math.min(1_000, settings.ownerModelMs)); // the 64 are in flight (at the model, asked by the webhook's Worker)
  const loaded = await ownerLoop(settings.ownerSeconds);
  const exchanges = await answers;
  const rows: OwnerRow[] = [];
  for (const command of commands) {
    for (const [load, times] of [
      [`64 answers in flight (model ${settings.ownerModelMs} ms)`, loaded],
      ["idle", idle],
    ] as const) {
      const ms = times.get(command) ?? [];
      rows.push({ command, load, n: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99) });
    }
  }
  log(
    `  owner under load: ${rows.map((r) => `${r.command} ${r.load.split(" ")[0]} p99 ${r.p99.toFixed(1)} ms`).join("; ")} (${exchanges.length} answers)`,
  );
  return { rows, bot, failures };
}

/**
 * Item 3: one instance's answers at a given model delay, and everything the platform would count for them; the
 * last cell on the bot path with metering removed (what metering itself costs is the difference).
 */
export async function costCells(
  product: Side,
  removed: Side,
  tap: ReplyTap,
  telegramOrigin: string,
  settings: AnswerSettings,
  log: Log,
): Promise<{ cells: CostCell[]; bots: Bot[]; failures: string[] }> {
  const failures: string[] = [];
  const cells: CostCell[] = [];
  const bots: Bot[] = [];
  const plan = [
    { on: product, delayMs: settings.costDelayMs, chats: 1, wait: "outside" as const },
    { on: product, delayMs: settings.costDelayMs, chats: 1, wait: "inside" as const },
    { on: product, delayMs: settings.costDelayMs, chats: 16, wait: "outside" as const },
    { on: removed, delayMs: settings.costDelayMs, chats: 1, wait: "outside" as const },
  ];
  for (const { on, ...step } of plan) {
    const side = on.name === "product" ? "p" : "u";
    const [bot] = await provisionBots(
      on.client,
      telegramOrigin,
      [`cost-${side}-${step.delayMs}-${step.chats}-${step.wait}`],
      on.worker.url,
    );
    if (!bot) throw new Error("no bot");
    if (step.wait === "inside") await on.client.setModelInside(bot.id, true);
    if (on === product) bots.push(bot); // the answers' audit is the product's (metering removed settles nothing)
    await sleep(SETTLE_MS); // provisioning's own alarm (the first history copy) is not the answers'
    const since = Date.now();
    const before = await on.client.counters(bot.id);
    const telegramBefore = tap.telegramCalls(bot.token);
    const modelBefore = tap.modelCalls();
    const cpuBefore = cpuTimeMs(on.worker.pid);
    let exchanges: Exchange[] = [];
    if (step.chats === 1) {
      for (let i = 0; i < settings.costAnswers; i++) {
        try {
          exchanges.push(await ask(tap, bot, 10_000_001, `${bot.id} cost ${i}? [[delay:${step.delayMs}]]`));
        } catch (error) {
          failures.push(String(error));
        }
      }
    } else {
      exchanges = await converse(
        tap,
        clients([bot], step.chats),
        settings.slowSeconds,
        step.delayMs,
        failures,
        `${bot.id} `,
      );
    }
    await sleep(SETTLE_MS + 1_000); // the alarm's history copy of these answers
    if (on === product) await on.client.waitFlushed(bot.id);
    const cpuAfter = cpuTimeMs(on.worker.pid);
    const after = await on.client.counters(bot.id);
    const n = Math.max(1, exchanges.length);
    const alarms = await on.client.call<[number, number][]>(
      "GET",
      `/__bench/instances/${bot.id}/alarm-spans?since=${since}`,
    );
    // The split spans hold only if every answer's model call was made outside the object; else whole spans.
    const outside = after.modelDelivered - before.modelDelivered;
    const spans = [...exchanges.flatMap((e) => answerSpans(tap, e, outside === exchanges.length)), ...alarms];
    const cell: CostCell = {
      side: on.name,
      ...step,
      answers: exchanges.length,
      busyMsPerAnswer: unionMs(spans) / n,
      modelOutside: outside,
      alarmsPerAnswer: (after.alarms - before.alarms) / n,
      alarmMsPerAnswer: (after.alarmMs - before.alarmMs) / n,
      d1RoundTripsPerAnswer: (after.d1RoundTrips - before.d1RoundTrips) / n,
      d1RowsReadPerAnswer: (after.d1RowsRead - before.d1RowsRead) / n,
      d1RowsWrittenPerAnswer: (after.d1RowsWritten - before.d1RowsWritten) / n,
      telegramCallsPerAnswer: (tap.telegramCalls(bot.token) - telegramBefore) / n,
      modelCallsPerAnswer: (tap.modelCalls() - modelBefore) / n,
      cpuMsPerAnswer: cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / n,
    };
    log(
      `  cost (${on.name}): model ${step.delayMs} ms (wait ${step.wait}), ${step.chats} chat(s): ${cell.answers} answers (${outside} asked outside), object busy ${cell.busyMsPerAnswer.toFixed(0)} ms/answer, ${cell.alarmsPerAnswer.toFixed(2)} alarms, ${cell.d1RowsWrittenPerAnswer.toFixed(2)} D1 rows written`,
    );
    cells.push(cell);
  }
  return { cells, bots, failures };
}

/** When the object has work for one answer (epoch ms spans); see `CostCell.busyMsPerAnswer`. */
function answerSpans(tap: ReplyTap, e: Exchange, modelOutside: boolean): (readonly [number, number])[] {
  const model = modelOutside ? tap.modelSpan(e.text) : undefined;
  if (!model) return [[epochMs(e.sent), epochMs(e.replied)]];
  return [
    [epochMs(e.sent), epochMs(model[0])],
    [epochMs(model[1]), epochMs(e.replied)],
  ];
}

/** Every answer charged once and the books balanced, on every product bot; D1 = ledger on the busiest. */
export async function checkAnswers(client: AppClient, bots: Bot[], failures: string[]): Promise<CheckOutcome> {
  const violations = failures.slice(0, 20).map((f) => `no reply: ${f}`);
  if (failures.length > 20) violations.push(`… and ${failures.length - 20} more unanswered`);
  for (const bot of bots) {
    const { audit } = await client.audit(bot.id, false);
    if (audit.settleEntries !== bot.answered)
      violations.push(`${bot.id}: ${audit.settleEntries} settled answers for ${bot.answered} answers`);
    if (audit.duplicateSettleKeys !== 0)
      violations.push(`${bot.id}: ${audit.duplicateSettleKeys} answers charged twice`);
    if (audit.heldMicros !== 0) violations.push(`${bot.id}: ${audit.heldMicros} micros still held`);
    if (audit.ledgerSumMicros !== audit.balanceMicros) violations.push(`${bot.id}: ledger sum ≠ balance`);
    if (audit.runningMismatches !== 0)
      violations.push(`${bot.id}: ${audit.runningMismatches} entries off the running sum`);
  }
  const busiest = [...bots].sort((a, b) => b.answered - a.answered)[0];
  if (busiest) violations.push(...(await checkHistory(client, busiest.id)));
  return {
    label: "answers: one charge per answer, nothing held, D1 = ledger",
    instances: bots.length,
    keys: bots.reduce((sum, b) => sum + b.answered, 0),
    duplicatesSent: 0,
    resent: 0,
    violations,
  };
}
