import type { RunningStandins } from "../../standins";
import { OWNER_TELEGRAM_ID, sleep, USD, waitFor } from "./app";
import { type CheckOutcome, checkHistory } from "./checks";
import type { Log, Settings, Stack } from "./debits";
import { LOCAL_STRIPE_SECRET_KEY } from "./runtime";

/** Threshold burst (correctness): 64 concurrent debits cross the recharge threshold once; one recharge follows. */

const JSON_HEADERS = { "content-type": "application/json" };

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
