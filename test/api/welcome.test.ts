import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { botToken, provision } from "../helpers";
import { deliver, privateText, settle, webhookSecret } from "../telegram/fixtures";

/** Every sendMessage to the chat as the Telegram stand-in recorded it, refused ones included (no welcome filter). */
async function chatLog(token: string, chatId: number) {
  const url = `${env.TELEGRAM_API_BASE}/__control/sent?token=${encodeURIComponent(token)}&chat_id=${chatId}`;
  return (
    (await (await fetch(url)).json()) as {
      messages: { text: string; ok: boolean; error_code: number | null; description: string | null }[];
    }
  ).messages;
}

const isWelcome = (text: string) => /welcome/i.test(text);

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  return read();
}

describe("8. a new owner is welcomed", () => {
  it("8. at provisioning the owner gets ONE message: the bonus, what costs credits, /setupCredits:500:100 with the minimums, /help", async () => {
    const owner = 7300001;
    const inst = await provision({ ownerTelegramId: owner, license: "pro" });
    const log = await waitFor(
      () => chatLog(inst.botToken, owner),
      (m) => m.length > 0,
    );
    expect(log).toHaveLength(1);
    const [welcome] = log;
    expect(welcome?.ok).toBe(true);
    const text = welcome?.text ?? "";
    expect(text).toMatch(/welcome/i);
    expect(text).toContain("$200.00"); // the "pro" license bonus
    expect(text).toMatch(/answer/i); // what costs credits: answers to clients…
    expect(text).toMatch(/know-how/i); // …and processing the owner's know-how
    expect(text).toContain("/setupCredits:500:100");
    expect(text).toContain("$250.00"); // minimum top-up (MIN_TOP_UP_USD)
    expect(text).toContain("$100.00"); // minimum threshold (MIN_RECHARGE_AT_USD)
    expect(text).toContain("/help");
    // The owner's first message gets its own answer, and no second welcome.
    await deliver(inst, privateText({ id: owner }, "/balance"));
    const after = await waitFor(
      () => chatLog(inst.botToken, owner),
      (m) => m.length >= 2,
    );
    expect(after).toHaveLength(2);
    expect(after.filter((m) => isWelcome(m.text))).toHaveLength(1);
  });

  it("8. refused by Telegram (owner never started the bot), it goes with the owner's first message, exactly once", async () => {
    const owner = 7300002;
    const token = botToken();
    // The owner has not pressed Start: Telegram refuses to write first.
    await fetch(`${env.TELEGRAM_API_BASE}/__control/chat`, {
      method: "POST",
      body: JSON.stringify({ token, chat_id: owner, started: false }),
    });
    const inst = await provision({ ownerTelegramId: owner, license: "starter", telegramBotToken: token });
    const refused = await waitFor(
      () => chatLog(token, owner),
      (m) => m.length > 0,
    );
    expect(refused).toEqual([
      expect.objectContaining({
        ok: false,
        error_code: 403,
        description: "Forbidden: bot can't initiate conversation with a user",
      }),
    ]);
    expect(isWelcome(refused[0]?.text ?? "")).toBe(true);

    // The owner presses Start, and at once asks a question: two updates, delivered in parallel as Telegram may.
    await fetch(`${env.TELEGRAM_API_BASE}/__control/chat`, {
      method: "POST",
      body: JSON.stringify({ token, chat_id: owner, started: true }),
    });
    const secret = await webhookSecret(token);
    const statuses = await Promise.all([
      deliver(inst, privateText({ id: owner }, "/start"), secret),
      deliver(inst, privateText({ id: owner }, "how much credit do I have left?"), secret),
    ]);
    for (const res of statuses) expect(res.status).toBe(200);
    const delivered = await waitFor(
      async () => (await chatLog(token, owner)).filter((m) => m.ok),
      (m) => m.some((x) => isWelcome(x.text)) && m.some((x) => x.text.includes("$50.00") && !isWelcome(x.text)),
    );
    await settle(500);
    const all = (await chatLog(token, owner)).filter((m) => m.ok);
    expect(all.filter((m) => isWelcome(m.text))).toHaveLength(1);
    // The welcome comes first, before the answer to the question.
    expect(isWelcome(delivered[0]?.text ?? "")).toBe(true);
    expect(all.some((m) => m.text.includes("$50.00") && !isWelcome(m.text))).toBe(true);

    // Later messages never bring it again.
    await deliver(inst, privateText({ id: owner }, "/balance"), secret);
    await waitFor(
      async () => (await chatLog(token, owner)).filter((m) => m.ok),
      (m) => m.length >= all.length + 1,
    );
    await settle(300);
    expect((await chatLog(token, owner)).filter((m) => m.ok && isWelcome(m.text))).toHaveLength(1);
  });
});
