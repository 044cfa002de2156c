import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import * as commands from "../../src/billing/commands";
import { loadConfig } from "../../src/env";
import { Ledger } from "../../src/ledger/ledger";
import { textsIn } from "../../src/telegram/texts";
import { parseCommand, routeUpdate } from "../../src/telegram/updates";
import { ADMIN, api, type Provisioned, provision, stub, USD } from "../helpers";
import { deliver, modelRequests, privateText, type SentMessage, settle, waitForMessages } from "../telegram/fixtures";
import {
  buttonUrl,
  debit,
  OWNER,
  ownerMessages,
  ownerSays,
  Relay,
  stripeControl,
  stripeGet,
  summary,
  waitForBalance,
  withCard,
} from "./fixtures";

const EN = textsIn("en");

/**
 * The owner's controls (issue 18): what the bot suggests is accepted, background work refused by the floor
 * is told, auto-recharge can be turned off, the daily limit per client is the owner's, and a bad command
 * names all of its problems.
 */

const config = loadConfig(env);
const owner = { id: OWNER, first_name: "Olga" };

type Parser = (args: readonly string[], c: typeof config) => { ok: true } | { ok: false; message: string };

/** Why the bot would refuse `command` from its owner; null when it accepts it. */
async function refusal(command: string): Promise<string | null> {
  const route = routeUpdate(privateText(owner, command), OWNER, null);
  if (route.kind !== "owner_command") return `not an owner command (${route.kind})`;
  const { args } = parseCommand(command) ?? { args: [] };
  // A bare mention of a command that takes values ("the link you got after /setupCredits") is not a suggestion to send.
  if (args.length === 0) return null;
  let parse: Parser | null = null;
  if (route.command === "setupcredits") parse = (a, c) => commands.parseSettings("setupCredits", a, c, EN);
  if (route.command === "changecreditstopup") parse = (a, c) => commands.parseSettings("changeCreditsTopUp", a, c, EN);
  if (route.command === "topup") parse = (a, c) => commands.parseTopUp(a, c, EN);
  if (route.command === "clientlimit") {
    const { parseClientLimit } = await import("../../src/telegram/command-args");
    parse = (a, c) => parseClientLimit(a, c, EN);
  }
  if (!parse) return null;
  const parsed = parse(args, config);
  return parsed.ok ? null : parsed.message;
}

const HTML_ENTITIES: Record<string, string> = { "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#39;": "'" };

/** Every command a reply suggests, as the owner would copy it: `/name` and its `:values`, without forms like `{usd}`. */
function suggestedCommands(text: string): string[] {
  const plain = text.replace(/<[^>]+>/g, "").replace(/&(?:lt|gt|amp|quot|#39);/g, (e) => HTML_ENTITIES[e] ?? e);
  const found: string[] = [];
  for (const m of plain.matchAll(/(?<=^|[\s("'“])\/[A-Za-z][A-Za-z0-9_]*(?::[^\s:,;()]*)*/g)) {
    const command = m[0].replace(/\.$/, "");
    if (command.includes("{")) continue;
    found.push(command);
  }
  return found;
}

/** The owner sends `command`; resolves with the first message after it that matches `expected` (notices may come between). */
async function ownerReply(inst: Provisioned, command: string, expected: RegExp): Promise<SentMessage> {
  const before = (await ownerMessages(inst)).length;
  await deliver(inst, privateText(owner, command));
  return vi.waitFor(
    async () => {
      const found = (await ownerMessages(inst)).slice(before).find((m) => expected.test(m.text));
      if (!found) throw new Error(`no reply to ${command} matching ${expected}`);
      return found;
    },
    { timeout: 15_000, interval: 50 },
  );
}

const REPLIES: [string, RegExp][] = [
  ["/balance", /^Your credit balance/],
  ["/stats", /^Credits:/],
  ["/help", /Owner commands/],
];

async function adminView(inst: Provisioned) {
  return (await api(`/admin/instances/${inst.id}`, { headers: ADMIN })).json as {
    autoRecharge: { enabled: boolean; topUpMicros: number; rechargeAtMicros: number; card?: { last4: string } } | null;
  };
}

async function usage(inst: Provisioned, key: string, operation: string, costMicros: number) {
  return api(`/v1/instances/${inst.id}/usage`, {
    method: "POST",
    headers: inst.auth,
    body: { idempotencyKey: key, operation, costMicros },
  });
}

/** Debits at past moments through the object's own ledger code (the RPC charges at Date.now()). */
async function seedSpend(
  inst: Provisioned,
  entries: { at: number; cost: number; user?: string; operation?: "response" | "knowhow_update" }[],
) {
  await runInDurableObject(stub(inst.id), (_instance, state) => {
    const ledger = new Ledger(state.storage.sql, loadConfig(env));
    entries.forEach((e, i) => {
      const { outcome } = ledger.debit(
        {
          idempotencyKey: `seed-${e.at}-${i}`,
          operation: e.operation ?? "response",
          costMicros: e.cost,
          fingerprint: `seed-${i}`,
          endUserId: e.user ?? null,
        },
        e.at,
        ledger.account(),
      );
      if (!outcome.ok) throw new Error(outcome.reason);
    });
  });
}

describe("owner controls", () => {
  it("4. every command suggested by /balance, /stats and /help is accepted in every state; a pending card shows its own settings", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" }); // $200
    const suggested = new Map<string, string>();
    const collect = async (state: string) => {
      for (const [command, first] of REPLIES) {
        const reply = await ownerReply(inst, command, first);
        for (const c of suggestedCommands(reply.text)) suggested.set(c, `${state}, in the reply to ${command}`);
      }
    };
    await collect("fresh");

    // A heavy week: three days of it is more than the largest threshold /setupCredits accepts.
    const grant = await api(`/admin/instances/${inst.id}/adjustments`, {
      method: "POST",
      headers: ADMIN,
      body: { idempotencyKey: "owner-controls-4", amountMicros: 40_000 * USD, reason: "test" },
    });
    expect(grant.status).toBe(201);
    const now = Date.now();
    await seedSpend(
      inst,
      Array.from({ length: 35 }, (_, i) => ({
        at: now - (i * 4 + 1) * 3_600_000,
        cost: 1_000 * USD,
        user: `u${i % 5}`,
      })),
    );
    await collect("heavy spend");

    // The card link is open: the settings shown are the ones it was made with, not empty saved ones.
    const link = await ownerSays(inst, "/setupCredits:300:150");
    const sessionId = /\/pay\/(cs_[A-Za-z0-9_]+)/.exec(buttonUrl(link))?.[1];
    if (!sessionId) throw new Error("no card link");
    const balance = await ownerReply(inst, "/balance", /^Your credit balance/);
    expect(balance.text).toContain("/setupCredits:300:150");
    expect(balance.text).not.toContain("/setupCredits:0:0");
    const stats = await ownerReply(inst, "/stats", /^Credits:/);
    expect(stats.text).toMatch(/Top-up\s+\$300\.00/);
    expect(stats.text).toMatch(/When at\s+\$150\.00/);
    await collect("card pending");

    // The card is saved, then auto-recharge is turned off (the card stays).
    const session = await stripeGet<{ customer: string }>(`/v1/checkout/sessions/${sessionId}`);
    await stripeControl(`checkout/${sessionId}/complete`, { paymentMethod: "pm_card_visa" });
    await new Relay(() => session.customer).deliverAll((e) => e.type === "checkout.session.completed");
    await vi.waitFor(async () => expect((await adminView(inst)).autoRecharge?.enabled).toBe(true), { timeout: 10_000 });
    await collect("active");
    await ownerReply(inst, "/stopCredits", /auto-recharge/i);
    await collect("stopped");

    expect(suggested.size).toBeGreaterThan(5);
    for (const [command, where] of suggested) expect(await refusal(command), `${command} (${where})`).toBeNull();
  });

  it("7. a know-how or role update refused by the background floor tells the owner once a day per kind, with the balance, the floor and the fix", async () => {
    const inst = await provision({ ownerTelegramId: OWNER }); // $50
    expect((await usage(inst, "spend", "response", 47 * USD)).status).toBe(200); // $3 left, floor $5
    for (const i of [1, 2, 3]) expect((await usage(inst, `kh-${i}`, "knowhow_update", USD)).status).toBe(402);
    const hold = await api(`/v1/instances/${inst.id}/holds`, {
      method: "POST",
      headers: inst.auth,
      body: { idempotencyKey: "role-hold", operation: "role_update", maxCostMicros: 2 * USD },
    });
    expect(hold.status).toBe(402);
    expect((await usage(inst, "role-2", "role_update", USD)).status).toBe(402);

    const notices = async (kind: RegExp) => (await ownerMessages(inst)).filter((m) => kind.test(m.text));
    await vi.waitFor(
      async () => {
        expect(await notices(/know-how/i)).toHaveLength(1);
        expect(await notices(/role update/i)).toHaveLength(1);
      },
      { timeout: 10_000 },
    );
    const [knowhow] = await notices(/know-how/i);
    expect(knowhow?.text).toContain("$3.00"); // the balance
    expect(knowhow?.text).toContain("$5.00"); // the floor
    expect(knowhow?.text).toMatch(/\/topUp:\d+/); // the fix
    expect(knowhow?.text).toMatch(/\/setupCredits:\d+:\d+/);
    for (const command of suggestedCommands(knowhow?.text ?? "")) expect(await refusal(command), command).toBeNull();
    await settle(300);
    expect(await notices(/know-how/i)).toHaveLength(1);

    // The next UTC day, the first refusal of each kind tells again.
    await runInDurableObject(stub(inst.id), (_i, state) => {
      state.storage.sql.exec("UPDATE floor_notices SET day = day - 1");
    });
    expect((await usage(inst, "kh-tomorrow", "knowhow_update", USD)).status).toBe(402);
    await vi.waitFor(async () => expect(await notices(/know-how/i)).toHaveLength(2), { timeout: 10_000 });
    expect(await notices(/role update/i)).toHaveLength(1);
  });

  it("9. /stopCredits turns auto-recharge off and keeps the card; /changeCreditsTopUp turns it on again; /balance, /stats and /help show the state", async () => {
    const { inst, customer } = await withCard({ topUp: 250, rechargeAt: 100 }); // $200
    const stop = await ownerReply(inst, "/stopCredits", /auto-recharge/i);
    expect(stop.text).toMatch(/auto-recharge is off/i);
    expect(stop.text).toContain("4242");
    expect(stop.text).toContain("/changeCreditsTopUp:250:100");
    const view = await adminView(inst);
    expect(view.autoRecharge).toMatchObject({ enabled: false, topUpMicros: 250 * USD, rechargeAtMicros: 100 * USD });
    expect(view.autoRecharge?.card?.last4).toBe("4242");

    const balance = await ownerReply(inst, "/balance", /^Your credit balance/);
    expect(balance.text).toMatch(/Auto-recharge: off/);
    expect(balance.text).toContain("4242");
    expect(balance.text).toContain("/changeCreditsTopUp:250:100");
    expect((await ownerReply(inst, "/stats", /^Credits:/)).text).toMatch(/Status\s+off \(turned off\)/);
    const help = await ownerReply(inst, "/help", /\/balance/);
    expect(help.text).toMatch(/auto-recharge off/i);
    expect(help.text).toContain("/stopCredits");
    await ownerReply(inst, "/stopCredits", /already off/i);

    // Off: a drop to the threshold starts nothing.
    expect((await debit(inst, "below", 120 * USD)).status).toBe(200); // $80 ≤ $100
    await settle(1_000);
    expect((await summary(customer)).invoices).toHaveLength(0);

    // On again, with the saved card: at $80 it recharges at once; turning it off meanwhile lets that one finish.
    await ownerReply(inst, "/changeCreditsTopUp:250:100", /on again/i);
    await ownerReply(inst, "/stopCredits", /auto-recharge is off/i);
    await waitForBalance(inst, 330 * USD);
    expect((await adminView(inst)).autoRecharge?.enabled).toBe(false);
    expect((await ownerReply(inst, "/balance", /^Your credit balance/)).text).toMatch(/Auto-recharge: off/);
    await ownerReply(inst, "/changeCreditsTopUp:300:100", /on again/i);
    expect((await ownerReply(inst, "/balance", /^Your credit balance/)).text).toMatch(
      /Auto-recharge: on — adds \$300\.00/,
    );
    expect((await ownerReply(inst, "/help", /\/balance/)).text).toMatch(
      /auto-recharge on, adds \$300\.00 at \$100\.00/,
    );
  });

  it("11. /clientLimit sets what one client may cost a day (0: off; under one answer: refused with the minimum); /stats shows the limit and who reached it today", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" });
    // END_USER_DAILY_CAP_USD (1) until the owner sets another.
    expect((await ownerSays(inst, "/stats")).text).toMatch(
      /Limit per client: \$1\.00 a day, reached today by 0 clients/,
    );

    const set = await ownerSays(inst, "/clientLimit:0.50");
    expect(set.text).toContain("$0.50");
    await seedSpend(inst, [{ at: Date.now(), cost: 500_000, user: "701" }]);
    await deliver(inst, privateText({ id: 701 }, "hello cap-701"));
    await deliver(inst, privateText({ id: 702 }, "hello cap-702"));
    const [capped] = await waitForMessages(inst.botToken, 701, 1);
    expect(capped?.text).toMatch(/limit/i);
    const [answered] = await waitForMessages(inst.botToken, 702, 1);
    expect(answered?.text).toContain("cap-702");
    expect(await modelRequests("cap-701")).toEqual([]);
    expect((await ownerSays(inst, "/stats")).text).toMatch(
      /Limit per client: \$0\.50 a day, reached today by 1 client\b/,
    );
    expect((await ownerSays(inst, "/help")).text).toMatch(/limit per client \$0\.50 a day/);

    // 0 turns it off: the same client is answered again.
    expect((await ownerSays(inst, "/clientLimit:0")).text).toMatch(/off/);
    await deliver(inst, privateText({ id: 701 }, "again cap-701-off"));
    const replies = await waitForMessages(inst.botToken, 701, 2);
    expect(replies[1]?.text).toContain("cap-701-off");
    expect((await ownerSays(inst, "/stats")).text).toMatch(/Limit per client: off/);

    // Under one worst-case answer is refused, naming the minimum (the test model's worst case is under a cent,
    // so a pricier one shows it), with an example that is accepted.
    const { parseClientLimit } = await import("../../src/telegram/command-args");
    const pricey = { ...config, answerWorstCaseMicros: 42_000 };
    const low = parseClientLimit(["0.04"], pricey, EN);
    expect(low.ok).toBe(false);
    if (low.ok) return;
    expect(low.message).toContain("$0.05");
    const example = /Example: \/clientLimit:(\S+)/.exec(low.message)?.[1];
    expect(parseClientLimit([example ?? ""], pricey, EN).ok).toBe(true);
    expect(parseClientLimit(["0.05"], pricey, EN)).toEqual({ ok: true, value: 50_000 });
    const bad = await ownerSays(inst, "/clientLimit:abc");
    expect(bad.text).toMatch(/number/);
    expect(bad.text).toMatch(/Example: \/clientLimit:\d/);
  });

  it("12. every bad command reports all of its problems at once, with an example the bot accepts", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" });
    const cases: [string, RegExp[]][] = [
      ["/setupCredits:100:50", [/top-up.*at least \$250\.00/i, /threshold.*at least \$100\.00/i]],
      ["/setupCredits:100", [/top-up.*at least \$250\.00/i, /two amounts/i]],
      ["/setupCredits:1e3:500.005", [/top-up.*number/i, /threshold.*two decimals/i]],
      ["/changeCreditsTopUp:abc:-5", [/top-up.*number/i, /threshold.*negative/i]],
      ["/changeCreditsTopUp:20000:20000", [/top-up.*at most \$10,000\.00/i, /threshold.*at most \$10,000\.00/i]],
      ["/topUp:5:7", [/too many/i, /at least \$50\.00/]],
      ["/clientLimit:abc:1", [/too many/i, /number/i]],
    ];
    for (const [command, problems] of cases) {
      const reply = await ownerSays(inst, command);
      for (const problem of problems) expect(reply.text, command).toMatch(problem);
      expect(reply.reply_markup ?? null, command).toBeNull();
      const example = /Example: (\S+)/.exec(reply.text)?.[1];
      expect(example, command).toBeDefined();
      expect(await refusal(example ?? ""), `${command} → ${example}`).toBeNull();
    }
    // What the owner typed right stays in the example.
    expect((await ownerSays(inst, "/setupCredits:100:150")).text).toContain("Example: /setupCredits:250:150");
    expect((await adminView(inst)).autoRecharge).toBeNull();
  });
});
