/** The Customer Portal: `POST /v1/billing_portal/sessions` and the page its short-lived `url` opens. */

import { escapeHtml, html, invalidParam, type Json, newId, seconds, str } from "./core";
import { getCustomer } from "./customers";
import type { PortalSession, Route, State } from "./model";

/** The account's default portal configuration (set in the Dashboard); every session without `configuration` uses it. */
export const DEFAULT_PORTAL_CONFIGURATION = "bpc_standin_default";

const KNOWN_PARAMS = new Set([
  "customer",
  "customer_account",
  "configuration",
  "expand",
  "flow_data",
  "locale",
  "on_behalf_of",
  "return_url",
]);

/** The object as stripe-node 23 types it (`BillingPortal.Session`): every field Stripe has, none it lacks. */
export function renderPortalSession(p: PortalSession): Json {
  return {
    id: p.id,
    object: "billing_portal.session",
    configuration: p.configuration,
    created: p.created,
    customer: p.customer,
    customer_account: null,
    flow: null,
    livemode: false,
    locale: p.locale,
    on_behalf_of: null,
    return_url: p.returnUrl,
    url: p.url,
  };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

export const portalRoutes: Route[] = [
  {
    method: "POST",
    pattern: /^\/v1\/billing_portal\/sessions$/,
    run: ({ st, params, now, origin }) => {
      for (const key of Object.keys(params)) {
        if (!KNOWN_PARAMS.has(key)) throw invalidParam(`Received unknown parameter: ${key}`, key);
      }
      const customerId = str(params, "customer");
      if (!customerId) throw invalidParam("Missing required param: customer.", "customer", "parameter_missing");
      const customer = getCustomer(st, customerId, "customer");
      const returnUrl = str(params, "return_url");
      if (returnUrl !== null && !isHttpUrl(returnUrl))
        throw invalidParam("Not a valid URL", "return_url", "url_invalid");
      const configuration = str(params, "configuration") ?? DEFAULT_PORTAL_CONFIGURATION;
      if (configuration !== DEFAULT_PORTAL_CONFIGURATION) {
        throw invalidParam(`No such configuration: '${configuration}'`, "configuration", "resource_missing");
      }
      const id = newId("bps");
      const session: PortalSession = {
        id,
        created: seconds(now),
        customer: customer.id,
        configuration,
        returnUrl,
        locale: str(params, "locale"),
        url: `${origin}/portal/${id}`,
      };
      st.portalSessions.set(id, session);
      return renderPortalSession(session);
    },
  },
];

/**
 * Stripe: "For security reasons, sessions are short-lived and will expire if the customer does not visit the
 * URL" (API reference, Customer Portal session object). The length is not documented; five minutes here, so a
 * link the owner taps much later fails as it can with Stripe.
 */
const PORTAL_SESSION_TTL_MS = 5 * 60_000;

/** What the customer sees: email, billing name and address, card, every invoice; a link back to `return_url`. */
export function portalPage(st: State, sessionId: string): Response {
  const session = st.portalSessions.get(sessionId);
  if (!session || st.clock() - session.created * 1000 > PORTAL_SESSION_TTL_MS) {
    return html("<h1>This portal session has expired</h1>", 404);
  }
  const customer = st.customers.get(session.customer);
  if (!customer) return html("<h1>Unknown customer</h1>", 404);
  const address = customer.address
    ? Object.values(customer.address)
        .filter((v) => typeof v === "string" && v !== "")
        .join(", ")
    : "";
  const invoices = [...st.invoices.values()]
    .filter((inv) => inv.customer === customer.id && inv.status !== "draft")
    .sort((a, b) => b.seq - a.seq)
    .map(
      (inv) =>
        `<li><a href="${escapeHtml(inv.hostedUrl ?? "")}">${escapeHtml(inv.number ?? inv.id)}</a> ${escapeHtml(inv.status)}</li>`,
    )
    .join("");
  const back = session.returnUrl ? `<p><a href="${escapeHtml(session.returnUrl)}">Return</a></p>` : "";
  return html(
    `<h1>Billing</h1><p>Email: ${escapeHtml(customer.email ?? "")}</p><p>Name: ${escapeHtml(customer.name ?? "")}</p>` +
      `<p>Address: ${escapeHtml(address)}</p><p>Tax IDs: ${escapeHtml(customer.taxIds.map((t) => t.value).join(", "))}</p>` +
      `<p>Card: ${escapeHtml(customer.defaultPaymentMethod ?? "none")}</p><ul>${invoices}</ul>${back}`,
  );
}
