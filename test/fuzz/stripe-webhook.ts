import { env } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signPayload } from "../../standins/stripe";
import {
  debit,
  type StripeEventRecord,
  stripeEvents,
  summary,
  waitForBalance,
  waitForPaidInvoices,
  withCard,
} from "../billing/fixtures";
import { type Provisioned, USD } from "../helpers";
import { count, fuzzParams, timeoutFor } from "./budget";
import { ORIGIN, type Reply, workerFetch } from "./harness";
import { BODY_LIMIT, byteLength, contentType, headerValue, hostileBody, hostileToken } from "./inputs";
import { balanceIn, expectErrorShape, expectLedgerConsistent, expectUnchanged, type Snapshot, snapshot } from "./state";

/**
 * `POST /stripe/webhook`. SPEC: verify the signature on the raw body, reject old timestamps (Stripe's
 * tolerance: 300 s), process each event.id once, credit each invoice once. Forged, altered, unsigned
 * and replayed deliveries must be refused (4xx) and change nothing; a valid re-delivery has no effect.
 */

const SECRET = () => env.STRIPE_WEBHOOK_SECRET;
const now = () => Math.floor(Date.now() / 1000);

let inst: Provisioned;
let customer: string;
/** The real events of one card save and one paid recharge, all delivered once already. */
let events: StripeEventRecord[];
let creditedBalance: number;

async function post(body: string, headers: Record<string, string>, method = "POST"): Promise<Reply> {
  const res = await workerFetch(`${ORIGIN}/stripe/webhook`, {
    method,
    headers,
    ...(method === "GET" || method === "HEAD" ? {} : { body }),
  });
  return { status: res.status, text: await res.text() };
}

async function hmacHex(payload: string, secret: string): Promise<string> {
  return (/v1=([0-9a-f]+)/.exec(await signPayload(payload, secret, 0)) ?? [])[1] ?? "";
}

/** A real event's payload, exactly as Stripe sent it. */
const realPayload = () => fc.constantFrom(...events).map((e) => JSON.stringify(e.payload));

type Forgery = { name: string; header: (body: string) => Promise<string | null>; alters?: (body: string) => string };

/** Signature headers that must not verify for the body that is sent. */
const forgery: fc.Arbitrary<Forgery> = fc.oneof(
  fc.constantFrom<Forgery>(
    { name: "no header", header: async () => null },
    { name: "empty", header: async () => "" },
    { name: "wrong secret", header: (b) => signPayload(b, "whsec_forged") },
    { name: "secret without prefix", header: (b) => signPayload(b, SECRET().replace(/^whsec_/, "")) },
    {
      name: "body altered after signing",
      header: (b) => signPayload(b, SECRET()),
      alters: (b) => b.replace(/"amount_paid":\d+/, '"amount_paid":99999999').replace(/}$/, " }"),
    },
    { name: "body with a trailing newline", header: (b) => signPayload(b, SECRET()), alters: (b) => `${b}\n` },
    { name: "replayed: 301 s old", header: (b) => signPayload(b, SECRET(), now() - 301) },
    { name: "replayed: 1 h old", header: (b) => signPayload(b, SECRET(), now() - 3600) },
    { name: "replayed: epoch", header: (b) => signPayload(b, SECRET(), 0) },
    {
      name: "t changed after signing",
      header: async (b) => (await signPayload(b, SECRET(), now() - 3600)).replace(/t=\d+/, `t=${now()}`),
    },
    { name: "v0 only", header: async (b) => (await signPayload(b, SECRET())).replace("v1=", "v0=") },
    {
      name: "upper-case hex",
      header: async (b) =>
        (await signPayload(b, SECRET())).replace(/v1=(\w+)/, (_m, h: string) => `v1=${h.toUpperCase()}`),
    },
    { name: "truncated mac", header: async (b) => (await signPayload(b, SECRET())).slice(0, -2) },
    { name: "no timestamp", header: async (b) => `v1=${await hmacHex(b, SECRET())}` },
    { name: "t=NaN", header: async (b) => `t=NaN,v1=${await hmacHex(b, SECRET())}` },
    { name: "t=1e309", header: async (b) => `t=1e309,v1=${await hmacHex(b, SECRET())}` },
    { name: "t=-1", header: async (b) => `t=-1,v1=${await hmacHex(b, SECRET())}` },
    { name: "mac of the empty body", header: () => signPayload("", SECRET()) },
    { name: "10 KB header", header: async () => `t=${now()},v1=${"a".repeat(10_000)}` },
  ),
  headerValue.map((v): Forgery => ({ name: "random header", header: async () => v })),
  fc.tuple(fc.integer({ min: 301, max: 10_000_000 }), fc.boolean()).map(
    ([age, extraSig]): Forgery => ({
      name: `replayed: ${age} s old`,
      header: async (b) => {
        const old = await signPayload(b, SECRET(), now() - age);
        return extraSig ? `${old},v1=${"0".repeat(64)}` : old;
      },
    }),
  ),
);

/** Does this (signed) body name the instance directly in `data.object.metadata`, so that no Stripe call routes it? */
function _routedToInstance(body: string): boolean {
  try {
    const event = JSON.parse(body) as { data?: { object?: { metadata?: { instance_id?: unknown } } } };
    return event.data?.object?.metadata?.instance_id === inst.id;
  } catch {
    return false;
  }
}

export function fuzzStripeWebhook(): void {
  describe("fuzz: Stripe webhook", () => {
    beforeAll(async () => {
      const setup = await withCard({ license: "pro", topUp: 250, rechargeAt: 100 });
      inst = setup.inst;
      customer = setup.customer;
      await debit(setup.inst, "fuzz-cross", 101 * USD); // $200 → $99 ≤ $100: one recharge of $250
      await waitForPaidInvoices(customer, 1);
      await waitForBalance(inst, 349 * USD);
      for (const status of await setup.relay.deliverAll()) expect(status).toBe(200);
      events = await stripeEvents(customer);
      expect(events.map((e) => e.type)).toContain("invoice.paid");
      creditedBalance = 349 * USD;
    }, 60_000);

    afterAll(async () => {
      await expectLedgerConsistent(inst.id);
    });

    const FORGED_RUNS = 250;
    it(
      "forged, altered, unsigned, expired and malformed signatures: 400 invalid_signature, nothing changes",
      async () => {
        // Every case is refused: one case\'s "after" is the next one\'s "before".
        let last: Snapshot | undefined;
        await fc.assert(
          fc.asyncProperty(
            fc.oneof({ weight: 2, arbitrary: realPayload() }, { weight: 1, arbitrary: hostileBody }),
            forgery,
            contentType,
            async (payload, f, type) => {
              const header = await f.header(payload);
              const body = f.alters ? f.alters(payload) : payload;
              if (f.alters && body === payload) return; // nothing to alter in this body
              count(
                "Stripe webhook",
                `refused signature: ${f.name.startsWith("replayed") ? "replayed (old timestamp)" : f.name}`,
              );
              const headers: Record<string, string> = {};
              if (header !== null) headers["stripe-signature"] = header;
              if (type !== null) headers["content-type"] = type;
              const label = `${f.name}: ${body.slice(0, 200)}`;
              const before = last ?? (await snapshot(inst, { messages: true }));
              const reply = await post(body, headers);
              const { code } = expectErrorShape(reply.status, reply.text, label);
              expect(code, label).toBe(byteLength(body) > BODY_LIMIT ? "payload_too_large" : "invalid_signature");
              last = await snapshot(inst, { messages: true });
              expectUnchanged(before, last, label);
            },
          ),
          fuzzParams(FORGED_RUNS),
        );
        expect((await summary(customer)).invoices).toHaveLength(1);
      },
      timeoutFor(FORGED_RUNS, 40),
    );

    const REPLAY_RUNS = 60;
    it(
      "valid re-deliveries (same event id, even with other content; or a new id for the same invoice) have no effect",
      async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(...events),
            fc.constantFrom("as sent", "re-serialized", "amount doubled", "new event id", "future timestamp"),
            async (event, how) => {
              count("Stripe webhook", `valid re-delivery: ${how}`);
              const payload = structuredClone(event.payload) as StripeEventRecord["payload"] & { created?: number };
              let body = JSON.stringify(payload);
              let timestamp: number | undefined;
              if (how === "re-serialized") body = JSON.stringify(payload, null, 2);
              if (how === "amount doubled") {
                const object = payload.data.object as { amount_paid?: number; amount?: number };
                if (typeof object.amount_paid === "number") object.amount_paid *= 2;
                if (typeof object.amount === "number") object.amount *= 2;
                body = JSON.stringify(payload);
              }
              if (how === "new event id")
                body = JSON.stringify({ ...payload, id: `${payload.id}_again_${Date.now()}` });
              if (how === "future timestamp") timestamp = now() + 86_400;
              const label = `${how} ${event.type} ${event.id}`;
              // A new event id leaves its dedupe record; nothing else may change.
              const options = { messages: true, skipTables: how === "new event id" ? ["stripe_events"] : [] };
              const [before, stripeBefore] = await Promise.all([snapshot(inst, options), summary(customer)]);
              const reply = await post(body, {
                "content-type": "application/json",
                "stripe-signature": await signPayload(body, SECRET(), timestamp),
              });
              expect(reply.status, `${label} → ${reply.text}`).toBe(200);
              const after = await snapshot(inst, options);
              expectUnchanged(before, after, label);
              expect(balanceIn(after), label).toBe(creditedBalance);
              // Nothing was charged, refunded or re-invoiced at Stripe either.
              expect(await summary(customer), label).toEqual(stripeBefore);
            },
          ),
          fuzzParams(REPLAY_RUNS),
        );
        const s = await summary(customer);
        expect(s.invoices).toHaveLength(1);
        expect(s.payments).toBe(1);
      },
      timeoutFor(REPLAY_RUNS, 60),
    );

    const SIGNED_RUNS = 150;
    it(
      "validly signed but malformed events (wrong envelope, wrong types, foreign metadata): never 5xx, no credit",
      async () => {
        const template = events.find((e) => e.type === "invoice.paid")?.payload as StripeEventRecord["payload"];
        const invoice = template.data.object as Record<string, unknown>;
        const meta = invoice.metadata as Record<string, string>;
        const malformed = fc.oneof(
          { weight: 2, arbitrary: hostileBody.filter((b) => byteLength(b) <= BODY_LIMIT) },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              "null",
              "[]",
              '"evt"',
              "{}",
              '{"id":"evt_1"}',
              '{"id":5,"type":"invoice.paid","data":{"object":{}}}',
              '{"id":"evt_x","type":"invoice.paid"}',
              '{"id":"evt_x","type":"invoice.paid","data":null}',
              '{"id":"evt_x","type":"invoice.paid","data":{"object":null}}',
              '{"id":"evt_x","type":"invoice.paid","data":{"object":"in_1"}}',
              '{"id":"evt_x","type":"invoice.paid","data":{"object":[]}}',
              '{"id":"evt_x","type":["invoice.paid"],"data":{"object":{}}}',
              '{"id":"evt_x","type":"charge.dispute.created","data":{"object":{"id":"dp_1","charge":null}}}',
              '{"id":"evt_x","type":"charge.dispute.created","data":{"object":{"id":"dp_1","charge":5}}}',
              '{"id":"evt_x","type":"charge.refunded","data":{"object":{"id":"ch_1","payment_intent":{"id":null}}}}',
            ),
          },
          {
            // A real event shape with the instance's metadata and hostile values in its fields.
            weight: 3,
            arbitrary: fc
              .record({
                type: fc.constantFrom(
                  "invoice.paid",
                  "invoice.payment_succeeded",
                  "invoice.payment_action_required",
                  "invoice.payment_failed",
                  "checkout.session.completed",
                  "charge.refunded",
                  "charge.dispute.created",
                  "customer.created",
                ),
                field: fc.constantFrom(
                  "amount_paid",
                  "status",
                  "id",
                  "metadata",
                  "mode",
                  "invoice",
                  "charge",
                  "amount_refunded",
                  "amount",
                  "setup_intent",
                  "payment_intent",
                ),
                token: fc.oneof(
                  { weight: 6, arbitrary: hostileToken },
                  // Deep nesting that survives JSON.parse and must then cross the RPC to the object.
                  {
                    weight: 1,
                    arbitrary: fc.integer({ min: 100, max: 20_000 }).map((d) => `${"[".repeat(d)}${"]".repeat(d)}`),
                  },
                ),
                rechargeId: fc.constantFrom(meta.recharge_id ?? "", "rch_unknown", ""),
                eventId: fc.uuid(),
              })
              .map(({ type, field, token, rechargeId, eventId }) => {
                const object = JSON.stringify({
                  ...invoice,
                  object: type.startsWith("charge")
                    ? "charge"
                    : type.startsWith("checkout")
                      ? "checkout.session"
                      : "invoice",
                  metadata: { instance_id: inst.id, recharge_id: rechargeId },
                }).replace(/}$/, `,${JSON.stringify(field)}:${token}}`);
                return `{"id":"evt_fuzz_${eventId}","object":"event","type":${JSON.stringify(type)},"data":{"object":${object}}}`;
              }),
          },
        );
        await fc.assert(
          fc.asyncProperty(malformed, async (body) => {
            count("Stripe webhook", "signed but malformed event");
            const label = body.slice(0, 300);
            const before = await snapshot(inst, { skipTables: ["stripe_events"] });
            const reply = await post(body, {
              "content-type": "application/json",
              "stripe-signature": await signPayload(body, SECRET()),
            });
            // An event the billing engine cannot process (a dispute without a charge, an invoice Stripe does
            // not have) is logged and ignored (200): it would fail the same way on every one of Stripe's retries.
            expect(reply.status, `${label} → ${reply.text}`).toBeLessThan(500);
            if (reply.status >= 400) expectErrorShape(reply.status, reply.text, label);
            if (reply.status >= 400) {
              expectUnchanged(before, await snapshot(inst, { skipTables: ["stripe_events"] }), label);
            }
            const after = await snapshot(inst, { skipTables: ["stripe_events"] });
            // No invoice is credited twice, and nothing this system did not create is credited at all.
            expect(balanceIn(after), label).toBeLessThanOrEqual(balanceIn(before));
          }),
          fuzzParams(SIGNED_RUNS),
        );
      },
      timeoutFor(SIGNED_RUNS, 60),
    );

    it("wrong methods on the webhook route are 4xx and change nothing", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"),
          realPayload(),
          async (m, body) => {
            count("Stripe webhook", "wrong method");
            const before = await snapshot(inst);
            const reply = await post(body, { "stripe-signature": await signPayload(body, SECRET()) }, m);
            expect(reply.status, m).toBeGreaterThanOrEqual(400);
            expect(reply.status, m).toBeLessThan(500);
            if (m !== "HEAD") expectErrorShape(reply.status, reply.text, m);
            expectUnchanged(before, await snapshot(inst), m);
          },
        ),
        fuzzParams(8),
      );
    });
  });
}
