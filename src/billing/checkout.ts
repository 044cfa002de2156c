import { sha256Hex } from "../crypto";
import type { Lang } from "../lang";
import { log } from "../log";
import { microsToCents } from "../money";
import type { ChargeNow } from "../telegram/texts";
import { chargeNow, dailyLimitHit, startRechargeIfDue, triggered } from "./auto-recharge";
import type { BillingEffects, BillingParts } from "./notices";
import { newRechargeId } from "./recharges";

/**
 * The owner's billing actions that reach Stripe Checkout: the customer, the card link (`/setupCredits`),
 * a one-off top-up (`/topUp`), and new settings for a saved card (`/changeCreditsTopUp`); the Customer
 * Portal (`/billing`) and the invoice email (`/invoiceEmail`).
 */

/**
 * The instance's Stripe customer, created once (a retry within the hour reuses it; see the key), with the
 * owner's invoice email when one is known, so Stripe emails the invoices from the first charge on.
 */
export async function ensureCustomer(parts: BillingParts): Promise<string> {
  const existing = parts.settings.row().customer_id;
  if (existing) return existing;
  const instanceId = parts.ports.instanceId();
  const email = parts.settings.invoiceEmail();
  const stripe = parts.ports.stripe();
  const customer = await stripe.customers.create(
    { name: `AI Expert ${instanceId}`, ...(email ? { email } : {}), metadata: { instance_id: instanceId } },
    // Stripe keeps a 5xx answer under its key for 24 h: a key of the hour lets a later hour try afresh,
    // while a retry within the hour (a timeout) still finds the first request's answer. Other parameters
    // under the same key are refused, so the email (set meanwhile) is part of the key.
    {
      idempotencyKey: `${instanceId}:customer:${Math.floor(Date.now() / 3_600_000)}${email ? `:${await emailKey(email)}` : ""}`,
    },
  );
  const id = parts.ports.tx(() => parts.settings.customerCreated(customer.id));
  // `/invoiceEmail` ran while the customer was being made: the customer gets the address it set.
  const now = parts.settings.invoiceEmail();
  if (now && now !== email && id === customer.id) await stripe.customers.update(id, { email: now });
  return id;
}

async function emailKey(email: string): Promise<string> {
  return (await sha256Hex(email.toLowerCase())).slice(0, 16);
}

/**
 * What Checkout collects for invoices (card saving and top-ups alike): the full billing address, and a tax ID
 * for a business. Checkout writes the address and the (business) name back onto the existing customer
 * (`customer_update`, which Stripe requires for tax ID collection with an existing customer), so every later
 * invoice carries them.
 */
const COLLECT_BILLING_DETAILS = {
  billing_address_collection: "required",
  tax_id_collection: { enabled: true },
  customer_update: { address: "auto", name: "auto" },
} as const;

/** `/billing`: a Customer Portal session (card, billing name, address, tax ID, invoices) returning to the bot. */
export async function billingPortal(parts: BillingParts, returnUrl: string): Promise<string> {
  const customer = await ensureCustomer(parts);
  const locale = parts.ledger.ownerLang();
  const session = await parts.ports.stripe().billingPortal.sessions.create({ customer, return_url: returnUrl, locale });
  return session.url;
}

/**
 * `/invoiceEmail`: on the Stripe customer first (a Stripe failure changes nothing), then here, so a customer
 * made later is made with it. Without a customer yet it is kept here only, and `ensureCustomer` uses it.
 */
export async function setInvoiceEmail(parts: BillingParts, email: string): Promise<void> {
  const customer = parts.settings.row().customer_id;
  if (customer) await parts.ports.stripe().customers.update(customer, { email });
  parts.ports.tx(() => parts.settings.invoiceEmailSet(email));
  // A customer made while this ran (without the address) gets it now.
  const made = parts.settings.row().customer_id;
  if (!customer && made) await parts.ports.stripe().customers.update(made, { email });
  log("info", "invoice_email_set", { instanceId: parts.ports.instanceId() });
}

/**
 * Stripe's hosted page in the owner's language (Checkout has `cs` and `en`), and our own page after it in the
 * same language (`/billing/done?lang=cs`).
 */
function hostedPageLanguage(parts: BillingParts): { locale: Lang; success_url: string; cancel_url: string } {
  const lang = parts.ledger.ownerLang();
  const base = parts.config.publicBaseUrl;
  return {
    locale: lang,
    success_url: `${base}/billing/done?lang=${lang}`,
    cancel_url: `${base}/billing/cancelled?lang=${lang}`,
  };
}

/**
 * `/setupCredits`: a Checkout Session in setup mode; the settings take effect when the card is saved. Returns
 * its link and what saving the card will do at once (`onSave`), which the owner is told before saving it.
 */
export async function setupCheckout(
  parts: BillingParts,
  topUpMicros: number,
  rechargeAtMicros: number,
): Promise<{ url: string; onSave: ChargeNow }> {
  const customer = await ensureCustomer(parts);
  const session = await parts.ports.stripe().checkout.sessions.create({
    mode: "setup",
    customer,
    currency: "usd",
    ...COLLECT_BILLING_DETAILS,
    ...hostedPageLanguage(parts),
    metadata: {
      instance_id: parts.ports.instanceId(),
      purpose: "setup",
      top_up_micros: String(topUpMicros),
      recharge_at_micros: String(rechargeAtMicros),
      // Orders card links: one completed late never replaces the card of a newer one (events.ts).
      requested_at: String(Date.now()),
    },
  });
  parts.ports.tx(() => parts.settings.cardRequested(session.id, topUpMicros, rechargeAtMicros));
  const onSave = chargeNow(parts, { topUpMicros, rechargeAtMicros, newCard: true }, Date.now());
  return { url: session.url ?? "", onSave };
}

/**
 * `/changeCreditsTopUp`: null when no card is saved yet; else what the new settings did at once, for the
 * reply. The owner's change arms the trigger: at or under the new threshold it starts one recharge now
 * (one, whatever the gap: the next waits for the balance to have been above the threshold).
 */
export function changeSettings(
  parts: BillingParts,
  fx: BillingEffects,
  topUpMicros: number,
  rechargeAtMicros: number,
): ChargeNow | null {
  const now = Date.now();
  const changed = parts.ports.tx(() => {
    if (!parts.settings.settingsChanged(topUpMicros, rechargeAtMicros)) return null;
    parts.settings.rechargeArmed();
    const { recharges, settings } = parts;
    const balanceMicros = parts.ledger.view().balanceMicros;
    const started = startRechargeIfDue(parts, now);
    const status = settings.row().status;
    const under = balanceMicros <= rechargeAtMicros;
    const told: ChargeNow = {
      balanceMicros,
      rechargeAtMicros,
      charge: started === "started" ? { kind: "top_up", amountMicros: topUpMicros } : null,
      held:
        !under || started === "started"
          ? null
          : recharges.autoInFlight()
            ? "in_flight"
            : status === "failing" || status === "needs_confirmation"
              ? "card_trouble"
              : started === "daily_limit" || dailyLimitHit(parts, now)
                ? "daily_limit"
                : null,
      voidsMicros: null,
    };
    return { started, told };
  });
  if (!changed) return null;
  triggered(parts, fx, changed.started, now);
  return changed.told;
}

/** `/topUp`: a Checkout Session in payment mode that creates an invoice; credited once on completion. */
export async function topUpCheckout(parts: BillingParts, amountMicros: number): Promise<string> {
  const customer = await ensureCustomer(parts);
  const id = newRechargeId();
  const metadata = { instance_id: parts.ports.instanceId(), recharge_id: id, purpose: "topup" };
  const session = await parts.ports.stripe().checkout.sessions.create(
    {
      mode: "payment",
      customer,
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: "usd",
            unit_amount: microsToCents(amountMicros),
            product_data: { name: "AI credits" },
          },
        },
      ],
      invoice_creation: { enabled: true, invoice_data: { metadata } },
      ...COLLECT_BILLING_DETAILS,
      ...hostedPageLanguage(parts),
      metadata,
    },
    { idempotencyKey: `${id}:checkout` },
  );
  parts.ports.tx(() => parts.recharges.openTopUp(id, amountMicros, session.id, Date.now()));
  return session.url ?? "";
}
