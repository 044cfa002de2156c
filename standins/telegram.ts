/**
 * Telegram Bot API stand-in.
 *
 * Behaves like https://api.telegram.org where the product depends on it: the `{ok, result}` envelope, token checks,
 * webhook registration with `secret_token`, `sendMessage` with Telegram's text-length and HTML/MarkdownV2 parsing
 * rules, and `setMyCommands` name rules. Tests and the demo inspect and steer it through `/__control/*`.
 * A bot cannot write first to a user who never started it: `POST /__control/chat {token, chat_id, started: false}`
 * makes `sendMessage` to that user answer 403 "Forbidden: bot can't initiate conversation with a user" until
 * `started: true`, or until an update from the user is delivered with `/__control/deliver`.
 *
 * All state is partitioned by bot token because many test files run in parallel against one process: a test that
 * uses its own bot token never sees another test's messages, webhooks or injected failures.
 */

type Params = Record<string, unknown>;

export interface TelegramStandinOptions {
  /** Clock in epoch milliseconds; message `date` and record timestamps come from it. */
  now?: () => number;
}

export interface TelegramStandin {
  handle(request: Request): Promise<Response>;
}

/** One `sendMessage` / `editMessageText` call as seen by `GET /__control/sent`. */
export interface SentRecord {
  method: string;
  chat_id: number | string | null;
  text: string | null;
  /** The text a user would see: tags stripped, entities decoded, trimmed. Null when the call was rejected. */
  plain_text: string | null;
  parse_mode: string | null;
  reply_markup: unknown;
  /** Whether Telegram accepted the call; rejected and injected-failure calls are recorded too. */
  ok: boolean;
  error_code: number | null;
  description: string | null;
  message_id: number | null;
  at: number;
}

export interface CallRecord {
  method: string;
  params: Params;
  ok: boolean;
  error_code: number | null;
  description: string | null;
  at: number;
}

export interface WebhookRecord {
  url: string;
  secret_token: string | null;
  max_connections: number;
  allowed_updates: string[] | null;
  ip_address: string | null;
  drop_pending_updates: boolean;
  set_at: number;
}

export interface BotCommand {
  command: string;
  description: string;
}

interface FailureRule {
  /** Canonical lower-case method name, or `*` for every method. */
  method: string;
  status: number;
  remaining: number;
  retryAfter: number;
  description: string | null;
}

interface StoredMessage {
  text: string;
  parseMode: string | null;
  replyMarkup: unknown;
}

interface BotState {
  calls: CallRecord[];
  sent: SentRecord[];
  webhook: WebhookRecord | null;
  webhookSetCount: number;
  /** Keyed by scope + language, as Telegram keeps a separate command list per pair. */
  commands: Map<string, { scope: Params; language_code: string; commands: BotCommand[] }>;
  lastMessageId: Map<string, number>;
  messages: Map<string, StoredMessage>;
  failures: FailureRule[];
  /**
   * Private chats whose user has not started the bot (never pressed Start or wrote to it): Telegram refuses to
   * send there. Users are taken to have started the bot unless a test says otherwise (`POST /__control/chat`).
   */
  notStarted: Set<string>;
}

interface MethodContext {
  bot: BotState;
  botId: number;
  params: Params;
  now: number;
}

interface MethodResult {
  result: unknown;
  description?: string;
}

type MethodHandler = (ctx: MethodContext) => MethodResult;

const TOKEN_PATTERN = /^(\d+):[A-Za-z0-9_-]{30,}$/;
/** Tokens with this bot id behave as revoked, so tests can exercise the 401 path without any setup. */
const REVOKED_BOT_PREFIX = "999999:";
const MAX_TEXT_LENGTH = 4096;
/** Keeps a long demo run from growing without bound; tests never come near it. */
const MAX_RECORDS_PER_BOT = 5000;
const SECRET_TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;
const COMMAND_PATTERN = /^[a-z0-9_]{1,32}$/;
/** Parameters Telegram accepts as JSON-serialized strings in form and multipart bodies. */
const JSON_PARAMS = new Set([
  "reply_markup",
  "commands",
  "scope",
  "entities",
  "allowed_updates",
  "link_preview_options",
  "reply_parameters",
  "menu_button",
]);
const CONTROL_READS = new Set(["sent", "calls", "webhook", "commands"]);
const CHAT_ACTIONS = new Set([
  "typing",
  "upload_photo",
  "record_video",
  "upload_video",
  "record_voice",
  "upload_voice",
  "upload_document",
  "choose_sticker",
  "find_location",
  "record_video_note",
  "upload_video_note",
]);

class ApiError extends Error {
  readonly status: number;
  readonly description: string;
  readonly parameters: Params | undefined;

  constructor(status: number, description: string, parameters?: Params) {
    super(description);
    this.status = status;
    this.description = description;
    this.parameters = parameters;
  }
}

/** A mistake in a test's use of a control endpoint, answered in plain JSON rather than the Bot API envelope. */
class ControlError extends Error {
  readonly status: number;

  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}

const badRequest = (detail: string) => new ApiError(400, `Bad Request: ${detail}`);
const cantParse = (detail: string) => badRequest(`can't parse entities: ${detail}`);

function isRecord(value: unknown): value is Params {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Telegram reports parse errors at UTF-8 byte offsets, so ours do too. */
function byteOffset(source: string, index: number): number {
  return utf8Length(source.slice(0, index));
}

function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function apiErrorResponse(error: ApiError): Response {
  const body: Params = { ok: false, error_code: error.status, description: error.description };
  if (error.parameters) body.parameters = error.parameters;
  return json(body, error.status);
}

// ---------------------------------------------------------------------------------------------------------------------
// Text parsing (HTML, MarkdownV2, legacy Markdown), modelled on TDLib's parser, which is what the Bot API runs.
// ---------------------------------------------------------------------------------------------------------------------

interface MessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
}

interface FormattedText {
  text: string;
  entities: MessageEntity[];
}

const HTML_TAGS = new Set([
  "a",
  "b",
  "strong",
  "i",
  "em",
  "u",
  "ins",
  "s",
  "strike",
  "del",
  "code",
  "pre",
  "tg-spoiler",
  "span",
  "blockquote",
  "tg-emoji",
]);

const HTML_ENTITY_PATTERN = /^&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));/;
const NAMED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };

function decodeEntityAt(source: string, index: number): { char: string; length: number } | null {
  const match = HTML_ENTITY_PATTERN.exec(source.slice(index, index + 12));
  if (!match) return null;
  let code: number;
  if (match[1] !== undefined) return { char: NAMED_ENTITIES[match[1]] ?? "", length: match[0].length };
  if (match[2] !== undefined) code = Number.parseInt(match[2], 10);
  else code = Number.parseInt(match[3] ?? "", 16);
  if (code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return null;
  return { char: String.fromCodePoint(code), length: match[0].length };
}

const isSpace = (ch: string | undefined) => ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || ch === "\f";

function htmlEntityType(tag: string, attributes: Map<string, string>): MessageEntity | null {
  switch (tag) {
    case "b":
    case "strong":
      return { type: "bold", offset: 0, length: 0 };
    case "i":
    case "em":
      return { type: "italic", offset: 0, length: 0 };
    case "u":
    case "ins":
      return { type: "underline", offset: 0, length: 0 };
    case "s":
    case "strike":
    case "del":
      return { type: "strikethrough", offset: 0, length: 0 };
    case "tg-spoiler":
    case "span":
      return { type: "spoiler", offset: 0, length: 0 };
    case "code":
      return { type: "code", offset: 0, length: 0 };
    case "pre":
      return { type: "pre", offset: 0, length: 0 };
    case "blockquote":
      return { type: attributes.has("expandable") ? "expandable_blockquote" : "blockquote", offset: 0, length: 0 };
    case "a": {
      const href = attributes.get("href");
      return href ? { type: "text_link", offset: 0, length: 0, url: href } : null;
    }
    case "tg-emoji": {
      const id = attributes.get("emoji-id");
      return id ? { type: "custom_emoji", offset: 0, length: 0, custom_emoji_id: id } : null;
    }
    default:
      return null;
  }
}

/**
 * Parses Telegram HTML. Stricter than TDLib in one respect on purpose: a bare `&` is rejected, because the Bot API
 * documentation requires every `&` outside an entity to be escaped and a product that forgets it is one typo away
 * from sending `&lt;` by accident. A bare `>` is accepted, as Telegram does.
 */
export function parseTelegramHtml(source: string): FormattedText {
  let out = "";
  const entities: MessageEntity[] = [];
  const stack: { tag: string; start: number; attributes: Map<string, string>; beginIndex: number }[] = [];
  const n = source.length;
  let i = 0;
  while (i < n) {
    const ch = source[i];
    if (ch === "&") {
      const decoded = decodeEntityAt(source, i);
      if (!decoded) {
        throw cantParse(
          `Unsupported HTML entity at byte offset ${byteOffset(source, i)}: "&" must be escaped as "&amp;"`,
        );
      }
      out += decoded.char;
      i += decoded.length;
      continue;
    }
    if (ch !== "<") {
      out += ch;
      i++;
      continue;
    }
    const begin = i;
    i++;
    if (source[i] !== "/") {
      let j = i;
      while (j < n && !isSpace(source[j]) && source[j] !== ">") j++;
      if (j >= n) throw cantParse(`Unclosed start tag at byte offset ${byteOffset(source, begin)}`);
      const tag = source.slice(i, j).toLowerCase();
      if (!HTML_TAGS.has(tag)) {
        throw cantParse(`Unsupported start tag "${tag}" at byte offset ${byteOffset(source, begin)}`);
      }
      i = j;
      const attributes = new Map<string, string>();
      while (source[i] !== ">") {
        while (i < n && isSpace(source[i])) i++;
        if (i >= n) throw cantParse(`Unclosed start tag "${tag}" at byte offset ${byteOffset(source, begin)}`);
        if (source[i] === ">") break;
        const nameStart = i;
        while (i < n && !isSpace(source[i]) && source[i] !== "=" && source[i] !== ">") i++;
        const name = source.slice(nameStart, i).toLowerCase();
        if (!name) {
          throw cantParse(`Empty attribute name in the tag "${tag}" at byte offset ${byteOffset(source, begin)}`);
        }
        while (i < n && isSpace(source[i])) i++;
        if (source[i] !== "=") {
          // `<blockquote expandable>` is the one value-less attribute Telegram knows.
          if (tag === "blockquote" && name === "expandable") {
            attributes.set(name, "");
            continue;
          }
          throw cantParse(
            `Expected equal sign in declaration of an attribute of the tag "${tag}" at byte offset ${byteOffset(source, begin)}`,
          );
        }
        i++;
        while (i < n && isSpace(source[i])) i++;
        if (i >= n) throw cantParse(`Unclosed start tag "${tag}" at byte offset ${byteOffset(source, begin)}`);
        let value = "";
        const quote = source[i];
        if (quote === '"' || quote === "'") {
          i++;
          while (i < n && source[i] !== quote) {
            const decoded = source[i] === "&" ? decodeEntityAt(source, i) : null;
            if (decoded) {
              value += decoded.char;
              i += decoded.length;
            } else {
              value += source[i];
              i++;
            }
          }
          if (i < n) i++;
        } else {
          while (i < n && /[A-Za-z0-9.-]/.test(source[i] ?? "")) value += source[i++];
        }
        if (i >= n) throw cantParse(`Unclosed start tag "${tag}" at byte offset ${byteOffset(source, begin)}`);
        attributes.set(name, value);
      }
      i++;
      if (tag === "span" && attributes.get("class") !== "tg-spoiler") {
        throw cantParse(`Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(source, begin)}`);
      }
      stack.push({ tag, start: out.length, attributes, beginIndex: begin });
      continue;
    }
    if (stack.length === 0) throw cantParse(`Unexpected end tag at byte offset ${byteOffset(source, begin)}`);
    i++;
    let j = i;
    while (j < n && !isSpace(source[j]) && source[j] !== ">") j++;
    const endName = source.slice(i, j).toLowerCase();
    while (j < n && isSpace(source[j])) j++;
    if (source[j] !== ">") throw cantParse(`Unclosed end tag at byte offset ${byteOffset(source, begin)}`);
    const open = stack.pop();
    if (!open) throw cantParse(`Unexpected end tag at byte offset ${byteOffset(source, begin)}`);
    if (endName && endName !== open.tag) {
      throw cantParse(
        `Unmatched end tag at byte offset ${byteOffset(source, begin)}, expected "</${open.tag}>", found "</${endName}>"`,
      );
    }
    const entity = htmlEntityType(open.tag, open.attributes);
    if (entity && out.length > open.start) {
      entity.offset = open.start;
      entity.length = out.length - open.start;
      const parent = stack.at(-1);
      if (open.tag === "code" && parent?.tag === "pre") {
        // <pre><code class="language-x"> becomes one pre entity with a language, as in Telegram.
        const codeClass = open.attributes.get("class");
        if (codeClass?.startsWith("language-")) parent.attributes.set("language", codeClass.slice("language-".length));
      } else {
        const language = open.tag === "pre" ? open.attributes.get("language") : undefined;
        if (language) entity.language = language;
        entities.push(entity);
      }
    }
    i = j + 1;
  }
  const unclosed = stack.at(-1);
  if (unclosed) throw cantParse(`Can't find end tag corresponding to start tag "${unclosed.tag}"`);
  return { text: out, entities };
}

const MARKDOWN_V2_RESERVED = new Set("_*[]()~`>#+-=|{}.!".split(""));
const MARKDOWN_V2_NAMES: Record<string, string> = {
  bold: "Bold",
  italic: "Italic",
  underline: "Underline",
  strikethrough: "Strikethrough",
  spoiler: "Spoiler",
  code: "Code",
  pre: "Pre",
  text_link: "TextUrl",
  custom_emoji: "CustomEmoji",
};

/** MarkdownV2: every reserved character outside an entity marker must be escaped with `\`. */
export function parseTelegramMarkdownV2(source: string): FormattedText {
  let out = "";
  const entities: MessageEntity[] = [];
  const stack: { type: string; start: number; beginIndex: number; language?: string }[] = [];
  const n = source.length;
  let blockquoteStart = -1;
  let i = 0;
  const closeBlockquote = () => {
    if (blockquoteStart >= 0 && out.length > blockquoteStart) {
      entities.push({ type: "blockquote", offset: blockquoteStart, length: out.length - blockquoteStart });
    }
    blockquoteStart = -1;
  };
  while (i < n) {
    const ch = source[i] ?? "";
    const next = source[i + 1];
    const atLineStart = i === 0 || source[i - 1] === "\n";
    if (atLineStart && ch !== ">" && blockquoteStart >= 0) closeBlockquote();
    if (ch === "\\" && next !== undefined && next.charCodeAt(0) > 0 && next.charCodeAt(0) <= 126) {
      out += next;
      i += 2;
      continue;
    }
    const top = stack.at(-1);
    if (top && (top.type === "code" || top.type === "pre")) {
      // Inside code only the closing backticks (and `\`) are special.
      const closes = top.type === "code" ? ch === "`" : source.startsWith("```", i);
      if (!closes) {
        out += ch;
        i++;
        continue;
      }
    }
    if (!MARKDOWN_V2_RESERVED.has(ch)) {
      out += ch;
      i++;
      continue;
    }
    let closes = false;
    if (top) {
      switch (top.type) {
        case "bold":
          closes = ch === "*";
          break;
        case "italic":
          closes = ch === "_" && next !== "_";
          break;
        case "underline":
          closes = ch === "_" && next === "_";
          break;
        case "strikethrough":
          closes = ch === "~";
          break;
        case "spoiler":
          closes = ch === "|" && next === "|";
          break;
        case "code":
          closes = ch === "`";
          break;
        case "pre":
          closes = source.startsWith("```", i);
          break;
        case "text_link":
        case "custom_emoji":
          closes = ch === "]";
          break;
      }
    }
    if (closes && top) {
      stack.pop();
      const entity: MessageEntity = { type: top.type, offset: top.start, length: out.length - top.start };
      if (top.type === "underline" || top.type === "spoiler") i += 2;
      else if (top.type === "pre") i += 3;
      else i++;
      if (top.type === "pre" && top.language) entity.language = top.language;
      if (top.type === "text_link" || top.type === "custom_emoji") {
        if (source[i] === "(") {
          let url = "";
          i++;
          while (i < n && source[i] !== ")") {
            if (source[i] === "\\" && i + 1 < n) i++;
            url += source[i];
            i++;
          }
          if (i >= n) throw cantParse(`Can't find end of a URL at byte offset ${byteOffset(source, top.beginIndex)}`);
          i++;
          if (top.type === "text_link") entity.url = url;
          else entity.custom_emoji_id = url.replace(/^tg:\/\/emoji\?id=/, "");
        }
      }
      if (entity.length > 0) entities.push(entity);
      continue;
    }
    const begin = i;
    switch (ch) {
      case "_":
        if (next === "_") {
          stack.push({ type: "underline", start: out.length, beginIndex: begin });
          i += 2;
        } else {
          stack.push({ type: "italic", start: out.length, beginIndex: begin });
          i++;
        }
        continue;
      case "*":
        stack.push({ type: "bold", start: out.length, beginIndex: begin });
        i++;
        continue;
      case "~":
        stack.push({ type: "strikethrough", start: out.length, beginIndex: begin });
        i++;
        continue;
      case "|":
        if (next === "|") {
          stack.push({ type: "spoiler", start: out.length, beginIndex: begin });
          i += 2;
          continue;
        }
        break;
      case "[":
        stack.push({ type: "text_link", start: out.length, beginIndex: begin });
        i++;
        continue;
      case "!":
        if (next === "[") {
          stack.push({ type: "custom_emoji", start: out.length, beginIndex: begin });
          i += 2;
          continue;
        }
        break;
      case "`":
        if (source.startsWith("```", i)) {
          i += 3;
          let language = "";
          const newline = source.indexOf("\n", i);
          const fence = source.indexOf("```", i);
          if (newline >= 0 && (fence < 0 || newline < fence)) {
            language = source.slice(i, newline);
            i = newline + 1;
          }
          stack.push({ type: "pre", start: out.length, beginIndex: begin, language: language || undefined });
        } else {
          stack.push({ type: "code", start: out.length, beginIndex: begin });
          i++;
        }
        continue;
      case ">":
        if (atLineStart) {
          if (blockquoteStart < 0) blockquoteStart = out.length;
          i++;
          continue;
        }
        break;
    }
    throw cantParse(`Character '${ch}' is reserved and must be escaped with the preceding '\\'`);
  }
  closeBlockquote();
  const unclosed = stack.at(-1);
  if (unclosed) {
    throw cantParse(
      `Can't find end of ${MARKDOWN_V2_NAMES[unclosed.type] ?? unclosed.type} entity at byte offset ${byteOffset(source, unclosed.beginIndex)}`,
    );
  }
  entities.sort((a, b) => a.offset - b.offset);
  return { text: out, entities };
}

/** Legacy Markdown: `*bold*`, `_italic_`, `` `code` ``, ```` ```pre``` ````, `[text](url)`; no nesting. */
export function parseTelegramMarkdown(source: string): FormattedText {
  let out = "";
  const entities: MessageEntity[] = [];
  const n = source.length;
  let i = 0;
  while (i < n) {
    const ch = source[i] ?? "";
    const next = source[i + 1];
    if (ch === "\\" && next !== undefined && "_*`[".includes(next)) {
      out += next;
      i += 2;
      continue;
    }
    if (!"_*`[".includes(ch)) {
      out += ch;
      i++;
      continue;
    }
    const begin = i;
    const unclosed = () =>
      cantParse(`Can't find end of the entity starting at byte offset ${byteOffset(source, begin)}`);
    if (ch === "[") {
      const close = source.indexOf("]", i + 1);
      if (close < 0) throw unclosed();
      const label = source.slice(i + 1, close);
      let url = "";
      i = close + 1;
      if (source[i] === "(") {
        const end = source.indexOf(")", i + 1);
        if (end < 0) throw unclosed();
        url = source.slice(i + 1, end);
        i = end + 1;
      }
      if (label && url) entities.push({ type: "text_link", offset: out.length, length: label.length, url });
      out += label;
      continue;
    }
    const fence = ch === "`" && source.startsWith("```", i) ? "```" : ch;
    const end = source.indexOf(fence, i + fence.length);
    if (end < 0) throw unclosed();
    let inner = source.slice(i + fence.length, end);
    let language: string | undefined;
    if (fence === "```") {
      const newline = inner.indexOf("\n");
      if (newline >= 0) {
        language = inner.slice(0, newline) || undefined;
        inner = inner.slice(newline + 1);
      }
    }
    const type = fence === "```" ? "pre" : ch === "`" ? "code" : ch === "*" ? "bold" : "italic";
    if (inner) entities.push({ type, offset: out.length, length: inner.length, ...(language ? { language } : {}) });
    out += inner;
    i = end + fence.length;
  }
  return { text: out, entities };
}

/** Telegram trims surrounding whitespace after parsing; entities are shifted and clipped to match. */
function trimFormatted(formatted: FormattedText): FormattedText {
  const leading = formatted.text.length - formatted.text.trimStart().length;
  const text = formatted.text.trim();
  const entities: MessageEntity[] = [];
  for (const entity of formatted.entities) {
    const start = Math.max(0, entity.offset - leading);
    const end = Math.min(text.length, entity.offset + entity.length - leading);
    if (end > start) entities.push({ ...entity, offset: start, length: end - start });
  }
  return { text, entities };
}

function formatText(raw: unknown, parseMode: unknown): FormattedText {
  if (raw === undefined || raw === null) throw badRequest("message text is empty");
  const text = typeof raw === "string" ? raw : String(raw);
  let formatted: FormattedText;
  const mode = typeof parseMode === "string" ? parseMode : "";
  switch (mode.toLowerCase()) {
    case "":
      formatted = { text, entities: [] };
      break;
    case "html":
      formatted = parseTelegramHtml(text);
      break;
    case "markdownv2":
      formatted = parseTelegramMarkdownV2(text);
      break;
    case "markdown":
      formatted = parseTelegramMarkdown(text);
      break;
    default:
      throw badRequest("unsupported parse_mode");
  }
  formatted = trimFormatted(formatted);
  if (formatted.text.length === 0) throw badRequest("message text is empty");
  // Counted in UTF-16 code units, like JavaScript's `length`: never more lenient than Telegram.
  if (formatted.text.length > MAX_TEXT_LENGTH) throw badRequest("message is too long");
  return formatted;
}

// ---------------------------------------------------------------------------------------------------------------------
// Parameter helpers
// ---------------------------------------------------------------------------------------------------------------------

function parseChatId(value: unknown): number | string {
  if (value === undefined || value === null || value === "") throw badRequest("chat_id is empty");
  if (typeof value === "number" && Number.isSafeInteger(value) && value !== 0) return value;
  if (typeof value === "string" && /^-?[1-9][0-9]{0,18}$/.test(value)) {
    const id = Number(value);
    if (Number.isSafeInteger(id)) return id;
  }
  // @channelusername targets and anything else resolve to no chat here: the product only talks to private chats.
  throw badRequest("chat not found");
}

function parseMessageId(value: unknown): number {
  const id = typeof value === "string" && /^[0-9]+$/.test(value) ? Number(value) : value;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id <= 0) {
    throw badRequest("message identifier is not specified");
  }
  return id;
}

function optionalString(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === "string" ? value : String(value);
}

function asBoolean(value: unknown): boolean {
  return value === true || value === "true" || value === "1" || value === 1;
}

function isValidButtonUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return ["http:", "https:", "tg:", "ton:"].includes(parsed.protocol) && (parsed.protocol === "tg:" || !!parsed.host);
  } catch {
    return false;
  }
}

const BUTTON_ACTIONS = [
  "url",
  "callback_data",
  "web_app",
  "login_url",
  "switch_inline_query",
  "switch_inline_query_current_chat",
  "switch_inline_query_chosen_chat",
  "copy_text",
  "callback_game",
  "pay",
];

/**
 * `chatId`: where the markup is sent. Web App buttons are "available only in private chats between a user and the
 * bot" (Bot API, InlineKeyboardButton.web_app); elsewhere Telegram answers BUTTON_TYPE_INVALID.
 */
function validateReplyMarkup(markup: unknown, chatId: number | string): unknown {
  if (markup === undefined || markup === null) return null;
  if (!isRecord(markup)) throw badRequest("can't parse reply keyboard markup JSON object");
  if (!("inline_keyboard" in markup)) return markup;
  const rows = markup.inline_keyboard;
  if (!Array.isArray(rows)) {
    throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array');
  }
  for (const row of rows) {
    if (!Array.isArray(row)) {
      throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays');
    }
    for (const button of row) {
      if (!isRecord(button) || typeof button.text !== "string") {
        throw badRequest("can't parse inline keyboard button: InlineKeyboardButton must be an Object");
      }
      if (!BUTTON_ACTIONS.some((key) => key in button)) {
        throw badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
      }
      if ("callback_data" in button) {
        const data = button.callback_data;
        if (typeof data !== "string" || utf8Length(data) < 1 || utf8Length(data) > 64) {
          throw badRequest("BUTTON_DATA_INVALID");
        }
      }
      if ("url" in button) {
        const url = button.url;
        if (typeof url !== "string" || !isValidButtonUrl(url)) {
          throw badRequest(`inline keyboard button URL '${String(url)}' is invalid: Wrong HTTP URL`);
        }
      }
      if ("web_app" in button) {
        if (chatFor(chatId).type !== "private") throw badRequest("BUTTON_TYPE_INVALID");
        validateWebApp(button.web_app);
      }
    }
  }
  return markup;
}

/** A WebAppInfo: Telegram opens Mini Apps over HTTPS only (Bot API, "WebAppInfo": "An HTTPS URL of a Web App"). */
function validateWebApp(webApp: unknown): void {
  if (!isRecord(webApp) || typeof webApp.url !== "string") throw badRequest("can't parse WebAppInfo JSON object");
  let https = false;
  try {
    https = new URL(webApp.url).protocol === "https:";
  } catch {
    https = false;
  }
  if (!https) throw badRequest("BUTTON_URL_INVALID");
}

function scopeKey(scope: Params, languageCode: string): string {
  return `${String(scope.type)}:${String(scope.chat_id ?? "")}:${String(scope.user_id ?? "")}|${languageCode}`;
}

function parseScope(params: Params): { scope: Params; languageCode: string } {
  const raw = params.scope;
  const scope = isRecord(raw) ? raw : { type: "default" };
  if (typeof scope.type !== "string") throw badRequest("can't parse BotCommandScope JSON object");
  const languageCode = optionalString(params.language_code) ?? "";
  if (languageCode && !/^[a-z]{2}$/.test(languageCode)) throw badRequest("invalid language code specified");
  return { scope, languageCode };
}

// ---------------------------------------------------------------------------------------------------------------------
// Methods
// ---------------------------------------------------------------------------------------------------------------------

function botUser(botId: number) {
  return { id: botId, is_bot: true, first_name: `Stand-in Bot ${botId}`, username: `bot${botId}_bot` };
}

function chatFor(chatId: number | string) {
  const id = typeof chatId === "number" ? chatId : Number(chatId);
  if (id > 0) return { id, type: "private", first_name: "User", username: `user${id}` };
  if (String(id).startsWith("-100")) return { id, type: "supergroup", title: `Group ${id}` };
  return { id, type: "group", title: `Group ${id}` };
}

function messageKey(chatId: number | string, messageId: number): string {
  return `${String(chatId)}:${messageId}`;
}

function messageObject(
  ctx: MethodContext,
  chatId: number | string,
  messageId: number,
  formatted: FormattedText,
  markup: unknown,
) {
  const message: Params = {
    message_id: messageId,
    from: botUser(ctx.botId),
    chat: chatFor(chatId),
    date: Math.floor(ctx.now / 1000),
    text: formatted.text,
  };
  if (formatted.entities.length > 0) message.entities = formatted.entities;
  if (isRecord(markup) && "inline_keyboard" in markup) message.reply_markup = markup;
  return message;
}

const METHODS: Record<string, { name: string; run: MethodHandler }> = {};

function method(name: string, run: MethodHandler): void {
  METHODS[name.toLowerCase()] = { name, run };
}

method("getMe", ({ botId }) => ({
  result: {
    ...botUser(botId),
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
  },
}));

method("setWebhook", ({ bot, params, now }) => {
  const url = optionalString(params.url) ?? "";
  if (url === "") {
    // An empty URL removes the webhook, exactly like deleteWebhook.
    const had = bot.webhook !== null;
    bot.webhook = null;
    return { result: true, description: had ? "Webhook was deleted" : "Webhook is already deleted" };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest("bad webhook: invalid webhook URL specified");
  }
  // Real Telegram demands HTTPS; plain http is accepted so a local demo can register its webhook.
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw badRequest("bad webhook: An HTTPS URL must be provided for webhook");
  }
  const secret = optionalString(params.secret_token);
  if (secret !== null && !SECRET_TOKEN_PATTERN.test(secret)) {
    throw badRequest("secret token contains unallowed characters");
  }
  let maxConnections = 40;
  if (params.max_connections !== undefined) {
    maxConnections = Number(params.max_connections);
    if (!Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > 100) {
      throw badRequest("bad webhook: max_connections must be between 1 and 100");
    }
  }
  const allowed = params.allowed_updates;
  let allowedUpdates: string[] | null = null;
  if (allowed !== undefined) {
    if (!Array.isArray(allowed) || !allowed.every((item) => typeof item === "string")) {
      throw badRequest("can't parse allowed_updates JSON array");
    }
    allowedUpdates = allowed;
  }
  const same = bot.webhook?.url === url && bot.webhook.secret_token === secret;
  bot.webhook = {
    url,
    secret_token: secret,
    max_connections: maxConnections,
    allowed_updates: allowedUpdates,
    ip_address: optionalString(params.ip_address),
    drop_pending_updates: asBoolean(params.drop_pending_updates),
    set_at: now,
  };
  bot.webhookSetCount++;
  return { result: true, description: same ? "Webhook is already set" : "Webhook was set" };
});

method("deleteWebhook", ({ bot }) => {
  const had = bot.webhook !== null;
  bot.webhook = null;
  return { result: true, description: had ? "Webhook was deleted" : "Webhook is already deleted" };
});

method("getWebhookInfo", ({ bot }) => {
  const hook = bot.webhook;
  if (!hook) return { result: { url: "", has_custom_certificate: false, pending_update_count: 0 } };
  // Telegram never echoes the secret token back; the control endpoint exposes it for tests.
  const info: Params = {
    url: hook.url,
    has_custom_certificate: false,
    pending_update_count: 0,
    max_connections: hook.max_connections,
  };
  if (hook.ip_address) info.ip_address = hook.ip_address;
  if (hook.allowed_updates) info.allowed_updates = hook.allowed_updates;
  return { result: info };
});

method("getUpdates", ({ bot }) => {
  if (bot.webhook) {
    throw new ApiError(
      409,
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    );
  }
  return { result: [] };
});

/** Telegram's answer to a bot writing first to a user who never started it. */
const CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user";

method("sendMessage", (ctx) => {
  const chatId = parseChatId(ctx.params.chat_id);
  if (ctx.bot.notStarted.has(String(chatId))) throw new ApiError(403, CANT_INITIATE);
  const formatted = formatText(ctx.params.text, ctx.params.parse_mode);
  const markup = validateReplyMarkup(ctx.params.reply_markup, chatId);
  const key = String(chatId);
  const messageId = (ctx.bot.lastMessageId.get(key) ?? 0) + 1;
  ctx.bot.lastMessageId.set(key, messageId);
  ctx.bot.messages.set(messageKey(chatId, messageId), {
    text: String(ctx.params.text),
    parseMode: optionalString(ctx.params.parse_mode),
    replyMarkup: markup,
  });
  return { result: messageObject(ctx, chatId, messageId, formatted, markup) };
});

method("editMessageText", (ctx) => {
  if (ctx.params.inline_message_id !== undefined) return { result: true };
  const chatId = parseChatId(ctx.params.chat_id);
  const messageId = parseMessageId(ctx.params.message_id);
  const formatted = formatText(ctx.params.text, ctx.params.parse_mode);
  const markup = validateReplyMarkup(ctx.params.reply_markup, chatId);
  const key = messageKey(chatId, messageId);
  const stored = ctx.bot.messages.get(key);
  if (!stored) throw badRequest("message to edit not found");
  const text = String(ctx.params.text);
  if (stored.text === text && JSON.stringify(stored.replyMarkup) === JSON.stringify(markup)) {
    throw badRequest(
      "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
    );
  }
  ctx.bot.messages.set(key, { text, parseMode: optionalString(ctx.params.parse_mode), replyMarkup: markup });
  return {
    result: { ...messageObject(ctx, chatId, messageId, formatted, markup), edit_date: Math.floor(ctx.now / 1000) },
  };
});

method("editMessageReplyMarkup", (ctx) => {
  if (ctx.params.inline_message_id !== undefined) return { result: true };
  const chatId = parseChatId(ctx.params.chat_id);
  const messageId = parseMessageId(ctx.params.message_id);
  const markup = validateReplyMarkup(ctx.params.reply_markup, chatId);
  const key = messageKey(chatId, messageId);
  const stored = ctx.bot.messages.get(key);
  if (!stored) throw badRequest("message to edit not found");
  ctx.bot.messages.set(key, { ...stored, replyMarkup: markup });
  const formatted = formatText(stored.text, stored.parseMode);
  return { result: messageObject(ctx, chatId, messageId, formatted, markup) };
});

method("deleteMessage", (ctx) => {
  const chatId = parseChatId(ctx.params.chat_id);
  const messageId = parseMessageId(ctx.params.message_id);
  if (!ctx.bot.messages.delete(messageKey(chatId, messageId))) throw badRequest("message to delete not found");
  return { result: true };
});

method("setMyCommands", ({ bot, params }) => {
  const raw = params.commands;
  if (!Array.isArray(raw)) throw badRequest("can't parse commands JSON object");
  if (raw.length > 100) throw badRequest("too many commands specified");
  const commands: BotCommand[] = [];
  for (const item of raw) {
    if (!isRecord(item) || typeof item.command !== "string" || typeof item.description !== "string") {
      throw badRequest("can't parse BotCommand JSON object");
    }
    if (!COMMAND_PATTERN.test(item.command)) throw badRequest("BOT_COMMAND_INVALID");
    if (item.description.trim().length < 1 || item.description.length > 256) {
      throw badRequest("command description is empty or too long");
    }
    commands.push({ command: item.command, description: item.description });
  }
  const { scope, languageCode } = parseScope(params);
  const key = scopeKey(scope, languageCode);
  if (commands.length === 0) bot.commands.delete(key);
  else bot.commands.set(key, { scope, language_code: languageCode, commands });
  return { result: true };
});

method("getMyCommands", ({ bot, params }) => {
  const { scope, languageCode } = parseScope(params);
  return { result: bot.commands.get(scopeKey(scope, languageCode))?.commands ?? [] };
});

method("deleteMyCommands", ({ bot, params }) => {
  const { scope, languageCode } = parseScope(params);
  bot.commands.delete(scopeKey(scope, languageCode));
  return { result: true };
});

method("answerCallbackQuery", ({ params }) => {
  const id = optionalString(params.callback_query_id);
  if (!id) throw badRequest("query is too old and response timeout expired or query ID is invalid");
  const text = optionalString(params.text);
  if (text !== null && text.length > 200) throw badRequest("MESSAGE_TOO_LONG");
  return { result: true };
});

method("sendChatAction", ({ params }) => {
  parseChatId(params.chat_id);
  const action = optionalString(params.action);
  if (action === null || !CHAT_ACTIONS.has(action)) throw badRequest("wrong parameter action in request");
  return { result: true };
});

method("setMyDescription", () => ({ result: true }));
method("setMyShortDescription", () => ({ result: true }));
/**
 * `chat_id` absent: the default button of private chats. `menu_button`: a MenuButton of type `commands`, `default`,
 * or `web_app` with a `text` and a WebAppInfo (HTTPS only). Read back through `/__control/calls`.
 */
method("setChatMenuButton", ({ params }) => {
  if (params.chat_id !== undefined) parseChatId(params.chat_id);
  const button = params.menu_button ?? { type: "default" };
  if (!isRecord(button) || typeof button.type !== "string") throw badRequest("can't parse menu button JSON object");
  if (button.type === "web_app") {
    if (typeof button.text !== "string" || button.text.trim() === "") throw badRequest("menu button text is empty");
    validateWebApp(button.web_app);
  } else if (button.type !== "commands" && button.type !== "default") {
    throw badRequest("unsupported menu button type");
  }
  return { result: true };
});

// ---------------------------------------------------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------------------------------------------------

async function readParams(request: Request, url: URL): Promise<Params> {
  const params: Params = {};
  for (const [key, value] of url.searchParams) params[key] = value;
  if (request.method === "GET" || request.method === "HEAD") return params;
  const contentType = (request.headers.get("content-type") ?? "").toLowerCase();
  if (contentType.includes("application/json")) {
    const text = await request.text();
    if (text.trim() === "") return params;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw badRequest("can't parse JSON object");
    }
    if (!isRecord(body)) throw badRequest("can't parse JSON object");
    Object.assign(params, body);
  } else if (contentType.includes("application/x-www-form-urlencoded") || contentType.includes("multipart/form-data")) {
    const form = await request.formData();
    for (const [key, value] of form.entries()) {
      // Uploaded files are recorded by name only; no product path sends files.
      params[key] = typeof value === "string" ? value : { file: (value as { name?: string }).name ?? "upload" };
    }
  }
  // Form bodies (and some JSON clients) send structured parameters as JSON strings.
  for (const key of JSON_PARAMS) {
    const value = params[key];
    if (typeof value !== "string") continue;
    try {
      params[key] = JSON.parse(value);
    } catch {
      if (key === "reply_markup") throw badRequest("can't parse reply keyboard markup JSON object");
      throw badRequest(`can't parse ${key} JSON object`);
    }
  }
  return params;
}

function failureError(rule: FailureRule): ApiError {
  switch (rule.status) {
    case 429:
      return new ApiError(429, rule.description ?? `Too Many Requests: retry after ${rule.retryAfter}`, {
        retry_after: rule.retryAfter,
      });
    case 400:
      return new ApiError(400, rule.description ?? "Bad Request: chat not found");
    case 401:
      return new ApiError(401, rule.description ?? "Unauthorized");
    case 403:
      return new ApiError(403, rule.description ?? "Forbidden: bot was blocked by the user");
    case 500:
      return new ApiError(500, rule.description ?? "Internal Server Error");
    case 502:
      return new ApiError(502, rule.description ?? "Bad Gateway");
    default:
      return new ApiError(rule.status, rule.description ?? `Error ${rule.status}`);
  }
}

function newBotState(): BotState {
  return {
    calls: [],
    sent: [],
    webhook: null,
    webhookSetCount: 0,
    commands: new Map(),
    lastMessageId: new Map(),
    messages: new Map(),
    failures: [],
    notStarted: new Set(),
  };
}

function pushBounded<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > MAX_RECORDS_PER_BOT) list.splice(0, list.length - MAX_RECORDS_PER_BOT);
}

export function createTelegramStandin(options: TelegramStandinOptions = {}): TelegramStandin {
  const now = options.now ?? Date.now;
  const bots = new Map<string, BotState>();
  /** Tokens revoked with @BotFather's /revoke: Telegram answers 401 to them from then on. */
  const revoked = new Set<string>();

  const botState = (token: string): BotState => {
    let state = bots.get(token);
    if (!state) {
      state = newBotState();
      bots.set(token, state);
    }
    return state;
  };

  async function callMethod(token: string, methodName: string, request: Request, url: URL): Promise<Response> {
    if (!TOKEN_PATTERN.test(token)) return json({ ok: false, error_code: 404, description: "Not Found" }, 404);
    if (token.startsWith(REVOKED_BOT_PREFIX) || revoked.has(token)) {
      return json({ ok: false, error_code: 401, description: "Unauthorized" }, 401);
    }
    // Telegram matches method names case-insensitively.
    const entry = METHODS[methodName.toLowerCase()];
    if (!entry) return json({ ok: false, error_code: 404, description: "Not Found" }, 404);
    const bot = botState(token);
    const at = now();
    const call: CallRecord = { method: entry.name, params: {}, ok: false, error_code: null, description: null, at };
    let outcome: Response;
    let result: MethodResult | null = null;
    try {
      call.params = await readParams(request, url);
      const rule = bot.failures.find(
        (r) => r.remaining > 0 && (r.method === "*" || r.method === methodName.toLowerCase()),
      );
      if (rule) {
        rule.remaining--;
        bot.failures = bot.failures.filter((r) => r.remaining > 0);
        throw failureError(rule);
      }
      const botId = Number(token.slice(0, token.indexOf(":")));
      result = entry.run({ bot, botId, params: call.params, now: at });
      const body: Params = { ok: true, result: result.result };
      if (result.description) body.description = result.description;
      call.ok = true;
      outcome = json(body);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      call.error_code = error.status;
      call.description = error.description;
      outcome = apiErrorResponse(error);
    }
    pushBounded(bot.calls, call);
    if (entry.name === "sendMessage" || entry.name === "editMessageText") {
      const message = isRecord(result?.result) ? result.result : null;
      pushBounded(bot.sent, {
        method: entry.name,
        chat_id:
          typeof call.params.chat_id === "number" || typeof call.params.chat_id === "string"
            ? call.params.chat_id
            : null,
        text: optionalString(call.params.text),
        plain_text: typeof message?.text === "string" ? message.text : null,
        parse_mode: optionalString(call.params.parse_mode),
        reply_markup: call.params.reply_markup ?? null,
        ok: call.ok,
        error_code: call.error_code,
        description: call.description,
        message_id: typeof message?.message_id === "number" ? message.message_id : null,
        at,
      });
    }
    return outcome;
  }

  async function readControlBody(request: Request): Promise<Params> {
    let body: unknown;
    try {
      body = JSON.parse(await request.text());
    } catch {
      throw new ControlError("body must be JSON");
    }
    if (!isRecord(body)) throw new ControlError("body must be a JSON object");
    return body;
  }

  function requireToken(value: unknown): string {
    if (typeof value !== "string" || value === "") throw new ControlError("token is required");
    return value;
  }

  async function control(request: Request, url: URL): Promise<Response> {
    const path = url.pathname.slice("/__control/".length);
    const query = url.searchParams;
    if (request.method === "GET") {
      const bot = CONTROL_READS.has(path) ? bots.get(requireToken(query.get("token"))) : undefined;
      switch (path) {
        case "sent": {
          const chatId = query.get("chat_id");
          const okFilter = query.get("ok");
          let messages = bot?.sent ?? [];
          if (chatId !== null) messages = messages.filter((m) => String(m.chat_id) === chatId);
          if (okFilter !== null) messages = messages.filter((m) => m.ok === asBoolean(okFilter));
          return json({ messages });
        }
        case "calls": {
          const methodFilter = query.get("method")?.toLowerCase();
          let calls = bot?.calls ?? [];
          if (methodFilter) calls = calls.filter((c) => c.method.toLowerCase() === methodFilter);
          return json({ calls });
        }
        case "webhook": {
          const hook = bot?.webhook;
          return json({
            url: hook?.url ?? "",
            secret_token: hook?.secret_token ?? null,
            max_connections: hook?.max_connections ?? null,
            allowed_updates: hook?.allowed_updates ?? null,
            drop_pending_updates: hook?.drop_pending_updates ?? false,
            set_at: hook?.set_at ?? null,
            set_count: bot?.webhookSetCount ?? 0,
          });
        }
        case "commands": {
          const all = [...(bot?.commands.values() ?? [])];
          const defaults = bot?.commands.get(scopeKey({ type: "default" }, ""))?.commands ?? [];
          return json({ commands: defaults, scopes: all });
        }
      }
    } else if (request.method === "POST") {
      const body = await readControlBody(request);
      switch (path) {
        case "fail": {
          const token = requireToken(body.token);
          const methodName = typeof body.method === "string" ? body.method.toLowerCase() : "";
          if (!methodName) throw new ControlError('method is required (or "*" for every method)');
          const status = Number(body.status);
          if (!Number.isInteger(status) || status < 400 || status > 599) {
            throw new ControlError("status must be an HTTP error status such as 429, 500, 400 or 403");
          }
          const count = body.count === undefined ? 1 : Number(body.count);
          if (!Number.isInteger(count) || count < 1) throw new ControlError("count must be a positive integer");
          const retryAfter = body.retryAfter === undefined ? 5 : Number(body.retryAfter);
          if (!Number.isInteger(retryAfter) || retryAfter < 0) throw new ControlError("retryAfter must be an integer");
          botState(token).failures.push({
            method: methodName,
            status,
            remaining: count,
            retryAfter,
            description: typeof body.description === "string" ? body.description : null,
          });
          return json({ ok: true });
        }
        case "chat": {
          // `started: false`: the user has not started the bot, so Telegram refuses to write first (403).
          // `started: true`: the user pressed Start (or wrote to the bot); delivering an update from them does too.
          const token = requireToken(body.token);
          const chatId = Number(body.chat_id);
          if (!Number.isSafeInteger(chatId) || chatId <= 0) throw new ControlError("chat_id must be a user id");
          if (typeof body.started !== "boolean") throw new ControlError("started must be a boolean");
          const state = botState(token);
          if (body.started) state.notStarted.delete(String(chatId));
          else state.notStarted.add(String(chatId));
          return json({ ok: true, chat_id: chatId, started: body.started });
        }
        case "reset": {
          bots.delete(requireToken(body.token));
          return json({ ok: true });
        }
        case "revoke": {
          // What @BotFather's /revoke does to the old token: every call with it is refused from now on.
          revoked.add(requireToken(body.token));
          return json({ ok: true });
        }
        case "deliver": {
          // Plays Telegram's part in a local demo: POST an update to the webhook the bot registered.
          const token = requireToken(body.token);
          const hook = bots.get(token)?.webhook;
          if (!hook) throw new ControlError("no webhook is set for this token", 409);
          // A user who writes to the bot has started it: from now on the bot may write to them.
          const from = isRecord(body.update) && isRecord(body.update.message) ? body.update.message.from : null;
          if (isRecord(from) && typeof from.id === "number") bots.get(token)?.notStarted.delete(String(from.id));
          const response = await deliverUpdate(hook.url, hook.secret_token ?? "", body.update);
          return json({ status: response.status, body: await response.text() });
        }
      }
    }
    return json({ error: `unknown control endpoint ${request.method} ${url.pathname}` }, 404);
  }

  return {
    async handle(request: Request): Promise<Response> {
      const url = new URL(request.url);
      if (url.pathname.startsWith("/__control/")) {
        try {
          return await control(request, url);
        } catch (error) {
          if (error instanceof ControlError) return json({ error: error.message }, error.status);
          throw error;
        }
      }
      const match = /^\/bot([^/]+)\/([^/]*)$/.exec(url.pathname);
      if (!match) return json({ ok: false, error_code: 404, description: "Not Found" }, 404);
      return callMethod(decodeURIComponent(match[1] ?? ""), match[2] ?? "", request, url);
    },
  };
}

/** Posts an update to a bot's webhook the way Telegram does: JSON body plus the secret-token header. */
export async function deliverUpdate(webhookUrl: string, secretToken: string, update: unknown): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (secretToken) headers["X-Telegram-Bot-Api-Secret-Token"] = secretToken;
  return fetch(webhookUrl, { method: "POST", headers, body: JSON.stringify(update) });
}
