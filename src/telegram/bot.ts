import type { Api } from "grammy";
import { type Completion, type CompletionRequest, complete } from "../ai/model";
import { tokenCostMicros } from "../ai/pricing";
import { type Config, MAX_ANSWER_TOKENS } from "../env";
import type { AutoRechargeView, Outcome, StatsSnapshot } from "../ledger/types";
import { describeError, log } from "../log";
import { BALANCE_TOOL, readToolCalls } from "./balance-tool";
import { parseClientLimit } from "./command-args";
import { detectBalanceQuestion } from "./intent";
import { dashboardUrl, opensInTelegram, setOwnerMenu } from "./menu";
import { type SendResult, sendText, splitMessage } from "./sender";
import { type Catalogue, type OutOfCreditsDetails, type OutOfCreditsReason, textsIn } from "./texts";
import { isLang, type Lang } from "./types";
import type { Job } from "./updates";

/** The model may take this long; the webhook was answered long before (see docs/telegram.md). */
export const MODEL_TIMEOUT_MS = 90_000;
/** A user message is cut to this many characters before it reaches the model (bounds the prompt). */
export const MAX_USER_TEXT_CHARS = 4_000;

/**
 * What the bot needs from its CreditAccount. Each call runs synchronously inside one of the
 * object's transactions; the bot itself only awaits Telegram and the model.
 */
export interface AccountPort {
  instanceId: string;
  updateId: number;
  /** Reserve the worst case of one answer for this update (idempotent per update). */
  holdAnswer(endUserId: string): Outcome<{ holdId: string }>;
  /**
   * Charge the answer's real cost and store its text, atomically. A function is called inside that transaction,
   * after the settle (the balance answer reads the balance with this answer's hold already gone).
   */
  settleAnswer(holdId: string, costMicros: number, answer: string | (() => string)): Outcome<{ chargedMicros: number }>;
  releaseAnswer(holdId: string): void;
  /** The stored answer of this update if it was already produced and paid (a retried job). */
  storedAnswer(): { text: string; sentParts: number } | null;
  markSent(parts: number): void;
  /** What a client spent today, plus the worst case of their other answers in flight (open holds). */
  spentToday(endUserId: string): number;
  /** This update's answer holds its worst case already: the daily limit was checked when it was taken. */
  answerHeld(): boolean;
  /** Counts an unanswered message; the object tells the owner (once per episode, through its alerts). */
  recordUnanswered(): void;
  balance(): { balanceMicros: number; availableMicros: number };
  autoRecharge(): AutoRechargeView | null;
  stats(): StatsSnapshot;
  /** The owner's `/clientLimit` (0: off); `null` goes back to the configured default. */
  setClientLimit(micros: number | null): void;
  /** The language the owner is answered in, and whether they chose it with `/language`. */
  ownerLanguage(): { lang: Lang; chosen: boolean };
  /** `/language:xx`: the owner's choice, kept over Telegram's language_code of later messages. */
  chooseOwnerLanguage(lang: Lang): void;
}

export interface BotDeps {
  api: Api;
  config: Config;
  aiApiKey: string;
  systemPrompt: string | null;
  ownerChatId: number;
  /** What one end user may cost per UTC day (the owner's `/clientLimit`, else the configured default); 0: no limit. */
  endUserDailyCapMicros: number;
  account: AccountPort;
  /** Owner commands that belong to billing (Stripe); answered by the billing module. */
  billing?: (job: Extract<Job, { kind: "owner_command" }>) => Promise<void>;
  /** Told every text sent (the dashboard shows the confirmation the owner gets in the chat). */
  onReply?: (text: string) => void;
  /** The model's answer to this job, when the webhook's Worker asked the model for it (`askOutside`). */
  completion?: Completion | null;
}

/** What the model is asked for an answer; the caller adds the API key and its timeout. */
type ModelAsk = Omit<CompletionRequest, "apiKey" | "timeoutMs">;
/** What the webhook's Worker asks the model for a client (no tools: those are the owner's). */
export type OutsideAsk = Omit<ModelAsk, "tools">;

function modelAsk(deps: Pick<BotDeps, "config" | "systemPrompt">, text: string, balanceTool: Lang | null): ModelAsk {
  return {
    baseUrl: deps.config.aiBaseUrl,
    model: deps.config.aiModel,
    systemPrompt: deps.systemPrompt,
    userText: text.slice(0, MAX_USER_TEXT_CHARS),
    maxTokens: MAX_ANSWER_TOKENS,
    ...(balanceTool ? { tools: [BALANCE_TOOL] } : {}),
  };
}

/** One more answer (its worst case) would take this client past their daily limit (0: no limit). */
function overDailyLimit(deps: Pick<BotDeps, "account" | "config" | "endUserDailyCapMicros">, endUserId: string) {
  const cap = deps.endUserDailyCapMicros;
  return cap > 0 && deps.account.spentToday(endUserId) + deps.config.answerWorstCaseMicros > cap;
}

/**
 * A client's question the webhook's Worker may take to the model while the object waits for nothing
 * (docs/telegram.md, "The model's wait"): the checks `answer` makes before its model call — the client's daily
 * limit, then the hold — so the model is asked only for an answer that will be paid. null: the object runs the
 * job itself (and tells whoever must be told: the client over the limit, the owner out of credits).
 */
export function askOutside(
  job: Job,
  deps: Pick<BotDeps, "account" | "config" | "systemPrompt" | "endUserDailyCapMicros">,
): OutsideAsk | null {
  if (job.kind !== "user_text" || deps.account.storedAnswer()) return null;
  const endUserId = String(job.userId);
  if (overDailyLimit(deps, endUserId) || !deps.account.holdAnswer(endUserId).ok) return null;
  return modelAsk(deps, job.text, null);
}

async function reply(deps: BotDeps, chatId: number, text: string, parseMode?: "HTML"): Promise<SendResult> {
  const result = await sendText(deps.api, chatId, text, parseMode ? { parseMode } : {});
  deps.onReply?.(text);
  if (!result.ok) {
    log("warn", "telegram_send_failed", {
      instanceId: deps.account.instanceId,
      permanent: result.permanent,
      error: result.description,
    });
  }
  return result;
}

function balanceText(deps: BotDeps, lang: Lang): string {
  return textsIn(lang).balanceAnswer({ ...deps.account.balance(), autoRecharge: deps.account.autoRecharge() });
}

/** The owner's catalogue: their `/language` choice, else the language_code of their latest message, else English. */
function ownerTexts(deps: BotDeps): Catalogue {
  return textsIn(deps.account.ownerLanguage().lang);
}

/** A client's catalogue: the language_code of the message being answered, else English. */
function clientTexts(job: { lang?: Lang | null }): Catalogue {
  return textsIn(job.lang ?? "en");
}

/** Handles one routed update. Throws only on a transient failure that is worth a retry. */
export async function handleJob(job: Job, deps: BotDeps): Promise<void> {
  switch (job.kind) {
    case "callback":
      await deps.api.answerCallbackQuery(job.callbackQueryId).catch(() => undefined);
      return;
    case "non_text":
      await reply(deps, job.chatId, (job.owner ? ownerTexts(deps) : clientTexts(job)).nonTextMessage());
      return;
    case "refuse_command":
      await reply(deps, job.chatId, clientTexts(job).notOwnerRefusal());
      return;
    case "owner_unknown_command":
      await reply(deps, job.chatId, helpText(deps));
      return;
    case "owner_command":
      return ownerCommand(job, deps);
    case "owner_text": {
      const question = detectBalanceQuestion(job.text);
      if (question) {
        await reply(deps, job.chatId, balanceText(deps, question.lang));
        return;
      }
      // The rules missed: the model answers, with the balance tool at hand (in the language /balance uses).
      return answer(deps, job.chatId, String(job.chatId), job.text, {
        owner: true,
        lang: deps.account.ownerLanguage().lang,
      });
    }
    case "user_text":
      return answer(deps, job.chatId, String(job.userId), job.text, { owner: false, lang: job.lang ?? "en" });
  }
}

async function ownerCommand(job: Extract<Job, { kind: "owner_command" }>, deps: BotDeps): Promise<void> {
  switch (job.command) {
    case "balance":
      await reply(deps, job.chatId, balanceText(deps, deps.account.ownerLanguage().lang));
      return;
    case "stats": {
      const report = ownerTexts(deps).statsReport({
        ...deps.account.stats(),
        autoRecharge: deps.account.autoRecharge(),
      });
      await reply(deps, job.chatId, report.text, report.parseMode);
      return;
    }
    case "help":
    case "start":
      await reply(deps, job.chatId, helpText(deps));
      return;
    case "dashboard":
      return dashboard(job.chatId, deps);
    case "clientlimit": {
      const parsed = parseClientLimit(job.args, deps.config, ownerTexts(deps));
      if (!parsed.ok) {
        await reply(deps, job.chatId, parsed.message);
        return;
      }
      deps.account.setClientLimit(parsed.value);
      await reply(deps, job.chatId, ownerTexts(deps).clientLimitSet(parsed.value));
      return;
    }
    case "language":
      return language(job, deps);
    default:
      if (deps.billing) return deps.billing(job);
      await reply(deps, job.chatId, helpText(deps));
  }
}

/** `/dashboard`: a button that opens the Mini App in Telegram (HTTPS), else its address as text. */
async function dashboard(chatId: number, deps: BotDeps): Promise<void> {
  const url = dashboardUrl(deps.config.publicBaseUrl, deps.account.instanceId);
  const t = ownerTexts(deps);
  const here = opensInTelegram(url);
  const keyboard = here ? { inline_keyboard: [[{ text: t.dashboardButton(), web_app: { url } }]] } : undefined;
  const sent = await sendText(deps.api, chatId, t.dashboardLink(url, here), keyboard ? { keyboard } : {});
  if (!sent.ok) log("warn", "telegram_send_failed", { instanceId: deps.account.instanceId, error: sent.description });
}

/** `/help` with the configured limits and the owner's settings now. */
function helpText(deps: BotDeps): string {
  return ownerTexts(deps).helpText(deps.config, {
    autoRecharge: deps.account.autoRecharge(),
    clientLimitMicros: deps.endUserDailyCapMicros,
  });
}

/**
 * `/language` shows the owner's language; `/language:cs` or `/language:en` chooses it (kept over Telegram's
 * language_code) and gives the owner's command menu that language. A menu Telegram refuses changes nothing else.
 */
async function language(job: Extract<Job, { kind: "owner_command" }>, deps: BotDeps): Promise<void> {
  const [choice, ...rest] = job.args.map((a) => a.trim().toLowerCase());
  if (choice === undefined) {
    const now = deps.account.ownerLanguage();
    await reply(deps, job.chatId, textsIn(now.lang).languageCurrent(now.chosen));
    return;
  }
  if (!isLang(choice) || rest.length > 0) {
    await reply(deps, job.chatId, ownerTexts(deps).languageProblem(job.args.join(" ")));
    return;
  }
  deps.account.chooseOwnerLanguage(choice);
  const dashboard = { url: dashboardUrl(deps.config.publicBaseUrl, deps.account.instanceId), lang: choice };
  await setOwnerMenu(deps.api, deps.ownerChatId, choice, dashboard).catch((error: unknown) =>
    log("warn", "owner_menu_failed", { instanceId: deps.account.instanceId, error: describeError(error) }),
  );
  await reply(deps, job.chatId, textsIn(choice).languageSet());
}

/**
 * A metered answer: hold the worst case, ask the model, settle the real token cost together
 * with the answer text, then send. A retried job finds the stored answer and only sends what
 * is left, so neither the charge nor the model call happens twice.
 *
 * `balanceTool` (the owner's chat only: the language of the balance answer) offers the model `get_credit_balance`;
 * an answer that calls it is the `/balance` answer and costs nothing (settled at zero: no ledger entry).
 */
async function answer(
  deps: BotDeps,
  chatId: number,
  endUserId: string,
  text: string,
  who: { owner: boolean; lang: Lang },
): Promise<void> {
  const { account, config } = deps;
  const t = textsIn(who.lang);
  const balanceTool = who.owner ? who.lang : null;
  let stored = account.storedAnswer();
  if (!stored) {
    // A hold taken already (`askOutside`, or an earlier run of this job) passed the daily limit when it was taken:
    // checking again could refuse the client and leave the hold open until it expires.
    const delivered = deps.completion ?? null;
    if (!delivered && !who.owner && !account.answerHeld() && overDailyLimit(deps, endUserId)) {
      await reply(deps, chatId, t.userDailyCapReached());
      return;
    }
    // A hold taken already is found again under the update's key, and lives on for this run.
    const hold = account.holdAnswer(endUserId);
    // Any other refusal is a fault, not an empty balance: the job fails and is retried, nobody is told "out".
    if (!hold.ok && hold.reason !== "insufficient_credits") throw new Error(`hold refused: ${hold.reason}`);
    if (!hold.ok) {
      // The owner never meets silence: their own message gets the balance, the reason and the fix.
      if (who.owner) {
        const out = outOfCredits(account.autoRecharge());
        await reply(deps, chatId, t.outOfCreditsReply(account.balance().balanceMicros, out.reason, out.details));
        return;
      }
      // A client: no answer (silently), counted, and the owner told once right away.
      account.recordUnanswered();
      return;
    }
    const completion =
      delivered ??
      (await complete({ ...modelAsk(deps, text, balanceTool), apiKey: deps.aiApiKey, timeoutMs: MODEL_TIMEOUT_MS }));
    if (!completion.ok) {
      account.releaseAnswer(hold.holdId);
      log("warn", "model_failed", {
        instanceId: account.instanceId,
        reason: completion.reason,
        status: completion.status,
      });
      await reply(deps, chatId, t.answerFailed());
      return;
    }
    const calls = readToolCalls(completion, balanceTool !== null);
    if (calls.ignored.length > 0 || calls.malformed > 0) {
      log("warn", "model_tool_call_ignored", {
        instanceId: account.instanceId,
        names: calls.ignored.slice(0, 5),
        malformed: calls.malformed,
        hasText: completion.text !== "",
      });
    }
    if (calls.balance && balanceTool) {
      let balance = "";
      const settled = account.settleAnswer(hold.holdId, 0, () => {
        balance = balanceText(deps, balanceTool);
        return balance;
      });
      if (!settled.ok) throw new Error(`settle failed: ${settled.reason}`);
      stored = account.storedAnswer() ?? { text: balance, sentParts: 0 };
      return sendAnswer(deps, chatId, stored);
    }
    if (completion.text === "" && (calls.ignored.length > 0 || calls.malformed > 0)) {
      // A call of a function we do not have, and no text: no answer to give or to charge for.
      account.releaseAnswer(hold.holdId);
      await reply(deps, chatId, t.answerFailed());
      return;
    }
    const priced = tokenCostMicros(
      config.modelPrices,
      config.markupPpm,
      config.aiModel,
      completion.inputTokens,
      completion.outputTokens,
    );
    // An unpriced model is refused at configuration time; a free answer is never the fallback.
    const cost = priced.ok ? Math.max(1, priced.micros) : config.answerWorstCaseMicros;
    const settled = account.settleAnswer(hold.holdId, cost, completion.text || "…");
    if (!settled.ok) throw new Error(`settle failed: ${settled.reason}`);
    stored = { text: completion.text || "…", sentParts: 0 };
  }
  return sendAnswer(deps, chatId, stored);
}

/** Sends what is left of a stored answer, part by part, marking each part sent. */
async function sendAnswer(deps: BotDeps, chatId: number, stored: { text: string; sentParts: number }): Promise<void> {
  const { account } = deps;
  const parts = splitMessage(stored.text);
  for (let i = stored.sentParts; i < parts.length; i++) {
    const sent = await reply(deps, chatId, parts[i] as string);
    if (!sent.ok) {
      if (sent.permanent) return; // e.g. the user blocked the bot: nothing to retry, already paid once.
      throw new Error("telegram send failed; will retry the remaining parts");
    }
    account.markSent(i + 1);
  }
}

export type OutReason = OutOfCreditsReason;

/** The owner's saved settings, so a fix repeats them; a saved card turns auto-recharge on without a new one. */
export function settingsOf(ar: AutoRechargeView | null): OutOfCreditsDetails {
  if (!ar || ar.status === "pending_card") return {};
  return { topUpMicros: ar.topUpMicros, rechargeAtMicros: ar.rechargeAtMicros, cardSaved: ar.cardSaved === true };
}

/** What an out-of-credits message says: the reason, and the owner's own settings and link for the fix. */
export function outOfCredits(ar: AutoRechargeView | null): { reason: OutReason; details: OutOfCreditsDetails } {
  return { reason: outReason(ar), details: { confirmUrl: ar?.confirmUrl ?? null, ...settingsOf(ar) } };
}

export function outReason(autoRecharge: AutoRechargeView | null): OutReason {
  if (!autoRecharge?.enabled) return "auto_recharge_off";
  switch (autoRecharge.status) {
    case "failing":
      return "card_declined";
    case "needs_confirmation":
      return "needs_confirmation";
    case "daily_limit":
      return "daily_limit";
    case "pending_card":
      return "auto_recharge_off";
    default:
      // One recharge per crossing: after a top-up smaller than the gap, nothing is on its way.
      return autoRecharge.inFlight === false && autoRecharge.armed === false ? "top_up_short" : "recharge_pending";
  }
}
