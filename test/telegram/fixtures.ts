import { env, runInDurableObject, SELF } from "cloudflare:test";
import { vi } from "vitest";
import { type Provisioned, stub } from "../helpers";

/** Real Telegram update shapes (Bot API 7+), with only the fields that vary per test filled in. */

let nextUpdateId = 10_000;
let nextMessageId = 1;

export function updateId(): number {
  nextUpdateId += 1;
  return nextUpdateId;
}

interface Person {
  id: number;
  first_name?: string;
  username?: string;
  /** The Telegram app's language ("en" unless given; null: the field is absent, as Telegram may send it). */
  language_code?: string | null;
}

function user(p: Person) {
  const language_code = p.language_code === null ? undefined : (p.language_code ?? "en");
  return { id: p.id, is_bot: false, first_name: p.first_name ?? "Eva", username: p.username, language_code };
}

export function privateText(from: Person, text: string, extra: Record<string, unknown> = {}) {
  nextMessageId += 1;
  const entities = text.startsWith("/")
    ? [{ offset: 0, length: (/^\/[A-Za-z0-9_@]+/.exec(text)?.[0] ?? "/").length, type: "bot_command" }]
    : undefined;
  return {
    update_id: updateId(),
    message: {
      message_id: nextMessageId,
      from: user(from),
      chat: { id: from.id, first_name: from.first_name ?? "Eva", username: from.username, type: "private" },
      date: Math.floor(Date.now() / 1000),
      text,
      ...(entities ? { entities } : {}),
      ...extra,
    },
  };
}

export function groupText(from: Person, text: string) {
  nextMessageId += 1;
  return {
    update_id: updateId(),
    message: {
      message_id: nextMessageId,
      from: user(from),
      chat: { id: -1001234567890, title: "Clients", type: "supergroup" },
      date: Math.floor(Date.now() / 1000),
      text,
    },
  };
}

export function anonymousAdmin(text: string) {
  nextMessageId += 1;
  return {
    update_id: updateId(),
    message: {
      message_id: nextMessageId,
      from: { id: 1087968824, is_bot: true, first_name: "Group", username: "GroupAnonymousBot" },
      sender_chat: { id: -1001234567890, title: "Clients", type: "supergroup" },
      chat: { id: -1001234567890, title: "Clients", type: "supergroup" },
      date: Math.floor(Date.now() / 1000),
      text,
      entities: text.startsWith("/")
        ? [{ offset: 0, length: text.split(/\s|:/)[0]?.length ?? 1, type: "bot_command" }]
        : [],
    },
  };
}

export function channelForwardInPrivate(text: string) {
  nextMessageId += 1;
  return {
    update_id: updateId(),
    message: {
      message_id: nextMessageId,
      from: { id: 777000, is_bot: false, first_name: "Telegram" },
      chat: { id: 777000, first_name: "Telegram", type: "private" },
      date: Math.floor(Date.now() / 1000),
      text,
    },
  };
}

export function editedText(from: Person, text: string) {
  const u = privateText(from, text);
  return { update_id: u.update_id, edited_message: { ...u.message, edit_date: Math.floor(Date.now() / 1000) } };
}

export function channelPost(text: string) {
  nextMessageId += 1;
  return {
    update_id: updateId(),
    channel_post: {
      message_id: nextMessageId,
      sender_chat: { id: -1009876543210, title: "News", type: "channel" },
      chat: { id: -1009876543210, title: "News", type: "channel" },
      date: Math.floor(Date.now() / 1000),
      text,
    },
  };
}

export function callbackQuery(from: Person) {
  return {
    update_id: updateId(),
    callback_query: {
      id: `${from.id}${updateId()}`,
      from: user(from),
      chat_instance: "-123456789",
      data: "noop",
      message: {
        message_id: 1,
        from: { id: 1, is_bot: true, first_name: "Bot" },
        chat: { id: from.id, type: "private" },
        date: 1,
        text: "x",
      },
    },
  };
}

export function sticker(from: Person) {
  nextMessageId += 1;
  return {
    update_id: updateId(),
    message: {
      message_id: nextMessageId,
      from: user(from),
      chat: { id: from.id, first_name: "Eva", type: "private" },
      date: Math.floor(Date.now() / 1000),
      sticker: {
        file_id: "CAACAgIAAxkBAAEB",
        file_unique_id: "AgADBAAD",
        type: "regular",
        width: 512,
        height: 512,
        is_animated: false,
        is_video: false,
        emoji: "👍",
      },
    },
  };
}

// ---------------------------------------------------------------- talking to the stand-in

const telegram = () => env.TELEGRAM_API_BASE;

export async function webhookSecret(botToken: string): Promise<string> {
  const info = (await (
    await fetch(`${telegram()}/__control/webhook?token=${encodeURIComponent(botToken)}`)
  ).json()) as {
    secret_token: string;
  };
  return info.secret_token;
}

/** Posts an update to the Worker exactly as Telegram does. */
export async function deliver(inst: Provisioned, update: unknown, secret?: string): Promise<Response> {
  return SELF.fetch(`https://credits.example.test/telegram/${inst.id}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-telegram-bot-api-secret-token": secret ?? (await webhookSecret(inst.botToken)),
    },
    body: typeof update === "string" ? update : JSON.stringify(update),
  });
}

export interface SentMessage {
  method: string;
  chat_id: number;
  text: string;
  parse_mode?: string;
  reply_markup?: unknown;
  ok: boolean;
}

/** The welcome every new owner gets at provisioning (texts.welcome); test/api/welcome.test.ts reads it. */
const WELCOME = /^👋 Welcome/;

/**
 * Messages Telegram accepted for the chat, in order. The welcome sent at provisioning is left out, so a test reads
 * the owner's chat from the first exchange it makes (test/api/welcome.test.ts checks the welcome itself).
 */
export async function sentMessages(botToken: string, chatId?: number): Promise<SentMessage[]> {
  const url = `${telegram()}/__control/sent?token=${encodeURIComponent(botToken)}&ok=1${chatId ? `&chat_id=${chatId}` : ""}`;
  return ((await (await fetch(url)).json()) as { messages: SentMessage[] }).messages.filter(
    (m) => !WELCOME.test(m.text ?? ""),
  );
}

/** Waits until `count` messages reached the chat (answers are sent after the webhook replied). */
export async function waitForMessages(botToken: string, chatId: number, count: number): Promise<SentMessage[]> {
  return vi.waitFor(
    async () => {
      const messages = await sentMessages(botToken, chatId);
      if (messages.length < count) throw new Error(`only ${messages.length} of ${count} messages`);
      return messages;
    },
    { timeout: 10_000, interval: 50 },
  );
}

export async function failTelegram(
  botToken: string,
  method: string,
  status: number,
  count: number,
  retryAfter?: number,
) {
  await fetch(`${telegram()}/__control/fail`, {
    method: "POST",
    body: JSON.stringify({ token: botToken, method, status, count, retryAfter }),
  });
}

export async function modelRequests(contains: string) {
  const res = await fetch(
    `${env.AI_BASE_URL.replace(/\/v1$/, "")}/__control/requests?contains=${encodeURIComponent(contains)}`,
  );
  return (
    (await res.json()) as { requests: { response: { usage: { prompt_tokens: number; completion_tokens: number } } }[] }
  ).requests;
}

/** Lets the object finish its in-flight work before the test looks at a "nothing happened" outcome. */
export async function settle(ms = 300): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** An end user who already spent `micros` today (the bot's daily limit per client counts it). */
export async function spentToday(inst: Provisioned, endUserId: string, micros: number): Promise<void> {
  await runInDurableObject(stub(inst.id), (_i, state) => {
    state.storage.sql.exec(
      "INSERT INTO end_users (end_user_id, last_seen_at, spend_day, spend_day_micros) VALUES (?, ?, ?, ?)",
      endUserId,
      Date.now(),
      Math.floor(Date.now() / 86_400_000),
      micros,
    );
  });
}
