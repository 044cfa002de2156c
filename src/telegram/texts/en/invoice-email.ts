/** Where Stripe emails the invoices (`/invoiceEmail`), and the Customer Portal (`/billing`). */
import { INVOICE_EMAIL_EXAMPLE } from "../format";

/** `/invoiceEmail` without an address: where invoices go now. */
export function invoiceEmailCurrent(email: string | null): string {
  return email
    ? `Stripe emails your invoices and receipts to ${email}. To change it: ${INVOICE_EMAIL_EXAMPLE}`
    : `No email for your invoices yet. Set one so Stripe emails you each invoice: ${INVOICE_EMAIL_EXAMPLE}`;
}

/** What was wrong with the address; nothing changed. */
export function invoiceEmailProblem(input: string): string {
  const shown = input.length > 80 ? `${input.slice(0, 80)}…` : input;
  return [
    `"${shown}" is not an email address I can send invoices to.`,
    "Send one address, like name@example.com (no spaces), right after the colon.",
    `Example: ${INVOICE_EMAIL_EXAMPLE}`,
  ].join("\n");
}

/** The address is set on the Stripe customer. */
export function invoiceEmailSet(email: string): string {
  return `Done: Stripe will email your invoices and receipts to ${email}. /billing shows every invoice.`;
}

/** `/billing`: the Customer Portal link. */
export function billingPortalLink(): string {
  return "Your billing page at Stripe: your card, billing name, address, tax ID, and every invoice. The link works for a short while; send /billing again for a new one.";
}

export function billingPortalButton(): string {
  return "Open billing";
}
