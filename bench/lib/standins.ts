import {
  createModelStandin,
  createStripeStandin,
  createTelegramStandin,
  type RunningServer,
  type RunningStandins,
  serve,
} from "../../standins";

/**
 * The stand-ins of `startStandins`, with the Telegram one tapped: every `sendMessage` is timed the moment it
 * reaches the stand-in (the reply "received by Telegram"), keyed by bot token and chat, so a chat's waiter can
 * take its latency; every Bot API call and every model call is counted (an answer's subrequests), and each model
 * call is timed from its arrival to its answer, keyed by the question (the object is idle in between when the
 * webhook's Worker asks the model: docs/telegram.md, "The model's wait").
 */
export interface ReplyTap {
  /** Resolves with `performance.now()` at the next `sendMessage` of this bot to this chat. */
  next(token: string, chatId: number, timeoutMs?: number): Promise<number>;
  telegramCalls(token: string): number;
  modelCalls(): number;
  /** `performance.now()` when the model was asked this question and when it answered, if it was. */
  modelSpan(question: string): readonly [number, number] | undefined;
}

export type TappedStandins = RunningStandins & { tap: ReplyTap };

export async function startTappedStandins(stripeWebhookSecret: string): Promise<TappedStandins> {
  const waiters = new Map<string, (at: number) => void>();
  const calls = new Map<string, number>();
  let model = 0;
  const modelSpans = new Map<string, readonly [number, number]>();
  const started: RunningServer[] = [];
  const telegramStandin = createTelegramStandin();
  const modelStandin = createModelStandin();
  const stripeStandin = createStripeStandin({ webhookSecret: stripeWebhookSecret });
  try {
    const telegram = await serve(async (request) => {
      const at = performance.now();
      const match = /^\/bot([^/]+)\/([^/]*)$/.exec(new URL(request.url).pathname);
      if (match?.[1]) {
        const token = decodeURIComponent(match[1]);
        calls.set(token, (calls.get(token) ?? 0) + 1);
        if (match[2]?.toLowerCase() === "sendmessage") {
          const body = (await request
            .clone()
            .json()
            .catch(() => null)) as { chat_id?: number | string } | null;
          const key = `${token}|${body?.chat_id}`;
          const waiter = waiters.get(key);
          waiters.delete(key);
          waiter?.(at);
        }
      }
      return telegramStandin.handle(request);
    });
    started.push(telegram);
    const modelServer = await serve(async (request) => {
      if (!new URL(request.url).pathname.endsWith("/chat/completions")) return modelStandin.handle(request);
      const asked = performance.now();
      model += 1;
      const body = (await request
        .clone()
        .json()
        .catch(() => null)) as { messages?: { role: string; content: string }[] } | null;
      const question = body?.messages?.findLast((m) => m.role === "user")?.content;
      const response = await modelStandin.handle(request);
      if (question !== undefined) modelSpans.set(question, [asked, performance.now()]);
      return response;
    });
    started.push(modelServer);
    const stripe = await serve((request) => stripeStandin.handle(request));
    started.push(stripe);
    return {
      telegram,
      model: modelServer,
      stripe,
      async close() {
        await Promise.all(started.map((s) => s.close()));
      },
      tap: {
        next(token, chatId, timeoutMs = 60_000) {
          const key = `${token}|${chatId}`;
          return new Promise<number>((resolve, reject) => {
            const timer = setTimeout(() => {
              waiters.delete(key);
              reject(new Error(`no reply to chat ${chatId} within ${timeoutMs} ms`));
            }, timeoutMs);
            waiters.set(key, (at) => {
              clearTimeout(timer);
              resolve(at);
            });
          });
        },
        telegramCalls: (token) => calls.get(token) ?? 0,
        modelCalls: () => model,
        modelSpan: (question) => modelSpans.get(question),
      },
    };
  } catch (error) {
    await Promise.all(started.map((s) => s.close()));
    throw error;
  }
}
