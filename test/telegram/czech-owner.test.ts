import { env, SELF } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { balance, buttonUrl, debit, Relay, stripeControl, stripeGet, waitForBalance } from "../billing/fixtures";
import { api, botToken, type Provisioned, provision, USD } from "../helpers";
import { deliver, privateText, type SentMessage, sentMessages, settle, sticker, waitForMessages } from "./fixtures";

/**
 * SPEC "Languages": a Czech owner (Telegram app in Czech, `language_code: "cs"`) goes through the whole story —
 * the welcome, /setupCredits, the card saved, the recharge, /stats, /help, the ⚠️ alert, the ✅ recovery — and
 * every message in the owner's chat is Czech. Then the owner switches to English with /language:en.
 */

const OWNER = 4242777;
const czechOwner = { id: OWNER, first_name: "Jana", language_code: "cs" };
const CLIENT = { id: 7777123, first_name: "Petr", language_code: "sk" };

/** English words that no Czech message has outside commands, links and brand names. */
const ENGLISH =
  /\b(the|your|you|is|are|was|credits?|balance|auto-?recharge|card|saved|invoices?|with|and|now|send|turn|off)\b/i;
const CZECH_LETTERS = /[áčďéěíňóřšťúůýž]/i;

/** The text with what is the same in every language taken out: links, /commands, amounts, card brands. */
function words(text: string): string {
  return text
    .replace(/https?:\/\/\S+/g, " ")
    .replace(/\/[A-Za-z]+(?::[^\s]*)?/g, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/\b(Visa|Stripe|Telegram|AI Expert(?:a|ovi)?)\b/g, " ");
}

function expectCzech(message: SentMessage): void {
  const rest = words(message.text);
  expect(rest, message.text).toMatch(CZECH_LETTERS);
  expect(rest, message.text).not.toMatch(ENGLISH);
}

async function ownerMessages(inst: Provisioned): Promise<SentMessage[]> {
  return sentMessages(inst.botToken, OWNER);
}

/** The owner writes; returns the messages the owner's chat got because of it (at least `replies`). */
async function ownerWrites(inst: Provisioned, text: string, replies = 1): Promise<SentMessage[]> {
  const before = (await ownerMessages(inst)).length;
  await deliver(inst, privateText(czechOwner, text));
  return (await waitForMessages(inst.botToken, OWNER, before + replies)).slice(before);
}

async function ownerToldAfter(inst: Provisioned, skip: number, pattern: RegExp): Promise<SentMessage> {
  return vi.waitFor(
    async () => {
      const found = (await ownerMessages(inst)).slice(skip).find((m) => pattern.test(m.text));
      if (!found) throw new Error(`owner not told ${pattern}`);
      return found;
    },
    { timeout: 15_000, interval: 100 },
  );
}

async function payCheckout(reply: SentMessage, relay: Relay | null): Promise<Relay> {
  const sessionId = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(reply))?.[1];
  if (!sessionId) throw new Error(`no Checkout session in ${reply.text}`);
  const { customer } = await stripeGet<{ customer: string }>(`/v1/checkout/sessions/${sessionId}`);
  await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: "pm_card_visa" });
  const r = relay ?? new Relay(() => customer);
  for (const status of await r.deliverAll()) expect(status).toBe(200);
  return r;
}

async function startedBot(token: string, started: boolean): Promise<void> {
  const res = await fetch(`${env.TELEGRAM_API_BASE}/__control/chat`, {
    method: "POST",
    body: JSON.stringify({ token, chat_id: OWNER, started }),
  });
  expect(res.status).toBe(200);
}

async function menu(token: string, languageCode?: string): Promise<{ command: string; description: string }[]> {
  const res = await fetch(`${env.TELEGRAM_API_BASE}/bot${token}/getMyCommands`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      scope: { type: "chat", chat_id: OWNER },
      ...(languageCode ? { language_code: languageCode } : {}),
    }),
  });
  return ((await res.json()) as { result: { command: string; description: string }[] }).result;
}

describe("a Czech owner hears Czech only", () => {
  it("welcome, /setupCredits, card saved, recharge, /stats, /help, ⚠️, ✅ — every owner message is Czech", async () => {
    // The owner has not started the bot: the welcome waits for the first message, and comes in its language.
    const token = botToken();
    await startedBot(token, false);
    const inst = await provision({ ownerTelegramId: OWNER, license: "starter", telegramBotToken: token }); // $50
    // Provisioning tried the welcome and Telegram refused it (the owner never started the bot): nothing reached the owner.
    expect(await ownerMessages(inst)).toEqual([]);
    await startedBot(token, true);

    // The owner's menu: Czech for a Czech or Slovak app, English otherwise.
    expect((await menu(token, "cs")).find((c) => c.command === "balance")?.description).toMatch(CZECH_LETTERS);
    const slovak = await menu(token, "sk");
    expect(slovak.map((c) => c.command)).toEqual((await menu(token)).map((c) => c.command));
    expect(slovak.find((c) => c.command === "balance")?.description).toMatch(CZECH_LETTERS);
    expect((await menu(token)).find((c) => c.command === "balance")?.description).toMatch(/balance/i);

    const [welcome, help] = await ownerWrites(inst, "/help", 2);
    expect(welcome?.text).toMatch(/^👋 /);
    expect(welcome?.text).toContain("$50.00");
    expect(help?.text).toContain("/setupCredits:500:100");

    // $50 is under the $100 threshold: saving the card charges the top-up at once, and the link says so.
    const [link] = await ownerWrites(inst, "/setupCredits:500:100");
    if (!link) throw new Error("no card link");
    expect(link.text).toContain("$500.00");
    // Stripe's page in Czech (Checkout's `locale`), and our page after it too.
    const linkSession = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(link))?.[1];
    const session = await stripeGet<{ locale: string; success_url: string }>(`/v1/checkout/sessions/${linkSession}`);
    expect(session.locale).toBe("cs");
    const done = await (await SELF.fetch(session.success_url)).text();
    expect(done).toContain('<html lang="cs">');
    expect(done).toContain("Děkujeme");
    const seen = (await ownerMessages(inst)).length;
    const relay = await payCheckout(link, null);
    const saved = await ownerToldAfter(inst, seen, /✅.*Visa •••• 4242/);
    await waitForBalance(inst, 550 * USD);
    await relay.deliverAll();
    const recharged = await ownerToldAfter(inst, seen, /✅.*\$500\.00.*\$550\.00/);
    expect(saved.text).not.toBe(recharged.text);

    const [stats] = await ownerWrites(inst, "/stats");
    expect(stats?.text.split("\n")[0]).toBe("Kredity: $550.00");
    const [balanceReply] = await ownerWrites(inst, "kolik mám kreditů?");
    expect(balanceReply?.text).toContain("$550.00");

    // A Slovak client's sticker is answered in Czech (the client's language, not the owner's).
    await deliver(inst, sticker(CLIENT));
    const [toClient] = await waitForMessages(inst.botToken, CLIENT.id, 1);
    if (!toClient) throw new Error("client not answered");
    expectCzech(toClient);

    // Auto-recharge off, then the credits run out: the ⚠️ alert, and the owner's own words get the reason.
    await ownerWrites(inst, "/stopCredits");
    const before = (await ownerMessages(inst)).length;
    expect((await debit(inst, "spend-all", 550 * USD)).status).toBe(200);
    const alert = await ownerToldAfter(inst, before, /^⚠️/);
    expect(alert.text).toContain("$0.00");
    await settle(300);
    const beforeWords = (await ownerMessages(inst)).length;
    const [outReply] = await ownerWrites(inst, "ahoj, jak se máš?");
    // A reply to the owner, not a second "out of credits" alert of the episode.
    expect(outReply?.text).toMatch(/^⚠️ Teď vám nemohu odpovědět pomocí AI/);
    expect(outReply?.text).toContain("/topUp:100");
    await settle(300);
    expect((await ownerMessages(inst)).length).toBe(beforeWords + 1); // the reply, not a second alert

    // A one-off top-up brings the bot back: one ✅.
    const [topUpLink] = await ownerWrites(inst, "/topUp:100");
    if (!topUpLink) throw new Error("no top-up link");
    const paidFrom = (await ownerMessages(inst)).length;
    await payCheckout(topUpLink, relay);
    await waitForBalance(inst, 100 * USD);
    const back = await ownerToldAfter(inst, paidFrom, /^✅/);
    expect(back.text).toContain("$100.00");

    await settle(300);
    const all = await ownerMessages(inst);
    expect(all.filter((m) => m.ok).length).toBeGreaterThanOrEqual(12);
    for (const message of all.filter((m) => m.ok)) expectCzech(message);
  });

  it("the owner's /language choice wins over the app's language, for replies, alerts and the menu", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro", ownerLanguage: "cs" });
    const [welcome] = await waitForMessages(inst.botToken, OWNER, 1);
    if (!welcome) throw new Error("no welcome");
    expectCzech(welcome); // the operator said Czech: the welcome before any message is Czech

    const [current] = await ownerWrites(inst, "/language");
    if (!current) throw new Error("no reply");
    expectCzech(current);
    const [problem] = await ownerWrites(inst, "/language:de");
    if (!problem) throw new Error("no reply");
    expectCzech(problem);
    expect(problem.text).toContain("/language:cs");
    const [chosen] = await ownerWrites(inst, "/language:en");
    expect(chosen?.text).toMatch(/English/);
    // Still a Czech app, but the owner chose English: English replies and an English menu in every list.
    const [balanceReply] = await ownerWrites(inst, "/balance");
    expect(balanceReply?.text).toMatch(/^Your credit balance: /);
    expect((await menu(inst.botToken, "cs")).find((c) => c.command === "balance")?.description).toMatch(/balance/i);
    const before = (await ownerMessages(inst)).length;
    expect((await debit(inst, "spend-all", 200 * USD)).status).toBe(200);
    expect((await ownerToldAfter(inst, before, /^⚠️/)).text).toMatch(/Out of credits/);
  });

  it("a client is answered in the client's own language: a model failure and the daily limit", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" });
    const czech = { id: 7777301, first_name: "Eva", language_code: "cs" };
    const english = { id: 7777302, first_name: "Tom", language_code: "en" };
    await deliver(inst, privateText(czech, "Dobrý den [[status:500]]"));
    await deliver(inst, privateText(english, "Hello [[status:500]]"));
    const [failedCs] = await waitForMessages(inst.botToken, czech.id, 1);
    const [failedEn] = await waitForMessages(inst.botToken, english.id, 1);
    if (!failedCs || !failedEn) throw new Error("clients not answered");
    expectCzech(failedCs);
    expect(failedEn.text).toMatch(/^Sorry, I can't answer right now/);

    // The client limit of $1.00 a day (END_USER_DAILY_CAP_USD) is used up by earlier answers of the same client.
    const spent = await api(`/v1/instances/${inst.id}/usage`, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: "cz-limit", operation: "response", costMicros: 1 * USD, endUserId: String(czech.id) },
    });
    expect(spent.status).toBe(200);
    await deliver(inst, privateText(czech, "Ještě jedna otázka"));
    const [, limited] = await waitForMessages(inst.botToken, czech.id, 2);
    if (!limited) throw new Error("no daily-limit message");
    expectCzech(limited);
    expect(limited.text).not.toBe(failedCs.text);
  });

  it("a Czech client's messages never change the owner's language: an English owner's alert stays English", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" }); // $200, English owner (no message yet)
    const czech = { id: 7777401, first_name: "Eva", language_code: "cs" };
    await deliver(inst, privateText(czech, "Dobrý den, kolik stojí konzultace?"));
    await deliver(inst, sticker(czech));
    await waitForMessages(inst.botToken, czech.id, 2);
    await settle(300);
    const before = (await ownerMessages(inst)).length;
    expect((await debit(inst, "spend-the-rest", await balance(inst))).status).toBe(200); // the answer cost a little
    const alert = await ownerToldAfter(inst, before, /^⚠️/);
    expect(alert.text).toMatch(/^⚠️ Out of credits/);
    // The owner's own words out of credits: the balance, the reason and the fix, in the owner's English.
    await settle(300);
    const seen = (await ownerMessages(inst)).length;
    await deliver(inst, privateText({ id: OWNER, first_name: "Olga", language_code: "en" }, "Hello, are you there?"));
    const reply = (await waitForMessages(inst.botToken, OWNER, seen + 1))[seen];
    expect(reply?.text).toMatch(
      /^⚠️ I can't answer you with the AI now: your bot is out of credits\.\nBalance: \$0\.00\nWhy: .+\nFix: /,
    );
  });
});
