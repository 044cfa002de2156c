import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, api, type Provisioned, provision, stub, USD } from "../helpers";
import {
  anonymousAdmin,
  callbackQuery,
  channelForwardInPrivate,
  channelPost,
  deliver,
  editedText,
  failTelegram,
  groupText,
  modelRequests,
  privateText,
  sentMessages,
  settle,
  spentToday,
  sticker,
  waitForMessages,
} from "./fixtures";

const OWNER = 4242001;
const owner = { id: OWNER, first_name: "Olga" };
const client = (id: number) => ({ id, first_name: `Client${id}` });

async function ledgerEntries(inst: Provisioned) {
  const res = await api(`/admin/instances/${inst.id}/ledger?limit=1000`, { headers: ADMIN });
  return res.json.entries as { kind: string; amountMicros: number; endUserId: string | null }[];
}

async function balanceOf(inst: Provisioned) {
  const res = await api(`/v1/instances/${inst.id}/balance`, { headers: inst.auth });
  return res.json as { balanceMicros: number; availableMicros: number; outOfCredits: boolean };
}

async function updatesRecorded(inst: Provisioned) {
  return runInDurableObject(
    stub(inst.id),
    (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM telegram_updates").one().n,
  );
}

describe("webhook gatekeeping", () => {
  it("wrong secret → 401, unknown instance → 404, malformed JSON → 400, 1 MB → 413; nothing changes", async () => {
    const inst = await provision();
    const good = privateText(owner, "/balance");
    expect((await deliver(inst, good, "wrong-secret")).status).toBe(401);
    const noHeader = await fetchNoSecret(inst.id, good);
    expect(noHeader.status).toBe(401);
    expect((await deliver({ ...inst, id: `${inst.id}-x` }, good)).status).toBe(404);
    expect((await deliver(inst, "{not json")).status).toBe(400);
    const huge = privateText(owner, "x".repeat(1024 * 1024));
    const tooBig = await deliver(inst, huge);
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    await settle();
    expect(await sentMessages(inst.botToken)).toEqual([]);
    expect(await updatesRecorded(inst)).toBe(0);
    expect((await balanceOf(inst)).balanceMicros).toBe(50 * USD);
  });

  it("answers 200 to updates it cannot use", async () => {
    const inst = await provision();
    for (const body of [{}, { update_id: "x" }, { update_id: 5, poll: {} }, []]) {
      expect((await deliver(inst, body)).status).toBe(200);
    }
  });
});

async function fetchNoSecret(id: string, update: unknown) {
  const { SELF } = await import("cloudflare:test");
  return SELF.fetch(`https://credits.example.test/telegram/${id}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(update),
  });
}

describe("routing of real update shapes", () => {
  it("routes private, group, edited, channel, callback, sticker and anonymous-admin updates", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const updates = [
      groupText(client(501), "hello group"),
      groupText(owner, "/stats"),
      anonymousAdmin("/stats"),
      channelPost("/stats"),
      editedText(owner, "/balance"),
      channelForwardInPrivate("/stats"),
    ];
    for (const u of updates) expect((await deliver(inst, u)).status).toBe(200);
    await settle();
    expect(await sentMessages(inst.botToken)).toEqual([]);

    // A callback query is acknowledged, a sticker gets a short text-only note, free.
    expect((await deliver(inst, callbackQuery(client(502)))).status).toBe(200);
    expect((await deliver(inst, sticker(client(503)))).status).toBe(200);
    const [note] = await waitForMessages(inst.botToken, 503, 1);
    expect(note?.text).toMatch(/text/i);
    // An owner's private message is the owner's; a client's private message gets an AI answer.
    expect((await deliver(inst, privateText(owner, "/balance"))).status).toBe(200);
    const [balance] = await waitForMessages(inst.botToken, OWNER, 1);
    expect(balance?.text).toContain("$50.00");
    expect((await deliver(inst, privateText(client(504), "What are your opening hours? routing-504"))).status).toBe(
      200,
    );
    const [answer] = await waitForMessages(inst.botToken, 504, 1);
    expect(answer?.text).toContain("routing-504");
  });

  it("non-owners get a short refusal for owner commands; /cmd@OtherBot never reaches owner features", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    await deliver(inst, privateText(client(601), "/stats"));
    await deliver(inst, privateText(client(602), "/setupCredits:500:100"));
    const [refusal] = await waitForMessages(inst.botToken, 601, 1);
    expect(refusal?.text).not.toContain("Credits:");
    expect(refusal?.text.length).toBeLessThan(200);
    await waitForMessages(inst.botToken, 602, 1);
    await deliver(inst, privateText(owner, "/stats@SomeOtherBot"));
    await settle();
    expect(await sentMessages(inst.botToken, OWNER)).toEqual([]);
    expect((await ledgerEntries(inst)).length).toBe(1);
  });
});

describe("the balance in words and /balance", () => {
  it("answers the owner's balance questions in their language at no cost", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const questions: [string, RegExp][] = [
      ["What's my current credit balance?", /balance/i],
      ["how much credit do I have left?", /balance/i],
      ["kolik mám kreditů?", /zůstatek/i],
      ["/BALANCE", /balance/i],
    ];
    for (const [q] of questions) await deliver(inst, privateText(owner, q));
    const replies = await waitForMessages(inst.botToken, OWNER, questions.length);
    for (const reply of replies) expect(reply.text).toContain("$50.00");
    expect(replies.some((r) => /zůstatek/i.test(r.text))).toBe(true);
    expect(await ledgerEntries(inst)).toHaveLength(1);
    expect(await modelRequests(`${inst.id}`)).toEqual([]);
  });

  it("does not take an unrelated owner message for a balance question", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    await deliver(inst, privateText(owner, `What's the balance of power in Europe? ${inst.id}`));
    const [reply] = await waitForMessages(inst.botToken, OWNER, 1);
    expect(reply?.text).toContain("Answer to:");
    expect((await ledgerEntries(inst)).length).toBe(2);
  });
});

describe("metered answers", () => {
  it("holds, asks the model, settles the real token cost and replies", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, systemPrompt: "You are Ada, a tax expert." });
    const marker = `metered-${inst.id}`;
    await deliver(inst, privateText(client(701), `Can I deduct my laptop? ${marker}`));
    const [reply] = await waitForMessages(inst.botToken, 701, 1);
    expect(reply?.text).toContain(marker);
    expect(reply?.parse_mode ?? null).toBeNull();
    const [request] = await modelRequests(marker);
    if (!request) throw new Error("model was not called");
    const { prompt_tokens, completion_tokens } = request.response.usage;
    // gpt-4o-mini: $0.15 / $0.60 per million tokens, rounded up to a whole micro-USD.
    const expected = Math.ceil((prompt_tokens * 0.15 + completion_tokens * 0.6) * 1);
    const entries = await ledgerEntries(inst);
    expect(entries[0]).toMatchObject({ kind: "hold_settle", amountMicros: -expected, endUserId: "701" });
    const balance = await balanceOf(inst);
    expect(balance).toEqual({
      balanceMicros: 50 * USD - expected,
      availableMicros: 50 * USD - expected,
      outOfCredits: false,
    });
  });

  it("a duplicate delivery of one update gives one answer and one charge", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const update = privateText(client(702), `Duplicate me ${inst.id}`);
    const statuses = await Promise.all([deliver(inst, update), deliver(inst, update), deliver(inst, update)]);
    for (const s of statuses) expect(s.status).toBe(200);
    await waitForMessages(inst.botToken, 702, 1);
    await deliver(inst, update);
    await settle(500);
    expect(await sentMessages(inst.botToken, 702)).toHaveLength(1);
    expect((await ledgerEntries(inst)).filter((e) => e.kind === "hold_settle")).toHaveLength(1);
    expect(await modelRequests(`Duplicate me ${inst.id}`)).toHaveLength(1);
  });

  it("splits long answers and sends model text so Telegram never rejects its formatting", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    await deliver(inst, privateText(client(703), `[[reply:7000 chars]] long ${inst.id}`));
    const parts = await waitForMessages(inst.botToken, 703, 2);
    expect(parts).toHaveLength(2);
    expect(parts.map((p) => p.text).join("").length).toBeGreaterThanOrEqual(6990);
    for (const p of parts) expect(p.text.length).toBeLessThanOrEqual(4096);
    expect((await ledgerEntries(inst)).filter((e) => e.kind === "hold_settle")).toHaveLength(1);
  });

  it("honours Telegram's 429 retry_after and never charges twice", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    await failTelegram(inst.botToken, "sendMessage", 429, 1, 1);
    const started = Date.now();
    await deliver(inst, privateText(client(704), `rate limited ${inst.id}`));
    await waitForMessages(inst.botToken, 704, 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect((await ledgerEntries(inst)).filter((e) => e.kind === "hold_settle")).toHaveLength(1);
  });

  it("a failing model answers politely and charges nothing", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    await deliver(inst, privateText(client(705), `[[status:500]] broken ${inst.id}`));
    const [reply] = await waitForMessages(inst.botToken, 705, 1);
    expect(reply?.text).toMatch(/try again/i);
    expect(await ledgerEntries(inst)).toHaveLength(1);
    expect(await balanceOf(inst)).toMatchObject({ balanceMicros: 50 * USD, availableMicros: 50 * USD });
  });

  it("a user over the daily cap is told so, and the owner is not charged", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    await spentToday(inst, "706", USD);
    await deliver(inst, privateText(client(706), `one more ${inst.id}`));
    const [reply] = await waitForMessages(inst.botToken, 706, 1);
    expect(reply?.text).not.toContain("Answer to");
    expect(await ledgerEntries(inst)).toHaveLength(1);
  });

  it("out of credits: no answer, the message is counted, the owner is told once", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    await api(`/admin/instances/${inst.id}/adjustments`, {
      method: "POST",
      headers: ADMIN,
      body: { idempotencyKey: "drain", amountMicros: -50 * USD, reason: "test: empty the account" },
    });
    const ownerMessages = await waitForMessages(inst.botToken, OWNER, 1);
    expect(ownerMessages[0]?.text).toContain("⚠️");
    await deliver(inst, privateText(client(707), `anyone there? ${inst.id}`));
    await deliver(inst, privateText(client(708), `hello? ${inst.id}`));
    await settle(600);
    expect(await sentMessages(inst.botToken, 707)).toEqual([]);
    expect(await sentMessages(inst.botToken, 708)).toEqual([]);
    expect(await sentMessages(inst.botToken, OWNER)).toHaveLength(1);
    const unanswered = await runInDurableObject(
      stub(inst.id),
      (_i, state) =>
        state.storage.sql
          .exec<{ n: number }>("SELECT COALESCE(SUM(count), 0) AS n FROM usage_hourly WHERE operation = 'unanswered'")
          .one().n,
    );
    expect(unanswered).toBe(2);

    // Credits return: the bot answers again with no manual step, and the owner gets one ✅.
    await api(`/admin/instances/${inst.id}/adjustments`, {
      method: "POST",
      headers: ADMIN,
      body: { idempotencyKey: "refill", amountMicros: 10 * USD, reason: "test: refill" },
    });
    const afterRefill = await waitForMessages(inst.botToken, OWNER, 2);
    expect(afterRefill[1]?.text).toContain("✅");
    await deliver(inst, privateText(client(707), `back again ${inst.id}`));
    await waitForMessages(inst.botToken, 707, 1);
    expect(env.DB).toBeTruthy();
  });
});

describe("balance phrasings end to end", () => {
  it("40 phrasings in two languages get the balance at no cost; 20 near misses go to the AI", async () => {
    const { CZECH, ENGLISH, NEAR_MISSES } = await import("./phrasings");
    const questions = [...ENGLISH.slice(0, 20), ...CZECH.slice(0, 20)];
    expect(questions).toHaveLength(40);
    const inst = await provision({ ownerTelegramId: OWNER });
    for (const q of questions) await deliver(inst, privateText(owner, q));
    const replies = await waitForMessages(inst.botToken, OWNER, 40);
    for (const r of replies) expect(r.text).toContain("$50.00");
    expect(replies.filter((r) => /zůstatek/i.test(r.text)).length).toBeGreaterThanOrEqual(20);
    expect(await ledgerEntries(inst)).toHaveLength(1);

    const misses = NEAR_MISSES.slice(0, 20);
    expect(misses).toHaveLength(20);
    for (const m of misses) await deliver(inst, privateText(owner, m));
    const all = await waitForMessages(inst.botToken, OWNER, 60);
    for (const r of all.slice(40)) expect(r.text).toContain("Answer to:");
    expect((await ledgerEntries(inst)).filter((e) => e.kind === "hold_settle")).toHaveLength(20);
  });
});
