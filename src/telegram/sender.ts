import { type Api, GrammyError, HttpError } from "grammy";
import type { InlineKeyboardMarkup } from "grammy/types";

/** Telegram's limit on one message's text. */
export const MAX_MESSAGE_CHARS = 4096;
/** How long we are willing to wait on a 429 before giving the send up. */
const MAX_RETRY_AFTER_S = 30;
const MAX_ATTEMPTS = 4;

/**
 * Splits text into parts of at most `limit` characters, preferring paragraph, line and word
 * boundaries, and never splitting a surrogate pair.
 */
export function splitMessage(text: string, limit = MAX_MESSAGE_CHARS): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = -1;
    for (const boundary of ["\n\n", "\n", " "]) {
      const at = rest.lastIndexOf(boundary, limit);
      if (at > limit / 2) {
        cut = at + boundary.length;
        break;
      }
    }
    if (cut <= 0) {
      cut = limit;
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    }
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0 || parts.length === 0) parts.push(rest);
  return parts.filter((p) => p.length > 0);
}

export type SendResult = { ok: true } | { ok: false; permanent: boolean; description: string };

export interface SendOptions {
  parseMode?: "HTML";
  keyboard?: InlineKeyboardMarkup;
  sleep?: (ms: number) => Promise<void>;
  /**
   * For a message that states a fact which may stop being true while the send waits on Telegram (an alert
   * retried after a 5xx or a 429): asked before every attempt; when false the message is dropped, as sent.
   */
  stillTrue?: () => boolean;
}

/** Sends one message, honouring 429 `retry_after`. Model text goes as plain text so Telegram never rejects its formatting. */
export async function sendText(api: Api, chatId: number, text: string, options: SendOptions = {}): Promise<SendResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    if (options.stillTrue && !options.stillTrue()) return { ok: true };
    try {
      await api.sendMessage(chatId, text, {
        ...(options.parseMode ? { parse_mode: options.parseMode } : {}),
        ...(options.keyboard ? { reply_markup: options.keyboard } : {}),
        link_preview_options: { is_disabled: true },
      });
      return { ok: true };
    } catch (error) {
      if (error instanceof GrammyError) {
        const retryAfter = error.parameters.retry_after;
        if (
          error.error_code === 429 &&
          retryAfter !== undefined &&
          retryAfter <= MAX_RETRY_AFTER_S &&
          attempt < MAX_ATTEMPTS
        ) {
          await sleep(retryAfter * 1000);
          continue;
        }
        if (error.error_code >= 500 && attempt < MAX_ATTEMPTS) {
          await sleep(500 * attempt);
          continue;
        }
        return {
          ok: false,
          permanent: error.error_code !== 429 && error.error_code < 500,
          description: error.description,
        };
      }
      if (error instanceof HttpError && attempt < MAX_ATTEMPTS) {
        await sleep(500 * attempt);
        continue;
      }
      return { ok: false, permanent: false, description: error instanceof Error ? error.message : "send failed" };
    }
  }
}
