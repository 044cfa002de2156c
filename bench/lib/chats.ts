import { type AppClient, OWNER_TELEGRAM_ID } from "./app";
import type { ReplyTap } from "./standins";

/**
 * Telegram chats as the benchmark plays them: an update POSTed to the bot's webhook the way Telegram posts it
 * (the secret-token header the bot registered), then the reply awaited at the Telegram stand-in. One chat has one
 * message in flight at a time (a person waits for the answer before writing again).
 */

export interface Bot {
  id: string;
  token: string;
  /** The webhook: this worker's `/telegram/:id` (the URL the bot registered points at the production host). */
  url: string;
  secret: string;
  /** Client messages answered (each one metered answer on the product). */
  answered: number;
}

export interface Exchange {
  bot: Bot;
  /** The message's text (the question the model is asked). */
  text: string;
  /** `performance.now()` when the update was POSTed and when its reply reached Telegram. */
  sent: number;
  replied: number;
}

/** Epoch ms of a `performance.now()` reading (to line exchanges up with the object's own `Date.now()`). */
export const epochMs = (t: number) => performance.timeOrigin + t;

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Provisions bots through the admin API (each registers its webhook with the Telegram stand-in). */
export async function provisionBots(
  client: AppClient,
  telegramOrigin: string,
  ids: string[],
  workerUrl: string,
): Promise<Bot[]> {
  const provisioned = await client.provisionMany(ids, { fundUsd: 100_000 });
  return Promise.all(
    provisioned.map(async (p) => {
      const hook = await fetch(`${telegramOrigin}/__control/webhook?token=${encodeURIComponent(p.botToken)}`);
      const { secret_token } = (await hook.json()) as { secret_token: string };
      return { id: p.id, token: p.botToken, url: `${workerUrl}/telegram/${p.id}`, secret: secret_token, answered: 0 };
    }),
  );
}

let updateIds = 1_000_000;

/** One message from `chatId` (the owner's when it is OWNER_TELEGRAM_ID) and the time its reply reached Telegram. */
export async function ask(tap: ReplyTap, bot: Bot, chatId: number, text: string): Promise<Exchange> {
  updateIds += 1;
  const id = updateIds;
  const reply = tap.next(bot.token, chatId);
  reply.catch(() => undefined);
  const person = {
    id: chatId,
    is_bot: false,
    first_name: chatId === OWNER_TELEGRAM_ID ? "Olga" : "Ann",
    language_code: "en",
  };
  const command = /^\/\w+/.exec(text)?.[0];
  const sent = performance.now();
  const response = await fetch(bot.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": bot.secret },
    body: JSON.stringify({
      update_id: id,
      message: {
        message_id: id,
        from: person,
        chat: { id: chatId, first_name: person.first_name, type: "private" },
        date: Math.floor(Date.now() / 1000),
        text,
        ...(command ? { entities: [{ offset: 0, length: command.length, type: "bot_command" }] } : {}),
      },
    }),
  });
  await response.text();
  if (response.status !== 200) throw new Error(`${bot.id}: webhook answered ${response.status}`);
  const replied = await reply;
  if (chatId !== OWNER_TELEGRAM_ID) bot.answered += 1;
  return { bot, text, sent, replied };
}

export interface Chat {
  bot: Bot;
  chatId: number;
}

/** `chats` clients (chat ids from 10,000,001) spread round-robin over `bots`. */
export function clients(bots: Bot[], chats: number): Chat[] {
  return Array.from({ length: chats }, (_, i) => ({ bot: bots[i % bots.length] as Bot, chatId: 10_000_001 + i }));
}

/**
 * Every chat asks, waits for the answer and asks again until `seconds` have passed; a message sent before the
 * end is always waited for. The model stand-in waits `delayMs` before answering (its `[[delay]]` directive).
 */
export async function converse(
  tap: ReplyTap,
  chats: Chat[],
  seconds: number,
  delayMs: number,
  failures: string[],
  tag = "",
): Promise<Exchange[]> {
  const deadline = performance.now() + seconds * 1000;
  const out: Exchange[] = [];
  let n = 0;
  await Promise.all(
    chats.map(async (chat) => {
      while (performance.now() < deadline) {
        n += 1;
        try {
          out.push(await ask(tap, chat.bot, chat.chatId, `${tag}Question ${n}? [[delay:${delayMs}]]`));
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
          return;
        }
      }
    }),
  );
  return out;
}

/** Wall time covered by at least one of the spans (epoch ms pairs): an object's active time, ms. */
export function unionMs(list: (readonly [number, number])[]): number {
  const spans = [...list].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let start = Number.NaN;
  let end = Number.NEGATIVE_INFINITY;
  for (const [s, e] of spans) {
    if (s > end) {
      if (Number.isFinite(start)) total += end - start;
      start = s;
      end = e;
    } else end = Math.max(end, e);
  }
  if (Number.isFinite(start)) total += end - start;
  return total;
}
