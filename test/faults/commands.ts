import { abortAllDurableObjects, env, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { internalKey } from "../../src/ledger/rules";
import { buttonUrl, stripeControl, stripeEvents } from "../billing/fixtures";
import { stub } from "../helpers";
import { anonymousAdmin, channelForwardInPrivate, failTelegram, groupText, privateText } from "../telegram/fixtures";
import { faultBudget } from "./budget";
import { checkAll } from "./invariants";
import {
  ANSWER_TEXT,
  ANSWER_WORST_CASE,
  available,
  BACKGROUND_FLOOR,
  HOUR_MS,
  HOURLY_ALERT,
  OUT_NOW,
  OWNER,
  outOfCredits,
  type Snapshot,
  sleep,
  Violation,
  World,
} from "./world";

/**
 * The steps of a sequence, as fast-check model-based commands. Each step acts through a real entry point,
 * waits for the object to be quiet, reads the whole state and checks the invariants (invariants.ts) plus
 * what this step alone must have done (its `expect`). Commands keep no state of their own: fast-check
 * reuses them while shrinking, so everything observed lives in the World of the run.
 */

const USD = 1_000_000;
export type Model = Record<string, never>;
const owner = { id: OWNER, first_name: "Olga" };

export const CARDS = {
  succeed: "pm_card_visa",
  decline: "pm_card_chargeDeclined",
  insufficient: "pm_card_chargeDeclinedInsufficientFunds",
  authenticate: "pm_card_authenticationRequired",
} as const;
export type Card = keyof typeof CARDS;

/** What a step's own expectations may read: the state before and after it, and what the step saw. */
interface StepContext {
  before: Snapshot;
  after: Snapshot;
}

function expectThat(condition: boolean, invariant: string, detail: string): void {
  if (!condition) throw new Violation(invariant, detail);
}

/** Credits that arrived (or reservations that ended) between two snapshots: background work can raise availability. */
function availabilityRose(before: Snapshot, after: Snapshot, untilSeq = Number.POSITIVE_INFINITY): boolean {
  const lastSeq = before.ledger.at(-1)?.seq ?? 0;
  const credited = after.ledger.some((e) => e.seq > lastSeq && e.seq < untilSeq && e.amount_micros > 0);
  const openBefore = before.holds.filter((h) => h.status === "open").map((h) => h.id);
  const freed = after.holds.some((h) => openBefore.includes(h.id) && h.status !== "open");
  return credited || freed;
}

const newOwnerMessages = (c: StepContext) =>
  c.after.messages.slice(c.before.messages.length).filter((m) => m.chat_id === OWNER);

/** Telegram refused a send during the step (an injected fault): the owner may not have seen the reply. */
const telegramRefused = (c: StepContext) => c.after.refusedSends > c.before.refusedSends;

abstract class Step implements fc.AsyncCommand<Model, World> {
  check(): boolean {
    return true;
  }

  /** Acts on the system; returns what `expect` needs to know. */
  protected abstract act(world: World, before: Snapshot): Promise<unknown>;

  /** What this step alone must have done. */
  protected expect(_world: World, _context: StepContext, _seen: unknown): void {}

  async run(_model: Model, world: World): Promise<void> {
    world.trace.push(`${world.phase}${this.toString()}`);
    world.count(`step:${this.constructor.name}`);
    const before = world.last ?? (await world.snapshot());
    const acting = world.time(`act ${this.constructor.name}`);
    const seen = await this.act(world, before);
    acting();
    await world.quiesce();
    let after = await world.snapshot();
    this.expect(world, { before, after }, seen);
    let alarmProblem = checkAll(after, world);
    // An alarm may be running (and so not be scheduled) at the instant of reading: look again before blaming.
    for (let i = 0; alarmProblem && i < 5; i++) {
      world.count("alarm re-checks");
      await sleep(300);
      after = await world.snapshot();
      alarmProblem = checkAll(after, world);
    }
    if (alarmProblem) throw new Violation("I12 alarm armed", alarmProblem);
    world.last = after;
  }

  abstract toString(): string;
}

// ---------------------------------------------------------------- usage API: debits, holds, settles

type CostSpec = number | "all" | "just_below_answer";

const costLabel = (c: CostSpec) => (typeof c === "number" ? `$${c / USD}` : c);

class Debit extends Step {
  constructor(
    readonly key: number,
    readonly cost: CostSpec,
    readonly background: boolean,
  ) {
    super();
  }

  #resolve(before: Snapshot): number {
    const need = this.background ? BACKGROUND_FLOOR : 0;
    if (this.cost === "all") return Math.max(1, available(before) - need);
    if (this.cost === "just_below_answer") return Math.max(1, available(before) - need - ANSWER_WORST_CASE + 1);
    return this.cost;
  }

  protected async act(world: World, before: Snapshot) {
    const costMicros = this.#resolve(before);
    const key = `u${this.key}`;
    const operation = this.background ? "knowhow_update" : "response";
    const prior = world.usageKeys.get(key) ?? null;
    const res = await world.usage("/usage", "POST", { idempotencyKey: key, operation, costMicros });
    return { res, costMicros, key, operation, prior };
  }

  protected override expect(world: World, c: StepContext, seen: unknown): void {
    const { res, costMicros, key, operation, prior } = seen as Awaited<ReturnType<Debit["act"]>>;
    const entries = c.after.ledger.filter((e) => e.kind === "usage" && e.idempotency_key === key);
    expectThat(entries.length <= 1, "I7 once", `usage key ${key} has ${entries.length} entries`);
    if (prior) {
      if (prior.operation === operation && prior.costMicros === costMicros) {
        expectThat(res.status === 200, "I7 once", `replay of ${key} answered ${res.status}`);
        expectThat(
          res.json.chargedMicros === prior.body.chargedMicros && res.json.balanceMicros === prior.body.balanceMicros,
          "I7 once",
          `replay of ${key} returned ${res.text}, first ${JSON.stringify(prior.body)}`,
        );
      } else {
        expectThat(res.status === 409, "I7 once", `key ${key} reused with other parameters answered ${res.status}`);
      }
      return;
    }
    const need = costMicros + (this.background ? BACKGROUND_FLOOR : 0);
    const affordable = available(c.before) >= need;
    if (res.status === 200) {
      const entry = entries[0];
      expectThat(entry?.amount_micros === -costMicros, "I7 once", `debit ${key} not in the ledger once`);
      expectThat(
        affordable || availabilityRose(c.before, c.after, entry?.seq),
        "I2 holds",
        `debit of ${costMicros} accepted with ${available(c.before)} available (${operation})`,
      );
      world.usageKeys.set(key, {
        operation,
        costMicros,
        body: { chargedMicros: Number(res.json.chargedMicros), balanceMicros: Number(res.json.balanceMicros) },
      });
    } else {
      expectThat(res.status === 402, "usage", `debit answered ${res.status}: ${res.text}`);
      expectThat(!affordable, "usage", `debit of ${costMicros} refused with ${available(c.before)} available`);
      expectThat(entries.length === 0, "I7 once", `refused debit ${key} left an entry`);
    }
  }

  toString() {
    return `debit(u${this.key}, ${costLabel(this.cost)}${this.background ? ", background" : ""})`;
  }
}

class Adjust extends Step {
  constructor(
    readonly key: number,
    readonly usd: number,
  ) {
    super();
  }

  protected async act(world: World) {
    const key = `a${this.key}`;
    const prior = world.adjustKeys.get(key) ?? null;
    const res = await world.adjust(key, this.usd * USD);
    return { res, key, prior };
  }

  protected override expect(world: World, c: StepContext, seen: unknown): void {
    const { res, key, prior } = seen as Awaited<ReturnType<Adjust["act"]>>;
    const entries = c.after.ledger.filter((e) => e.kind === "adjustment" && e.idempotency_key === key);
    expectThat(entries.length <= 1, "I7 once", `adjustment ${key} has ${entries.length} entries`);
    if (prior !== null && prior.usd !== this.usd) {
      expectThat(res.status === 409, "I7 once", `adjustment key reused with another amount answered ${res.status}`);
      return;
    }
    expectThat(res.status === 201, "admin", `adjustment answered ${res.status}: ${res.text}`);
    if (prior !== null)
      expectThat(res.json.entryId === prior.entryId, "I7 once", `replayed adjustment ${key} made a new entry`);
    else world.adjustKeys.set(key, { usd: this.usd, entryId: Number(res.json.entryId) });
  }

  toString() {
    return `adjust(a${this.key}, ${this.usd >= 0 ? "+" : ""}$${this.usd})`;
  }
}

class Hold extends Step {
  constructor(
    readonly slot: number,
    readonly maxUsd: number,
  ) {
    super();
  }

  protected async act(world: World, _before: Snapshot) {
    const key = `h${this.slot}`;
    const prior = world.holdSlots.get(this.slot) ?? null;
    const res = await world.usage("/holds", "POST", {
      idempotencyKey: key,
      operation: "response",
      maxCostMicros: this.maxUsd * USD,
    });
    return { res, prior };
  }

  protected override expect(world: World, c: StepContext, seen: unknown): void {
    const { res, prior } = seen as Awaited<ReturnType<Hold["act"]>>;
    if (prior) {
      if (prior.maxMicros === this.maxUsd * USD) {
        expectThat(res.status === 201 && res.json.holdId === prior.holdId, "I7 once", `hold replay gave ${res.text}`);
      } else {
        expectThat(res.status === 409, "I7 once", `hold key reused with another amount answered ${res.status}`);
      }
      return;
    }
    const affordable = available(c.before) >= this.maxUsd * USD;
    if (res.status === 201) {
      expectThat(
        affordable || availabilityRose(c.before, c.after),
        "I2 holds",
        `hold of $${this.maxUsd} granted with ${available(c.before)} available`,
      );
      world.holdSlots.set(this.slot, { holdId: String(res.json.holdId), maxMicros: this.maxUsd * USD });
    } else {
      expectThat(res.status === 402, "usage", `hold answered ${res.status}: ${res.text}`);
      expectThat(!affordable, "usage", `hold of $${this.maxUsd} refused with ${available(c.before)} available`);
    }
  }

  toString() {
    return `hold(h${this.slot}, $${this.maxUsd})`;
  }
}

class Settle extends Step {
  constructor(
    readonly slot: number,
    readonly costUsd: number,
    readonly variant: number,
  ) {
    super();
  }

  protected async act(world: World, before: Snapshot) {
    const hold = world.holdSlots.get(this.slot);
    if (!hold) return null;
    const key = `s${this.slot}-${this.variant}`;
    const state = before.holds.find((h) => h.id === hold.holdId);
    const first = world.settles.get(hold.holdId) ?? null;
    const res = await world.usage(`/holds/${hold.holdId}/settle`, "POST", {
      idempotencyKey: key,
      costMicros: Math.round(this.costUsd * USD),
    });
    return {
      res,
      hold,
      key,
      status: state?.status ?? "unknown",
      expired: (state?.expires_at ?? 0) <= before.at,
      first,
    };
  }

  protected override expect(world: World, c: StepContext, seen: unknown): void {
    if (!seen) return;
    const { res, hold, key, status, expired, first } = seen as NonNullable<Awaited<ReturnType<Settle["act"]>>>;
    const cost = Math.round(this.costUsd * USD);
    const entries = c.after.ledger.filter((e) => e.kind === "hold_settle" && e.reference === hold.holdId);
    expectThat(entries.length <= 1, "I7 once", `hold ${hold.holdId} settled into ${entries.length} entries`);
    if (status === "open" && !expired) {
      expectThat(res.status === 200, "usage", `settle of an open hold answered ${res.status}: ${res.text}`);
      const charged = Math.min(hold.maxMicros, cost);
      expectThat(
        res.json.chargedMicros === charged,
        "I2 holds",
        `settle charged ${res.json.chargedMicros}, expected ${charged}`,
      );
      world.settles.set(hold.holdId, { key, cost, body: res.text });
    } else if (status === "settled" && first) {
      if (first.key === key && first.cost === cost) {
        expectThat(res.status === 200, "I7 once", `settle replay answered ${res.status}`);
      } else {
        expectThat(res.status === 409, "I7 once", `second settle with other values answered ${res.status}`);
      }
    } else {
      expectThat(
        res.status === 409 || res.status === 404,
        "usage",
        `settle of a ${status} hold answered ${res.status}`,
      );
    }
  }

  toString() {
    return `settle(h${this.slot}, $${this.costUsd}, key ${this.variant})`;
  }
}

class Release extends Step {
  constructor(readonly slot: number) {
    super();
  }

  protected async act(world: World, before: Snapshot) {
    const hold = world.holdSlots.get(this.slot);
    if (!hold) return null;
    const state = before.holds.find((h) => h.id === hold.holdId);
    const res = await world.usage(`/holds/${hold.holdId}`, "DELETE");
    return { res, hold, status: state?.status ?? "unknown", expired: (state?.expires_at ?? 0) <= before.at };
  }

  protected override expect(_world: World, _c: StepContext, seen: unknown): void {
    if (!seen) return;
    const { res, hold, status, expired } = seen as NonNullable<Awaited<ReturnType<Release["act"]>>>;
    if (status === "settled") {
      expectThat(res.status === 409, "usage", `release of a settled hold answered ${res.status}`);
    } else {
      expectThat(res.status === 200, "usage", `release answered ${res.status}: ${res.text}`);
      const freed = status === "open" && !expired ? hold.maxMicros : 0;
      expectThat(
        res.json.releasedMicros === freed,
        "I2 holds",
        `release freed ${res.json.releasedMicros}, expected ${freed}`,
      );
    }
  }

  toString() {
    return `release(h${this.slot})`;
  }
}

// ---------------------------------------------------------------- Telegram: end users, the owner, strangers

class UserMessage extends Step {
  protected async act(world: World, before: Snapshot) {
    const user = World.nextUser();
    const update = privateText({ id: user, first_name: "Client" }, ANSWER_TEXT);
    update.update_id = World.nextUpdateId();
    const status = await world.sendUpdate(update, user);
    return { status, user, updateId: update.update_id, out: outOfCredits(before) };
  }

  protected override expect(_world: World, c: StepContext, seen: unknown): void {
    const { status, user, updateId, out } = seen as Awaited<ReturnType<UserMessage["act"]>>;
    expectThat(status === 200, "telegram", `webhook answered ${status}`);
    const answers = c.after.messages.filter((m) => m.chat_id === user);
    const settle = c.after.ledger.find(
      (e) => e.kind === "hold_settle" && e.idempotency_key === internalKey("telegram-update", updateId),
    );
    if (out && !(settle && availabilityRose(c.before, c.after, settle.seq))) {
      expectThat(answers.length === 0, "I9 no answer while out", `user ${user} answered while out of credits`);
      expectThat(c.after.unanswered === c.before.unanswered + 1, "I9 no answer while out", "unanswered not counted");
    } else if (!out) {
      expectThat(
        answers.length === 1 && settle !== undefined,
        "I9 no answer while out",
        `user ${user} not answered with credits`,
      );
    }
  }

  toString() {
    return "user-message";
  }
}

class RedeliverUpdate extends Step {
  constructor(readonly index: number) {
    super();
  }

  protected async act(world: World) {
    if (world.updates.length === 0) return null;
    const update = world.updates[this.index % world.updates.length];
    if (!update) return null;
    return { status: await world.resend(update), update };
  }

  protected override expect(_world: World, c: StepContext, seen: unknown): void {
    if (!seen) return;
    const { status, update } = seen as NonNullable<Awaited<ReturnType<RedeliverUpdate["act"]>>>;
    expectThat(status === 200, "telegram", `redelivery answered ${status}`);
    const count = (s: Snapshot) => s.messages.filter((m) => m.chat_id === (update.endUser ?? OWNER)).length;
    if (update.endUser !== null) {
      expectThat(count(c.after) === count(c.before), "I8 update once", `update ${update.updateId} handled twice`);
    }
    const entries = (s: Snapshot) =>
      s.ledger.filter((e) => e.idempotency_key === internalKey("telegram-update", update.updateId)).length;
    expectThat(entries(c.after) === entries(c.before), "I8 update once", `update ${update.updateId} charged again`);
  }

  toString() {
    return `redeliver-update(#${this.index})`;
  }
}

async function ownerSends(world: World, text: string): Promise<number> {
  const update = privateText(owner, text);
  update.update_id = World.nextUpdateId();
  return world.sendUpdate(update, null);
}

const sessionOf = (url: string) => /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(url)?.[1] ?? null;

function checkoutReply(c: StepContext): { sessionId: string | null; unavailable: boolean } {
  for (const m of newOwnerMessages(c)) {
    if (m.reply_markup) return { sessionId: sessionOf(buttonUrl(m)), unavailable: false };
    if (/can't be reached/.test(m.text)) return { sessionId: null, unavailable: true };
  }
  return { sessionId: null, unavailable: false };
}

/** Owner's `/setupCredits`; the Checkout page is then completed with `card`, or abandoned. */
export class SetupCredits extends Step {
  constructor(
    readonly topUp: number,
    readonly rechargeAt: number,
    readonly card: Card | null,
  ) {
    super();
  }

  protected async act(world: World) {
    return ownerSends(world, `/setupCredits:${this.topUp}:${this.rechargeAt}`);
  }

  protected override expect(world: World, c: StepContext): void {
    const reply = checkoutReply(c);
    if (telegramRefused(c) && !reply.sessionId && !reply.unavailable) return;
    expectThat(reply.sessionId !== null || reply.unavailable, "owner", "no answer to /setupCredits");
    if (reply.sessionId) {
      expectThat(c.after.billing.pending_session_id === reply.sessionId, "owner", "setup session not recorded");
      world.pendingCheckout = { sessionId: reply.sessionId, card: this.card };
    }
  }

  /** Completing Checkout is the owner's act in the browser; it happens after the bot replied. */
  override async run(model: Model, world: World): Promise<void> {
    world.pendingCheckout = null;
    await super.run(model, world);
    await completeCheckout(world);
  }

  toString() {
    return `/setupCredits:${this.topUp}:${this.rechargeAt} → ${this.card ?? "abandoned"}`;
  }
}

async function completeCheckout(world: World): Promise<void> {
  const pending = world.pendingCheckout;
  world.pendingCheckout = null;
  if (!pending) return;
  await world.adoptCustomer(pending.sessionId);
  if (!pending.card) return;
  try {
    await stripeControl(`checkout/${pending.sessionId}/complete`, { paymentMethod: CARDS[pending.card] });
  } catch {
    // A declined card on a payment-mode page: the session stays open, nothing is paid.
  }
  await world.relay.refresh();
}

class TopUp extends Step {
  constructor(
    readonly usd: number,
    readonly card: Card | null,
  ) {
    super();
  }

  protected async act(world: World) {
    return ownerSends(world, `/topUp:${this.usd}`);
  }

  protected override expect(world: World, c: StepContext): void {
    const reply = checkoutReply(c);
    if (telegramRefused(c) && !reply.sessionId && !reply.unavailable) return;
    expectThat(reply.sessionId !== null || reply.unavailable, "owner", "no answer to /topUp");
    if (reply.sessionId) world.pendingCheckout = { sessionId: reply.sessionId, card: this.card };
  }

  override async run(model: Model, world: World): Promise<void> {
    world.pendingCheckout = null;
    await super.run(model, world);
    await completeCheckout(world);
  }

  toString() {
    return `/topUp:${this.usd} → ${this.card ?? "abandoned"}`;
  }
}

class ChangeTopUp extends Step {
  constructor(
    readonly topUp: number,
    readonly rechargeAt: number,
  ) {
    super();
  }

  protected async act(world: World) {
    return ownerSends(world, `/changeCreditsTopUp:${this.topUp}:${this.rechargeAt}`);
  }

  protected override expect(_world: World, c: StepContext): void {
    const active = c.before.billing.auto_enabled === 1 && c.before.billing.payment_method_id !== null;
    const replies = newOwnerMessages(c).map((m) => m.text);
    if (active) {
      expectThat(
        replies.some((t) => /Auto-recharge updated/.test(t)) || telegramRefused(c),
        "owner",
        `no confirmation: ${replies.join(" | ")}`,
      );
      expectThat(
        c.after.billing.top_up_micros === this.topUp * USD &&
          c.after.billing.recharge_at_micros === this.rechargeAt * USD,
        "owner",
        "settings not changed",
      );
    } else {
      expectThat(
        replies.some((t) => /no saved card/.test(t)) || telegramRefused(c),
        "owner",
        `no "save a card first": ${replies.join(" | ")}`,
      );
      expectThat(
        c.after.billing.top_up_micros === c.before.billing.top_up_micros,
        "owner",
        "settings changed without a card",
      );
    }
  }

  toString() {
    return `/changeCreditsTopUp:${this.topUp}:${this.rechargeAt}`;
  }
}

class OwnerCommand extends Step {
  constructor(readonly text: string) {
    super();
  }

  protected async act(world: World) {
    return ownerSends(world, this.text);
  }

  protected override expect(_world: World, c: StepContext): void {
    const replies = newOwnerMessages(c);
    expectThat(replies.length >= 1 || telegramRefused(c), "owner", `no reply to ${this.text}`);
    if (this.text === "/stats" && replies.length > 0) {
      const stats = replies.find((m) => m.text.startsWith("Credits:"));
      expectThat(stats !== undefined, "owner", "/stats does not start with Credits:");
    }
    if (this.text.startsWith("/setupCredits:abc")) {
      expectThat(
        c.after.billing.pending_session_id === c.before.billing.pending_session_id,
        "owner",
        "bad input changed billing",
      );
    }
  }

  toString() {
    return this.text;
  }
}

type Who = "stranger" | "group" | "anonymous_admin" | "channel_forward" | "owner_in_group";

/** Someone who is not the owner (or the owner outside the private chat) tries an owner feature. */
class Stranger extends Step {
  constructor(
    readonly who: Who,
    readonly text: string,
  ) {
    super();
  }

  protected async act(world: World) {
    const stranger = World.nextUser();
    let update: { update_id: number; message: { chat: { id: number } } };
    if (this.who === "stranger") update = privateText({ id: stranger, first_name: "Mallory" }, this.text);
    else if (this.who === "group") update = groupText({ id: stranger }, this.text);
    else if (this.who === "owner_in_group") update = groupText(owner, this.text);
    else if (this.who === "anonymous_admin") update = anonymousAdmin(this.text);
    else update = channelForwardInPrivate(this.text);
    update.update_id = World.nextUpdateId();
    const status = await world.sendUpdate(update, null);
    return { status, chat: update.message.chat.id };
  }

  protected override expect(_world: World, c: StepContext, seen: unknown): void {
    const { status, chat } = seen as Awaited<ReturnType<Stranger["act"]>>;
    expectThat(status === 200, "telegram", `webhook answered ${status}`);
    const b0 = c.before.billing;
    const b1 = c.after.billing;
    expectThat(
      b0.pending_session_id === b1.pending_session_id &&
        b0.top_up_micros === b1.top_up_micros &&
        b0.recharge_at_micros === b1.recharge_at_micros &&
        b0.payment_method_id === b1.payment_method_id,
      "I11 owner only",
      `${this.who} changed billing with ${this.text}`,
    );
    const toChat = c.after.messages.slice(c.before.messages.length).filter((m) => m.chat_id === chat);
    for (const m of toChat) {
      expectThat(!/\$\d|Credits:|checkout|stripe/i.test(m.text), "I11 owner only", `${this.who} was told: ${m.text}`);
      expectThat(!m.reply_markup, "I11 owner only", `${this.who} got a button`);
    }
    if (this.who === "stranger" && !/^\/(help|start)/.test(this.text) && !telegramRefused(c)) {
      expectThat(toChat.length === 1 && /only the owner/.test(toChat[0]?.text ?? ""), "I11 owner only", "no refusal");
    } else if (this.who !== "stranger") {
      expectThat(toChat.length === 0, "I11 owner only", `${this.who} got ${toChat.length} replies`);
    }
    const newRecharges = c.after.recharges.filter(
      (r) => r.kind === "manual" && !c.before.recharges.some((x) => x.id === r.id),
    );
    expectThat(newRecharges.length === 0, "I11 owner only", `${this.who} started a top-up`);
  }

  toString() {
    return `${this.who}: ${this.text}`;
  }
}

// ---------------------------------------------------------------- Stripe: faults, cards, deliveries

const FAULT_MATCH = {
  invoice: { pathSuffix: "/v1/invoices" },
  item: { pathSuffix: "/v1/invoiceitems" },
  finalize: { pathSuffix: "/finalize" },
  pay: { pathSuffix: "/pay" },
  checkout: { pathSuffix: "/v1/checkout/sessions" },
  card_save: { pathPrefix: "/v1/customers/" },
} as const;
type FaultStep = keyof typeof FAULT_MATCH;
type RechargeStepName = "invoice" | "item" | "finalize" | "pay";
/**
 * `500_after_success` commits (and sends its events) and then answers 500; `:error` keeps that 500 under the
 * idempotency key, as real Stripe does for an error raised during execution, `:success` replays the success.
 */
type FaultKind =
  | "500"
  | "timeout"
  | "timeout_after_success"
  | "409"
  | "500_after_success:success"
  | "500_after_success:error";

function faultBody(kind: FaultKind) {
  const [name, replay] = kind.split(":");
  return { kind: name, ...(replay ? { replay } : {}) };
}

class StripeFault extends Step {
  constructor(
    readonly step: FaultStep,
    readonly kind: FaultKind,
    readonly count: number,
  ) {
    super();
  }

  protected async act(world: World) {
    if (!world.customer) return;
    await stripeControl("fault", {
      match: { customer: world.customer, ...FAULT_MATCH[this.step] },
      ...faultBody(this.kind),
      count: this.count,
      delayMs: 150,
    });
    // Known defect (see docs/invariants.md, "Findings of 2026-12-06"): the card save retries its key.
    if (this.step === "card_save" && this.kind === "500_after_success:error") world.cardSaveKeyKeeps500 = true;
  }

  toString() {
    return `stripe-fault(${this.step}, ${this.kind} ×${this.count})`;
  }
}

/**
 * Gets the object's recharge work going without awaiting it: a pending step's backoff elapses and the alarm
 * runs; with none pending and auto-recharge on, a debit takes the balance to zero, which starts one.
 */
function startRechargeWork(world: World, before: Snapshot): Promise<unknown> {
  const pending = before.recharges.some((r) => r.status === "pending");
  const auto = before.billing.auto_enabled === 1 && before.billing.payment_method_id !== null;
  if (!pending && auto && available(before) > 0) {
    world.triggerKeys += 1;
    return world.usage("/usage", "POST", {
      idempotencyKey: `trigger-${world.triggerKeys}`,
      operation: "response",
      costMicros: available(before),
    });
  }
  return world.pullDueTimes(false).then(() => world.runAlarm());
}

/**
 * A late answer (issue "Billing you can trust", defect 1): a recharge step commits at Stripe but its answer
 * (a 500 or a timeout) is held back for `delayMs`; meanwhile the step's webhooks (`invoice.paid` …) are
 * relayed and credit. The late error must change nothing: the recharge stays paid, credited once.
 */
class LateAnswer extends Step {
  constructor(
    readonly step: RechargeStepName,
    readonly kind: "500_after_success:success" | "500_after_success:error" | "timeout_after_success",
    readonly delayMs: number,
  ) {
    super();
  }

  protected async act(world: World, before: Snapshot) {
    if (!world.customer) return;
    await stripeControl("fault", {
      match: { customer: world.customer, ...FAULT_MATCH[this.step] },
      ...faultBody(this.kind),
      count: 1,
      delayMs: this.delayMs,
    });
    let done = false;
    const work = startRechargeWork(world, before)
      .catch(() => null)
      .finally(() => {
        done = true;
      });
    const until = Date.now() + this.delayMs + 3_000;
    while (!done && Date.now() < until) {
      await sleep(40);
      await world.relay.refresh();
      while (world.relay.queue.length > 0) {
        const d = await world.relay.deliver(0);
        if (d?.status !== 200) break;
        world.count(`late-answer delivered ${d.event.type}`);
      }
    }
    await work;
  }

  toString() {
    return `late-answer(${this.step}, ${this.kind}, ${this.delayMs} ms, webhooks relayed meanwhile)`;
  }
}

/** Events the Worker routes to the object, which records each one it processed in `stripe_events`. */
const ROUTED_TO_OBJECT =
  /^(invoice\.(paid|payment_succeeded|payment_action_required)|checkout\.session\.(completed|expired)|charge\.refunded|charge\.dispute\.)/;

/**
 * An eviction at any await: recharge work (the alarm calling Stripe, or a debit starting a recharge) or a
 * webhook delivery is started, not awaited, and every object is reset after `delayMs`. What the runtime does
 * next is what it would do: the alarm runs again (the step's resume alarm), Stripe redelivers what it was not
 * sure of.
 */
class EvictInFlight extends Step {
  constructor(
    readonly what: "recharge" | "webhook",
    readonly delayMs: number,
    readonly index: number,
  ) {
    super();
  }

  protected async act(world: World, before: Snapshot) {
    const delivery = this.what === "webhook" ? world.relay.deliverMayFail(this.index === 0 ? -1 : this.index) : null;
    const work = delivery ?? startRechargeWork(world, before);
    const settled = work.then(
      () => "done",
      () => "aborted",
    );
    await sleep(this.delayMs);
    await abortAllDurableObjects();
    world.count(`evict in flight (${this.what}) ${await settled}`);
    const delivered = delivery ? await delivery.catch(() => null) : null;
    if (delivered?.status === 200 && ROUTED_TO_OBJECT.test(delivered.event.type)) {
      // A 200 tells Stripe the event is done: the object must have recorded it (`stripe_events`).
      const id = delivered.event.id;
      const recorded = await runInDurableObject(
        stub(world.id),
        (_i, state) => state.storage.sql.exec("SELECT 1 FROM stripe_events WHERE event_id = ?", id).toArray().length,
      );
      if (!recorded) {
        const detail = `${delivered.event.type} ${id} answered 200 but never recorded: the eviction's error was taken for a permanent one (stripe_event_unprocessable) and Stripe will not deliver it again`;
        if (faultBudget().strict) throw new Violation("I14 acknowledged means recorded", detail);
        // Known defect (reported, src/ not ours): Stripe is made to deliver it again, as a 5xx would have.
        world.count("KNOWN DEFECT: event acknowledged unrecorded after an eviction");
        world.relay.unacknowledge(delivered.event);
      }
    }
    // The resume alarm (armed before every Stripe call) would run in 30 s: the runtime's own retry, now.
    await world.pullDueTimes(false);
    try {
      await world.runAlarm();
    } catch {
      world.count("evict in flight: alarm re-run failed");
    }
  }

  toString() {
    return `evict-in-flight(${this.what}${this.what === "webhook" ? ` #${this.index}` : ""}, after ${this.delayMs} ms)`;
  }
}

/**
 * Telegram refuses the bot's next sends (500, or 429 with a retry_after too long to wait for): answers,
 * owner notices and hourly alerts meet it, and the invariants must hold all the same (an alert that did
 * not reach the owner is not counted and is sent by a later run; an answer is never sent twice).
 */
class TelegramFault extends Step {
  constructor(
    readonly status: 500 | 429,
    readonly count: number,
  ) {
    super();
  }

  protected async act(world: World) {
    await failTelegram(
      world.inst.botToken,
      "sendMessage",
      this.status,
      this.count,
      this.status === 429 ? 60 : undefined,
    );
  }

  toString() {
    return `telegram-fault(${this.status} ×${this.count})`;
  }
}

class SetCard extends Step {
  constructor(readonly card: Card) {
    super();
  }

  protected async act(world: World) {
    if (!world.customer) return;
    await stripeControl(`customers/${world.customer}/card`, { paymentMethod: CARDS[this.card] });
  }

  toString() {
    return `card-behaves(${this.card})`;
  }
}

/**
 * next: the oldest queued event; newest: the latest one first (later events overtake earlier ones);
 * pick: any one; twice: one, then the same again; redeliver: an event already delivered; drop: one is
 * never delivered (Stripe gave up); all: everything queued, in order.
 */
type DeliveryMode = "next" | "newest" | "pick" | "twice" | "redeliver" | "drop" | "all";

class Deliver extends Step {
  constructor(
    readonly mode: DeliveryMode,
    readonly index: number,
  ) {
    super();
  }

  protected async act(world: World) {
    const relay = world.relay;
    switch (this.mode) {
      case "next":
        return (await relay.deliver(0))?.event.type ?? null;
      case "newest":
        return (await relay.deliver(-1))?.event.type ?? null;
      case "pick":
        return (await relay.deliver(this.index))?.event.type ?? null;
      case "twice": {
        const first = await relay.deliver(this.index);
        if (first?.status === 200) await relay.redeliver(relay.delivered.length - 1);
        return first?.event.type ?? null;
      }
      case "redeliver":
        return (await relay.redeliver(this.index))?.event.type ?? null;
      case "drop":
        return (await relay.drop(this.index))?.type ?? null;
      case "all":
        await relay.deliverAll();
        return null;
    }
  }

  toString() {
    const indexed = this.mode !== "next" && this.mode !== "newest" && this.mode !== "all";
    return indexed ? `stripe-${this.mode}(#${this.index})` : `stripe-${this.mode}`;
  }
}

/** The owner pays an open invoice on Stripe's hosted page (e.g. after "confirm the payment"). */
class HostedPay extends Step {
  constructor(
    readonly index: number,
    readonly card: Card,
  ) {
    super();
  }

  protected async act(world: World) {
    const open = (await world.stripe())?.invoices.filter(
      (i) => i.status === "open" && i.metadata.instance_id === world.id,
    );
    const invoice = open?.[this.index % Math.max(1, open.length)];
    if (!invoice) return;
    try {
      await stripeControl(`invoices/${invoice.id}/pay`, { paymentMethod: CARDS[this.card] });
    } catch {
      // Declined on the page: nothing paid.
    }
    await world.relay.refresh();
  }

  toString() {
    return `hosted-pay(#${this.index}, ${this.card})`;
  }
}

class Refund extends Step {
  constructor(
    readonly index: number,
    readonly partial: boolean,
  ) {
    super();
  }

  protected async act(world: World) {
    const paid = (await world.stripe())?.invoices.filter(
      (i) => i.status === "paid" && i.amount_paid > 0 && !world.disputes.has(i.id),
    );
    const invoice = paid?.[this.index % Math.max(1, paid.length)];
    if (!invoice) return;
    try {
      const { charge } = await stripeControl<{ charge: { id: string; amount_refunded: number } }>("refund", {
        invoice: invoice.id,
        ...(this.partial ? { amount: Math.max(1, Math.floor(invoice.amount_paid / 3)) } : {}),
      });
      world.chargeInvoice.set(charge.id, invoice.id);
      world.refundedAtStripe.set(charge.id, charge.amount_refunded);
    } catch {
      // Nothing left to refund.
    }
    await world.relay.refresh();
  }

  toString() {
    return `refund(#${this.index}${this.partial ? ", a third" : ""})`;
  }
}

/** A dispute is decided: won (funds reinstated, closed won) gives back what it took, once; lost (closed) nothing. */
class CloseDispute extends Step {
  constructor(
    readonly index: number,
    readonly outcome: "won" | "lost",
  ) {
    super();
  }

  protected async act(world: World) {
    const open = [...world.disputes.values()].filter((d) => d.outcome === null);
    const dispute = open[this.index % Math.max(1, open.length)];
    if (!dispute) return;
    const res = await fetch(`${stripeBase()}/__control/disputes/${dispute.id}/close`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ outcome: this.outcome }),
    });
    if (res.status === 404) {
      world.count("dispute close control missing");
      return;
    }
    if (res.status >= 500) throw new Error(`stripe control dispute close: ${res.status} ${await res.text()}`);
    if (!res.ok) return; // Stripe refuses to close it (already closed): nothing changes
    dispute.outcome = this.outcome;
    await world.relay.refresh();
  }

  toString() {
    return `close-dispute(#${this.index}, ${this.outcome})`;
  }
}

/**
 * An open Checkout session expires unused (as its `expires_at` passes): a /topUp's page, or the pending card
 * link. Stripe sends `checkout.session.expired`; once delivered the top-up ends (never credited).
 */
class ExpireCheckout extends Step {
  constructor(readonly which: "top_up" | "card_link") {
    super();
  }

  protected async act(world: World, before: Snapshot) {
    const session =
      this.which === "top_up"
        ? before.recharges.find((r) => r.kind === "manual" && r.status === "open" && r.checkout_session_id)
            ?.checkout_session_id
        : before.billing.pending_session_id;
    if (!session) return;
    const res = await fetch(`${stripeBase()}/__control/checkout/${session}/expire-now`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    if (res.status === 404) world.count("checkout expire control missing");
    else if (res.ok) world.count(`checkout expired (${this.which})`);
    await world.relay.refresh();
  }

  toString() {
    return `expire-checkout(${this.which})`;
  }
}

function stripeBase(): string {
  return env.STRIPE_API_BASE;
}

class Dispute extends Step {
  constructor(readonly index: number) {
    super();
  }

  protected async act(world: World) {
    const paid = (await world.stripe())?.invoices.filter(
      (i) => i.status === "paid" && i.amount_paid > 0 && !world.disputes.has(i.id),
    );
    const invoice = paid?.[this.index % Math.max(1, paid.length)];
    if (!invoice) return;
    let dispute: { id: string; amount: number; charge: string };
    try {
      ({ dispute } = await stripeControl<{ dispute: typeof dispute }>("dispute", { invoice: invoice.id }));
    } catch {
      // Stripe refuses: e.g. the charge is fully refunded, nothing to dispute.
      return;
    }
    world.chargeInvoice.set(dispute.charge, invoice.id);
    world.disputes.set(invoice.id, {
      id: dispute.id,
      charge: dispute.charge,
      invoice: invoice.id,
      amount: dispute.amount,
      outcome: null,
    });
    await world.relay.refresh();
  }

  toString() {
    return `dispute(#${this.index})`;
  }
}

/**
 * An invoice this system did not create for this instance, paid at Stripe, whose metadata names the
 * instance (and an unknown or an already-paid recharge of it): it must never be credited.
 */
class ForeignInvoice extends Step {
  constructor(readonly reusePaidRecharge: boolean) {
    super();
  }

  protected async act(world: World, before: Snapshot) {
    const paid = before.recharges.find((r) => r.status === "paid");
    const rechargeId = this.reusePaidRecharge && paid ? paid.id : `rch_${crypto.randomUUID().replaceAll("-", "")}`;
    const customer = await stripeApi<{ id: string }>("/v1/customers", { name: "someone else" });
    const invoice = await stripeApi<{ id: string }>("/v1/invoices", {
      customer: customer.id,
      "metadata[instance_id]": world.id,
      "metadata[recharge_id]": rechargeId,
    });
    await stripeApi("/v1/invoiceitems", {
      customer: customer.id,
      invoice: invoice.id,
      amount: "30000",
      currency: "usd",
    });
    await stripeApi(`/v1/invoices/${invoice.id}/finalize`, {});
    await stripeControl(`invoices/${invoice.id}/pay`, { paymentMethod: CARDS.succeed });
    world.relay.watch(customer.id);
    await world.relay.refresh();
  }

  toString() {
    return `foreign-invoice(${this.reusePaidRecharge ? "paid recharge's id" : "unknown recharge"})`;
  }
}

async function stripeApi<T = unknown>(path: string, form: Record<string, string>): Promise<T> {
  const res = await fetch(`${env.STRIPE_API_BASE}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${env.STRIPE_SECRET_KEY}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams(form).toString(),
  });
  if (!res.ok) throw new Error(`stripe ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

// ---------------------------------------------------------------- the runtime: evictions, alarms, cron, time

class Evict extends Step {
  protected async act(world: World) {
    await world.evict();
  }

  toString() {
    return "evict";
  }
}

class Alarm extends Step {
  protected async act(world: World) {
    await world.runAlarm();
  }

  toString() {
    return "alarm";
  }
}

type CronWhen = "same_hour" | "next_hour" | "late";

export class Cron extends Step {
  constructor(
    readonly when: CronWhen,
    readonly minute: number,
  ) {
    super();
  }

  protected async act(world: World, before: Snapshot) {
    if (this.when === "next_hour") world.simHour += 1;
    const hour = this.when === "late" ? world.simHour - 1 : world.simHour;
    const alertsBefore = (await world.messages()).filter(
      (m) => m.chat_id === OWNER && HOURLY_ALERT.test(m.text),
    ).length;
    await world.cron(hour * HOUR_MS + this.minute * 60_000);
    const alertsAfter = (await world.messages()).filter((m) => m.chat_id === OWNER && HOURLY_ALERT.test(m.text)).length;
    world.alertsByHour.set(hour, (world.alertsByHour.get(hour) ?? 0) + alertsAfter - alertsBefore);
    // Waiting on Stripe: the run's reconciliation may credit these first (a failed recharge's invoice stays
    // payable on its hosted page), and then nobody is out of credits any more.
    const waiting = before.recharges.some(
      (r) =>
        r.status === "pending" ||
        r.status === "open" ||
        (r.status === "failed" &&
          r.step === "pay" &&
          r.invoice_id !== null &&
          r.failure_code !== "currency_mismatch" &&
          r.failure_code !== "amount_mismatch"),
    );
    const due =
      outOfCredits(before) &&
      before.d1Projection?.out_of_credits === 1 &&
      !waiting &&
      (before.lastAlertHour === null || before.lastAlertHour < hour);
    return { due, sent: alertsAfter - alertsBefore, hour };
  }

  protected override expect(_world: World, c: StepContext, seen: unknown): void {
    const { due, sent, hour } = seen as Awaited<ReturnType<Cron["act"]>>;
    // An alert Telegram refused is given back: a later run sends it (checked by that run's own step).
    if (due && !telegramRefused(c))
      expectThat(sent === 1, "I10 one alert per hour", `out of credits, hour ${hour} not alerted yet, ${sent} alerts`);
  }

  toString() {
    return `cron(${this.when}, :${String(this.minute).padStart(2, "0")})`;
  }
}

/**
 * A recharge retry and a Stripe delivery at the same moment: the backoff elapses and the object's alarm
 * runs while the newest (or any) queued event is delivered, as when Stripe's webhook meets our own retry.
 */
class Race extends Step {
  constructor(readonly index: number) {
    super();
  }

  protected async act(world: World) {
    await world.pullDueTimes(false);
    await Promise.all([world.runAlarm(), world.relay.deliver(this.index === 0 ? -1 : this.index)]);
  }

  toString() {
    return `race(alarm retry ‖ stripe ${this.index === 0 ? "newest" : `#${this.index}`})`;
  }
}

class TimePasses extends Step {
  constructor(readonly holds: boolean) {
    super();
  }

  protected async act(world: World) {
    await world.timePasses(this.holds);
  }

  toString() {
    return this.holds ? "time-passes(backoff and hold TTLs)" : "time-passes(backoff)";
  }
}

// ---------------------------------------------------------------- generators

const card = fc.constantFrom<Card>("succeed", "succeed", "decline", "insufficient", "authenticate");
const maybeCard = fc.option(card, { freq: 5, nil: null });

export const setupArbitrary = fc.record({
  license: fc.constantFrom<"starter" | "pro">("starter", "pro"),
  autoRecharge: fc.option(
    fc.record({
      topUp: fc.constantFrom(250, 300),
      rechargeAt: fc.constantFrom(100, 150, 250),
      card,
    }),
    { freq: 4, nil: null },
  ),
});
export type WorldSetup = typeof setupArbitrary extends fc.Arbitrary<infer T> ? T : never;

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

export const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  w(
    8,
    fc
      .tuple(
        fc.nat(5),
        fc.constantFrom<CostSpec>(USD / 2, 5 * USD, 40 * USD, 120 * USD, "all", "just_below_answer"),
        fc.boolean(),
      )
      .map(([k, c, b]) => new Debit(k, c, b)),
  ),
  w(
    2,
    fc.tuple(fc.nat(2), fc.constantFrom(-60, -20, 25, 80)).map(([k, u]) => new Adjust(k, u)),
  ),
  w(
    3,
    fc.tuple(fc.nat(3), fc.constantFrom(1, 15, 60)).map(([s, m]) => new Hold(s, m)),
  ),
  w(
    3,
    fc.tuple(fc.nat(3), fc.constantFrom(0.2, 5, 100), fc.nat(1)).map(([s, c, v]) => new Settle(s, c, v)),
  ),
  w(
    1,
    fc.nat(3).map((s) => new Release(s)),
  ),
  w(
    5,
    fc.constant(null).map(() => new UserMessage()),
  ),
  w(
    2,
    fc.nat(20).map((i) => new RedeliverUpdate(i)),
  ),
  w(
    3,
    fc
      .tuple(fc.constantFrom(250, 300), fc.constantFrom(100, 150, 250), maybeCard)
      .map(([t, r, c]) => new SetupCredits(t, r, c)),
  ),
  w(
    2,
    fc.tuple(fc.constantFrom(50, 120), maybeCard).map(([u, c]) => new TopUp(u, c)),
  ),
  w(
    2,
    fc.tuple(fc.constantFrom(250, 400), fc.constantFrom(100, 200, 300)).map(([t, r]) => new ChangeTopUp(t, r)),
  ),
  w(
    2,
    fc
      .constantFrom("/balance", "/stats", "/invoices", "/setupCredits:abc:100", "What's my current credit balance?")
      .map((t) => new OwnerCommand(t)),
  ),
  w(
    2,
    fc
      .tuple(
        fc.constantFrom<Who>("stranger", "stranger", "group", "anonymous_admin", "channel_forward", "owner_in_group"),
        fc.constantFrom("/setupCredits:500:100", "/topUp:100", "/changeCreditsTopUp:500:100", "/stats", "/balance"),
      )
      .map(([who, t]) => new Stranger(who, t)),
  ),
  w(
    5,
    fc
      .tuple(
        fc.constantFrom<FaultStep>("invoice", "item", "finalize", "pay", "pay", "checkout", "card_save"),
        fc.constantFrom<FaultKind>(
          "500",
          "timeout",
          "timeout_after_success",
          "409",
          "500_after_success:success",
          "500_after_success:error",
        ),
        // 8: an outage long enough for the recharge to give up (MAX_STEP_ATTEMPTS).
        fc.constantFrom(1, 1, 2, 3, 8),
      )
      .map(([s, k, n]) => new StripeFault(s, k, n)),
  ),
  w(
    2,
    card.map((c) => new SetCard(c)),
  ),
  w(
    10,
    fc
      .tuple(
        fc.constantFrom<DeliveryMode>("next", "next", "newest", "newest", "pick", "twice", "redeliver", "drop", "all"),
        fc.nat(30),
      )
      .map(([m, i]) => new Deliver(m, i)),
  ),
  w(
    2,
    fc.tuple(fc.nat(3), card).map(([i, c]) => new HostedPay(i, c)),
  ),
  w(
    2,
    fc.tuple(fc.nat(3), fc.boolean()).map(([i, p]) => new Refund(i, p)),
  ),
  w(
    2,
    fc.nat(3).map((i) => new Dispute(i)),
  ),
  w(
    2,
    fc.tuple(fc.nat(3), fc.constantFrom<"won" | "lost">("won", "lost")).map(([i, o]) => new CloseDispute(i, o)),
  ),
  w(
    1,
    fc.constantFrom<"top_up" | "card_link">("top_up", "top_up", "card_link").map((x) => new ExpireCheckout(x)),
  ),
  w(
    3,
    fc
      .tuple(
        fc.constantFrom<RechargeStepName>("invoice", "item", "finalize", "pay", "pay"),
        fc.constantFrom<LateAnswer["kind"]>(
          "500_after_success:success",
          "500_after_success:error",
          "timeout_after_success",
        ),
        fc.constantFrom(300, 1_200),
      )
      .map(([s, k, d]) => new LateAnswer(s, k, d)),
  ),
  w(
    2,
    fc
      .tuple(
        fc.constantFrom<"recharge" | "webhook">("recharge", "recharge", "webhook"),
        fc.constantFrom(0, 5, 25, 80, 250),
        fc.nat(6),
      )
      .map(([what, d, i]) => new EvictInFlight(what, d, i)),
  ),
  w(
    1,
    fc.boolean().map((r) => new ForeignInvoice(r)),
  ),
  w(
    3,
    fc.constant(null).map(() => new Evict()),
  ),
  w(
    2,
    fc.constant(null).map(() => new Alarm()),
  ),
  w(
    3,
    fc
      .tuple(fc.constantFrom<CronWhen>("same_hour", "next_hour", "next_hour", "late"), fc.integer({ min: 0, max: 59 }))
      .map(([when, minute]) => new Cron(when, minute)),
  ),
  w(
    2,
    fc.boolean().map((h) => new TimePasses(h)),
  ),
  w(
    2,
    fc.nat(6).map((i) => new Race(i)),
  ),
  w(
    2,
    fc
      .tuple(fc.constantFrom<500 | 429>(500, 429), fc.constantFrom(1, 1, 2))
      .map(([status, count]) => new TelegramFault(status, count)),
  ),
);

/** Relays Stripe's `checkout.session.completed` of the setup at once, as a world that starts with a saved card. */
export async function setUpWorld(setup: WorldSetup): Promise<World> {
  const world = await World.create(setup.license);
  world.trace.push(`setup: provision(${setup.license})`);
  world.phase = "setup: ";
  const model: Model = {};
  const auto = setup.autoRecharge;
  if (auto) {
    await new SetupCredits(auto.topUp, auto.rechargeAt, auto.card).run(model, world);
    const customer = world.customer;
    if (customer) {
      const completed = (await stripeEvents(customer)).filter((e) => e.type === "checkout.session.completed");
      for (const e of completed) {
        const index = world.relay.queue.findIndex((q) => q.id === e.id);
        if (index >= 0) await new Deliver("pick", index).run(model, world);
      }
    }
  } else {
    world.last = await world.snapshot();
  }
  world.phase = "";
  return world;
}

export { OUT_NOW };
