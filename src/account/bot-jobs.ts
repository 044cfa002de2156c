import type { Completion } from "../ai/model";
import type { Billing } from "../billing/billing";
import { billingCommand } from "../billing/commands";
import { latestInvoices } from "../billing/history";
import type { Config } from "../env";
import type { Ledger } from "../ledger/ledger";
import { backoffMs, internalKey, MAX_JOB_ATTEMPTS } from "../ledger/rules";
import type { StatsSnapshot } from "../ledger/types";
import { describeError, log } from "../log";
import { type AccountPort, askOutside, type BotDeps, handleJob, type OutsideAsk } from "../telegram/bot";
import { sendText } from "../telegram/sender";
import { textsIn } from "../telegram/texts";
import type { Job, OwnerCommand } from "../telegram/updates";
import type { AfterChange } from "./after-change";
import type { Alerts } from "./alerts";
import type { BotToken } from "./bot-token";
import { type Inbox, InboxPool, type NewJob } from "./inbox";

/** Jobs run at once: clients' answers (each may wait on the model), and the owner's own lane beside them. */
const INBOX_SLOTS = { client: 8, owner: 2 };
/** An answer's hold outlives the model's timeout, so it cannot expire under a slow answer. */
const ANSWER_HOLD_TTL_MS = 5 * 60_000;
/**
 * Questions at the model outside the object at once; beyond this the object asks the model itself (its own 8
 * slots). Each has its hold taken, so the balance bounds them as well.
 */
const MAX_LEASED = 64;

/**
 * A client's question leased to the webhook's Worker: it asks the model (`ask`, plus the API key and its
 * timeout) and delivers the answer with `CreditAccount.modelAnswered(updateId, lease, …)`.
 */
export interface ModelCall {
  updateId: number;
  lease: string;
  ask: OutsideAsk;
}

/** What the bot's jobs need of the object: its transaction, its alarm, what follows a change, the stats. */
export interface JobHost {
  tx<T>(fn: () => T): T;
  armAlarm(at: number): void;
  after: AfterChange;
  stats(now: number): StatsSnapshot;
  /** Sends the welcome now if it is still owed (Telegram refused it at provisioning); true when it went out. */
  welcomeWithFirstMessage(): Promise<boolean>;
}

interface NotifyOptions {
  parseMode?: "HTML";
  button?: { text: string; url: string };
}

function sendOptions(options: NotifyOptions) {
  return {
    ...(options.parseMode ? { parseMode: options.parseMode } : {}),
    ...(options.button
      ? { keyboard: { inline_keyboard: [[{ text: options.button.text, url: options.button.url }]] } }
      : {}),
  };
}

/**
 * Runs the inbox's jobs (answers, owner commands) in a rolling pool and gives each the bot's view of the
 * account (`AccountPort`): every call one synchronous transaction, charged under the update's own key.
 * Also the one way to write to the owner.
 */
export class BotJobs {
  /** The owner's messages in order: each waits for the one before it (which never rejects). */
  #ownerLine: Promise<unknown> = Promise.resolve();
  readonly #pool: InboxPool;
  #draining: Promise<void> | null = null;

  constructor(
    private readonly env: Env,
    private readonly config: Config,
    private readonly ledger: Ledger,
    private readonly inbox: Inbox,
    private readonly billing: Billing,
    private readonly alerts: Alerts,
    private readonly botToken: BotToken,
    private readonly host: JobHost,
  ) {
    this.#pool = new InboxPool(inbox, INBOX_SLOTS);
  }

  /** Starts draining the inbox, or makes the running drain look for the new job at once. */
  kick(): void {
    if (this.#draining) {
      this.#pool.wake();
      return;
    }
    this.#draining = this.#pool
      .drain((p) => this.#run(p.updateId, p.job, p.attempts, p.completion))
      .catch((error: unknown) => log("error", "inbox_drain_failed", { error: describeError(error) }))
      .finally(() => {
        this.#draining = null;
      });
  }

  /**
   * A job the webhook just recorded. A client's question whose hold is taken is leased to the webhook's Worker,
   * which asks the model while this object waits for nothing and is not billed for the wait (docs/telegram.md,
   * "The model's wait"); everything else, and a question the checks stop, runs here.
   */
  received(queued: NewJob, now: number): ModelCall | null {
    const account = this.ledger.account();
    const ask =
      account && this.inbox.leased(now) < MAX_LEASED
        ? askOutside(queued.job, {
            account: this.#port(queued.updateId),
            config: this.config,
            systemPrompt: account.system_prompt,
            endUserDailyCapMicros: this.ledger.clientLimitMicros(),
          })
        : null;
    if (!ask) {
      this.kick();
      return null;
    }
    const { lease, until } = this.host.tx(() => this.inbox.lease(queued.updateId, now));
    this.host.armAlarm(until);
    return { updateId: queued.updateId, lease, ask };
  }

  /**
   * The Worker's delivery of the model's answer under its lease (null: it gave the job back, e.g. its time ran
   * out, and this object asks the model itself). The job then runs here with that answer: settled, stored and
   * sent as any other. false: the lease had ended (the object took the job back), nothing changes.
   */
  modelAnswered(updateId: number, lease: string, completion: Completion | null): boolean {
    const taken = this.host.tx(() => this.inbox.deliver(updateId, lease, completion));
    if (!taken) {
      log("warn", "model_answer_refused", { instanceId: this.ledger.account()?.instance_id, updateId });
      return false;
    }
    this.kick();
    return true;
  }

  /** Resolves when the running drain (if any) has finished. */
  async drained(): Promise<void> {
    await this.#draining;
  }

  /**
   * A message to the owner's chat; false when Telegram did not take it (the caller may give its claim back).
   * The owner's messages go out one at a time, in the order they were decided: a message retried after a
   * Telegram error is never overtaken by a later one ("credits are back" before the "out of credits" it
   * answers). `stillTrue` drops a message whose fact ended while it waited (counted as sent).
   */
  notifyOwner(text: string, stillTrue?: () => boolean): Promise<boolean> {
    const turn = this.#ownerLine.then(() => this.#sendToOwner(text, stillTrue));
    this.#ownerLine = turn;
    return turn;
  }

  async #sendToOwner(text: string, stillTrue?: () => boolean): Promise<boolean> {
    const account = this.ledger.account();
    if (!account) return false;
    try {
      const options = stillTrue ? { stillTrue } : {};
      return (await sendText(await this.botToken.telegram(), account.owner_telegram_id, text, options)).ok;
    } catch (error) {
      log("warn", "owner_notification_failed", { instanceId: account.instance_id, error: describeError(error) });
      return false;
    }
  }

  async #run(updateId: number, job: Job, attempts: number, completion: Completion | null): Promise<void> {
    const account = this.ledger.account();
    if (!account) return;
    this.inbox.attempted(updateId);
    try {
      // The owner's language follows their latest message (unless chosen with /language), before anything is
      // worded for them: the welcome that waited for this message comes in it too.
      // First attempts only: a retried older message must not undo the language of a newer one.
      const ownerLang = isOwnerJob(job) && attempts === 0 ? job.lang : null;
      if (ownerLang) this.host.tx(() => this.ledger.row.ownerLanguageSeen(ownerLang));
      // The owner's first message brings the welcome Telegram refused at provisioning (before its own answer);
      // pressing Start gets the welcome as its answer.
      const welcomed = job.kind.startsWith("owner") ? await this.host.welcomeWithFirstMessage() : false;
      if (welcomed && job.kind === "owner_command" && job.command === "start") {
        this.inbox.done(updateId);
        return;
      }
      await handleJob(job, { ...(await this.#deps(updateId)), completion });
      this.inbox.done(updateId);
    } catch (error) {
      const giveUp = attempts + 1 >= MAX_JOB_ATTEMPTS;
      log(giveUp ? "error" : "warn", "telegram_job_failed", {
        instanceId: account.instance_id,
        updateId,
        attempt: attempts + 1,
        gaveUp: giveUp,
        error: describeError(error),
      });
      if (giveUp) {
        // A hold taken for this answer and never settled (it was taken when the question arrived) is given back
        // now, not when it expires.
        this.host.tx(() => {
          this.ledger.releaseHoldOf(internalKey("telegram-update", updateId), Date.now());
          this.inbox.done(updateId);
        });
      } else this.host.armAlarm(Date.now() + backoffMs(attempts));
    }
  }

  /**
   * An owner command from the dashboard (docs/dashboard.md), run as if the owner had typed it: the same handler,
   * the same reply in the owner's chat. Owner commands that the dashboard may send hold no credits, so the
   * update id of the port (the key of an answer's hold) is never used: 0, which no Telegram update has.
   * Returns the texts sent and the link of a button (a Checkout page, the billing portal), for the page.
   */
  async ownerCommandFromApp(command: OwnerCommand, args: string[]): Promise<{ texts: string[]; link: string | null }> {
    const account = this.ledger.account();
    if (!account) return { texts: [], link: null };
    const sent: { texts: string[]; link: string | null } = { texts: [], link: null };
    const job = { kind: "owner_command" as const, chatId: account.owner_telegram_id, command, args, lang: null };
    await handleJob(job, await this.#deps(0, sent));
    return sent;
  }

  /** What the bot's handlers need for one job; `sent` collects what they send to the owner. */
  async #deps(updateId: number, sent?: { texts: string[]; link: string | null }): Promise<BotDeps> {
    const account = this.ledger.account();
    if (!account) throw new Error("instance not provisioned");
    const api = await this.botToken.telegram();
    return {
      api,
      config: this.config,
      aiApiKey: this.env.AI_API_KEY,
      systemPrompt: account.system_prompt,
      ownerChatId: account.owner_telegram_id,
      endUserDailyCapMicros: this.ledger.clientLimitMicros(),
      account: this.#port(updateId),
      ...(sent ? { onReply: (text: string) => void sent.texts.push(text) } : {}),
      billing: (ownerJob) =>
        billingCommand(ownerJob, {
          billing: this.billing,
          config: this.config,
          instanceId: account.instance_id,
          botUsername: account.bot_username,
          texts: textsIn(this.ledger.ownerLang()),
          reply: async (text, options = {}) => {
            if (sent) {
              sent.texts.push(text);
              sent.link = options.button?.url ?? sent.link;
            }
            return sendText(api, ownerJob.chatId, text, sendOptions(options));
          },
          invoices: () => latestInvoices(this.env.DB, account.instance_id),
          apply: (fx) => this.host.after.billingDecidedLater(fx),
        }),
    };
  }

  /** The bot's view of this account for one update; every call is one synchronous transaction. */
  #port(updateId: number): AccountPort {
    const key = internalKey("telegram-update", updateId);
    const { tx } = this.host;
    return {
      instanceId: this.ledger.account()?.instance_id ?? "",
      updateId,
      holdAnswer: (endUserId) => {
        const now = Date.now();
        const result = tx(() => {
          const held = this.ledger.hold(
            {
              idempotencyKey: key,
              operation: "response",
              maxCostMicros: this.config.answerWorstCaseMicros,
              ttlMs: ANSWER_HOLD_TTL_MS,
              fingerprint: key,
              endUserId,
            },
            now,
          );
          // Taken when the question arrived (`askOutside`) and given back to this object: the hold outlives
          // this run's model call too, however long the job waited for it.
          if (held.ok && held.replayed) this.ledger.extendHold(held.holdId, now + ANSWER_HOLD_TTL_MS);
          return held;
        });
        if (result.ok) this.host.armAlarm(result.replayed ? now + ANSWER_HOLD_TTL_MS : result.expiresAt);
        return result;
      },
      settleAnswer: (holdId, costMicros, answer) => {
        const now = Date.now();
        const result = tx(() => {
          const settled = this.ledger.settle({ holdId, costMicros, fingerprint: key }, now);
          if (settled.ok) this.inbox.storeAnswer(updateId, typeof answer === "function" ? answer() : answer);
          return settled;
        });
        if (result.ok && !result.replayed) this.host.after.balanceChanged(now);
        return result;
      },
      releaseAnswer: (holdId) => {
        tx(() => this.ledger.release(holdId, Date.now()));
      },
      storedAnswer: () => this.inbox.storedAnswer(updateId),
      markSent: (parts) => this.inbox.sent(updateId, parts),
      spentToday: (endUserId) =>
        tx(() => this.ledger.rollups.endUserSpentToday(endUserId, Date.now()) + this.ledger.heldFor(endUserId, key)),
      answerHeld: () => this.ledger.holdIsOpen(key),
      recordUnanswered: () => {
        const now = Date.now();
        tx(() => {
          this.ledger.rollups.countUnanswered(now);
          this.ledger.trackOutOfCredits(now);
        });
        this.alerts.ranOut(now);
      },
      balance: () => this.ledger.view(),
      autoRecharge: () => this.billing.view(),
      stats: () => this.host.stats(Date.now()),
      setClientLimit: (micros) => tx(() => this.ledger.row.setClientLimit(micros)),
      ownerLanguage: () => {
        const row = this.ledger.account();
        return { lang: this.ledger.ownerLang(), chosen: row?.owner_lang_chosen === 1 };
      },
      chooseOwnerLanguage: (lang) => tx(() => this.ledger.row.chooseOwnerLanguage(lang)),
    };
  }
}

/** A message from the owner (its language_code is the owner's language unless they chose one). */
function isOwnerJob(job: Job): job is Extract<Job, { lang: unknown }> {
  return job.kind.startsWith("owner") || (job.kind === "non_text" && job.owner);
}
