import { describe, expect, it } from "vitest";
import { ADMIN, api, type Provisioned, provision } from "../helpers";
import { buttonUrl, OWNER, ownerSays, Relay, stripeControl, stripeGet, waitForPaidInvoices } from "./fixtures";

/**
 * Invoices reach the owner's mailbox: the Stripe customer has the owner's email before the first charge, so the
 * invoice Stripe finalizes for the first recharge carries it (`customer_email` is fixed at finalization). Three
 * ways: `ownerEmail` at provisioning, the email Checkout collected, `/invoiceEmail`.
 */

interface StripeCustomer {
  id: string;
  email: string | null;
}

async function sessionOf(url: string) {
  const id = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(url)?.[1];
  if (!id) throw new Error(`no Checkout session in ${url}`);
  return stripeGet<{
    id: string;
    customer: string;
    mode: string;
    billing_address_collection: string | null;
    tax_id_collection: { enabled: boolean };
  }>(`/v1/checkout/sessions/${id}`);
}

/** `/setupCredits` with a $50 starter balance under the $100 threshold: saving the card recharges at once. */
async function askForCard(inst: Provisioned) {
  const reply = await ownerSays(inst, "/setupCredits:250:100");
  return sessionOf(buttonUrl(reply));
}

/** Completes the card link (the owner on Checkout's page), relays `checkout.session.completed`, waits for the charge. */
async function saveCardAndRecharge(session: { id: string; customer: string }, entered: Record<string, unknown> = {}) {
  await stripeControl(`checkout/${session.id}/complete`, { paymentMethod: "pm_card_visa", ...entered });
  const relay = new Relay(() => session.customer);
  expect(await relay.deliverAll((e) => e.type === "checkout.session.completed")).toEqual([200]);
  const paid = await waitForPaidInvoices(session.customer, 1);
  const first = paid.invoices[0];
  if (!first) throw new Error("no invoice");
  return stripeGet<{ customer_email: string | null; collection_method: string; status: string }>(
    `/v1/invoices/${first.id}`,
  );
}

describe("10. the Stripe customer has the owner's email before the first charge", () => {
  it("10. from provisioning: ownerEmail (validated, in /openapi.json) is the customer's email from its creation", async () => {
    const bad = await api("/admin/instances", {
      method: "POST",
      headers: ADMIN,
      body: {
        id: `mail-bad-${crypto.randomUUID().slice(0, 8)}`,
        telegramBotToken: `123456:AAE${crypto.randomUUID().replaceAll("-", "")}`,
        ownerTelegramId: OWNER,
        ownerEmail: "olga(at)example.test",
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error?.code).toBe("invalid_request");
    expect(bad.json.error?.message).toMatch(/ownerEmail/);
    const doc = await api("/openapi.json");
    const schema = (doc.json.components as { schemas: Record<string, { properties: Record<string, unknown> }> }).schemas
      .CreateInstance;
    expect(schema?.properties.ownerEmail).toMatchObject({ type: "string", format: "email" });

    const inst = await provision({ ownerTelegramId: OWNER, license: "starter", ownerEmail: "olga@example.test" });
    const session = await askForCard(inst);
    // Before the owner even opens the link, the customer has the email.
    expect((await stripeGet<StripeCustomer>(`/v1/customers/${session.customer}`)).email).toBe("olga@example.test");
    const invoice = await saveCardAndRecharge(session);
    expect(invoice).toMatchObject({
      status: "paid",
      collection_method: "charge_automatically",
      customer_email: "olga@example.test",
    });
  });

  it("10. from Checkout: the email the owner entered when saving the card is the customer's, and the bot knows it", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "starter" });
    const session = await askForCard(inst);
    expect((await stripeGet<StripeCustomer>(`/v1/customers/${session.customer}`)).email).toBeNull();
    const invoice = await saveCardAndRecharge(session, { email: "collected@example.test" });
    expect(invoice.customer_email).toBe("collected@example.test");
    expect((await stripeGet<StripeCustomer>(`/v1/customers/${session.customer}`)).email).toBe("collected@example.test");
    // The owner can see where invoices go.
    const where = await ownerSays(inst, "/invoiceEmail");
    expect(where.text).toContain("collected@example.test");
  });

  it("10. from /invoiceEmail: validated with a helpful reply, then set on the customer before the first charge", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "starter" });
    for (const bad of ["/invoiceEmail:olga", "/invoiceEmail:olga@", "/invoiceEmail:a b@example.test"]) {
      const reply = await ownerSays(inst, bad);
      expect(reply.text, bad).toMatch(/email/i);
      expect(reply.text, bad).toContain("/invoiceEmail:name@example.com");
    }
    const session = await askForCard(inst);
    expect((await stripeGet<StripeCustomer>(`/v1/customers/${session.customer}`)).email).toBeNull();
    const set = await ownerSays(inst, "/invoiceEmail:Olga.Novak@Example.test");
    expect(set.text).toContain("Olga.Novak@Example.test");
    expect((await stripeGet<StripeCustomer>(`/v1/customers/${session.customer}`)).email).toBe(
      "Olga.Novak@Example.test",
    );
    // Checkout prefills the customer's email and does not let it change; the first invoice goes there.
    const invoice = await saveCardAndRecharge(session, { email: "someone-else@example.test" });
    expect(invoice.customer_email).toBe("Olga.Novak@Example.test");
  });
});

describe("billing portal", () => {
  it("billing portal: /billing replies with a Stripe Customer Portal link that returns to the bot", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro", ownerEmail: "portal@example.test" });
    const reply = await ownerSays(inst, "/billing");
    expect(reply.text).toMatch(/invoice/i);
    const url = buttonUrl(reply);
    expect(url).toMatch(/\/portal\/bps_/);
    const page = await (await fetch(url)).text();
    // The portal shows the instance's customer, and its way back is the bot's chat.
    expect(page).toContain("portal@example.test");
    expect(page).toContain(`https://t.me/bot${inst.botToken.split(":")[0]}_bot`);
  });

  it("billing portal: card saving and top-ups collect the billing address and let a business enter its tax ID", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" });
    const setup = await askForCard(inst);
    expect(setup).toMatchObject({ billing_address_collection: "required", tax_id_collection: { enabled: true } });
    const topUp = await sessionOf(buttonUrl(await ownerSays(inst, "/topUp:100")));
    expect(topUp).toMatchObject({
      mode: "payment",
      billing_address_collection: "required",
      tax_id_collection: { enabled: true },
    });
    // A business enters its name, address and VAT ID: they land on the customer, so invoices carry them.
    await stripeControl(`checkout/${setup.id}/complete`, {
      email: "billing@olga.example",
      name: "Olga Consulting s.r.o.",
      address: { line1: "Na Příkopě 1", city: "Praha", postal_code: "11000", country: "CZ" },
      taxId: { type: "eu_vat", value: "CZ12345678" },
    });
    const customer = await stripeGet<{ name: string; address: { country: string } }>(`/v1/customers/${setup.customer}`);
    expect(customer).toMatchObject({ name: "Olga Consulting s.r.o.", address: { country: "CZ" } });
  });
});
