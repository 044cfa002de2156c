import type Stripe from "stripe";
import { z } from "zod";
import { log } from "../log";
import type { BillingParts } from "./notices";

/**
 * The owner's invoice email: one address as zod's `z.email()` accepts it (the same check as `ownerEmail` on
 * `POST /admin/instances`), at most 254 characters (the longest address SMTP carries).
 */
export const INVOICE_EMAIL_MAX = 254;
const EMAIL = z.email().max(INVOICE_EMAIL_MAX);

/** `/invoiceEmail:{email}`: exactly one part, a valid address. */
export function parseInvoiceEmail(args: readonly string[]): { ok: true; value: string } | { ok: false } {
  if (args.length !== 1) return { ok: false };
  const parsed = EMAIL.safeParse(args[0]);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false };
}

/**
 * A completed Checkout session (card saving or a top-up) carries the email the owner entered. Stripe sets it on a
 * customer that had none; without an invoice email of our own yet, it becomes ours too, and is made sure of on
 * the customer first (an update Stripe may repeat: a failure leaves nothing recorded, and the event comes again).
 */
export async function emailCollected(parts: BillingParts, session: Stripe.Checkout.Session): Promise<void> {
  const email = session.customer_details?.email;
  if (!email || parts.settings.invoiceEmail() !== null) return;
  const customer = parts.settings.row().customer_id;
  if (customer) await parts.ports.stripe().customers.update(customer, { email });
  if (parts.ports.tx(() => parts.settings.invoiceEmailCollected(email))) {
    log("info", "invoice_email_collected", { instanceId: parts.ports.instanceId() });
  }
}

/** Where Stripe emails the invoices now: the customer's email (the owner may change it in the portal), else ours. */
export async function currentInvoiceEmail(parts: BillingParts): Promise<string | null> {
  const customer = parts.settings.row().customer_id;
  const ours = parts.settings.invoiceEmail();
  if (!customer) return ours;
  const found = await parts.ports.stripe().customers.retrieve(customer);
  return ("deleted" in found && found.deleted ? null : (found as Stripe.Customer).email) ?? ours;
}
