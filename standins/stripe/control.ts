/**
 * `/__control/*`: how tests and the demo inspect and steer the stand-in (see the header of ../stripe.ts for every
 * endpoint and body). Each handler answers a JSON value; a refusal is an ApiError (4xx).
 */
import { materialize, renderPaymentMethod, TEST_CARDS } from "./cards";
import { completeSession, expireSession, getSession, renderSession } from "./checkout";
import { ApiError, invalid, isRecord, type Json, json, missing } from "./core";
import { addressParam, getCustomer } from "./customers";
import { closeDispute, disputeOf, getDispute, openDispute, renderDispute } from "./disputes";
import { deliver, flush } from "./events";
import { getInvoice, invoiceTotal, pay, renderInvoice } from "./invoices";
import {
  type Charge,
  type Ctx,
  DEFAULT_TIMEOUT_DELAY_MS,
  type EventRecordView,
  FAULT_KINDS,
  type Fault,
  newCtx,
  type State,
} from "./model";
import { chargeOfInvoice, refundCharge, renderCharge } from "./payments";

type Handler = (st: State, url: URL, body: Json, ids: string[]) => Json | Promise<Json>;

async function readControlBody(request: Request): Promise<Json> {
  const text = await request.text();
  if (!text) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid("control body must be JSON");
  }
  if (!isRecord(body)) throw invalid("control body must be a JSON object");
  return body;
}

function controlStr(body: Json, name: string): string | null {
  const value = body[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value === "") throw invalid(`${name} must be a non-empty string`, name);
  return value;
}

function requireControlStr(body: Json, name: string): string {
  const value = controlStr(body, name);
  if (value === null) throw invalid(`${name} is required`, name);
  return value;
}

/** Runs an operation outside the API pipeline, then delivers its events the same way. */
export function operate<T>(st: State, url: URL, run: (ctx: Ctx) => T): T {
  const ctx = newCtx(st, url.origin);
  try {
    return run(ctx);
  } finally {
    // Events raised before a failure (e.g. invoice.payment_failed) happened and must still go out.
    flush(st, ctx.outbox);
  }
}

/** The charge a refund or dispute control names: `charge`, `paymentIntent` or the paid `invoice`. */
function chargeOfControl(st: State, body: Json): Charge {
  const chargeId = controlStr(body, "charge");
  if (chargeId) {
    const charge = st.charges.get(chargeId);
    if (!charge) throw missing("charge", chargeId, "charge");
    return charge;
  }
  const intentId = controlStr(body, "paymentIntent");
  if (intentId) {
    const charge = st.charges.get(st.paymentIntents.get(intentId)?.latestCharge ?? "");
    if (!charge) throw missing("payment_intent", intentId, "paymentIntent");
    return charge;
  }
  const invoiceId = controlStr(body, "invoice");
  if (!invoiceId) throw invalid("one of charge, paymentIntent or invoice is required", "invoice");
  return chargeOfInvoice(st, getInvoice(st, invoiceId, "invoice"));
}

function summary(st: State, customerId: string): Json {
  const own = [...st.invoices.values()].filter((inv) => inv.customer === customerId).sort((a, b) => a.seq - b.seq);
  let payments = 0;
  let totalChargedCents = 0;
  let refundedCents = 0;
  for (const inv of own) {
    for (const pid of inv.payments) {
      const payment = st.invoicePayments.get(pid);
      if (!payment) continue;
      payments += 1;
      totalChargedCents += payment.amount;
      refundedCents += st.charges.get(payment.charge)?.amountRefunded ?? 0;
    }
  }
  return {
    invoices: own.map((inv) => ({
      id: inv.id,
      status: inv.status,
      amount_due: invoiceTotal(st, inv),
      amount_paid: inv.amountPaid,
      metadata: inv.metadata,
    })),
    payments,
    totalChargedCents,
    refundedCents,
    defaultPaymentMethod: st.customers.get(customerId)?.defaultPaymentMethod ?? null,
  };
}

const gets: [RegExp, (st: State, url: URL, ids: string[]) => Json][] = [
  [
    /^events$/,
    (st, url) => {
      const customer = url.searchParams.get("customer") ?? "";
      const events: EventRecordView[] = (st.eventsByCustomer.get(customer) ?? []).map((e) => ({
        id: e.id,
        type: e.type,
        created: e.created,
        delivered: e.delivered,
        lastStatus: e.lastStatus,
        payload: JSON.parse(e.payload),
      }));
      return { events };
    },
  ],
  [/^customers\/([^/]+)\/summary$/, (st, _url, [id = ""]) => summary(st, id)],
  [/^webhook-endpoint$/, (st) => ({ url: st.webhookUrl })],
];

function webhookEndpoint(st: State, _url: URL, body: Json): Json {
  const target = controlStr(body, "url");
  const customer = controlStr(body, "customer");
  // A per-customer endpoint lets one test file receive events without redirecting everyone else's.
  if (customer) {
    if (target) st.customerEndpoints.set(customer, target);
    else st.customerEndpoints.delete(customer);
  } else {
    st.webhookUrl = target;
  }
  return { ok: true, url: target };
}

function autoDeliver(st: State, _url: URL, body: Json): Json {
  const customer = requireControlStr(body, "customer");
  if (typeof body.enabled !== "boolean") throw invalid("enabled must be a boolean", "enabled");
  if (body.enabled) st.autoDeliverOff.delete(customer);
  else st.autoDeliverOff.add(customer);
  return { ok: true, customer, enabled: body.enabled };
}

async function deliverEvent(st: State, _url: URL, body: Json): Promise<Json> {
  const record = st.events.get(requireControlStr(body, "eventId"));
  if (!record) throw missing("event", String(body.eventId), "eventId");
  const times = body.times === undefined ? 1 : Number(body.times);
  if (!Number.isInteger(times) || times < 1 || times > 20) throw invalid("times must be 1..20", "times");
  const signature = body.signature ?? "valid";
  if (signature !== "valid" && signature !== "forged" && signature !== "old") {
    throw invalid('signature must be "valid", "forged" or "old"', "signature");
  }
  const statuses: number[] = [];
  for (let i = 0; i < times; i += 1) statuses.push(await deliver(st, record, signature));
  return { statuses };
}

function checkout(st: State, url: URL, body: Json, [id = "", action]: string[]): Json {
  const session = getSession(st, id);
  if (action === "expire-now") {
    // As if `expires_at` had passed: the same `checkout.session.expired` as the API's expire.
    operate(st, url, (ctx) => expireSession(ctx, session));
  } else {
    const paymentMethod = controlStr(body, "paymentMethod") ?? "pm_card_visa";
    const address = body.address === undefined || body.address === null ? null : addressParam(body.address);
    if (body.address != null && !address) throw invalid("address must be an object", "address");
    const taxId = isRecord(body.taxId) ? body.taxId : null;
    if (body.taxId != null && (typeof taxId?.type !== "string" || typeof taxId.value !== "string")) {
      throw invalid("taxId must be {type, value}", "taxId");
    }
    operate(st, url, (ctx) =>
      completeSession(ctx, session, {
        paymentMethod,
        email: controlStr(body, "email"),
        name: controlStr(body, "name"),
        address,
        taxId: taxId ? { type: String(taxId.type), value: String(taxId.value) } : null,
      }),
    );
  }
  return renderSession(session);
}

function payInvoice(st: State, url: URL, body: Json, [id = ""]: string[]): Json {
  const invoice = getInvoice(st, id);
  const paymentMethod = controlStr(body, "paymentMethod");
  operate(st, url, (ctx) => pay(ctx, invoice, { paymentMethod, onSession: true }));
  return renderInvoice(st, invoice);
}

function refund(st: State, url: URL, body: Json): Json {
  const charge = chargeOfControl(st, body);
  if (charge.disputed && disputeOf(st, charge)?.status !== "won") {
    // Stripe refuses to refund a charged-back payment: the dispute already returned the money.
    throw invalid(`Charge ${charge.id} has been charged back; cannot issue a refund.`, "charge", "charge_disputed");
  }
  const left = charge.amount - charge.amountRefunded;
  if (left === 0) throw invalid(`Charge ${charge.id} has already been refunded.`, "charge", "charge_already_refunded");
  const amount = body.amount === undefined ? left : Number(body.amount);
  if (!Number.isInteger(amount) || amount < 1 || amount > left) {
    throw invalid(`amount must be an integer between 1 and ${left}`, "amount");
  }
  const created = operate(st, url, (ctx) => refundCharge(ctx, charge, amount));
  return { refund: created, charge: renderCharge(st, charge) };
}

function dispute(st: State, url: URL, body: Json): Json {
  const charge = chargeOfControl(st, body);
  // By default the dispute is for what is still unrefunded; `amount` up to the whole charge models a bank
  // disputing a partially refunded payment in full.
  const unrefunded = charge.amount - charge.amountRefunded;
  if (body.amount === undefined && unrefunded === 0) {
    throw invalid(`Charge ${charge.id} is fully refunded; there is nothing to dispute.`, "charge");
  }
  const amount = body.amount === undefined ? unrefunded : Number(body.amount);
  if (!Number.isInteger(amount) || amount < 1 || amount > charge.amount) {
    throw invalid(`amount must be an integer between 1 and ${charge.amount}`, "amount");
  }
  const reason = controlStr(body, "reason") ?? "fraudulent";
  const opened = operate(st, url, (ctx) => openDispute(ctx, charge, amount, reason));
  return { dispute: renderDispute(st, opened) };
}

function closeDisputeControl(st: State, url: URL, body: Json, [id = ""]: string[]): Json {
  const disputed = getDispute(st, id);
  const outcome = body.outcome;
  if (outcome !== "won" && outcome !== "lost") throw invalid('outcome must be "won" or "lost"', "outcome");
  operate(st, url, (ctx) => closeDispute(ctx, disputed, outcome));
  return { dispute: renderDispute(st, disputed) };
}

function fault(st: State, _url: URL, body: Json): Json {
  const match = isRecord(body.match) ? body.match : {};
  const kind = FAULT_KINDS.find((k) => k === body.kind);
  if (!kind) throw invalid(`kind must be one of ${FAULT_KINDS.map((k) => `"${k}"`).join(", ")}`, "kind");
  const method = controlStr(match, "method");
  const replay = body.replay ?? "success";
  if (replay !== "success" && replay !== "error") throw invalid('replay must be "success" or "error"', "replay");
  const hangs = kind === "timeout" || kind === "timeout_after_success";
  const added: Fault = {
    pathPrefix: controlStr(match, "pathPrefix"),
    pathSuffix: controlStr(match, "pathSuffix"),
    idempotencyKeyPrefix: controlStr(match, "idempotencyKeyPrefix"),
    customer: controlStr(match, "customer"),
    method: method?.toUpperCase() ?? null,
    kind,
    remaining: body.count === undefined ? 1 : Number(body.count),
    delayMs: body.delayMs !== undefined ? Number(body.delayMs) : hangs ? DEFAULT_TIMEOUT_DELAY_MS : 0,
    replay,
  };
  if (!Number.isInteger(added.remaining) || added.remaining < 1) throw invalid("count must be >= 1", "count");
  if (!Number.isFinite(added.delayMs) || added.delayMs < 0) throw invalid("delayMs must be >= 0", "delayMs");
  if (added.pathPrefix === null && added.idempotencyKeyPrefix === null && added.customer === null) {
    // An unscoped fault would hit every parallel test file sharing this process.
    throw invalid("match needs pathPrefix, idempotencyKeyPrefix or customer", "match");
  }
  st.faults.push(added);
  return { ok: true };
}

function card(st: State, _url: URL, body: Json, [id = ""]: string[]): Json {
  const customer = getCustomer(st, id);
  const testCard = requireControlStr(body, "paymentMethod");
  if (!TEST_CARDS.has(testCard)) throw invalid(`unknown test card ${testCard}`, "paymentMethod");
  const current = customer.defaultPaymentMethod ? st.paymentMethods.get(customer.defaultPaymentMethod) : undefined;
  if (current) {
    current.testCard = testCard;
  } else {
    customer.defaultPaymentMethod = materialize(st, testCard, customer.id, st.clock(), "paymentMethod").id;
  }
  const pm = st.paymentMethods.get(customer.defaultPaymentMethod ?? "");
  return pm ? renderPaymentMethod(pm) : {};
}

const posts: [RegExp, Handler][] = [
  [/^webhook-endpoint$/, webhookEndpoint],
  [/^auto-deliver$/, autoDeliver],
  [/^deliver$/, deliverEvent],
  [/^checkout\/([^/]+)\/(complete|expire-now)$/, checkout],
  [/^invoices\/([^/]+)\/pay$/, payInvoice],
  [/^refund$/, refund],
  [/^dispute$/, dispute],
  [/^disputes\/([^/]+)\/close$/, closeDisputeControl],
  [/^fault$/, fault],
  [/^customers\/([^/]+)\/card$/, card],
];

export async function control(st: State, request: Request, url: URL): Promise<Response> {
  const path = url.pathname.slice("/__control/".length);
  const ids = (match: RegExpExecArray) => match.slice(1).map((s) => decodeURIComponent(s ?? ""));
  if (request.method === "GET") {
    for (const [pattern, handler] of gets) {
      const match = pattern.exec(path);
      if (match) return json(handler(st, url, ids(match)));
    }
  } else if (request.method === "POST") {
    for (const [pattern, handler] of posts) {
      const match = pattern.exec(path);
      if (match) return json(await handler(st, url, await readControlBody(request), ids(match)));
    }
  }
  throw new ApiError(404, {
    type: "invalid_request_error",
    message: `unknown control endpoint ${request.method} ${url.pathname}`,
  });
}
