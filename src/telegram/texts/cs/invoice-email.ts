/** Where Stripe emails the invoices (`/invoiceEmail`), and the Customer Portal (`/billing`). */
import { INVOICE_EMAIL_EXAMPLE } from "../format";

/** `/invoiceEmail` without an address: where invoices go now. */
export function invoiceEmailCurrent(email: string | null): string {
  return email
    ? `Stripe posílá vaše faktury a potvrzení o platbě na ${email}. Adresu změníte takto: ${INVOICE_EMAIL_EXAMPLE}`
    : `Zatím nemáte e-mail pro faktury. Nastavte ho a Stripe vám každou fakturu pošle e-mailem: ${INVOICE_EMAIL_EXAMPLE}`;
}

/** What was wrong with the address; nothing changed. */
export function invoiceEmailProblem(input: string): string {
  const shown = input.length > 80 ? `${input.slice(0, 80)}…` : input;
  return [
    `„${shown}“ není e-mailová adresa, na kterou mohu posílat faktury.`,
    "Pošlete jednu adresu, např. name@example.com (bez mezer), hned za dvojtečkou.",
    `Příklad: ${INVOICE_EMAIL_EXAMPLE}`,
  ].join("\n");
}

/** The address is set on the Stripe customer. */
export function invoiceEmailSet(email: string): string {
  return `Hotovo: Stripe bude vaše faktury a potvrzení o platbě posílat na ${email}. Všechny faktury najdete přes /billing.`;
}

/** `/billing`: the Customer Portal link. */
export function billingPortalLink(): string {
  return "Vaše fakturační stránka u Stripe: karta, fakturační jméno, adresa, DIČ a všechny faktury. Odkaz platí jen krátce; pro nový pošlete znovu /billing.";
}

export function billingPortalButton(): string {
  return "Otevřít fakturaci";
}
