/** The pages a human would see: Checkout's payment page and the hosted invoice (and its PDF). */
import { completeSession, expireIfDue } from "./checkout";
import { operate } from "./control";
import { ApiError, escapeHtml, html } from "./core";
import { invoiceTotal } from "./invoices";
import type { State } from "./model";

export function payPage(st: State, url: URL, sessionId: string): Response {
  const session = st.sessions.get(sessionId);
  if (!session) return html("<h1>Unknown checkout session</h1>", 404);
  operate(st, url, (ctx) => expireIfDue(ctx, session));
  if (session.status === "expired") return html("<h1>This checkout session has expired</h1>");
  if (session.status !== "open") return html("<h1>Payment complete — you can close this tab</h1>");
  try {
    const q = url.searchParams;
    operate(st, url, (ctx) =>
      completeSession(ctx, session, {
        paymentMethod: q.get("card") ?? "pm_card_visa",
        email: q.get("email"),
        name: q.get("name"),
      }),
    );
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return html(`<h1>Payment failed</h1><p>${escapeHtml(error.message)}</p>`, error.status);
  }
  return html("<h1>Payment complete — you can close this tab</h1>");
}

export function invoicePage(st: State, invoiceId: string, pdf: boolean): Response {
  const invoice = st.invoices.get(invoiceId);
  if (!invoice || invoice.status === "draft") return html("<h1>Invoice not found</h1>", 404);
  const amount = (invoiceTotal(st, invoice) / 100).toFixed(2);
  if (pdf) {
    const text = `%PDF-1.4\n% Stripe stand-in invoice ${invoice.number ?? ""} ${amount} ${invoice.currency}\n%%EOF\n`;
    return new Response(text, { headers: { "content-type": "application/pdf" } });
  }
  return html(
    `<h1>Invoice ${escapeHtml(invoice.number ?? invoice.id)}</h1><p>Amount: ${amount} ${escapeHtml(
      invoice.currency.toUpperCase(),
    )}</p><p>Status: ${escapeHtml(invoice.status)}</p>`,
  );
}
