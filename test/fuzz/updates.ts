import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { expect, vi } from "vitest";
import { stub } from "../helpers";
import { hostileToken, type RawObject, rawText } from "./inputs";

/** Helpers for fuzzing the Telegram webhook: update shapes with hostile fields, and waiting for the inbox. */

export const OWNER = 4242001;
export const SERVICE_ACCOUNTS = [1087968824, 777000];

let nextUpdate = 5_000_000;
let nextMessage = 1;

export function freshUpdateId(): number {
  nextUpdate += 1;
  return nextUpdate;
}

/** Usually a plain id, sometimes a hostile token in its place. */
function idToken(plain: fc.Arbitrary<number>): fc.Arbitrary<string> {
  return fc.oneof({ weight: 10, arbitrary: plain.map(String) }, { weight: 1, arbitrary: hostileToken });
}

const person = fc.oneof(
  { weight: 3, arbitrary: fc.constant(OWNER) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 2 ** 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(...SERVICE_ACCOUNTS) },
);

/** Texts: commands (real, cased, disguised), balance questions, and anything at all. */
export const messageText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "/balance",
    "/stats",
    "/help",
    "/start",
    "/invoices",
    "/BALANCE",
    "/stats@someone_else_bot",
    "/stats@",
    "/",
    "//stats",
    "/ѕtats",
    "/bаlance",
    "/stats\u200b",
    "\u202e/stats",
    "What's my current credit balance?",
    "kolik mám kreditů?",
    "",
    " ",
    "\u200b",
  ),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 100 }),
);

/**
 * A Telegram update as raw JSON text: mostly the real shape of a private message, with any field
 * possibly replaced by a hostile token, plus other update kinds and extra fields.
 */
export function hostileUpdate(ownerHeavy = false): fc.Arbitrary<{ text: string; updateId: number | null }> {
  const from = ownerHeavy ? fc.constant(OWNER) : person;
  return fc
    .record({
      updateId: fc.oneof(
        { weight: 8, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: hostileToken },
        { weight: 1, arbitrary: fc.constantFrom("-1", "0", "1.5", "9007199254740993", '"42"') },
      ),
      kind: fc.constantFrom(
        "message",
        "message",
        "message",
        "edited_message",
        "channel_post",
        "callback_query",
        "poll",
      ),
      fromId: from.chain((id) => idToken(fc.constant(id))),
      sameChat: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      chatType: fc.oneof(
        { weight: 10, arbitrary: fc.constant('"private"') },
        { weight: 1, arbitrary: fc.constantFrom('"group"', '"supergroup"', '"channel"', '"PRIVATE"', '"prіvate"') },
        { weight: 1, arbitrary: hostileToken },
      ),
      isBot: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(null, "false") },
        { weight: 1, arbitrary: fc.constantFrom("true", '"false"', "0", "null") },
      ),
      senderChat: fc.oneof(
        { weight: 8, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom('{"id":-100123,"type":"channel"}', "null", "{}", "false") },
      ),
      text: fc.oneof(
        { weight: 10, arbitrary: messageText.map((t) => JSON.stringify(t)) },
        { weight: 1, arbitrary: hostileToken },
      ),
      entities: fc.constantFrom(
        null,
        '[{"offset":0,"length":6,"type":"bot_command"}]',
        '[{"offset":-1,"length":99999,"type":"bot_command"}]',
        '"x"',
        "[null]",
      ),
      extra: fc.option(
        fc.tuple(fc.constantFrom("__proto__", "constructor", "via_bot", "reply_to_message"), hostileToken),
        {
          nil: undefined,
        },
      ),
    })
    .map((u) => {
      const id = u.updateId === null ? freshUpdateId() : null;
      nextMessage += 1;
      const chatId = u.sameChat ? u.fromId : String(OWNER + 1);
      const message: RawObject = [
        ["message_id", String(nextMessage)],
        [
          "from",
          rawText([
            ["id", u.fromId],
            ["first_name", '"Eva"'],
            ...(u.isBot ? [["is_bot", u.isBot] as [string, string]] : []),
          ]),
        ],
        [
          "chat",
          rawText([
            ["id", chatId],
            ["type", u.chatType],
          ]),
        ],
        ["date", String(Math.floor(Date.now() / 1000))],
        ["text", u.text],
      ];
      if (u.senderChat) message.push(["sender_chat", u.senderChat]);
      if (u.entities) message.push(["entities", u.entities]);
      if (u.extra) message.push(u.extra);
      const body: RawObject = [["update_id", id === null ? (u.updateId as string) : String(id)]];
      if (u.kind === "callback_query") {
        body.push([
          "callback_query",
          rawText([
            ["id", '"cb-1"'],
            ["from", rawText([["id", u.fromId]])],
            ["data", '"x"'],
          ]),
        ]);
      } else if (u.kind === "poll") {
        body.push(["poll", '{"id":"p","question":"?","options":[]}']);
      } else {
        body.push([u.kind, rawText(message)]);
      }
      return { text: rawText(body), updateId: id };
    });
}

export interface UpdateRow {
  update_id: number;
  status: string;
  attempts: number;
  job: string | null;
}

export async function updateRows(id: string): Promise<UpdateRow[]> {
  return runInDurableObject(stub(id), (_i, state) =>
    state.storage.sql
      .exec<{ update_id: number; status: string; attempts: number; job: string | null }>(
        "SELECT update_id, status, attempts, job FROM telegram_updates ORDER BY update_id",
      )
      .toArray(),
  );
}

/**
 * Waits until every recorded update has been handled. A job that threw stays pending (its retry
 * is minutes away), so "still pending after the wait" is how a crashing job shows up.
 */
export async function waitForInbox(id: string, timeoutMs = 15_000): Promise<void> {
  await vi.waitFor(
    async () => {
      const pending = (await updateRows(id)).filter((r) => r.status !== "done");
      expect(pending, "jobs still pending (a job that threw stays pending)").toEqual([]);
    },
    { timeout: timeoutMs, interval: 30 },
  );
}
