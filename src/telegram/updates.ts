/**
 * Routing of Telegram updates, as pure functions of the update JSON and the instance's owner.
 * This is the trust boundary for owner features: only a private chat with the stored owner
 * (a person, not a service account or a chat speaking as itself) reaches them.
 */

import { type Lang, langOfCode } from "../lang";

/** Telegram's service accounts: anonymous group admin and channel forwards. Never an owner. */
export const SERVICE_ACCOUNT_IDS: ReadonlySet<number> = new Set([1087968824, 777000]);

/** Owner commands, by lowercase name: Telegram command names are matched case-insensitively here. */
export const OWNER_COMMANDS = [
  "balance",
  "stats",
  "dashboard",
  "help",
  "start",
  "billing",
  "invoiceemail",
  "setupcredits",
  "changecreditstopup",
  "topup",
  "invoices",
  "stopcredits",
  "clientlimit",
  "language",
] as const;
export type OwnerCommand = (typeof OWNER_COMMANDS)[number];

/**
 * `lang`: the sender's Telegram `language_code` as one of our languages (null: the message carried none). A
 * client is answered in it; for the owner it updates the owner's language unless they chose one (/language).
 */
export type Job =
  | { kind: "owner_command"; chatId: number; command: OwnerCommand; args: string[]; lang: Lang | null }
  | { kind: "owner_unknown_command"; chatId: number; command: string; lang: Lang | null }
  | { kind: "owner_text"; chatId: number; text: string; lang: Lang | null }
  | { kind: "user_text"; chatId: number; userId: number; text: string; lang: Lang | null }
  | { kind: "refuse_command"; chatId: number; lang: Lang | null }
  | { kind: "non_text"; chatId: number; owner: boolean; lang: Lang | null }
  | { kind: "callback"; callbackQueryId: string };

export type Route = Job | { kind: "ignore"; why: string };

export interface ParsedCommand {
  name: string;
  /** Bot the command is addressed to (`/stats@SomeBot`), if any. */
  addressee: string | null;
  args: string[];
}

const COMMAND = /^\/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{1,64}))?(?=$|[\s:])([\s\S]*)$/;

/**
 * `/setupCredits:500:100` and `/setupCredits 500 100` both give ["500", "100"]: Telegram's
 * bot_command entity covers only `/setupCredits`, the rest is ours to parse. Empty parts are
 * kept (`/setupCredits:500:` → ["500", ""]) so that a missing part can be named in the reply.
 */
export function parseCommand(text: string): ParsedCommand | null {
  const match = COMMAND.exec(text.trim());
  if (!match) return null;
  const rest = (match[3] ?? "").trim().replace(/^:\s*/, "");
  const args = rest === "" ? [] : rest.split(/\s*:\s*|\s+/);
  return { name: (match[1] ?? "").toLowerCase(), addressee: match[2] ?? null, args };
}

function isOwnerCommand(name: string): name is OwnerCommand {
  return (OWNER_COMMANDS as readonly string[]).includes(name);
}

interface Message {
  chat?: { id?: unknown; type?: unknown };
  from?: { id?: unknown; is_bot?: unknown; language_code?: unknown };
  sender_chat?: unknown;
  text?: unknown;
}

function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

export function updateIdOf(update: unknown): number | null {
  const id = asObject(update)?.update_id;
  return typeof id === "number" && Number.isSafeInteger(id) && id >= 0 ? id : null;
}

export function routeUpdate(update: unknown, ownerId: number, botUsername: string | null): Route {
  const u = asObject(update);
  if (!u) return { kind: "ignore", why: "not an object" };
  if (u.edited_message || u.edited_channel_post) return { kind: "ignore", why: "edited message" };
  if (u.channel_post) return { kind: "ignore", why: "channel post" };
  const callback = asObject(u.callback_query);
  if (callback) {
    return typeof callback.id === "string"
      ? { kind: "callback", callbackQueryId: callback.id }
      : { kind: "ignore", why: "malformed callback" };
  }
  const message = asObject(u.message) as Message | null;
  if (!message) return { kind: "ignore", why: "no message" };
  const chat = asObject(message.chat);
  const from = asObject(message.from);
  const chatId = chat?.id;
  const fromId = from?.id;
  if (typeof chatId !== "number" || typeof fromId !== "number") return { kind: "ignore", why: "no chat or sender" };
  if (chat?.type !== "private") return { kind: "ignore", why: "not a private chat" };
  if (message.sender_chat !== undefined || SERVICE_ACCOUNT_IDS.has(fromId) || from?.is_bot === true) {
    return { kind: "ignore", why: "not a person" };
  }
  const isOwner = fromId === ownerId && chatId === fromId;
  const lang = langOfCode(from?.language_code);
  if (typeof message.text !== "string" || message.text.trim() === "") {
    return { kind: "non_text", chatId, owner: isOwner, lang };
  }
  const text = message.text;

  const command = parseCommand(text);
  if (command) {
    if (command.addressee && command.addressee.toLowerCase() !== (botUsername ?? "").toLowerCase()) {
      return { kind: "ignore", why: "command for another bot" };
    }
    if (isOwner) {
      return isOwnerCommand(command.name)
        ? { kind: "owner_command", chatId, command: command.name, args: command.args, lang }
        : { kind: "owner_unknown_command", chatId, command: command.name, lang };
    }
    // A client's Start greets the bot in the client's language, so the model's first answer comes in it too.
    if (command.name === "start") {
      return { kind: "user_text", chatId, userId: fromId, text: lang === "cs" ? "Dobrý den!" : "Hello!", lang };
    }
    if (isOwnerCommand(command.name) && command.name !== "help") return { kind: "refuse_command", chatId, lang };
  }
  return isOwner
    ? { kind: "owner_text", chatId, text, lang }
    : { kind: "user_text", chatId, userId: fromId, text, lang };
}
