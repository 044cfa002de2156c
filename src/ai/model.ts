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
}

export type Completion =
  | { ok: true; text: string; inputTokens: number; outputTokens: number }
  | { ok: false; reason: "timeout" | "unavailable" | "bad_response"; status?: number };

const Response = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable().optional() }) })).min(1),
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
      body: JSON.stringify({ model: request.model, messages, max_tokens: request.maxTokens }),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return { ok: false, reason: timedOut ? "timeout" : "unavailable" };
  }
  if (!response.ok) {
    await response.body?.cancel();
    return { ok: false, reason: "unavailable", status: response.status };
  }
  const parsed = Response.safeParse(await response.json().catch(() => null));
  if (!parsed.success) return { ok: false, reason: "bad_response" };
  const [choice] = parsed.data.choices;
  return {
    ok: true,
    text: choice?.message.content ?? "",
    inputTokens: parsed.data.usage.prompt_tokens,
    outputTokens: parsed.data.usage.completion_tokens,
  };
}
