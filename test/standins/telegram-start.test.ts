import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { botToken } from "../helpers";

const base = () => env.TELEGRAM_API_BASE;

async function send(token: string, chatId: number, text: string) {
  const res = await fetch(`${base()}/bot${token}/sendMessage`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ chat_id: chatId, text }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function chat(token: string, chatId: number, started: boolean) {
  const res = await fetch(`${base()}/__control/chat`, {
    method: "POST",
    body: JSON.stringify({ token, chat_id: chatId, started }),
  });
  expect(res.status).toBe(200);
}

describe("Telegram stand-in: a bot cannot start a conversation", () => {
  it("answers 403 'bot can't initiate conversation with a user' until the user starts the bot", async () => {
    const token = botToken();
    await chat(token, 5550001, false);
    const refused = await send(token, 5550001, "Hello");
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({
      ok: false,
      error_code: 403,
      description: "Forbidden: bot can't initiate conversation with a user",
    });
    // Other chats of the same bot are not affected.
    expect((await send(token, 5550002, "Hello")).status).toBe(200);
    // The refused call is recorded as refused, not as a message the user got.
    const sent = (await (await fetch(`${base()}/__control/sent?token=${token}&chat_id=5550001`)).json()) as {
      messages: { ok: boolean; error_code: number | null }[];
    };
    expect(sent.messages).toEqual([expect.objectContaining({ ok: false, error_code: 403 })]);
    await chat(token, 5550001, true);
    expect((await send(token, 5550001, "Hello again")).status).toBe(200);
  });

  it("a user who writes to the bot (an update delivered through the stand-in) has started it", async () => {
    const token = botToken();
    await chat(token, 5550003, false);
    expect((await send(token, 5550003, "Hi")).status).toBe(403);
    // Any reachable URL will do as the webhook: the delivery itself is what counts.
    const hook = await fetch(`${base()}/bot${token}/setWebhook`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: `${base()}/webhook-sink`, secret_token: "s3cret" }),
    });
    expect(hook.status).toBe(200);
    const delivered = await fetch(`${base()}/__control/deliver`, {
      method: "POST",
      body: JSON.stringify({
        token,
        update: {
          update_id: 1,
          message: { message_id: 1, from: { id: 5550003 }, chat: { id: 5550003 }, text: "/start" },
        },
      }),
    });
    expect(delivered.status).toBe(200);
    expect((await send(token, 5550003, "Welcome!")).status).toBe(200);
  });
});
