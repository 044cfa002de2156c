import type { RequestSpec } from "autocannon";
import { FLUSH_DELAY_MS } from "../../src/ledger/rules";
import type { RunningStandins } from "../../standins";
import { ADMIN_TOKEN, type AppClient, OWNER_TELEGRAM_ID, type Provisioned, sleep, USD, waitFor } from "./app";
import { type CheckOutcome, checkDebits, checkHistory } from "./checks";
import { type BenchInstance, combine, DebitBook, fixedRequest, type LoadResult, measure } from "./load";
import { LOCAL_STRIPE_SECRET_KEY, type RunningWorker } from "./runtime";

/** Scenarios 1–6 of the benchmark (docs/benchmarks.md). Each returns its numbers and its correctness checks. */

export interface Settings {
  /** Each measured cell is `rounds` runs of `seconds`, interleaved with the cells it is compared with. */
  rounds: number;
  seconds: number;
  concurrencies: number[];
  historyConnections: number;
  manyInstances: number[];
  manyConnections: number;
  statsSizes: number[];
  statsSeconds: number;
  statsRepeat: number;
  bursts: number;
  warmUpSeconds: number;
}

export interface Stack {
  app: RunningWorker;
  baseline: RunningWorker;
  client: AppClient;
}

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

const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
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

function baselines(stack: Stack, name: string): Target[] {
  return [
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
}

function appTarget(stack: Stack, book: DebitBook, name = "usage debit (POST /v1/instances/:id/usage)"): Target {
  return { name, worker: stack.app, request: () => book.request(), book, quietMs: APP_QUIET_MS };
}

/** The same debits through a bare Worker calling `CreditAccount.charge` (no API layer). */
function directBook(name: string, instance: BenchInstance): DebitBook {
  return new DebitBook(name, [instance], {
    route: (i) => ({ path: `/__bench/direct/${i.id}/usage`, headers: { ...JSON_HEADERS, ...ADMIN } }),
  });
}

export async function warmUp(stack: Stack, settings: Settings, log: Log): Promise<void> {
  const instance = await stack.client.provision(`warm-up-${crypto.randomUUID().slice(0, 8)}`, { fundUsd: 100_000 });
  const book = new DebitBook("warm-up", [instance]);
  const direct = directBook("warm-up-direct", instance);
  const targets = [
    ...baselines(stack, "warm-up"),
    appTarget(stack, book),
    { ...appTarget(stack, direct), name: "direct" },
  ];
  for (const target of targets) {
    await measure({
      origin: target.worker.url,
      connections: 16,
      seconds: settings.warmUpSeconds,
      requests: [target.request()],
      pid: target.worker.pid,
      quietMs: target.quietMs,
    });
  }
  log("warmed up");
}

// ---------------------------------------------------------------- 1. hot instance

export interface HotResult {
  cells: Cell[];
  checks: CheckOutcome[];
}

export async function hotInstance(
  stack: Stack,
  settings: Settings,
  log: Log,
  opts: { label: string; concurrencies: number[]; direct: boolean },
): Promise<HotResult> {
  const label = opts.label;
  const cells: Cell[] = [];
  const pending: (() => Promise<CheckOutcome>)[] = [];
  for (const connections of opts.concurrencies) {
    const instance = await stack.client.provision(`${label}-c${connections}`, { fundUsd: 100_000 });
    const book = new DebitBook(`${label}-c${connections}`, [instance]);
    const targets = [...baselines(stack, `${label}-c${connections}`), appTarget(stack, book)];
    let direct: { book: DebitBook; start: number } | null = null;
    if (opts.direct && connections === settings.historyConnections) {
      const other = await stack.client.provision(`${label}-direct-c${connections}`, { fundUsd: 100_000 });
      direct = { book: directBook(`${label}-direct-c${connections}`, other), start: other.balanceMicros };
      targets.push(appTarget(stack, direct.book, "same debit, bare Worker → CreditAccount.charge"));
    }
    cells.push(...(await interleaved(targets, connections, settings, log)));
    pending.push(() => checkDebits(stack.client, book, [instance.balanceMicros]));
    const d = direct;
    if (d) pending.push(() => checkDebits(stack.client, d.book, [d.start]));
  }
  // Checked together once the cells are done: the waits for each object's flush overlap.
  return { cells, checks: await Promise.all(pending.map((check) => check())) };
}

// ---------------------------------------------------------------- 2. history on / off

export interface HistoryResult {
  on: Cell;
  off: Cell;
  d1StatementsPerDebit: number;
  d1RoundTripsPerDebit: number;
  offRunD1Statements: number;
  checks: CheckOutcome[];
}

export async function historyCost(stack: Stack, settings: Settings, log: Log): Promise<HistoryResult> {
  const { client } = stack;
  const on = await client.provision("history-on", { fundUsd: 100_000 });
  const off = await client.provision("history-off", { fundUsd: 100_000, history: false });
  await client.waitFlushed(on.id);
  const before = await client.counters(on.id);
  const bookOn = new DebitBook("history-on", [on]);
  const bookOff = new DebitBook("history-off", [off]);
  const [cellOn, cellOff] = await interleaved(
    [appTarget(stack, bookOn, "history flush on"), appTarget(stack, bookOff, "history flush off")],
    settings.historyConnections,
    settings,
    log,
  );
  if (!cellOn || !cellOff) throw new Error("history cells missing");
  const offCounters = await client.counters(off.id);
  const checkOn = async () => {
    const check = await checkDebits(client, bookOn, [on.balanceMicros]);
    return { check, after: await client.counters(on.id) };
  };
  // The off instance is checked the same way, and its D1 copy once its flush is switched back on.
  const checkOff = async (): Promise<CheckOutcome[]> => {
    const check = await checkDebits(client, bookOff, [off.balanceMicros], { d1: false });
    await client.setHistory(off.id, true);
    const violations = await checkHistory(client, off.id, "history-off (flushed afterwards)");
    const label = "history-off: D1 = ledger after switching the flush back on";
    return [check, { label, instances: 1, keys: 0, duplicatesSent: 0, resent: 0, violations }];
  };
  const [{ check, after }, offChecks] = await Promise.all([checkOn(), checkOff()]);
  const checks = [check, ...offChecks];
  const debits = bookOn.keys.size;
  return {
    on: cellOn,
    off: cellOff,
    d1StatementsPerDebit: (after.d1Statements - before.d1Statements) / debits,
    d1RoundTripsPerDebit: (after.d1RoundTrips - before.d1RoundTrips) / debits,
    offRunD1Statements: offCounters.d1Statements,
    checks,
  };
}

// ---------------------------------------------------------------- 4. many instances

export interface ManyResult {
  cells: (Cell & { instances: number })[];
  checks: CheckOutcome[];
}

export async function manyInstances(stack: Stack, settings: Settings, log: Log): Promise<ManyResult> {
  const sets: { n: number; instances: Provisioned[]; book: DebitBook }[] = [];
  for (const n of settings.manyInstances) {
    const ids = Array.from({ length: n }, (_, i) => `many-${n}-${i}`);
    const started = Date.now();
    const instances = await stack.client.provisionMany(ids, { fundUsd: 10_000 });
    log(`  provisioned ${n} instances in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    sets.push({ n, instances, book: new DebitBook(`many-${n}`, instances) });
  }
  const measured = await interleaved(
    sets.map((s) => appTarget(stack, s.book, `${s.n} instance${s.n === 1 ? "" : "s"}`)),
    settings.manyConnections,
    settings,
    log,
  );
  const cells = measured.map((cell, i) => ({ ...cell, instances: sets[i]?.n ?? 0 }));
  const checks = await Promise.all(
    sets.map((s) =>
      checkDebits(
        stack.client,
        s.book,
        s.instances.map((i) => i.balanceMicros),
        { concurrency: 4 },
      ),
    ),
  );
  return { cells, checks };
}

// ---------------------------------------------------------------- 5. stats at scale

export interface StatsRow {
  entries: number;
  users: number;
  seedSeconds: number;
  rpc: LoadResult;
  /** The computation alone: (time of K runs in one call − time of 1) / (K − 1), ms. */
  computeMs: number;
}

export interface StatsResult {
  rows: StatsRow[];
  checks: CheckOutcome[];
}

const SEED_CHUNK = 100_000;
const SEED_DAYS = 90;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

export async function statsAtScale(stack: Stack, settings: Settings, log: Log): Promise<StatsResult> {
  const { client } = stack;
  const violations: string[] = [];
  const sizes: { entries: number; users: number; id: string; seedSeconds: number; funded: number }[] = [];
  for (const entries of settings.statsSizes) {
    const id = `stats-${entries}`;
    // History copy off: the seeded entries would otherwise be copied to D1 back to back (up to 1M rows)
    // in the object's alarm while the stats are measured, in the same workerd thread. /stats reads no D1.
    const instance = await client.provision(id, { fundUsd: 1_000_000, history: false });
    const users = Math.max(10, Math.floor(entries / 100));
    const stepMs = Math.floor((SEED_DAYS * 86_400_000) / entries);
    const startMs = Date.now() - SEED_DAYS * 86_400_000;
    const seeding = performance.now();
    for (let from = 1; from <= entries; from += SEED_CHUNK) {
      const to = Math.min(entries, from + SEED_CHUNK - 1);
      await client.call("POST", `/__bench/instances/${id}/seed`, { from, to, users, startMs, stepMs });
    }
    const seedSeconds = (performance.now() - seeding) / 1000;
    log(`  seeded ${entries} entries (${users} end users) in ${seedSeconds.toFixed(1)} s`);
    sizes.push({ entries, users, id, seedSeconds, funded: instance.balanceMicros });
  }
  const statsPath = (id: string) => `/__bench/instances/${id}/stats`;
  const repeat = (id: string, n: number) => () => client.call("GET", `/__bench/instances/${id}/stats-repeat?n=${n}`);
  for (const size of sizes) for (let i = 0; i < 20; i++) await client.call("GET", statsPath(size.id));
  // Sizes are interleaved round by round, so a burst of load from elsewhere hits all of them alike.
  const rpc = new Map<string, LoadResult[]>(sizes.map((s) => [s.id, []]));
  const one = new Map<string, number[]>(sizes.map((s) => [s.id, []]));
  const many = new Map<string, number[]>(sizes.map((s) => [s.id, []]));
  for (let round = 0; round < settings.rounds; round++) {
    for (const size of rotate(sizes, round)) {
      rpc.get(size.id)?.push(
        await measure({
          origin: stack.app.url,
          connections: 1,
          seconds: settings.statsSeconds,
          requests: [fixedRequest("GET", statsPath(size.id), ADMIN)],
          pid: stack.app.pid,
        }),
      );
      for (let i = 0; i < 3; i++) one.get(size.id)?.push(await timed(repeat(size.id, 1)));
      many.get(size.id)?.push(await timed(repeat(size.id, settings.statsRepeat)));
    }
  }
  const rows: StatsRow[] = sizes.map((size) => {
    // The least disturbed run of each is the best estimate of the work itself.
    const computeMs = Math.max(
      0,
      (Math.min(...(many.get(size.id) ?? [])) - Math.min(...(one.get(size.id) ?? []))) / (settings.statsRepeat - 1),
    );
    const row = {
      entries: size.entries,
      users: size.users,
      seedSeconds: size.seedSeconds,
      rpc: combine(rpc.get(size.id) ?? []),
      computeMs,
    };
    log(`  stats over ${size.entries}: p50 ${row.rpc.p50.toFixed(2)} ms, compute ${computeMs.toFixed(3)} ms`);
    return row;
  });

  for (const size of sizes) {
    const { audit } = await client.audit(size.id, false);
    const tag = `stats-${size.entries}`;
    if (audit.entries !== size.entries + 2)
      violations.push(`${tag}: ${audit.entries} entries, seeded ${size.entries} + 2`);
    if (audit.ledgerSumMicros !== audit.balanceMicros) violations.push(`${tag}: ledger sum ≠ balance`);
    if (audit.runningMismatches !== 0)
      violations.push(`${tag}: ${audit.runningMismatches} entries off the running sum`);
    const stats = await client.call<{ ok: boolean; answers: { d30: number }; balanceMicros: number }>(
      "GET",
      statsPath(size.id),
    );
    if (!stats.ok || stats.balanceMicros !== audit.balanceMicros) violations.push(`${tag}: /stats balance ≠ ledger`);
    if (stats.answers.d30 <= 0) violations.push(`${tag}: /stats sees no answers in 30 days`);
    if (size.funded - audit.balanceMicros <= 0) violations.push(`${tag}: seeding charged nothing`);
  }
  return {
    rows,
    checks: [
      {
        label: "seeded ledgers: invariants, /stats balance",
        instances: rows.length,
        keys: 0,
        duplicatesSent: 0,
        resent: 0,
        violations,
      },
    ],
  };
}

// ---------------------------------------------------------------- 6. threshold burst

export interface BurstResult {
  bursts: number;
  concurrent: number;
  invoicesPerBurst: number[];
  secondsToCredit: number[];
  checks: CheckOutcome[];
}

interface SentMessage {
  text: string;
  reply_markup?: { inline_keyboard?: { url?: string }[][] };
}

async function getJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init.method ?? "GET"} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

let updateId = 500_000;

/** Saves a card the way an owner does: `/setupCredits` in Telegram, then Checkout completes (stand-ins). */
async function saveCard(
  stack: Stack,
  standins: RunningStandins,
  instance: { id: string; botToken: string },
  topUpUsd: number,
  rechargeAtUsd: number,
): Promise<string> {
  const telegram = standins.telegram.origin;
  const sent = async () =>
    (
      await getJson<{ messages: SentMessage[] }>(
        `${telegram}/__control/sent?token=${encodeURIComponent(instance.botToken)}&ok=1&chat_id=${OWNER_TELEGRAM_ID}`,
      )
    ).messages;
  const { secret_token } = await getJson<{ secret_token: string }>(
    `${telegram}/__control/webhook?token=${encodeURIComponent(instance.botToken)}`,
  );
  const text = `/setupCredits:${topUpUsd}:${rechargeAtUsd}`;
  updateId += 1;
  const owner = { id: OWNER_TELEGRAM_ID, is_bot: false, first_name: "Olga", language_code: "en" };
  const delivered = await fetch(`${stack.app.url}/telegram/${instance.id}`, {
    method: "POST",
    headers: { ...JSON_HEADERS, "x-telegram-bot-api-secret-token": secret_token },
    body: JSON.stringify({
      update_id: updateId,
      message: {
        message_id: updateId,
        from: owner,
        chat: { id: OWNER_TELEGRAM_ID, first_name: "Olga", type: "private" },
        date: Math.floor(Date.now() / 1000),
        text,
        entities: [{ offset: 0, length: "/setupCredits".length, type: "bot_command" }],
      },
    }),
  });
  if (delivered.status !== 200) throw new Error(`telegram webhook: ${delivered.status}`);
  const session = await waitFor("the Checkout link", async () => {
    for (const m of await sent()) {
      const url = m.reply_markup?.inline_keyboard?.[0]?.[0]?.url ?? "";
      const match = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(url);
      if (match?.[1]) return match[1];
    }
    return undefined;
  });
  const stripe = standins.stripe.origin;
  await getJson(`${stripe}/__control/checkout/${session}/complete`, {
    method: "POST",
    headers: JSON_HEADERS,
    body: JSON.stringify({ paymentMethod: "pm_card_visa" }),
  });
  await waitFor("the card-saved message", async () =>
    (await sent()).some((m) => /saved/i.test(m.text)) ? true : undefined,
  );
  const checkout = await getJson<{ customer: string }>(`${stripe}/v1/checkout/sessions/${session}`, {
    headers: { authorization: `Bearer ${LOCAL_STRIPE_SECRET_KEY}` },
  });
  return checkout.customer;
}

export async function thresholdBurst(
  stack: Stack,
  standins: RunningStandins,
  settings: Settings,
  log: Log,
): Promise<BurstResult> {
  const { client } = stack;
  const concurrent = 64;
  const duplicates = Math.round(concurrent * 0.1);
  const invoicesPerBurst: number[] = [];
  const secondsToCredit: number[] = [];
  const violations: string[] = [];
  for (let burst = 0; burst < settings.bursts; burst++) {
    const tag = `burst-${burst}`;
    // Pro license: $200; a $250 top-up when the balance reaches $150, i.e. at the 50th of 64 one-dollar debits.
    const instance = await client.provision(tag, { license: "pro" });
    const customer = await saveCard(stack, standins, instance, 250, 150);
    const send = async (key: string) => {
      const response = await fetch(`${stack.app.url}/v1/instances/${instance.id}/usage`, {
        method: "POST",
        headers: { ...JSON_HEADERS, authorization: `Bearer ${instance.apiKey}` },
        body: JSON.stringify({ idempotencyKey: key, operation: "response", costMicros: USD, endUserId: "user-1" }),
      });
      await response.text();
      return { key, status: response.status, replayed: response.headers.get("idempotent-replayed") === "true" };
    };
    const keys = Array.from({ length: concurrent }, (_, i) => `${tag}-${i}`);
    const started = performance.now();
    const answers = await Promise.all([...keys.map(send), ...keys.slice(0, duplicates).map(send)]);
    for (const a of answers) if (a.status !== 200) violations.push(`${tag}: ${a.key} answered ${a.status}`);
    for (const key of keys) {
      const charges = answers.filter((a) => a.key === key && a.status === 200 && !a.replayed).length;
      if (charges !== 1) violations.push(`${tag}: ${key} charged ${charges} times`);
    }
    const expected = instance.balanceMicros - concurrent * USD + 250 * USD;
    try {
      await waitFor(`${tag} recharge credited`, async () =>
        (await client.balance(instance.id)) === expected ? true : undefined,
      );
      secondsToCredit.push((performance.now() - started) / 1000);
    } catch {
      violations.push(`${tag}: balance never reached start − $${concurrent} + $250`);
    }
    await sleep(1_500);
    const summary = await getJson<{ invoices: unknown[]; payments: number }>(
      `${standins.stripe.origin}/__control/customers/${customer}/summary`,
    );
    invoicesPerBurst.push(summary.invoices.length);
    const { audit } = await client.audit(instance.id, false);
    if (summary.invoices.length !== 1 || summary.payments !== 1 || audit.rechargeEntries !== 1) {
      violations.push(
        `${tag}: ${summary.invoices.length} invoices, ${summary.payments} payments, ${audit.rechargeEntries} recharge entries (want 1, 1, 1)`,
      );
    }
    if ((await client.balance(instance.id)) !== expected) violations.push(`${tag}: balance moved after the recharge`);
    if (audit.duplicateUsageKeys !== 0 || audit.usageEntries !== concurrent) {
      violations.push(`${tag}: ${audit.usageEntries} usage entries, ${audit.duplicateUsageKeys} duplicated keys`);
    }
    violations.push(...(await checkHistory(client, instance.id, tag)));
    log(
      `  ${tag}: ${summary.invoices.length} invoice(s), credited after ${secondsToCredit.at(-1)?.toFixed(2) ?? "—"} s`,
    );
  }
  return {
    bursts: settings.bursts,
    concurrent,
    invoicesPerBurst,
    secondsToCredit,
    checks: [
      {
        label: "one recharge per burst, debits once, D1 = ledger",
        instances: settings.bursts,
        keys: settings.bursts * concurrent,
        duplicatesSent: settings.bursts * duplicates,
        resent: 0,
        violations,
      },
    ],
  };
}
