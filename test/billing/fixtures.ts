import { env, SELF } from "cloudflare:test";
import { expect, vi } from "vitest";
import { signPayload } from "../../standins/stripe";
import { ADMIN, api, type Provisioned, provision } from "../helpers";
import { deliver, privateText, type SentMessage, sentMessages, waitForMessages } from "../telegram/fixtures";

export const OWNER = 4242001;
const owner = { id: OWNER, first_name: "Olga" };

const stripeBase = () => env.STRIPE_API_BASE;

export async function stripeControl<T = unknown>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stripeBase()}/__control/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`stripe control ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function stripeGet<T = Record<string, unknown>>(path: string): Promise<T> {
  const res = await fetch(`${stripeBase()}${path}`, { headers: { authorization: `Bearer ${env.STRIPE_SECRET_KEY}` } });
  return (await res.json()) as T;
}

export interface StripeEventRecord {
  id: string;
  type: string;
  payload: { id: string; type: string; data: { object: Record<string, unknown> } };
}

export async function stripeEvents(customer: string): Promise<StripeEventRecord[]> {
  return (await stripeControl<{ events: StripeEventRecord[] }>(`events?customer=${encodeURIComponent(customer)}`))
    .events;
}

/** Posts an event to the Worker's webhook exactly as Stripe does: raw JSON, signed with the endpoint secret. */
export async function postStripeEvent(
  payload: unknown,
  opts: { secret?: string; timestamp?: number; body?: string } = {},
) {
  const body = opts.body ?? JSON.stringify(payload);
  const signature = await signPayload(
    opts.body !== undefined ? JSON.stringify(payload) : body,
    opts.secret ?? env.STRIPE_WEBHOOK_SECRET,
    opts.timestamp,
  );
  return SELF.fetch("https://credits.example.test/stripe/webhook", {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": signature },
    body,
  });
}

/**
 * The Stripe stand-in cannot reach the Worker inside the test runtime, so the test relays its
 * events: every event of the customer not relayed yet, in creation order (or as given).
 */
export class Relay {
  readonly #sent = new Set<string>();
  constructor(readonly customer: () => string) {}

  async pending(): Promise<StripeEventRecord[]> {
    return (await stripeEvents(this.customer())).filter((e) => !this.#sent.has(e.id));
  }

  async deliverAll(filter: (e: StripeEventRecord) => boolean = () => true): Promise<number[]> {
    const statuses: number[] = [];
    for (const e of await this.pending()) {
      if (!filter(e)) continue;
      this.#sent.add(e.id);
      statuses.push((await postStripeEvent(e.payload)).status);
    }
    return statuses;
  }
}

export function buttonUrl(message: SentMessage | undefined): string {
  const markup = message?.reply_markup as { inline_keyboard?: { url?: string }[][] } | undefined;
  const url = markup?.inline_keyboard?.[0]?.[0]?.url;
  if (!url) throw new Error(`no button in ${JSON.stringify(message)}`);
  return url;
}

export async function ownerSays(inst: Provisioned, text: string): Promise<SentMessage> {
  const before = (await sentMessages(inst.botToken, OWNER)).length;
  await deliver(inst, privateText(owner, text));
  const messages = await waitForMessages(inst.botToken, OWNER, before + 1);
  return messages[before] as SentMessage;
}

export async function ownerMessages(inst: Provisioned): Promise<SentMessage[]> {
  return sentMessages(inst.botToken, OWNER);
}

/** Waits for an owner message matching `pattern`. */
export async function ownerToldMatching(inst: Provisioned, pattern: RegExp): Promise<SentMessage> {
  return vi.waitFor(
    async () => {
      const found = (await ownerMessages(inst)).find((m) => pattern.test(m.text));
      if (!found) throw new Error(`owner not told ${pattern}`);
      return found;
    },
    { timeout: 15_000, interval: 100 },
  );
}

/** The Checkout session behind the button of an owner's reply (a card link or a top-up), and its customer. */
export async function checkoutOf(reply: SentMessage): Promise<{ sessionId: string; customer: string }> {
  const sessionId = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(reply))?.[1];
  if (!sessionId) throw new Error(`no Checkout session in ${buttonUrl(reply)}`);
  const { customer } = await stripeGet<{ customer: string }>(`/v1/checkout/sessions/${sessionId}`);
  return { sessionId, customer };
}

/** The owner sends `/setupCredits:…` and saves a card on the Checkout page; its events are not delivered yet. */
export async function cardLinkCompleted(
  inst: Provisioned,
  command = "/setupCredits:250:100",
  card = "pm_card_visa",
): Promise<{ sessionId: string; customer: string }> {
  const link = await checkoutOf(await ownerSays(inst, command));
  await stripeControl(`checkout/${link.sessionId}/complete`, { paymentMethod: card });
  return link;
}

export interface BillingSetup {
  inst: Provisioned;
  customer: string;
  relay: Relay;
}

/** Provisions an instance and saves a card through /setupCredits and a completed Checkout session. */
export async function withCard(opts: {
  license?: string;
  topUp?: number;
  rechargeAt?: number;
  card?: string;
  relayCardSaved?: boolean;
}): Promise<BillingSetup> {
  const inst = await provision({ ownerTelegramId: OWNER, license: opts.license ?? "pro" });
  const reply = await ownerSays(inst, `/setupCredits:${opts.topUp ?? 250}:${opts.rechargeAt ?? 100}`);
  const url = buttonUrl(reply);
  const sessionId = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(url)?.[1];
  if (!sessionId) throw new Error(`no session in ${url}`);
  const session = await stripeGet<{ customer: string; mode: string }>(`/v1/checkout/sessions/${sessionId}`);
  expect(session.mode).toBe("setup");
  await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: opts.card ?? "pm_card_visa" });
  const setup = { inst, customer: session.customer, relay: new Relay(() => session.customer) };
  if (opts.relayCardSaved !== false) {
    const statuses = await setup.relay.deliverAll((e) => e.type === "checkout.session.completed");
    expect(statuses).toEqual([200]);
    await ownerToldMatching(inst, /saved/i);
  }
  return setup;
}

export async function balance(inst: Provisioned): Promise<number> {
  const res = await api(`/admin/instances/${inst.id}`, { headers: ADMIN });
  return res.json.balanceMicros as number;
}

export async function summary(customer: string) {
  return stripeControl<{
    invoices: {
      id: string;
      status: string;
      amount_due: number;
      amount_paid: number;
      metadata: Record<string, string>;
    }[];
    payments: number;
    totalChargedCents: number;
  }>(`customers/${customer}/summary`);
}

export async function ledgerKinds(inst: Provisioned) {
  const res = await api(`/admin/instances/${inst.id}/ledger?limit=1000`, { headers: ADMIN });
  return (res.json.entries as { kind: string; amountMicros: number; reference: string | null }[]).filter(
    (e) => e.kind === "recharge" || e.kind === "top_up" || e.kind === "refund",
  );
}

export async function debit(inst: Provisioned, key: string, costMicros: number) {
  return api(`/v1/instances/${inst.id}/usage`, {
    method: "POST",
    headers: inst.auth,
    body: { idempotencyKey: key, operation: "response", costMicros },
  });
}

export async function waitForPaidInvoices(customer: string, count: number) {
  return vi.waitFor(
    async () => {
      const s = await summary(customer);
      if (s.invoices.filter((i) => i.status === "paid").length < count) throw new Error("not paid yet");
      return s;
    },
    { timeout: 20_000, interval: 100 },
  );
}

export async function waitForBalance(inst: Provisioned, expected: number) {
  await vi.waitFor(
    async () => {
      expect(await balance(inst)).toBe(expected);
    },
    { timeout: 20_000, interval: 100 },
  );
}
