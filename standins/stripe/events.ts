/** Events: Stripe's signature, the event log, and webhook delivery (in creation order per customer). */
import { invalid, isRecord, type Json, missing, newId, seconds } from "./core";
import { API_VERSION, type Ctx, type EventRecord, type Route, type State } from "./model";

/** Webhook tolerance is 300 s, so ten minutes is safely "old". */
const OLD_SIGNATURE_AGE_SEC = 600;

const encoder = new TextEncoder();

/** A `Stripe-Signature` header value for `payload`, exactly as Stripe computes it. */
export async function signPayload(payload: string, secret: string, timestampSec?: number): Promise<string> {
  const timestamp = timestampSec ?? Math.floor(Date.now() / 1000);
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${payload}`)));
  let hex = "";
  for (const byte of mac) hex += byte.toString(16).padStart(2, "0");
  return `t=${timestamp},v1=${hex}`;
}

export function emit(ctx: Ctx, customer: string, type: string, object: Json): void {
  const created = seconds(ctx.now);
  const id = newId("evt");
  const event = {
    id,
    object: "event",
    api_version: API_VERSION,
    created,
    type,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
  };
  const record: EventRecord = {
    id,
    type,
    created,
    customer,
    payload: JSON.stringify(event),
    delivered: 0,
    lastStatus: null,
  };
  ctx.st.events.set(id, record);
  const list = ctx.st.eventsByCustomer.get(customer) ?? [];
  list.push(record);
  ctx.st.eventsByCustomer.set(customer, list);
  ctx.outbox.push(record);
}

export function endpointFor(st: State, customer: string): string | null {
  return st.customerEndpoints.get(customer) ?? st.webhookUrl;
}

export async function deliver(
  st: State,
  record: EventRecord,
  signature: "valid" | "forged" | "old" = "valid",
): Promise<number> {
  const url = endpointFor(st, record.customer);
  if (!url) throw invalid("No webhook endpoint is registered (POST /__control/webhook-endpoint).");
  const nowSec = seconds(st.clock());
  const timestamp = signature === "old" ? nowSec - OLD_SIGNATURE_AGE_SEC : nowSec;
  const secret = signature === "forged" ? `${st.options.webhookSecret}_forged` : st.options.webhookSecret;
  const header = await signPayload(record.payload, secret, timestamp);
  let status = 0;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": header, "user-agent": "Stripe/1.0" },
      body: record.payload,
      signal: AbortSignal.timeout(30_000),
    });
    await response.arrayBuffer();
    status = response.status;
  } catch {
    // 0 stands for "no HTTP answer" (refused, reset or timed out), like Stripe's dashboard shows no status.
    status = 0;
  }
  record.delivered += 1;
  record.lastStatus = status;
  return status;
}

/** Queues auto-delivery per customer so one customer's events arrive in creation order, never blocking the API. */
export function flush(st: State, outbox: EventRecord[]): void {
  for (const record of outbox) {
    if (st.autoDeliverOff.has(record.customer) || !endpointFor(st, record.customer)) continue;
    const previous = st.deliveryQueues.get(record.customer) ?? Promise.resolve();
    const next = previous.then(async () => {
      try {
        await deliver(st, record);
      } catch {
        // The endpoint was removed meanwhile; the event stays undelivered for /__control/deliver.
      }
    });
    st.deliveryQueues.set(record.customer, next);
  }
  outbox.length = 0;
}

export const eventRoutes: Route[] = [
  {
    method: "GET",
    pattern: /^\/v1\/events\/([^/]+)$/,
    run: ({ st }, [id = ""]) => {
      const record = st.events.get(id);
      if (!record) throw missing("event", id);
      const event: unknown = JSON.parse(record.payload);
      return isRecord(event) ? event : {};
    },
  },
];
