/**
 * OpenAI-compatible chat-completions stand-in.
 *
 * Answers are deterministic so tests can predict token usage (and so credit cost): tokens are ceil(characters / 4).
 * Behaviour is steered per request by directives in the last user message, never by shared state, because many test
 * files run in parallel against one process:
 *
 * - `[[reply:<n> chars]]`      content of exactly n characters, salted with `<`, `&`, `*`, `_`, `.` so that missing
 *                              HTML/Markdown escaping fails loudly at the Telegram stand-in
 * - `[[delay:<ms>]]`           wait before answering (timeouts)
 * - `[[status:<code>]]`        answer with that HTTP status in OpenAI's error shape (429 carries `retry-after`)
 * - `[[retry-after:<s>]]`      the `retry-after` value for a forced 429 (default 1)
 * - `[[usage:<prompt>,<completion>]]`  report exactly these token counts
 * - `[[tool:<name>]]`          when the request offers `tools`, call the function `<name>` instead of answering:
 *                              `content: null`, `tool_calls: [{id: "call_…", type: "function", function: {name,
 *                              arguments}}]`, `finish_reason: "tool_calls"`. The name need not be one offered (models
 *                              do call tools they were not given); without `tools` the directive is ignored, as a
 *                              real model cannot call a function it was not told about
 * - `[[tool-args:<text>]]`     the call's `arguments` string (default `{}`), not checked: models send broken JSON too
 *
 * `GET /__control/requests?contains=<substring>` returns what the Worker sent (with its `tools`), so a test can find
 * its own requests.
 */

export interface ModelStandin {
  handle(request: Request): Promise<Response>;
}

export interface ChatMessage {
  role: string;
  content: unknown;
}

/** One chat-completions request as seen by `GET /__control/requests`. */
export interface ModelRequestRecord {
  id: string;
  at: number;
  model: string | null;
  messages: ChatMessage[];
  max_tokens: number | null;
  max_completion_tokens: number | null;
  stream: boolean;
  /** The request's `tools` as sent, or null when it offered none. */
  tools: unknown[] | null;
  /** Request headers with `authorization` left out; only its presence is kept. */
  headers: Record<string, string>;
  authorization_present: boolean;
  /** Null while the answer is still being prepared (e.g. during a `[[delay]]`). */
  status: number | null;
  response: {
    /** Null when the answer is a function call. */
    content: string | null;
    tool_calls?: StandinToolCall[];
    finish_reason: string;
    usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  } | null;
}

export interface StandinToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

interface Directives {
  replyChars: number | null;
  delayMs: number;
  status: number | null;
  retryAfter: number;
  usage: { prompt: number; completion: number } | null;
  tool: { name: string; arguments: string } | null;
}

const MODELS = ["gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1"];
const MAX_RECORDS = 10_000;
const MAX_REPLY_CHARS = 1_000_000;
const MAX_DELAY_MS = 120_000;
const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);
/** ASCII only so "n characters" means the same in UTF-16, code points and bytes. */
const REPLY_FILLER = "Fact x<y & a*b_c [d](e) `f` 1.5 > 0! ";

function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function openAiError(
  status: number,
  message: string,
  type: string,
  code: string | null,
  param: string | null = null,
  headers?: Record<string, string>,
): Response {
  return json({ error: { message, type, param, code } }, status, headers);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Content may be a string or an array of parts; only text parts count. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let text = "";
  for (const part of content) {
    if (isRecord(part) && typeof part.text === "string") text += part.text;
  }
  return text;
}

export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

function parseDirectives(text: string): Directives {
  const reply = /\[\[reply:\s*(\d+)\s*(?:chars?)?\s*\]\]/i.exec(text);
  const delay = /\[\[delay:\s*(\d+)\s*(?:ms)?\s*\]\]/i.exec(text);
  const status = /\[\[status:\s*(\d{3})\s*\]\]/i.exec(text);
  const retryAfter = /\[\[retry-after:\s*(\d+)\s*\]\]/i.exec(text);
  const usage = /\[\[usage:\s*(\d+)\s*,\s*(\d+)\s*\]\]/i.exec(text);
  const tool = /\[\[tool:\s*([^\]\s]+)\s*\]\]/i.exec(text);
  const toolArgs = /\[\[tool-args:([^\]]*)\]\]/i.exec(text);
  return {
    replyChars: reply ? Math.min(Number(reply[1]), MAX_REPLY_CHARS) : null,
    delayMs: delay ? Math.min(Number(delay[1]), MAX_DELAY_MS) : 0,
    status: status ? Number(status[1]) : null,
    retryAfter: retryAfter ? Number(retryAfter[1]) : 1,
    usage: usage ? { prompt: Number(usage[1]), completion: Number(usage[2]) } : null,
    tool: tool ? { name: tool[1] ?? "", arguments: toolArgs?.[1] ?? "{}" } : null,
  };
}

function stripDirectives(text: string): string {
  return text.replace(/\[\[[a-z-]+:[^\]]*\]\]/gi, "").trim();
}

/** Exactly `length` characters of a fixed pattern, so the same directive always yields the same answer. */
export function fillerText(length: number): string {
  if (length <= 0) return "";
  return REPLY_FILLER.repeat(Math.ceil(length / REPLY_FILLER.length)).slice(0, length);
}

function forcedError(status: number, retryAfter: number): Response {
  switch (status) {
    case 400:
      return openAiError(400, "Stand-in forced a bad request.", "invalid_request_error", null);
    case 401:
      return openAiError(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key");
    case 403:
      return openAiError(403, "You are not allowed to use this model.", "invalid_request_error", "model_not_allowed");
    case 404:
      return openAiError(
        404,
        "The model does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
      );
    case 429:
      return openAiError(
        429,
        `Rate limit reached for requests. Please try again in ${retryAfter}s.`,
        "requests",
        "rate_limit_exceeded",
        null,
        { "retry-after": String(retryAfter) },
      );
    case 500:
      return openAiError(
        500,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        null,
      );
    case 503:
      return openAiError(503, "The server is overloaded or not ready yet.", "server_error", null);
    default:
      return openAiError(
        status,
        `Stand-in forced status ${status}.`,
        status >= 500 ? "server_error" : "invalid_request_error",
        null,
      );
  }
}

/** OpenAI's rule for a function name. */
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** `tools` as OpenAI checks it: an array of function tools, each named, with object `parameters` if any. */
function validateTools(tools: unknown): Response | null {
  if (tools === undefined || tools === null) return null;
  const invalid = (param: string, message: string) =>
    openAiError(400, message, "invalid_request_error", "invalid_value", param);
  if (!Array.isArray(tools)) return invalid("tools", "Invalid type for 'tools': expected an array.");
  if (tools.length === 0) {
    return openAiError(
      400,
      "Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      "invalid_request_error",
      "empty_array",
      "tools",
    );
  }
  if (tools.length > 128) {
    return openAiError(
      400,
      `Invalid 'tools': array too long. Expected an array with maximum length 128, but got an array with length ${tools.length} instead.`,
      "invalid_request_error",
      "array_above_max_length",
      "tools",
    );
  }
  for (const [index, tool] of tools.entries()) {
    if (!isRecord(tool) || tool.type !== "function") {
      return invalid(`tools[${index}].type`, `Invalid value for 'tools[${index}].type': expected 'function'.`);
    }
    const fn = tool.function;
    if (!isRecord(fn) || typeof fn.name !== "string" || !FUNCTION_NAME.test(fn.name)) {
      return invalid(
        `tools[${index}].function.name`,
        `Invalid 'tools[${index}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`,
      );
    }
    if (fn.parameters !== undefined && !isRecord(fn.parameters)) {
      return invalid(
        `tools[${index}].function.parameters`,
        `Invalid type for 'tools[${index}].function.parameters': expected an object.`,
      );
    }
  }
  return null;
}

function validateBody(
  body: unknown,
): { error: Response } | { model: string; messages: ChatMessage[]; maxTokens: number | null } {
  if (!isRecord(body)) {
    return {
      error: openAiError(400, "We could not parse the JSON body of your request.", "invalid_request_error", null),
    };
  }
  if (typeof body.model !== "string" || body.model === "") {
    return { error: openAiError(400, "you must provide a model parameter", "invalid_request_error", null, "model") };
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return {
      error: openAiError(
        400,
        "'messages' must contain at least one message.",
        "invalid_request_error",
        null,
        "messages",
      ),
    };
  }
  const messages: ChatMessage[] = [];
  for (const [index, message] of body.messages.entries()) {
    if (!isRecord(message) || typeof message.role !== "string" || !ROLES.has(message.role)) {
      return {
        error: openAiError(
          400,
          `Invalid value for 'messages[${index}].role'.`,
          "invalid_request_error",
          "invalid_value",
          `messages[${index}].role`,
        ),
      };
    }
    const content = message.content;
    const contentOk =
      typeof content === "string" ||
      Array.isArray(content) ||
      (content === null && message.role === "assistant") ||
      (content === undefined && message.role === "assistant");
    if (!contentOk) {
      return {
        error: openAiError(
          400,
          `Invalid type for 'messages[${index}].content': expected a string or an array of content parts.`,
          "invalid_request_error",
          "invalid_type",
          `messages[${index}].content`,
        ),
      };
    }
    messages.push({ role: message.role, content });
  }
  let maxTokens: number | null = null;
  for (const field of ["max_tokens", "max_completion_tokens"] as const) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      return {
        error: openAiError(
          400,
          `Invalid '${field}': expected a positive integer.`,
          "invalid_request_error",
          "invalid_value",
          field,
        ),
      };
    }
    maxTokens = maxTokens === null ? value : Math.min(maxTokens, value);
  }
  const toolsError = validateTools(body.tools);
  if (toolsError) return { error: toolsError };
  return { model: body.model, messages, maxTokens };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createModelStandin(): ModelStandin {
  const records: ModelRequestRecord[] = [];
  let counter = 0;

  async function chatCompletions(request: Request): Promise<Response> {
    const authorization = request.headers.get("authorization");
    const headers: Record<string, string> = {};
    request.headers.forEach((value, key) => {
      if (key !== "authorization") headers[key] = value;
    });
    counter++;
    const id = `chatcmpl-standin${String(counter).padStart(8, "0")}`;
    const record: ModelRequestRecord = {
      id,
      at: Date.now(),
      model: null,
      messages: [],
      max_tokens: null,
      max_completion_tokens: null,
      stream: false,
      tools: null,
      headers,
      authorization_present: authorization !== null,
      status: null,
      response: null,
    };
    records.push(record);
    if (records.length > MAX_RECORDS) records.splice(0, records.length - MAX_RECORDS);
    const finish = (response: Response) => {
      record.status = response.status;
      return response;
    };

    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!bearer) {
      return finish(
        openAiError(
          401,
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
          "invalid_request_error",
          "invalid_api_key",
        ),
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(await request.text());
    } catch {
      return finish(
        openAiError(400, "We could not parse the JSON body of your request.", "invalid_request_error", null),
      );
    }
    if (isRecord(body)) {
      // Recorded even when invalid, so a test can see what a broken request looked like.
      record.model = typeof body.model === "string" ? body.model : null;
      record.messages = Array.isArray(body.messages) ? (body.messages as ChatMessage[]) : [];
      record.max_tokens = typeof body.max_tokens === "number" ? body.max_tokens : null;
      record.max_completion_tokens = typeof body.max_completion_tokens === "number" ? body.max_completion_tokens : null;
      record.stream = body.stream === true;
      record.tools = Array.isArray(body.tools) ? body.tools : null;
    }
    const valid = validateBody(body);
    if ("error" in valid) return finish(valid.error);

    const lastUser = [...valid.messages].reverse().find((m) => m.role === "user");
    const lastUserText = contentText(lastUser?.content);
    const directives = parseDirectives(lastUserText);
    if (directives.delayMs > 0) await sleep(directives.delayMs);
    if (directives.status !== null && directives.status !== 200) {
      return finish(forcedError(directives.status, directives.retryAfter));
    }

    // A function call only when the request offered tools: a real model cannot call one it was not told about.
    const toolCall: StandinToolCall | null =
      directives.tool && record.tools?.length
        ? { id: `call_standin${String(counter).padStart(16, "0")}`, type: "function", function: directives.tool }
        : null;
    let content: string | null =
      directives.replyChars !== null
        ? fillerText(directives.replyChars)
        : `Answer to: ${stripDirectives(lastUserText).slice(0, 200)}`;
    let finishReason = "stop";
    let completionTokens = estimateTokens(content.length);
    if (toolCall) {
      content = null;
      finishReason = "tool_calls";
      completionTokens = estimateTokens(JSON.stringify(toolCall.function).length);
    } else if (valid.maxTokens !== null && completionTokens > valid.maxTokens) {
      content = content.slice(0, valid.maxTokens * 4);
      completionTokens = valid.maxTokens;
      finishReason = "length";
    }
    // The offered tools are part of the prompt, as they are for OpenAI's token count.
    const toolChars = record.tools ? JSON.stringify(record.tools).length : 0;
    const promptChars = valid.messages.reduce((sum, m) => sum + contentText(m.content).length, toolChars);
    let promptTokens = estimateTokens(promptChars);
    if (directives.usage) {
      promptTokens = directives.usage.prompt;
      completionTokens = directives.usage.completion;
    }
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    };
    record.response = { content, ...(toolCall ? { tool_calls: [toolCall] } : {}), finish_reason: finishReason, usage };
    const created = Math.floor(Date.now() / 1000);

    if (record.stream) {
      return finish(streamResponse(id, created, valid.model, content ?? "", toolCall, finishReason, usage, body));
    }
    return finish(
      json({
        id,
        object: "chat.completion",
        created,
        model: valid.model,
        system_fingerprint: "fp_standin",
        choices: [
          {
            index: 0,
            message: { role: "assistant", content, ...(toolCall ? { tool_calls: [toolCall] } : {}), refusal: null },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        usage: {
          ...usage,
          prompt_tokens_details: { cached_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0 },
        },
      }),
    );
  }

  function listRequests(url: URL): Response {
    const contains = url.searchParams.get("contains");
    const matching =
      contains === null
        ? records
        : records.filter((record) => {
            const lastUser = [...record.messages].reverse().find((m) => isRecord(m) && m.role === "user");
            return contentText(lastUser?.content).includes(contains);
          });
    return json({ requests: matching });
  }

  return {
    async handle(request: Request): Promise<Response> {
      const url = new URL(request.url);
      const path = url.pathname.replace(/\/+$/, "");
      if (path === "/__control/requests" && request.method === "GET") return listRequests(url);
      if (path === "/v1/chat/completions" && request.method === "POST") return chatCompletions(request);
      if (path === "/v1/models" && request.method === "GET") {
        if (!/^Bearer\s+\S+$/i.test(request.headers.get("authorization") ?? "")) {
          return openAiError(401, "You didn't provide an API key.", "invalid_request_error", "invalid_api_key");
        }
        return json({
          object: "list",
          data: MODELS.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "standin" })),
        });
      }
      return openAiError(404, `Invalid URL (${request.method} ${url.pathname})`, "invalid_request_error", null);
    },
  };
}

/** Server-sent events in OpenAI's chunk format, for callers that ask for `stream: true`. */
function streamResponse(
  id: string,
  created: number,
  model: string,
  content: string,
  toolCall: StandinToolCall | null,
  finishReason: string,
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number },
  body: unknown,
): Response {
  const base = { id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_standin" };
  const events: unknown[] = [
    {
      ...base,
      choices: [
        { index: 0, delta: { role: "assistant", content: toolCall ? null : "" }, logprobs: null, finish_reason: null },
      ],
    },
  ];
  if (toolCall) {
    events.push({
      ...base,
      choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...toolCall }] }, logprobs: null, finish_reason: null }],
    });
  }
  for (let i = 0; i < content.length; i += 64) {
    events.push({
      ...base,
      choices: [{ index: 0, delta: { content: content.slice(i, i + 64) }, logprobs: null, finish_reason: null }],
    });
  }
  events.push({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }] });
  const options = isRecord(body) ? body.stream_options : undefined;
  if (isRecord(options) && options.include_usage === true) events.push({ ...base, choices: [], usage });
  const text = `${events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join("")}data: [DONE]\n\n`;
  return new Response(text, {
    status: 200,
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}
