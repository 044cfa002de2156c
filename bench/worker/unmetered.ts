import type { ModelCall } from "../../src/account/bot-jobs";
import { BotToken } from "../../src/account/bot-token";
import { CreditAccount } from "../../src/account/credit-account";
import { Inbox, InboxPool, type PendingJob } from "../../src/account/inbox";
import type { Completion } from "../../src/ai/model";
import { type Config, loadConfig } from "../../src/env";
import { Ledger } from "../../src/ledger/ledger";
import { type AccountPort, askOutside, handleJob } from "../../src/telegram/bot";
import type { BenchCounters } from "./account";

/**
 * The bot path with metering removed, for the benchmark's "what metering adds to an answer" (docs/benchmarks.md).
 * Built from the same code as the product: the same webhook route (the production Worker, with this class bound
 * to `CREDIT_ACCOUNT`), the same `Inbox` (every update recorded once, the answer stored before it is sent), the
 * same rolling `InboxPool` with the product's slots, the same `handleJob` (model call, split and send), the same
 * `BotToken`, and the same lease of a client's question to the webhook's Worker, which asks the model outside the
 * object (`askOutside`, `Inbox.lease` / `deliver`). What is gone: the hold, the settle, the ledger, the daily cap check, the stats, the after-effects and
 * the alarm; the `AccountPort` it hands the bot answers "yes" and stores the answer text only.
 * Provisioning and everything else are the production object's, inherited.
 */

/** The product's slots (src/account/bot-jobs.ts): answers queue the same way in both. */
const INBOX_SLOTS = { client: 8, owner: 2 };

export class UnmeteredAccount extends CreditAccount {
  readonly #sql: SqlStorage;
  readonly #config: Config;
  readonly #ledger: Ledger;
  readonly #inbox: Inbox;
  readonly #pool: InboxPool;
  readonly #botToken: BotToken;
  #draining: Promise<void> | null = null;
  /** Model answers the Worker delivered (in memory: the benchmark reads it within one object's life). */
  #delivered = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#config = loadConfig(env);
    this.#ledger = new Ledger(this.#sql, this.#config);
    this.#inbox = new Inbox(this.#sql);
    this.#pool = new InboxPool(this.#inbox, INBOX_SLOTS);
    this.#botToken = new BotToken(env, this.#config, this.#ledger, (fn) => ctx.storage.transactionSync(fn));
  }

  /** The benchmark's counters (bench/worker/account.ts), for the cost cell: no D1, no alarm; the model's deliveries. */
  benchCounters(): BenchCounters {
    const delivered = this.#delivered;
    return {
      history: false,
      d1Statements: 0,
      d1RoundTrips: 0,
      d1RowsRead: 0,
      d1RowsWritten: 0,
      alarms: 0,
      alarmMs: 0,
      modelDelivered: delivered,
    };
  }

  benchAlarmSpans(): [number, number][] {
    return [];
  }

  /** No alarm: nothing to copy, expire or roll up (the provisioning's first alarm does nothing either). */
  override async alarm(): Promise<void> {}

  override receiveUpdate(secretHash: string, body: string): { status: 200 | 400 | 401 | 404; modelCall?: ModelCall } {
    const account = this.#ledger.account();
    if (!account) return { status: 404 };
    const now = Date.now();
    const { status, queued } = this.#inbox.receive(account, secretHash, body, now);
    if (!queued) return { status };
    const ask = askOutside(queued.job, {
      account: this.#port(queued.updateId),
      config: this.#config,
      systemPrompt: account.system_prompt,
      endUserDailyCapMicros: 0,
    });
    if (!ask) {
      this.#kick();
      return { status };
    }
    const { lease } = this.ctx.storage.transactionSync(() => this.#inbox.lease(queued.updateId, now));
    return { status, modelCall: { updateId: queued.updateId, lease, ask } };
  }

  override modelAnswered(updateId: number, lease: string, completion: Completion | null): { accepted: boolean } {
    const accepted = this.ctx.storage.transactionSync(() => this.#inbox.deliver(updateId, lease, completion));
    if (accepted && completion) this.#delivered += 1;
    if (accepted) this.#kick();
    return { accepted };
  }

  #kick(): void {
    if (this.#draining) {
      this.#pool.wake();
      return;
    }
    this.#draining = this.#pool
      .drain((p) => this.#run(p))
      .catch(() => undefined)
      .finally(() => {
        this.#draining = null;
      });
  }

  async #run({ updateId, job, completion }: PendingJob): Promise<void> {
    const account = this.#ledger.account();
    if (!account) return;
    this.#inbox.attempted(updateId);
    try {
      await handleJob(job, {
        completion,
        api: await this.#botToken.telegram(),
        config: this.#config,
        aiApiKey: this.env.AI_API_KEY,
        systemPrompt: account.system_prompt,
        ownerChatId: account.owner_telegram_id,
        endUserDailyCapMicros: 0,
        account: this.#port(updateId),
      });
    } finally {
      this.#inbox.done(updateId);
    }
  }

  #port(updateId: number): AccountPort {
    const tx = <T>(fn: () => T): T => this.ctx.storage.transactionSync(fn);
    return {
      instanceId: this.#ledger.account()?.instance_id ?? "",
      updateId,
      holdAnswer: () => ({ ok: true, holdId: "unmetered" }),
      settleAnswer: (_holdId, _cost, answer) => {
        tx(() => this.#inbox.storeAnswer(updateId, typeof answer === "function" ? answer() : answer));
        return { ok: true, chargedMicros: 0 };
      },
      releaseAnswer: () => undefined,
      storedAnswer: () => this.#inbox.storedAnswer(updateId),
      markSent: (parts) => this.#inbox.sent(updateId, parts),
      spentToday: () => 0,
      answerHeld: () => false,
      recordUnanswered: () => undefined,
      balance: () => ({ balanceMicros: 0, availableMicros: 0 }),
      autoRecharge: () => null,
      stats: () => {
        throw new Error("no stats without metering");
      },
      setClientLimit: () => undefined,
      ownerLanguage: () => ({ lang: "en", chosen: false }),
      chooseOwnerLanguage: () => undefined,
    };
  }
}
