import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { signPayload } from "../../standins/stripe";
import { type Provisioned, provision } from "../helpers";
import { ORIGIN, workerFetch } from "./harness";
import { expectErrorShape, expectUnchanged, snapshot } from "./state";

/** Failures the fuzzers found, kept as named cases (each one failed before its fix). */

async function postSigned(body: string) {
  const res = await workerFetch(`${ORIGIN}/stripe/webhook`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "stripe-signature": await signPayload(body, env.STRIPE_WEBHOOK_SECRET),
    },
    body,
  });
  return { status: res.status, text: await res.text() };
}

export function stripeRegressions(): void {
  describe("fuzz regressions: Stripe webhook", () => {
    let inst: Provisioned;
    beforeAll(async () => {
      inst = await provision();
    });

    // Found by "validly signed but malformed events": the body `0` answered 502 "Stripe could not be
    // reached" (a TypeError while routing, blamed on Stripe) and `null` answered 500 (the error log
    // itself threw). Fixed in src/api/stripe-webhook.ts: the event envelope is checked after the signature.
    it.each([
      "0",
      "null",
      "[]",
      '"evt_1"',
      "{}",
      '{"id":"evt_x","type":"invoice.paid"}',
      '{"id":"evt_x","type":"invoice.paid","data":null}',
      '{"id":"evt_x","type":"invoice.paid","data":{"object":null}}',
      '{"id":"evt_x","type":"invoice.paid","data":{"object":"in_1"}}',
      '{"id":5,"type":"invoice.paid","data":{"object":{}}}',
    ])("regression: a signed body that is not a Stripe event (%s) is a 400, not a 5xx", async (body) => {
      const before = await snapshot(inst);
      const reply = await postSigned(body);
      expect(expectErrorShape(reply.status, reply.text, body).code).toBe("invalid_request");
      expectUnchanged(before, await snapshot(inst), body);
    });

    // Found by the same property: a dispute whose `charge` is missing or not an id threw a TypeError
    // while routing, answered 502 so that Stripe would retry it for days. Now it is unroutable: 200, ignored.
    it.each([
      '{"id":"evt_d1","type":"charge.dispute.created","data":{"object":{"id":"dp_1","charge":null}}}',
      '{"id":"evt_d2","type":"charge.dispute.created","data":{"object":{"id":"dp_1"}}}',
      '{"id":"evt_d3","type":"charge.dispute.created","data":{"object":{"id":"dp_1","charge":5}}}',
      '{"id":"evt_d4","type":"charge.dispute.created","data":{"object":{"id":"dp_1","charge":{"id":[]}}}}',
    ])("regression: a signed dispute without a charge id (%s) is ignored, not a 502", async (body) => {
      const reply = await postSigned(body);
      expect(reply.status, reply.text).toBe(200);
    });

    // Found by the same property: a signed event with an instance's metadata and a field nested 20,000
    // levels deep passed JSON.parse, then overflowed the stack on the RPC to the object: a 500.
    // Real Stripe objects nest about a dozen levels; deeper bodies are now refused with a 400.
    it.each([2_000, 20_000])("regression: a signed event nested %i levels deep is a 400, not a 500", async (depth) => {
      const deep = `${"[".repeat(depth)}${"]".repeat(depth)}`;
      const body = `{"id":"evt_deep_${depth}","type":"invoice.paid","data":{"object":{"id":"in_1","metadata":{"instance_id":"${inst.id}","recharge_id":"rch_1"},"amount_paid":${deep}}}}`;
      const before = await snapshot(inst);
      const reply = await postSigned(body);
      expect(expectErrorShape(reply.status, reply.text, `depth ${depth}`).code).toBe("invalid_request");
      expectUnchanged(before, await snapshot(inst), `depth ${depth}`);
    });
  });
}
