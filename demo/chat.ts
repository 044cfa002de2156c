/**
 * The Telegram side of the demo: people write to the bot through the Telegram stand-in (which posts the update
 * to the Worker's webhook with the secret header, as Telegram does), and the chat is printed as they see it.
 */
import type { SentRecord } from "../standins";

export interface Person {
  id: number;
  name: string;
  /** How the person is labelled in the printed chat. */
  label: string;
}

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string) => (text: string) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
export const dim = paint("2");
export const bold = paint("1");
export const green = paint("32");
export const red = paint("31");
export const cyan = paint("36");
export const yellow = paint("33");

const LABEL_WIDTH = 19;

function indentBlock(label: string, text: string): string {
  const pad = " ".repeat(LABEL_WIDTH + 2);
  const [first = "", ...rest] = text.split("\n");
  return [`  ${`${label} `.padEnd(LABEL_WIDTH)}${first}`, ...rest.map((line) => `${pad}${line}`)].join("\n");
}

/** The URL buttons under a message (Checkout links). */
export function buttons(message: SentRecord): { text: string; url: string }[] {
  const markup = message.reply_markup as { inline_keyboard?: { text?: string; url?: string }[][] } | null;
  const out: { text: string; url: string }[] = [];
  for (const row of markup?.inline_keyboard ?? []) {
    for (const button of row) if (button.url) out.push({ text: button.text ?? "", url: button.url });
  }
  return out;
}

/** Text as the person reads it: the stand-in's rendering with HTML tags and entities resolved. */
export function shown(message: SentRecord): string {
  return message.plain_text ?? message.text ?? "";
}

export class Chat {
  /** Messages of this chat already printed (and matched). */
  #cursor = 0;

  constructor(
    readonly telegram: TelegramDriver,
    readonly person: Person,
  ) {}

  get printed(): number {
    return this.#cursor;
  }

  /** The person writes `text` to the bot; resolves when the Worker's webhook answered (200). */
  async say(text: string): Promise<void> {
    console.log(indentBlock(`💬 ${this.person.label}:`, cyan(text)));
    const status = await this.telegram.deliver(this.person, text);
    if (status !== 200) throw new Error(`the Worker's webhook answered ${status} to ${this.person.name}'s message`);
  }

  /** Every message the bot sent to this chat so far (accepted by Telegram). */
  messages(): Promise<SentRecord[]> {
    return this.telegram.sent(this.person.id);
  }

  /**
   * Waits until, among the messages not printed yet, each pattern matches a different one (in any order, since
   * notifications race each other); prints everything up to the last match and returns the matches in pattern order.
   */
  async expect(patterns: RegExp[], timeoutMs = 15_000): Promise<SentRecord[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await this.messages();
      const fresh = all.slice(this.#cursor);
      const used = new Set<number>();
      const found: number[] = [];
      for (const pattern of patterns) {
        const index = fresh.findIndex((m, i) => !used.has(i) && pattern.test(shown(m)));
        if (index < 0) break;
        used.add(index);
        found.push(index);
      }
      if (found.length === patterns.length) {
        const last = Math.max(...found);
        this.#print(fresh.slice(0, last + 1));
        this.#cursor += last + 1;
        return found.map((i) => fresh[i] as SentRecord);
      }
      if (Date.now() > deadline) {
        this.#print(fresh);
        this.#cursor += fresh.length;
        const missing = patterns.filter((_, i) => i >= found.length).map(String);
        throw new Error(
          `${this.person.name} never got a message matching ${missing.join(", ")} within ${timeoutMs / 1000} s`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Asserts the bot sends nothing more to this chat for `ms`. */
  async expectSilence(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    const fresh = (await this.messages()).slice(this.#cursor);
    if (fresh.length > 0) {
      this.#print(fresh);
      this.#cursor += fresh.length;
      throw new Error(`the bot was expected to stay silent to ${this.person.name}, but it sent ${fresh.length}`);
    }
    console.log(indentBlock("🤖 Bot:", dim("(no answer)")));
  }

  #print(messages: SentRecord[]): void {
    const label = this.person.label === this.person.name ? "🤖 Bot:" : `🤖 Bot → ${this.person.name}:`;
    for (const message of messages) {
      console.log(indentBlock(label, shown(message)));
      for (const button of buttons(message)) console.log(indentBlock("", dim(`[ ${button.text} ] ${button.url}`)));
    }
  }
}

/** Talks to the Telegram stand-in about one bot. */
export class TelegramDriver {
  #updateId = 100_000;
  #messageId = 0;

  constructor(
    readonly base: string,
    readonly botToken: string,
  ) {}

  chat(person: Person): Chat {
    return new Chat(this, person);
  }

  /** A private-chat text message, shaped as the Bot API delivers it (a command carries its `bot_command` entity). */
  #update(from: Person, text: string) {
    this.#updateId += 1;
    this.#messageId += 1;
    const command = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text)?.[0];
    return {
      update_id: this.#updateId,
      message: {
        message_id: this.#messageId,
        from: { id: from.id, is_bot: false, first_name: from.name, language_code: "en" },
        chat: { id: from.id, first_name: from.name, type: "private" },
        date: Math.floor(Date.now() / 1000),
        text,
        ...(command ? { entities: [{ offset: 0, length: command.length, type: "bot_command" }] } : {}),
      },
    };
  }

  /** Plays Telegram's part: the stand-in POSTs the update to the webhook the bot registered, with its secret. */
  async deliver(from: Person, text: string): Promise<number> {
    const response = await fetch(`${this.base}/__control/deliver`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: this.botToken, update: this.#update(from, text) }),
    });
    const body = (await response.json()) as { status?: number; error?: string };
    if (!response.ok) throw new Error(`Telegram stand-in could not deliver: ${body.error ?? response.status}`);
    return body.status ?? 0;
  }

  async sent(chatId: number): Promise<SentRecord[]> {
    const query = new URLSearchParams({ token: this.botToken, chat_id: String(chatId), ok: "1" });
    const response = await fetch(`${this.base}/__control/sent?${query}`);
    return ((await response.json()) as { messages: SentRecord[] }).messages;
  }

  async webhook(): Promise<{ url: string; secret_token: string | null }> {
    const response = await fetch(`${this.base}/__control/webhook?token=${encodeURIComponent(this.botToken)}`);
    return (await response.json()) as { url: string; secret_token: string | null };
  }
}
