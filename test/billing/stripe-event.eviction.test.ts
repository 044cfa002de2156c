import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { provision, stub } from "../helpers";
import { buttonUrl, OWNER, ownerSays, postStripeEvent, stripeControl, stripeEvents, stripeGet } from "./fixtures";

/**
 * A Stripe event is acknowledged (200) only once it is recorded. An object reset while it handles the event
 * (an eviction, a deploy, an overload) must answer an error, so Stripe sends the event again; a 200 there
 * would lose it for good (a refund or a dispute never taken back). Found by the fault simulation (I14, seed
 * 1393772715). Evictions reset every object, so this file runs in the eviction pass.
 */
describe("a Stripe event under an eviction", () => {
  it("I14: an object reset mid-event answers 502, and the event delivered again takes effect once", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" });
    const reply = await ownerSays(inst, "/setupCredits:250:100");
    const sessionId = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(reply))?.[1] as string;
    const { customer } = await stripeGet<{ customer: string }>(`/v1/checkout/sessions/${sessionId}`);
    await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: "pm_card_visa" });
    // Saving the card waits 2 s on Stripe: long enough for the reset to land inside the event's handling.
    await stripeControl("fault", {
      match: { customer, pathPrefix: `/v1/customers/${customer}`, method: "POST" },
      kind: "timeout_after_success",
      count: 1,
      delayMs: 2_000,
    });
    const completed = (await stripeEvents(customer)).find((e) => e.type === "checkout.session.completed");
    const first = postStripeEvent(completed?.payload);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await abortAllDurableObjects();
    expect((await first).status).toBe(502);
    const recorded = () =>
      runInDurableObject(stub(inst.id), (_o, s) =>
        s.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM stripe_events").one(),
      );
    expect((await recorded()).n).toBe(0);
    expect((await postStripeEvent(completed?.payload)).status).toBe(200);
    expect((await recorded()).n).toBe(1);
    const card = await runInDurableObject(stub(inst.id), (_o, s) =>
      s.storage.sql.exec<{ payment_method_id: string | null }>("SELECT payment_method_id FROM billing").one(),
    );
    expect(card.payment_method_id).toBeTruthy();
  });
});
