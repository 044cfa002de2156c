import { describe, expect, it } from "vitest";
import { control, controlStatus, customerWithCard, events, raw, stripe } from "./stripe-client";

async function setupSession(customer: string) {
  return stripe().checkout.sessions.create({
    mode: "setup",
    customer,
    success_url: "https://example.test/done",
    metadata: { instance_id: "inst-expiry" },
  });
}

const NOT_OPEN = (status: string) =>
  `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of \`${status}\`.`;

describe("Stripe stand-in: Checkout session expiry", () => {
  it("the API's expire sends checkout.session.expired; a second expire and a completion are refused", async () => {
    const customer = await customerWithCard();
    const session = await setupSession(customer);
    const expired = await stripe().checkout.sessions.expire(session.id);
    expect(expired).toMatchObject({ status: "expired", url: null });
    const sent = (await events(customer)).filter((e) => e.type === "checkout.session.expired");
    expect(sent).toHaveLength(1);
    expect(sent[0]?.payload.data.object).toMatchObject({
      id: session.id,
      object: "checkout.session",
      status: "expired",
      metadata: { instance_id: "inst-expiry" },
    });
    expect((await stripe().checkout.sessions.retrieve(session.id)).status).toBe("expired");
    const again = await raw("POST", `/v1/checkout/sessions/${session.id}/expire`, { form: {} });
    expect(again.status).toBe(400);
    expect(again.json.error).toMatchObject({ type: "invalid_request_error", message: NOT_OPEN("expired") });
    expect((await controlStatus(`checkout/${session.id}/complete`, {})).status).toBe(400);
  });

  it("expire-now simulates the 24 hours passing; a completed session cannot expire", async () => {
    const customer = await customerWithCard();
    const open = await setupSession(customer);
    const after = await control<{ status: string }>(`checkout/${open.id}/expire-now`, {});
    expect(after.status).toBe("expired");
    expect((await stripe().checkout.sessions.retrieve(open.id)).status).toBe("expired");
    const types = (await events(customer)).map((e) => e.type);
    expect(types).toEqual(["checkout.session.expired"]);

    const completed = await setupSession(customer);
    await control(`checkout/${completed.id}/complete`, { paymentMethod: "pm_card_visa" });
    const refused = await controlStatus(`checkout/${completed.id}/expire-now`, {});
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).error.message).toBe(NOT_OPEN("complete"));
    const viaApi = await raw("POST", `/v1/checkout/sessions/${completed.id}/expire`, { form: {} });
    expect(viaApi.json.error).toMatchObject({ message: NOT_OPEN("complete") });
    expect((await stripe().checkout.sessions.retrieve(completed.id)).status).toBe("complete");
  });
});

describe("Stripe stand-in: Checkout's locale", () => {
  it("keeps a supported locale (the hosted page's language) and refuses one Checkout does not have", async () => {
    const customer = await customerWithCard();
    const czech = await stripe().checkout.sessions.create({
      mode: "setup",
      customer,
      success_url: "https://example.test/done",
      locale: "cs",
    });
    expect(czech.locale).toBe("cs");
    expect((await setupSession(customer)).locale).toBeNull();
    const bad = await raw("POST", "/v1/checkout/sessions", {
      form: { mode: "setup", customer, success_url: "https://example.test/done", locale: "xx" },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ type: "invalid_request_error", param: "locale" });
  });
});
