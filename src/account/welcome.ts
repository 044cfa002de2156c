import type { Config } from "../env";
import type { Ledger } from "../ledger/ledger";
import { textsIn } from "../telegram/texts";

/**
 * The owner's welcome (SPEC "Owner commands"): one message at provisioning; if Telegram refuses it (the owner
 * has not started the bot yet), it goes with the owner's first message instead. Sent once: each attempt claims
 * it in the account row first (`claimWelcome`, a compare-and-set), and gives it back only when Telegram
 * refused it. An object that stops while a welcome is being sent owes it still (the constructor defers it).
 */
export interface WelcomePorts {
  tx<T>(fn: () => T): T;
  /** Sends to the owner's chat; false when Telegram did not take it. */
  notify(text: string): Promise<boolean>;
}

export class Welcome {
  /** The attempt under way: an owner message arriving meanwhile waits for it, so the welcome comes first. */
  #sending: Promise<boolean> | null = null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly ledger: Ledger,
    private readonly config: Config,
    private readonly ports: WelcomePorts,
  ) {}

  /** Right after provisioning. */
  async send(): Promise<"sent" | "deferred" | "none"> {
    const sent = await this.#attempt();
    return sent === null ? "none" : sent ? "sent" : "deferred";
  }

  /** Before the answer to an owner's message: true when the welcome went out now. */
  async withFirstMessage(): Promise<boolean> {
    const inFlight = this.#sending;
    if (inFlight) {
      await inFlight.catch(() => false);
      return false;
    }
    return (await this.#attempt()) === true;
  }

  /** null: nothing owed (sent, or another attempt holds it). */
  async #attempt(): Promise<boolean | null> {
    if (!this.ports.tx(() => this.ledger.row.claimWelcome())) return null;
    const attempt = this.#deliver();
    this.#sending = attempt;
    try {
      return await attempt;
    } finally {
      if (this.#sending === attempt) this.#sending = null;
    }
  }

  async #deliver(): Promise<boolean> {
    let sent = false;
    try {
      sent = await this.ports.notify(this.#text());
    } finally {
      this.ports.tx(() => (sent ? this.ledger.row.welcomeSent() : this.ledger.row.welcomeDeferred()));
    }
    return sent;
  }

  #text(): string {
    const account = this.ledger.account();
    const bonus = this.sql
      .exec<{ amount_micros: number }>(
        "SELECT amount_micros FROM ledger WHERE kind = 'grant' AND idempotency_key = 'license-bonus' LIMIT 1",
      )
      .toArray()[0];
    return textsIn(this.ledger.ownerLang()).welcome({
      bonusMicros: bonus?.amount_micros ?? 0,
      license: account?.license ?? "",
      minTopUpMicros: this.config.minTopUpMicros,
      minRechargeAtMicros: this.config.minRechargeAtMicros,
    });
  }
}
