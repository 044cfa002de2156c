/**
 * The API request pipeline, as Stripe runs a request: auth → fault injection → idempotency → route → `expand[]`.
 * Faults and idempotency follow docs.stripe.com/api/idempotent_requests (see the header of ../stripe.ts).
 */

import { checkoutRoutes } from "./checkout";
import { ApiError, canonical, decodeForm, invalid, type Json, json, newId, sleep } from "./core";
import { customerRoutes } from "./customers";
import { disputeRoutes } from "./disputes";
import { eventRoutes, flush } from "./events";
import { withExpand } from "./expand";
import { invoiceRoutes } from "./invoice-routes";
import { type Fault, newCtx, type Route, type State } from "./model";
import { paymentRoutes } from "./payments";
import { portalRoutes } from "./portal";

const routes: Route[] = [
  ...customerRoutes,
  ...checkoutRoutes,
  ...invoiceRoutes,
  ...paymentRoutes,
  ...disputeRoutes,
  ...eventRoutes,
  ...portalRoutes,
];

function authorize(st: State, request: Request): void {
  const header = request.headers.get("authorization") ?? "";
  const key = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
  const ok = st.options.apiKey !== undefined ? key === st.options.apiKey : key.startsWith("sk_test_");
  if (!ok) {
    // Stripe masks all but the last four characters; the stand-in never echoes any of the key.
    throw new ApiError(401, {
      type: "invalid_request_error",
      message: key ? "Invalid API Key provided: sk_test_****" : "You did not provide an API key.",
    });
  }
}

/** The customer a request concerns, so that a fault scoped to one test's customer hits only that test. */
function customerOfRequest(st: State, path: string, params: Json): string | null {
  const fromParams = typeof params.customer === "string" ? params.customer : null;
  if (fromParams) return fromParams;
  const [, , resource, id] = path.split("/");
  if (!id) return null;
  switch (resource) {
    case "customers":
      return id;
    case "invoices":
      return st.invoices.get(id)?.customer ?? null;
    case "checkout":
      return st.sessions.get(path.split("/")[4] ?? "")?.customer ?? null;
    case "charges":
      return st.charges.get(id)?.customer ?? null;
    case "payment_intents":
      return st.paymentIntents.get(id)?.customer ?? null;
    case "disputes":
      return st.disputes.get(id)?.customer ?? null;
    case "payment_methods":
      return st.paymentMethods.get(id)?.customer ?? null;
    default:
      return null;
  }
}

function takeFault(st: State, method: string, path: string, params: Json, idempotencyKey: string | null): Fault | null {
  const customer = customerOfRequest(st, path, params);
  const index = st.faults.findIndex(
    (f) =>
      f.remaining > 0 &&
      (f.method === null || f.method === method) &&
      (f.pathPrefix === null || path.startsWith(f.pathPrefix)) &&
      (f.pathSuffix === null || path.endsWith(f.pathSuffix)) &&
      (f.idempotencyKeyPrefix === null || (idempotencyKey ?? "").startsWith(f.idempotencyKeyPrefix)) &&
      (f.customer === null || f.customer === customer),
  );
  const fault = st.faults[index];
  if (!fault) return null;
  fault.remaining -= 1;
  if (fault.remaining <= 0) st.faults.splice(index, 1);
  return fault;
}

const SERVER_ERROR_BODY = JSON.stringify({ error: { type: "api_error", message: "An unknown error occurred" } });
const serverError = () => json(JSON.parse(SERVER_ERROR_BODY), 500);

function keyInUse(key: string): Response {
  return json(
    {
      error: {
        type: "idempotency_error",
        code: "idempotency_key_in_use",
        message: `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
      },
    },
    409,
  );
}

function findRoute(method: string, path: string): { route: Route; ids: string[] } {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match) return { route, ids: match.slice(1).map((s) => decodeURIComponent(s ?? "")) };
  }
  throw new ApiError(404, {
    type: "invalid_request_error",
    message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
  });
}

function answer(status: number, body: string, idempotencyKey: string | null, replayed = false): Response {
  const headers: Record<string, string> = { "content-type": "application/json", "request-id": newId("req") };
  if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
  if (replayed) headers["idempotent-replayed"] = "true";
  return new Response(body, { status, headers });
}

/**
 * Faults that strike once the request committed: its writes are applied and its events sent, and only the
 * answer is lost (`timeout_after_success`: the client gives up or sees a 500 late) or replaced by a 500
 * (`500_after_success`). They strike a replayed answer the same way.
 */
async function afterSuccess(fault: Fault | null, fresh: Response): Promise<Response> {
  if (fault?.kind !== "timeout_after_success" && fault?.kind !== "500_after_success") return fresh;
  if (fault.delayMs > 0) await sleep(fault.delayMs);
  return serverError();
}

export async function handleApi(st: State, request: Request, url: URL): Promise<Response> {
  authorize(st, request);
  const method = request.method.toUpperCase();
  const params = decodeForm(url.search.slice(1));
  if (method !== "GET") Object.assign(params, decodeForm(await request.text()));
  const path = url.pathname;
  const { route, ids } = findRoute(method, path);
  const idempotencyKey = method === "POST" ? request.headers.get("idempotency-key") : null;
  const storeKey = idempotencyKey ? `${request.headers.get("authorization") ?? ""}\n${idempotencyKey}` : null;
  const fingerprint = `${method} ${path} ${canonical(params)}`;
  const fault = takeFault(st, method, path, params, idempotencyKey);
  // Before execution: nothing runs and the key stays free, so a retry with it runs afresh.
  if (fault?.kind === "500") return serverError();
  if (fault?.kind === "409") return keyInUse(idempotencyKey ?? "");

  if (storeKey && idempotencyKey) {
    if (idempotencyKey.length > 255) {
      throw invalid("Idempotency keys can be no longer than 255 characters.", "idempotency_key");
    }
    const existing = st.idempotency.get(storeKey);
    if (existing && existing.fingerprint !== fingerprint) {
      throw new ApiError(400, {
        type: "idempotency_error",
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
      });
    }
    if (existing?.state === "in_flight") return keyInUse(idempotencyKey);
  }

  if (fault?.kind === "timeout") {
    // Stripe never got to run the request: a fresh key is busy while it hangs, then free again; a key that
    // already has a result keeps it.
    const hold = storeKey !== null && !st.idempotency.has(storeKey);
    if (hold) st.idempotency.set(storeKey, { fingerprint, state: "in_flight" });
    await sleep(fault.delayMs);
    if (hold) st.idempotency.delete(storeKey);
    return serverError();
  }

  const existing = storeKey ? st.idempotency.get(storeKey) : undefined;
  if (existing?.state === "done") {
    return afterSuccess(fault, answer(existing.status, existing.body, idempotencyKey, true));
  }

  const ctx = newCtx(st, url.origin, params);
  let status = 200;
  let body: string;
  let saved = true;
  try {
    body = JSON.stringify(withExpand(st, route.run(ctx, ids), params));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    status = error.status;
    body = JSON.stringify({ error: error.body });
    // Parameters that fail validation never reach execution, so Stripe saves no result for the key.
    saved = !error.validation;
  }
  if (storeKey) {
    if (!saved) st.idempotency.delete(storeKey);
    else if (fault?.kind === "500_after_success" && fault.replay === "error") {
      // Stripe saves a 500 raised during execution as the key's result, and replays it.
      st.idempotency.set(storeKey, { fingerprint, state: "done", status: 500, body: SERVER_ERROR_BODY });
    } else {
      // Stripe stores 4xx outcomes too (a replayed decline declines again).
      st.idempotency.set(storeKey, { fingerprint, state: "done", status, body });
    }
  }
  flush(st, ctx.outbox);
  return afterSuccess(fault, answer(status, body, idempotencyKey));
}
