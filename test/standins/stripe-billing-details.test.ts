import { describe, expect, it } from "vitest";
import { control, customerWithCard, openInvoice, raw, stripe } from "./stripe-client";

const form = (params: Record<string, string>) => ({ form: params });

describe("Stripe stand-in: Customer Portal sessions", () => {
  it("POST /v1/billing_portal/sessions answers Stripe's billing_portal.session object", async () => {
    const customer = await customerWithCard();
    const session = await stripe().billingPortal.sessions.create({ customer, return_url: "https://t.me/some_bot" });
    // Every field stripe-node 23 types for BillingPortal.Session (after_expiration is optional there), none more.
    expect(Object.keys(session).sort()).toEqual(
      [
        "configuration",
        "created",
        "customer",
        "customer_account",
        "flow",
        "id",
        "livemode",
        "locale",
        "object",
        "on_behalf_of",
        "return_url",
        "url",
      ].sort(),
    );
    expect(session).toMatchObject({
      object: "billing_portal.session",
      customer,
      customer_account: null,
      flow: null,
      livemode: false,
      locale: null,
      on_behalf_of: null,
      return_url: "https://t.me/some_bot",
    });
    expect(session.id).toMatch(/^bps_/);
    expect(session.configuration).toMatch(/^bpc_/);
    const page = await fetch(session.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("owner@example.test");
  });

  it("refuses a missing or unknown customer, a bad return_url and unknown parameters as Stripe words them", async () => {
    const missing = await raw("POST", "/v1/billing_portal/sessions", form({ return_url: "https://t.me/x" }));
    expect(missing.status).toBe(400);
    expect(missing.json.error).toEqual({
      type: "invalid_request_error",
      code: "parameter_missing",
      message: "Missing required param: customer.",
      param: "customer",
    });
    const unknown = await raw("POST", "/v1/billing_portal/sessions", form({ customer: "cus_nope" }));
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toEqual({
      type: "invalid_request_error",
      code: "resource_missing",
      message: "No such customer: 'cus_nope'",
      param: "customer",
    });
    const customer = await customerWithCard();
    const badUrl = await raw("POST", "/v1/billing_portal/sessions", form({ customer, return_url: "t.me/x" }));
    expect(badUrl.json.error).toMatchObject({ message: "Not a valid URL", param: "return_url" });
    const extra = await raw("POST", "/v1/billing_portal/sessions", form({ customer, features: "all" }));
    expect(extra.json.error).toMatchObject({ message: "Received unknown parameter: features" });
  });
});

describe("Stripe stand-in: billing details in Checkout", () => {
  const setup = (extra: Record<string, string>) =>
    raw(
      "POST",
      "/v1/checkout/sessions",
      form({ mode: "setup", currency: "usd", success_url: "https://example.test/done", ...extra }),
    );

  it("validates billing_address_collection, tax_id_collection and customer_update as Stripe does", async () => {
    const customer = (await stripe().customers.create({ email: "a@example.test" })).id;
    const badEnum = await setup({ customer, billing_address_collection: "always" });
    expect(badEnum.json.error).toMatchObject({
      message: "Invalid billing_address_collection: must be one of auto or required",
      param: "billing_address_collection",
    });
    const noCustomer = await setup({ "customer_update[address]": "auto" });
    expect(noCustomer.status).toBe(400);
    expect(noCustomer.json.error).toMatchObject({
      message: "`customer_update` can only be used with `customer`.",
      param: "customer_update",
    });
    const both = await setup({ customer, customer_email: "a@example.test" });
    expect(both.json.error).toMatchObject({
      message: "You may only specify one of these parameters: customer, customer_email.",
    });
    const noName = await setup({ customer, "tax_id_collection[enabled]": "true" });
    expect(noName.json.error).toMatchObject({
      message:
        "Tax ID collection requires updating business name on the customer. To enable tax ID collection for an existing customer, please set `customer_update[name]` to `auto`.",
    });
    const noAddress = await setup({ customer, "tax_id_collection[enabled]": "true", "customer_update[name]": "auto" });
    expect(noAddress.json.error).toMatchObject({
      message:
        "We could not find a valid address on the provided customer. To enable tax ID collection, please set customer_update[address] to auto.",
      param: "customer_update[address]",
    });
    const badMode = await setup({ customer, "customer_update[name]": "sometimes" });
    expect(badMode.json.error).toMatchObject({ param: "customer_update[name]" });

    const ok = await stripe().checkout.sessions.create({
      mode: "setup",
      currency: "usd",
      customer,
      success_url: "https://example.test/done",
      billing_address_collection: "required",
      tax_id_collection: { enabled: true },
      customer_update: { address: "auto", name: "auto" },
    });
    expect(ok).toMatchObject({
      billing_address_collection: "required",
      tax_id_collection: { enabled: true, required: "never" },
      customer_details: null,
    });
  });

  it("on completion Checkout sets the entered email on a customer without one, and writes back address, name and tax ID", async () => {
    const api = stripe();
    const customer = (await api.customers.create({ name: "AI Expert inst-x" })).id;
    const session = await api.checkout.sessions.create({
      mode: "setup",
      currency: "usd",
      customer,
      success_url: "https://example.test/done",
      billing_address_collection: "required",
      tax_id_collection: { enabled: true },
      customer_update: { address: "auto", name: "auto" },
    });
    await control(`checkout/${session.id}/complete`, {
      email: "olga@example.test",
      name: "Olga Consulting s.r.o.",
      address: { line1: "Na Příkopě 1", city: "Praha", postal_code: "11000", country: "CZ" },
      taxId: { type: "eu_vat", value: "CZ12345678" },
    });
    const done = await api.checkout.sessions.retrieve(session.id);
    expect(done.customer_details).toMatchObject({
      email: "olga@example.test",
      name: "Olga Consulting s.r.o.",
      business_name: "Olga Consulting s.r.o.",
      address: { city: "Praha", country: "CZ" },
      tax_ids: [{ type: "eu_vat", value: "CZ12345678" }],
    });
    const after = await api.customers.retrieve(customer);
    expect(after).toMatchObject({
      email: "olga@example.test",
      name: "Olga Consulting s.r.o.",
      address: { line1: "Na Příkopě 1", city: "Praha", country: "CZ" },
    });

    // A customer with an email keeps it: Checkout prefills it and does not let it be changed.
    const known = (await api.customers.create({ email: "kept@example.test" })).id;
    const second = await api.checkout.sessions.create({
      mode: "setup",
      currency: "usd",
      customer: known,
      success_url: "https://example.test/done",
    });
    await control(`checkout/${second.id}/complete`, { email: "other@example.test" });
    expect((await api.customers.retrieve(known)) as { email: string | null }).toMatchObject({
      email: "kept@example.test",
    });
  });

  it("customer emails are validated; an invoice keeps the customer's email as of its finalization", async () => {
    const bad = await raw("POST", "/v1/customers", form({ email: "not-an-email" }));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: "email_invalid", param: "email" });
    const customer = await customerWithCard();
    const api = stripe();
    const draft = await api.invoices.create({ customer, collection_method: "charge_automatically" });
    await api.customers.update(customer, { email: "before@example.test" });
    expect((await api.invoices.retrieve(draft.id)).customer_email).toBe("before@example.test");
    const open = await openInvoice(customer, 1000);
    expect(open.customer_email).toBe("before@example.test");
    await api.customers.update(customer, { email: "after@example.test" });
    expect((await api.invoices.retrieve(open.id)).customer_email).toBe("before@example.test");
  });
});
