/**
 * `npm run demo`: the whole product on this machine, no accounts needed. Starts the Telegram, Stripe and model
 * stand-ins and the Worker (`wrangler dev`, local D1 with migrations, local Durable Objects, fresh state), then plays
 * the owner's story and checks every step through the admin/usage APIs and the stand-ins. Exits non-zero with the
 * failed step on the first surprise, so CI runs it as a test. Every child process group is stopped in every case:
 * success, failure, Ctrl-C, SIGTERM or SIGHUP (see `Cleanup` in ./local.ts).
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import path from "node:path";
import { formatUsd } from "../src/money";
import { type RunningStandins, type SentRecord, startStandins } from "../standins";
import { signInitData, webAppUrl } from "../standins/telegram-web-app";
import { bold, buttons, dim, green, type Person, red, shown, TelegramDriver, yellow } from "./chat";
import { Cleanup, freePort, type LocalWorker, localSecrets, prepareLocalWorker, startWorker, tail } from "./local";

const USD = 1_000_000;
const INSTANCE_ID = "demo-olga";
const OWNER: Person = { id: 4242001, name: "Olga", label: "Olga" };
/** A second owner, on the "starter" license: the side story of a card saved while already under the threshold. */
const SECOND_INSTANCE_ID = "demo-petr";
const PETR: Person = { id: 4242002, name: "Petr", label: "Petr (owner 2)" };
const EVA: Person = { id: 5550001, name: "Eva", label: "Eva (client)" };
const TOMAS: Person = { id: 5550002, name: "Tomáš", label: "Tomáš (client)" };

/** Demo-only secrets, fresh per run; the Worker gets them from a throw-away env file, never from `.dev.vars`. */
const SECRETS = localSecrets("demo");

class StepFailed extends Error {}

// ------------------------------------------------------------------------------------------------ output and checks

let stepNumber = 0;
let currentStep = "starting up";

async function step(title: string, body: () => Promise<void>): Promise<void> {
  stepNumber += 1;
  currentStep = `${stepNumber}. ${title}`;
  console.log(`\n${bold(`━━ ${currentStep} ━━`)}`);
  await body();
}

function say(text: string): void {
  console.log(`  ${dim(text)}`);
}

function check(condition: boolean, what: string, detail?: string): void {
  if (!condition) throw new StepFailed(detail ? `${what}\n    ${detail}` : what);
  console.log(`  ${green("✔")} ${what}`);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new StepFailed(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

// ------------------------------------------------------------------------------------------------ HTTP

interface Reply {
  status: number;
  json: Record<string, unknown>;
  text: string;
}

async function http(
  method: string,
  url: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON (a page); `text` has it.
  }
  return { status: response.status, json, text };
}

interface InstanceView {
  balanceMicros: number;
  availableMicros: number;
  outOfCredits: boolean;
  autoRecharge: {
    enabled: boolean;
    topUpMicros: number;
    rechargeAtMicros: number;
    status: string;
    card: { brand: string | null; last4: string | null } | null;
  } | null;
  history: { lastSeq: number; pendingCopies: number };
}

interface LedgerEntry {
  entryId: number;
  kind: string;
  operation: string | null;
  amountMicros: number;
  balanceAfterMicros: number;
  endUserId: string | null;
  reference: string | null;
}

interface StripeSummary {
  invoices: { id: string; status: string; amount_due: number; amount_paid: number }[];
  payments: number;
  totalChargedCents: number;
}

interface StripeEvent {
  id: string;
  type: string;
  delivered: number;
  lastStatus: number | null;
}

/** The operator's and the pipeline's view of the instance, through the Worker's own APIs. */
class Operator {
  apiKey = "";

  constructor(
    readonly worker: string,
    readonly stripe: string,
    readonly instanceId: string = INSTANCE_ID,
  ) {}

  async instance(): Promise<InstanceView> {
    const res = await http("GET", `${this.worker}/admin/instances/${this.instanceId}`, { token: SECRETS.ADMIN_TOKEN });
    if (res.status !== 200) throw new StepFailed(`GET /admin/instances/${this.instanceId} → ${res.status} ${res.text}`);
    return res.json as unknown as InstanceView;
  }

  async balance(): Promise<{ balanceMicros: number; availableMicros: number; outOfCredits: boolean }> {
    const res = await http("GET", `${this.worker}/v1/instances/${this.instanceId}/balance`, { token: this.apiKey });
    if (res.status !== 200)
      throw new StepFailed(`GET /v1/instances/${this.instanceId}/balance → ${res.status} ${res.text}`);
    return res.json as unknown as { balanceMicros: number; availableMicros: number; outOfCredits: boolean };
  }

  async ledger(): Promise<LedgerEntry[]> {
    const res = await http("GET", `${this.worker}/admin/instances/${this.instanceId}/ledger?limit=100`, {
      token: SECRETS.ADMIN_TOKEN,
    });
    if (res.status !== 200) throw new StepFailed(`GET …/ledger → ${res.status} ${res.text}`);
    return res.json.entries as LedgerEntry[];
  }

  /** The AI pipeline reporting an operation with a known cost (`POST /v1/instances/:id/usage`). */
  async usage(idempotencyKey: string, operation: string, costMicros: number): Promise<Reply> {
    return http("POST", `${this.worker}/v1/instances/${this.instanceId}/usage`, {
      token: this.apiKey,
      body: { idempotencyKey, operation, costMicros },
    });
  }

  async stripeControl<T>(pathname: string, body?: unknown): Promise<T> {
    const res = await http(body === undefined ? "GET" : "POST", `${this.stripe}/__control/${pathname}`, { body });
    if (res.status !== 200) throw new StepFailed(`Stripe stand-in ${pathname} → ${res.status} ${res.text}`);
    return res.json as T;
  }

  async stripeGet(pathname: string): Promise<Record<string, unknown>> {
    const res = await http("GET", `${this.stripe}${pathname}`, { token: SECRETS.STRIPE_SECRET_KEY });
    if (res.status !== 200) throw new StepFailed(`Stripe GET ${pathname} → ${res.status} ${res.text}`);
    return res.json;
  }
}

function checkoutUrl(message: SentRecord): string {
  const url = buttons(message)[0]?.url;
  if (!url) throw new StepFailed(`no Checkout button under the bot's reply: ${shown(message)}`);
  return url;
}

function sessionIdOf(url: string): string {
  const id = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(url)?.[1];
  if (!id) throw new StepFailed(`not a Checkout link: ${url}`);
  return id;
}

/** The owner opens the Checkout link and pays or saves the card on the stand-in's page. */
async function completeCheckout(url: string, card: string): Promise<void> {
  const page = new URL(url);
  page.searchParams.set("card", card);
  const res = await http("GET", page.toString());
  if (res.status !== 200 || !/complete/i.test(res.text)) {
    throw new StepFailed(`the Checkout page did not complete: ${res.status} ${res.text.slice(0, 200)}`);
  }
}

/** What owners see (`formatUsd`: cents, rounded half away from zero). */
const usd = (micros: number) => formatUsd(micros);

/** Exact amount for the narration, e.g. `$199.999971`: answers cost fractions of a cent. */
function exact(micros: number): string {
  const sign = micros < 0 ? "-" : "";
  const abs = Math.abs(micros);
  const dollars = Math.floor(abs / USD).toLocaleString("en-US");
  const fraction = String(abs % USD)
    .padStart(6, "0")
    .replace(/0{1,4}$/, (zeros) => zeros.slice(0, Math.max(0, zeros.length - 4)));
  return `${sign}$${dollars}.${fraction}`;
}

// ------------------------------------------------------------------------------------------------ the story

/** Olga's dashboard with `initData` signed as Telegram would (valid for an hour), printed at the end. */
let dashboardLink = "";

async function story(worker: LocalWorker, standins: RunningStandins): Promise<void> {
  const newBotToken = () =>
    `7${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}:AAE${randomUUID().replaceAll("-", "")}`;
  const botToken = newBotToken();
  const telegram = new TelegramDriver(standins.telegram.origin, botToken);
  const op = new Operator(worker.origin, standins.stripe.origin);
  const olga = telegram.chat(OWNER);
  const eva = telegram.chat(EVA);
  const tomas = telegram.chat(TOMAS);
  let customer = "";

  await step("The operator provisions Olga's AI Expert bot", async () => {
    say(`POST /admin/instances {"id":"${INSTANCE_ID}","ownerTelegramId":${OWNER.id},"license":"pro",…}`);
    const res = await http("POST", `${worker.origin}/admin/instances`, {
      token: SECRETS.ADMIN_TOKEN,
      body: {
        id: INSTANCE_ID,
        telegramBotToken: botToken,
        ownerTelegramId: OWNER.id,
        license: "pro",
        systemPrompt: "You are Olga's assistant for small-business tax questions.",
      },
    });
    check(res.status === 201, "instance created (201)", `${res.status} ${res.text}`);
    op.apiKey = String(res.json.apiKey ?? "");
    check(
      res.json.balanceMicros === 200 * USD,
      `"pro" license bonus granted: ${usd(200 * USD)}`,
      JSON.stringify(res.json),
    );
    const hook = await telegram.webhook();
    check(
      hook.url === `${worker.origin}/telegram/${INSTANCE_ID}` && (hook.secret_token ?? "").length >= 32,
      `Telegram webhook registered with a secret token: ${hook.url}`,
      JSON.stringify(hook),
    );
    const [welcome] = await olga.expect([/^👋 Welcome/]);
    check(
      /\$200\.00/.test(shown(welcome as SentRecord)) && /\/setupCredits:500:100/.test(shown(welcome as SentRecord)),
      "Olga is welcomed: the $200.00 bonus, what costs credits, /setupCredits:500:100 and /help",
    );
  });

  await step("Olga turns on auto-recharge: /setupCredits:500:100", async () => {
    await olga.say("/setupCredits:500:100");
    const [offer] = await olga.expect([/save your card/i]);
    const url = checkoutUrl(offer as SentRecord);
    const session = await op.stripeGet(`/v1/checkout/sessions/${sessionIdOf(url)}`);
    check(session.mode === "setup", "the link is a Stripe Checkout session in setup mode (nothing charged)");
    customer = String(session.customer);
    say("Olga opens the link and saves the test card 4242 4242 4242 4242 …");
    await completeCheckout(url, "pm_card_visa");
    await olga.expect([/saved/i]);
    const view = await op.instance();
    check(
      view.autoRecharge?.enabled === true &&
        view.autoRecharge.status === "active" &&
        view.autoRecharge.topUpMicros === 500 * USD &&
        view.autoRecharge.rechargeAtMicros === 100 * USD &&
        view.autoRecharge.card?.last4 === "4242",
      "auto-recharge is on: $500.00 when the balance is at or below $100.00, card •••• 4242",
      JSON.stringify(view.autoRecharge),
    );
    check(view.balanceMicros === 200 * USD, `balance still ${usd(200 * USD)} (above the threshold: no charge yet)`);
  });

  await step("Side story: Petr ($50 starter bonus) saves his card already under the threshold", async () => {
    const petrToken = newBotToken();
    const petrBot = new TelegramDriver(standins.telegram.origin, petrToken);
    const petr = petrBot.chat(PETR);
    const petrOp = new Operator(worker.origin, standins.stripe.origin, SECOND_INSTANCE_ID);
    say(`POST /admin/instances {"id":"${SECOND_INSTANCE_ID}","ownerTelegramId":${PETR.id},"license":"starter",…}`);
    const res = await http("POST", `${worker.origin}/admin/instances`, {
      token: SECRETS.ADMIN_TOKEN,
      body: {
        id: SECOND_INSTANCE_ID,
        telegramBotToken: petrToken,
        ownerTelegramId: PETR.id,
        license: "starter",
        systemPrompt: "You are Petr's assistant for his bicycle repair shop.",
      },
    });
    check(res.status === 201, "Petr's instance created (201)", `${res.status} ${res.text}`);
    petrOp.apiKey = String(res.json.apiKey ?? "");
    check(
      res.json.balanceMicros === 50 * USD,
      `"starter" license bonus granted: ${usd(50 * USD)}, already under a $100.00 threshold`,
      JSON.stringify(res.json),
    );
    await petr.expect([/^👋 Welcome/]);
    await petr.say("/setupCredits:500:100");
    const [offer] = await petr.expect([/save your card/i]);
    const offerText = shown(offer as SentRecord);
    check(
      /balance\s+\$50\.00\s+is at or under\s+\$100\.00/i.test(offerText) &&
        /saving the card charges\s+\$500\.00\s+now/i.test(offerText),
      'warned before the card is saved: "Your balance $50.00 is at or under $100.00: saving the card charges $500.00 now"',
      offerText,
    );
    const url = checkoutUrl(offer as SentRecord);
    const session = await petrOp.stripeGet(`/v1/checkout/sessions/${sessionIdOf(url)}`);
    check(session.mode === "setup", "the link is a Stripe Checkout session in setup mode");
    const petrCustomer = String(session.customer);
    const untouched = await petrOp.stripeControl<StripeSummary>(`customers/${petrCustomer}/summary`);
    check(
      untouched.invoices.length === 0 &&
        untouched.payments === 0 &&
        (await petrOp.balance()).balanceMicros === 50 * USD,
      "nothing charged while the link is unused: no invoice at Stripe, balance still $50.00",
      JSON.stringify(untouched),
    );
    say("Petr opens the link and saves the test card 4242 4242 4242 4242 …");
    await completeCheckout(url, "pm_card_visa");
    const [saved] = await petr.expect([/saved/i, /Auto-recharge added \$500\.00/]);
    check(
      /card is charged\s+\$500\.00\s+now/i.test(shown(saved as SentRecord)),
      'the confirmation says the card was charged now: "… so the card is charged $500.00 now"',
      shown(saved as SentRecord),
    );
    say("Stripe's webhooks for the charge reach the Worker too; the recharge must still be credited once …");
    await waitFor("every Stripe event of Petr's customer to be delivered", async () => {
      const list = (await petrOp.stripeControl<{ events: StripeEvent[] }>(`events?customer=${petrCustomer}`)).events;
      return list.some((e) => e.type === "invoice.paid") && list.every((e) => e.delivered > 0) ? list : undefined;
    });
    const recharges = (await petrOp.ledger()).filter((e) => e.kind === "recharge");
    check(
      recharges.length === 1 &&
        recharges[0]?.amountMicros === 500 * USD &&
        recharges[0]?.balanceAfterMicros === 550 * USD,
      "ledger: exactly one recharge entry of +$500.00, balance $50.00 → $550.00",
      JSON.stringify(recharges),
    );
    const stripe = await petrOp.stripeControl<StripeSummary>(`customers/${petrCustomer}/summary`);
    check(
      stripe.invoices.length === 1 &&
        stripe.invoices[0]?.status === "paid" &&
        stripe.payments === 1 &&
        stripe.totalChargedCents === 50_000,
      "Stripe: one invoice, paid once, $500.00 charged in all",
      JSON.stringify(stripe),
    );
    const view = await petrOp.instance();
    check(
      view.balanceMicros === 550 * USD && view.autoRecharge?.enabled === true && view.autoRecharge.status === "active",
      `Petr's balance ${usd(view.balanceMicros)}, auto-recharge on`,
      JSON.stringify(view),
    );
  });

  await step("Clients chat with the bot; every answer costs credits", async () => {
    await eva.say("Hi! Can I deduct my home office from my taxes?");
    await eva.expect([/home office/]);
    await tomas.say("Do I need to register for VAT if I invoice clients abroad?");
    await tomas.expect([/VAT/]);
    const { balanceMicros } = await op.balance();
    check(
      balanceMicros < 200 * USD && balanceMicros > 199 * USD,
      `credits fell with real token usage: ${usd(200 * USD)} → ${exact(balanceMicros)} (two answers)`,
      `balance ${balanceMicros}`,
    );
  });

  await step("The balance crosses $100 and auto-recharge charges the card", async () => {
    const { balanceMicros } = await op.balance();
    const justAbove = 100 * USD + 1;
    say("Olga's know-how is re-processed; the AI pipeline reports it through the usage API:");
    say(
      `POST /v1/instances/${INSTANCE_ID}/usage {"operation":"knowhow_update","costMicros":${balanceMicros - justAbove}}`,
    );
    const res = await op.usage("knowhow-2026-11-25", "knowhow_update", balanceMicros - justAbove);
    check(
      res.status === 200 && res.json.balanceMicros === justAbove,
      `balance now ${exact(justAbove)}: one micro-dollar above the threshold`,
      `${res.status} ${res.text}`,
    );
    await eva.say("And what about my phone bill?");
    await eva.expect([/phone bill/]);
    say("That answer took the balance to $100.00 or less: the CreditAccount starts one recharge (Stripe invoice:");
    say("create, add the $500 item, finalize, pay off-session) …");
    const [told] = await olga.expect([/Auto-recharge added \$500\.00/]);
    const ledger = await op.ledger();
    const recharges = ledger.filter((e) => e.kind === "recharge");
    const recharge = recharges[0];
    check(
      recharges.length === 1 && recharge?.amountMicros === 500 * USD,
      "ledger: exactly one recharge entry of +$500.00",
      JSON.stringify(recharges),
    );
    const before = ledger.find((e) => (e.entryId ?? 0) < (recharge?.entryId ?? 0));
    check(
      before !== undefined && before.balanceAfterMicros <= 100 * USD && before.endUserId === String(EVA.id),
      `it was started by Eva's answer, which left ${exact(before?.balanceAfterMicros ?? 0)}`,
      JSON.stringify(before),
    );
    const stripe = await op.stripeControl<StripeSummary>(`customers/${customer}/summary`);
    check(
      stripe.invoices.length === 1 &&
        stripe.invoices[0]?.status === "paid" &&
        stripe.invoices[0]?.amount_paid === 50_000,
      "Stripe: one invoice, paid, amount_paid 50000 cents",
      JSON.stringify(stripe),
    );
    const invoiceUrl = /Invoice: (\S+)/.exec(shown(told as SentRecord))?.[1] ?? "";
    const page = invoiceUrl ? await http("GET", invoiceUrl) : null;
    check(page?.status === 200, `the invoice link in the chat opens the hosted invoice (${invoiceUrl})`);
    say("Stripe's webhooks (invoice.paid, invoice.payment_succeeded, …) reach POST /stripe/webhook as well …");
    const events = await waitFor("every Stripe event to be delivered", async () => {
      const list = (await op.stripeControl<{ events: StripeEvent[] }>(`events?customer=${customer}`)).events;
      return list.length > 0 && list.every((e) => e.delivered > 0) ? list : undefined;
    });
    check(
      events.every((e) => e.lastStatus === 200) && events.some((e) => e.type === "invoice.paid"),
      `${events.length} signed webhook events accepted (200), invoice.paid among them`,
      events.map((e) => `${e.type}:${e.lastStatus}`).join(", "),
    );
    const after = await op.instance();
    check(
      after.balanceMicros === recharge?.balanceAfterMicros,
      `credited once (pay answer and invoice.paid both seen): balance ${exact(after.balanceMicros)}`,
      `balance ${after.balanceMicros}, recharge entry ${JSON.stringify(recharge)}`,
    );
  });

  await step('Olga asks "What\'s my current credit balance?", runs /stats, and reads it in Czech', async () => {
    const { balanceMicros } = await op.balance();
    await olga.say("What's my current credit balance?");
    const [answer] = await olga.expect([/credit balance/i]);
    check(
      shown(answer as SentRecord).includes(usd(balanceMicros)) && /Auto-recharge: on/.test(shown(answer as SentRecord)),
      `answered with the balance (${usd(balanceMicros)}) and the auto-recharge status`,
    );
    await olga.say("kolik mám kreditů?");
    await olga.expect([/zůstatek kreditů/]);
    check((await op.balance()).balanceMicros === balanceMicros, "both answers were free: the balance did not move");
    await olga.say("/stats");
    const [stats] = await olga.expect([/^Credits: /]);
    const firstLine = shown(stats as SentRecord).split("\n")[0];
    check(firstLine === `Credits: ${usd(balanceMicros)}`, `/stats starts with "Credits: ${usd(balanceMicros)}"`);
    // Everything the bot says exists in Czech too (docs/languages.md): the owner chooses with /language.
    await olga.say("/language:cs");
    await olga.expect([/češtině|česky/i]);
    await olga.say("/stats");
    const [czech] = await olga.expect([/^Kredity: /]);
    check(/Automatické dobíjení/.test(shown(czech as SentRecord)), "/language:cs: /stats comes in Czech");
    await olga.say("/language:en");
    await olga.expect([/English/]);
  });

  await step("Olga pauses auto-recharge with /stopCredits, then turns it on again", async () => {
    await olga.say("/stopCredits");
    const [stopped] = await olga.expect([/Auto-recharge is off/]);
    const stoppedText = shown(stopped as SentRecord);
    check(
      /4242 stays saved/.test(stoppedText) && stoppedText.includes("/changeCreditsTopUp:500:100"),
      "the reply: auto-recharge is off, the card •••• 4242 stays saved, and how to turn it on again",
      stoppedText,
    );
    const view = await op.instance();
    check(
      view.autoRecharge?.enabled === false && view.autoRecharge.card?.last4 === "4242",
      "admin view: auto-recharge disabled, card •••• 4242 still saved",
      JSON.stringify(view.autoRecharge),
    );
    await olga.say("/balance");
    const [balance] = await olga.expect([/Your credit balance/]);
    check(
      /Auto-recharge: off\b[\s\S]*\/stopCredits/.test(shown(balance as SentRecord)),
      '/balance shows "Auto-recharge: off — you turned it off with /stopCredits"',
      shown(balance as SentRecord),
    );
    const { balanceMicros } = await op.balance();
    const cost = balanceMicros - 95 * USD;
    say(`The AI pipeline reports another know-how update: {"operation":"knowhow_update","costMicros":${cost}}`);
    const res = await op.usage("knowhow-2026-11-25-b", "knowhow_update", cost);
    check(
      res.status === 200 && res.json.balanceMicros === 95 * USD,
      `balance ${usd(95 * USD)}: under the $100.00 threshold`,
      `${res.status} ${res.text}`,
    );
    const [low] = await olga.expect([/running low/i]);
    check(
      /Auto-recharge is off/.test(shown(low as SentRecord)) &&
        shown(low as SentRecord).includes("/changeCreditsTopUp:500:100"),
      "no charge: Olga gets an early warning instead (runway under a day, auto-recharge off; her saved card turns it on with /changeCreditsTopUp:500:100)",
      shown(low as SentRecord),
    );
    await olga.expectSilence(1_500);
    const ledger = await op.ledger();
    const stripe = await op.stripeControl<StripeSummary>(`customers/${customer}/summary`);
    check(
      ledger.filter((e) => e.kind === "recharge").length === 1 && stripe.invoices.length === 1,
      "no recharge started: still one recharge entry in the ledger, one invoice at Stripe",
      JSON.stringify({ recharges: ledger.filter((e) => e.kind === "recharge"), invoices: stripe.invoices }),
    );
    await olga.say("/changeCreditsTopUp:500:100");
    const [on, added] = await olga.expect([/Auto-recharge is on again/, /Auto-recharge added \$500\.00/]);
    check(
      /adds \$500\.00 when the balance drops to \$100\.00/.test(shown(on as SentRecord)) &&
        /card is charged\s+\$500\.00\s+now/.test(shown(on as SentRecord)),
      "the reply: on again ($500.00 at $100.00), and the balance is under the threshold, so $500.00 is charged now",
      shown(on as SentRecord),
    );
    check(/Balance: \$595\.00/.test(shown(added as SentRecord)), "one recharge of $500.00: balance $595.00");
    const after = await op.instance();
    const recharges = (await op.ledger()).filter((e) => e.kind === "recharge");
    check(
      after.autoRecharge?.enabled === true &&
        after.autoRecharge.status === "active" &&
        recharges.length === 2 &&
        after.balanceMicros === 595 * USD,
      "auto-recharge active again; ledger: two recharge entries; balance $595.00",
      JSON.stringify({ autoRecharge: after.autoRecharge, balance: after.balanceMicros, recharges }),
    );
  });

  await step("Olga's card starts declining; the next recharge fails", async () => {
    say("(Olga's bank starts declining the card: the Stripe stand-in swaps its test card to pm_card_chargeDeclined)");
    await op.stripeControl(`customers/${customer}/card`, { paymentMethod: "pm_card_chargeDeclined" });
    const { balanceMicros } = await op.balance();
    const cost = balanceMicros - 90 * USD;
    say(`The AI pipeline reports a role update: {"operation":"role_update","costMicros":${cost}}`);
    const res = await op.usage("role-2026-11-25", "role_update", cost);
    check(res.status === 200 && res.json.balanceMicros === 90 * USD, `balance ${usd(90 * USD)}, below the threshold`);
    const [failed] = await olga.expect([/Auto-recharge failed/]);
    check(
      /declined/i.test(shown(failed as SentRecord)) &&
        shown(failed as SentRecord).includes("/setupCredits:500:100") &&
        shown(failed as SentRecord).includes("/topUp"),
      "Olga is told at once: the reason, and what to do (/setupCredits with a new card, or /topUp)",
    );
    const view = await op.instance();
    check(view.autoRecharge?.status === "failing", 'auto-recharge status is "failing" (no retry loop)');
    check(view.balanceMicros === 90 * USD, `nothing was credited: balance ${usd(view.balanceMicros)}`);
    const stripe = await op.stripeControl<StripeSummary>(`customers/${customer}/summary`);
    check(
      stripe.invoices.length === 3 &&
        stripe.invoices[2]?.status !== "paid" &&
        stripe.payments === 2 &&
        stripe.totalChargedCents === 100_000,
      "Stripe: a third invoice, unpaid; still only the two earlier recharges ($1,000.00) charged",
      JSON.stringify(stripe),
    );
  });

  await step("Credits run out and the bot goes silent", async () => {
    const { availableMicros } = await op.balance();
    say("A busy evening: to skip a few thousand conversations, the AI pipeline reports the evening's answers");
    say(`in one usage record: {"operation":"response","costMicros":${availableMicros}}`);
    const res = await op.usage("evening-2026-11-25", "response", availableMicros);
    check(res.status === 200 && res.json.balanceMicros === 0, "balance $0.00");
    const [told] = await olga.expect([/Out of credits/]);
    check(
      told !== undefined && /declined/.test(shown(told)) && shown(told).includes("/topUp"),
      "Olga is told at once why (card declined) and how to fix it",
    );
    await eva.say("Hello? Are you still there?");
    await eva.expectSilence(2_000);
    const asked = await http(
      "GET",
      `${standins.model.origin}/__control/requests?contains=${encodeURIComponent("Are you still there")}`,
    );
    check(
      Array.isArray(asked.json.requests) && asked.json.requests.length === 0,
      "the model was never called for it (nothing charged)",
    );
    check((await op.balance()).outOfCredits, "usage API: outOfCredits = true");
  });

  await step("The hourly cron alerts Olga", async () => {
    await waitFor("the out-of-credits state to reach D1 (the cron's index)", async () => {
      const view = await op.instance();
      return view.history.pendingCopies === 0 ? true : undefined;
    });
    const fire = () => http("GET", `${worker.origin}/__scheduled?cron=${encodeURIComponent("0 * * * *")}`);
    say("GET /__scheduled?cron=0+*+*+*+*   (wrangler dev --test-scheduled fires the cron handler)");
    check((await fire()).status === 200, "cron ran");
    let alert: SentRecord | undefined;
    try {
      [alert] = await olga.expect([/Still out of credits/], 4_000);
    } catch {
      say("(no alert yet; firing the cron again, as the next run would)");
      await fire();
      [alert] = await olga.expect([/Still out of credits/]);
    }
    const text = shown(alert as SentRecord);
    check(
      text.startsWith("⚠️") && text.includes("$0.00") && /declined/.test(text) && text.includes("/setupCredits:500:100"),
      "⚠️ alert with the balance, the reason and the exact fix",
    );
    check(text.includes("(1 so far)"), "Eva's unanswered message is counted");
    await fire();
    await olga.expectSilence(1_500);
    check(true, "a second run in the same hour sends nothing (at most one alert per hour)");
  });

  await step("/topUp:100 restores service", async () => {
    await olga.say("/topUp:100");
    const [offer] = await olga.expect([/To buy \$100\.00 of credits/]);
    const url = checkoutUrl(offer as SentRecord);
    const session = await op.stripeGet(`/v1/checkout/sessions/${sessionIdOf(url)}`);
    check(session.mode === "payment", "the link is a Stripe Checkout session in payment mode (with an invoice)");
    say("Olga opens the link and pays $100.00 with another card (4242 4242 4242 4242) …");
    await completeCheckout(url, "pm_card_visa");
    // One ✅ for the recovery: the credit, the new balance, and that the bot answers again.
    await olga.expect([/\$100\.00 of credits added[\s\S]*answering your clients again/]);
    const view = await op.instance();
    check(
      view.balanceMicros === 100 * USD && !view.outOfCredits,
      `balance ${usd(view.balanceMicros)}, out of credits no more`,
    );
    const topUps = (await op.ledger()).filter((e) => e.kind === "top_up");
    check(topUps.length === 1 && topUps[0]?.amountMicros === 100 * USD, "ledger: one top-up of +$100.00");
  });

  await step("The bot answers again", async () => {
    await eva.say("Sorry, one more question: is my new laptop deductible?");
    await eva.expect([/laptop/]);
    const { balanceMicros } = await op.balance();
    check(
      balanceMicros < 100 * USD && balanceMicros > 99 * USD,
      `answered and charged: balance ${exact(balanceMicros)}`,
    );
  });

  await step("/billing opens Olga's Stripe Customer Portal", async () => {
    await olga.say("/billing");
    const [reply] = await olga.expect([/billing page at Stripe/i]);
    const url = buttons(reply as SentRecord)[0]?.url ?? /https?:\/\/\S+/.exec(shown(reply as SentRecord))?.[0] ?? "";
    check(
      url.startsWith(`${standins.stripe.origin}/portal/bps_`),
      `the link is a Customer Portal session of the Stripe stand-in (${url})`,
      shown(reply as SentRecord),
    );
    const page = await http("GET", url);
    const stripe = await op.stripeControl<StripeSummary>(`customers/${customer}/summary`);
    const listed = (page.text.match(/<li>/g) ?? []).length;
    const shownInvoices = stripe.invoices.filter((i) => i.status !== "draft").length;
    check(
      page.status === 200 &&
        /<h1>Billing<\/h1>/.test(page.text) &&
        /Card:/.test(page.text) &&
        listed === shownInvoices &&
        listed >= 3,
      `it opens Olga's billing page at the stand-in: her card, billing details and all ${listed} of her invoices`,
      `${page.status} ${page.text.slice(0, 300)}`,
    );
  });

  await step("Olga opens her dashboard (the Mini App); a client's initData is refused", async () => {
    const owner = signInitData(botToken, { id: OWNER.id, first_name: OWNER.name, language_code: "en" });
    const data = await http("GET", `${worker.origin}/app/${INSTANCE_ID}/data`, {
      headers: { authorization: `tma ${owner}` },
    });
    const view = await op.instance();
    const body = data.json as { balanceMicros?: number; days?: unknown[]; invoices?: unknown[] };
    check(
      data.status === 200 && body.balanceMicros === view.balanceMicros && body.days?.length === 30,
      `GET /app/${INSTANCE_ID}/data with her initData: ${usd(view.balanceMicros)}, 30 days, ${body.invoices?.length} invoices`,
      `${data.status} ${data.text.slice(0, 200)}`,
    );
    const eva = signInitData(botToken, { id: EVA.id, first_name: EVA.name });
    const refused = await http("GET", `${worker.origin}/app/${INSTANCE_ID}/data`, {
      headers: { authorization: `tma ${eva}` },
    });
    check(
      refused.status === 401 && !refused.text.includes("balance"),
      "Eva's initData (a client) gets 401 and nothing",
    );
    dashboardLink = webAppUrl(`${worker.origin}/dashboard/?instance=${INSTANCE_ID}`, owner);
  });

  console.log(`\n${bold("The ledger (newest first), as the operator reads it: GET /admin/instances/:id/ledger")}`);
  for (const e of (await op.ledger()).slice(0, 14)) {
    const what = [e.kind, e.operation].filter(Boolean).join(" ");
    const who = e.endUserId ? ` user ${e.endUserId}` : "";
    const amount = e.amountMicros >= 0 ? `+${exact(e.amountMicros)}` : exact(e.amountMicros);
    console.log(`  ${what.padEnd(24)}${amount.padStart(13)}  → ${exact(e.balanceAfterMicros).padStart(12)}${dim(who)}`);
  }
}

// ------------------------------------------------------------------------------------------------ setup and teardown

async function main(): Promise<number> {
  const started = Date.now();
  const cleanup = new Cleanup();
  // The last resort: whatever ends the process (process.exit, an uncaught error, a second Ctrl-C), no child
  // process group it started outlives it.
  process.on("exit", () => cleanup.killNow());
  const dir = mkdtempSync(path.join(tmpdir(), "ai-credits-demo-"));
  const logPath = path.join(dir, "wrangler.log");
  let keepDir = false;
  cleanup.add(() => {
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  });
  let interrupted = false;
  const stopOnSignal = (signal: NodeJS.Signals) => {
    const code = 128 + (constants.signals[signal] ?? 2);
    // Ctrl-C reaches this process twice (from the terminal and relayed by tsx): one cleanup, bounded in time.
    if (interrupted) return;
    interrupted = true;
    setTimeout(() => process.exit(code), 15_000).unref(); // The exit hook SIGKILLs every child group.
    console.error(`\n${yellow(`${signal}: stopping the stand-ins and the Worker …`)}`);
    void cleanup.run().then(() => process.exit(code));
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, stopOnSignal);

  console.log(bold("AI credits — the whole story on this machine (stand-ins for Telegram, Stripe and the model)"));
  try {
    currentStep = "starting the stand-ins and the Worker";
    const standins = await startStandins({}, SECRETS.STRIPE_WEBHOOK_SECRET);
    cleanup.add(() => standins.close());
    say(`Telegram stand-in ${standins.telegram.origin}   Stripe stand-in ${standins.stripe.origin}`);
    say(`model stand-in    ${standins.model.origin}   state and logs: ${dir}`);

    const { envFile, persistTo, env } = await prepareLocalWorker(dir, SECRETS, logPath, cleanup).catch(
      (error: unknown) => {
        throw new StepFailed(error instanceof Error ? error.message : String(error));
      },
    );
    say("D1 migrations applied to the fresh local database");

    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const worker = await startWorker(
      {
        port,
        inspectorPort: await freePort(),
        persistTo,
        envFile,
        vars: {
          PUBLIC_BASE_URL: origin,
          TELEGRAM_API_BASE: standins.telegram.origin,
          STRIPE_API_BASE: standins.stripe.origin,
          AI_BASE_URL: `${standins.model.origin}/v1`,
        },
        env,
        logPath,
        readyTimeoutMs: 60_000,
      },
      cleanup,
    );
    await http("POST", `${standins.stripe.origin}/__control/webhook-endpoint`, {
      body: { url: `${origin}/stripe/webhook` },
    });
    say(`Worker (wrangler dev) ready at ${origin} after ${((Date.now() - started) / 1000).toFixed(1)} s;`);
    say(`Stripe stand-in delivers signed events to ${origin}/stripe/webhook`);

    await story(worker, standins);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`\n${green(bold(`✔ The whole story happened as specified: ${stepNumber} steps in ${seconds} s.`))}`);
    console.log(`\n${bold("Olga's dashboard (the Mini App, signed as Telegram signs it; valid for an hour):")}`);
    console.log(dashboardLink);
    // At a terminal the Worker stays up so a person can open it; CI (no terminal) ends here.
    if (process.stdout.isTTY && process.stdin.isTTY && !process.env.CI) {
      console.log(dim("The Worker and the stand-ins keep running for it: Ctrl-C stops them."));
      await new Promise<never>(() => undefined); // The signal handler cleans up and exits.
    }
    return 0;
  } catch (error) {
    // Interrupted: the signal handler is already cleaning up; what failed after it is only the interruption.
    if (interrupted) return 130; // The signal handler exits with its own code.
    keepDir = true;
    const message = error instanceof Error ? error.message : String(error);
    console.error(`\n${red(bold(`✖ Demo failed at step "${currentStep}":`))}\n  ${red(message)}`);
    if (!(error instanceof StepFailed) && error instanceof Error && error.stack) console.error(dim(error.stack));
    const lines = tail(logPath, 40);
    if (lines) console.error(`\n${dim(`Last lines of ${logPath}:`)}\n${dim(lines)}`);
    console.error(dim(`\nState and logs kept in ${dir}`));
    return 1;
  } finally {
    // The same path for success, failure and a signal (which started it already: this waits for it).
    await cleanup.run();
  }
}

process.exitCode = await main();
