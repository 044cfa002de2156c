import { z } from "zod";

/** OpenAI-compatible chat completions client for AI answers. */

export interface CompletionRequest {
  baseUrl: string;
  apiKey: string;
  model: string;
  systemPrompt: string | null;
  userText: string;
  maxTokens: number;
  timeoutMs: number;
  /** Functions the model may call instead of answering (OpenAI `tools`); none when absent or empty. */
  tools?: readonly ToolDefinition[];
}

/** An OpenAI-compatible function tool. */
export interface ToolDefinition {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** A function call the model asked for: `arguments` is the model's JSON text, unchecked. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export type Completion =
  | {
      ok: true;
      text: string;
      inputTokens: number;
      outputTokens: number;
      /** Well-formed function calls of the answer (`message.tool_calls`), in order; usually empty. */
      toolCalls: ToolCall[];
      /** Entries of `message.tool_calls` that were not a well-formed function call (left out of `toolCalls`). */
      malformedToolCalls: number;
    }
  | { ok: false; reason: "timeout" | "unavailable" | "bad_response"; status?: number };

const WellFormedToolCall = z.object({
  id: z.string(),
  type: z.literal("function"),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const Response = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullable().optional(),
          // Read one by one below: a malformed call must not cost the whole answer.
          tool_calls: z.unknown().optional(),
        }),
      }),
    )
    .min(1),
  usage: z.object({
    prompt_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative(),
  }),
});

export async function complete(request: CompletionRequest): Promise<Completion> {
  const messages = [
    ...(request.systemPrompt ? [{ role: "system", content: request.systemPrompt }] : []),
    { role: "user", content: request.userText },
  ];
  let response: globalThis.Response;
  try {
    response = await fetch(`${request.baseUrl}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${request.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: request.model,
        messages,
        max_tokens: request.maxTokens,
        ...(request.tools?.length ? { tools: request.tools } : {}),
      }),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (error) {
    return { ok: false, reason: timedOut(error) ? "timeout" : "unavailable" };
  }
  if (!response.ok) {
    await response.body?.cancel();
    return { ok: false, reason: "unavailable", status: response.status };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    // The time can run out while the body arrives: a timeout (which the Worker gives back), not a bad answer.
    return { ok: false, reason: timedOut(error) ? "timeout" : "bad_response" };
  }
  const parsed = Response.safeParse(body);
  if (!parsed.success) return { ok: false, reason: "bad_response" };
  const [choice] = parsed.data.choices;
  const toolCalls: ToolCall[] = [];
  const rawCalls = choice?.message.tool_calls ?? [];
  let malformedToolCalls = Array.isArray(rawCalls) ? 0 : 1;
  for (const raw of Array.isArray(rawCalls) ? rawCalls : []) {
    const call = WellFormedToolCall.safeParse(raw);
    if (call.success) {
      toolCalls.push({ id: call.data.id, name: call.data.function.name, arguments: call.data.function.arguments });
    } else {
      malformedToolCalls++;
    }
  }
  return {
    ok: true,
    text: choice?.message.content ?? "",
    inputTokens: parsed.data.usage.prompt_tokens,
    outputTokens: parsed.data.usage.completion_tokens,
    toolCalls,
    malformedToolCalls,
  };
}

function timedOut(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
}
