import { describe, expect, it } from "vitest";
import { parseCommand, routeUpdate, SERVICE_ACCOUNT_IDS, updateIdOf } from "../../src/telegram/updates";
import {
  anonymousAdmin,
  callbackQuery,
  channelForwardInPrivate,
  channelPost,
  editedText,
  groupText,
  privateText,
  sticker,
} from "./fixtures";

const OWNER = { id: 4242, first_name: "Olga" };
const CLIENT = { id: 7777, first_name: "Karel" };
const BOT = "ExpertBot";
const route = (update: unknown) => routeUpdate(update, OWNER.id, BOT);

describe("routeUpdate: the sender's language", () => {
  it("Telegram's language_code: cs and sk are Czech, any other is English, none is unknown", () => {
    const lang = (code: string | null) =>
      (route(privateText({ ...CLIENT, language_code: code }, "Hi")) as { lang: unknown }).lang;
    expect(lang("cs")).toBe("cs");
    expect(lang("sk")).toBe("cs");
    expect(lang("cs-CZ")).toBe("cs");
    expect(lang("en-GB")).toBe("en");
    expect(lang("de")).toBe("en");
    expect(lang(null)).toBeNull();
    const owner = route(privateText({ ...OWNER, language_code: "cs" }, "/stats"));
    expect(owner).toMatchObject({ kind: "owner_command", lang: "cs" });
  });
});

describe("routeUpdate: who reaches the owner's features", () => {
  it("the owner's command in a private chat, with its parts", () => {
    expect(route(privateText(OWNER, "/setupCredits:500:100"))).toEqual({
      kind: "owner_command",
      chatId: OWNER.id,
      command: "setupcredits",
      args: ["500", "100"],
      lang: "en",
    });
    expect(route(privateText(OWNER, `/STATS@${BOT.toLowerCase()}`))).toMatchObject({
      kind: "owner_command",
      command: "stats",
    });
  });

  it("an unknown command of the owner is named, not sent to the model", () => {
    expect(route(privateText(OWNER, "/frobnicate"))).toEqual({
      kind: "owner_unknown_command",
      chatId: OWNER.id,
      command: "frobnicate",
      lang: "en",
    });
  });

  it("the owner's words go to the owner's chat path", () => {
    expect(route(privateText(OWNER, "how many credits do I have?"))).toEqual({
      kind: "owner_text",
      chatId: OWNER.id,
      text: "how many credits do I have?",
      lang: "en",
    });
  });

  it("a client typing an owner command is refused; /help and words are questions; /start greets", () => {
    expect(route(privateText(CLIENT, "/setupCredits:500:100"))).toEqual({
      kind: "refuse_command",
      chatId: CLIENT.id,
      lang: "en",
    });
    expect(route(privateText(CLIENT, "/balance"))).toEqual({ kind: "refuse_command", chatId: CLIENT.id, lang: "en" });
    expect(route(privateText(CLIENT, "/help"))).toMatchObject({ kind: "user_text", userId: CLIENT.id });
    expect(route(privateText(CLIENT, "/start"))).toEqual({
      kind: "user_text",
      chatId: CLIENT.id,
      userId: CLIENT.id,
      text: "Hello!",
      lang: "en",
    });
    expect(route(privateText(CLIENT, "What are your hours?"))).toMatchObject({ kind: "user_text", userId: CLIENT.id });
  });

  it("the owner's id in a group, as an anonymous admin, or as a service account is never the owner", () => {
    expect(route(groupText(OWNER, "/stats"))).toEqual({ kind: "ignore", why: "not a private chat" });
    expect(routeUpdate(anonymousAdmin("/stats"), [...SERVICE_ACCOUNT_IDS][0] ?? 0, BOT).kind).toBe("ignore");
    expect(routeUpdate(channelForwardInPrivate("/stats"), 777000, BOT)).toEqual({
      kind: "ignore",
      why: "not a person",
    });
  });

  it("a bot posing with the owner's id is not the owner", () => {
    const u = privateText(OWNER, "/stats");
    const asBot = { ...u, message: { ...u.message, from: { ...u.message.from, is_bot: true } } };
    expect(route(asBot)).toEqual({ kind: "ignore", why: "not a person" });
  });

  it("a command addressed to another bot is not ours", () => {
    expect(route(privateText(OWNER, "/stats@SomeOtherBot"))).toEqual({
      kind: "ignore",
      why: "command for another bot",
    });
  });

  it("edits, channel posts, stickers and callbacks each have their own way", () => {
    expect(route(editedText(OWNER, "/stats"))).toEqual({ kind: "ignore", why: "edited message" });
    expect(route(channelPost("/stats"))).toEqual({ kind: "ignore", why: "channel post" });
    expect(route(sticker(CLIENT))).toEqual({ kind: "non_text", chatId: CLIENT.id, owner: false, lang: "en" });
    expect(route(callbackQuery(CLIENT))).toMatchObject({ kind: "callback" });
  });

  it.each([null, 7, "x", [], {}, { message: {} }, { message: { chat: { id: "1" }, from: { id: 1 } } }])(
    "ignores a malformed update %j",
    (update) => {
      expect(route(update).kind).toBe("ignore");
    },
  );
});

describe("updateIdOf and parseCommand", () => {
  it("takes only a safe non-negative integer as the update id", () => {
    expect(updateIdOf({ update_id: 5 })).toBe(5);
    for (const bad of [{ update_id: -1 }, { update_id: 1.5 }, { update_id: "5" }, { update_id: 2 ** 53 }, null]) {
      expect(updateIdOf(bad)).toBeNull();
    }
  });

  it("reads both colon and space forms, keeping an empty part so it can be named", () => {
    expect(parseCommand("/setupCredits:500:100")?.args).toEqual(["500", "100"]);
    expect(parseCommand("/setupCredits 500 100")?.args).toEqual(["500", "100"]);
    expect(parseCommand("/setupCredits:500:")?.args).toEqual(["500", ""]);
    expect(parseCommand("not a command")).toBeNull();
  });
});
