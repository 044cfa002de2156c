import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseSettings } from "../../src/billing/commands";
import { loadConfig } from "../../src/env";
import { Ledger } from "../../src/ledger/ledger";
import { verifyInitData } from "../../src/telegram/init-data";
import { textsIn } from "../../src/telegram/texts";
import { signInitData } from "../../standins/telegram-web-app";
import { OWNER, ownerMessages, ownerSays, withCard } from "../billing/fixtures";
import { api, botToken, type Provisioned, provision, stub, USD } from "../helpers";
import { sentMessages, waitForMessages } from "../telegram/fixtures";

const EN = textsIn("en");
const config = loadConfig(env);
const olga = { id: OWNER, first_name: "Olga", language_code: "en" };
const now = () => Math.floor(Date.now() / 1000);

function tma(initData: string) {
  return { authorization: `tma ${initData}` };
}

describe("initData as Telegram documents it (signed by the stand-in's own node:crypto code)", () => {
  const token = "123456:AAE-dashboard-test-token-0123456789abcdef";

  it("accepts Telegram's signature and gives the user who opened the app", async () => {
    const verdict = await verifyInitData(signInitData(token, olga, now() - 60), token, Date.now());
    expect(verdict).toEqual({ ok: true, userId: OWNER, authDate: now() - 60 });
  });

  it("refuses a changed field, another bot's token, an old or a future auth_date, a repeated field", async () => {
    const valid = signInitData(token, olga, now());
    const forged = valid.replace(encodeURIComponent(`"id":${OWNER}`), encodeURIComponent('"id":777'));
    expect(forged).not.toBe(valid);
    const hourAndMinuteAgo = signInitData(token, olga, now() - 3660);
    const nextHour = signInitData(token, olga, now() + 3600);
    const cases = [
      [forged, "bad_hash"],
      [signInitData("654321:AAE-another-bot-token-0123456789abcdef", olga, now()), "bad_hash"],
      [hourAndMinuteAgo, "stale"],
      [nextHour, "stale"],
      [`${valid}&auth_date=1`, "malformed"],
      [valid.replace(/hash=[0-9a-f]+/, "hash=xyz"), "malformed"],
      ["", "malformed"],
    ] as const;
    for (const [initData, why] of cases) {
      expect(await verifyInitData(initData, token, Date.now()), why).toEqual({ ok: false, why });
    }
    // Fifty-nine minutes is within the hour.
    expect((await verifyInitData(signInitData(token, olga, now() - 3540), token, Date.now())).ok).toBe(true);
  });

  it("counts every field but hash, Telegram's Ed25519 `signature` included", async () => {
    const withSignature = signInitData(token, olga, now(), { signature: "ZmFrZS1lZDI1NTE5LXNpZ25hdHVyZQ" });
    expect((await verifyInitData(withSignature, token, Date.now())).ok).toBe(true);
    const dropped = withSignature.replace(/&?signature=[^&]*/, "");
    expect(await verifyInitData(dropped, token, Date.now())).toEqual({ ok: false, why: "bad_hash" });
  });

  it("refuses signed data without a user", async () => {
    const noUser = signInitData(token, olga, now(), { user: "not json" });
    expect(await verifyInitData(noUser, token, Date.now())).toEqual({ ok: false, why: "no_user" });
  });
});

async function usage(inst: Provisioned, key: string, operation: string, costMicros: number, endUserId?: string) {
  const res = await api(`/v1/instances/${inst.id}/usage`, {
    method: "POST",
    headers: inst.auth,
    body: { idempotencyKey: key, operation, costMicros, ...(endUserId ? { endUserId } : {}) },
  });
  expect(res.status).toBe(200);
}

describe("GET /app/:id/data", () => {
  it("is described in /openapi.json with the command route, behind the initData scheme", async () => {
    const doc = (await api("/openapi.json")).json as {
      paths: Record<string, Record<string, { security?: unknown }>>;
      components: { securitySchemes: Record<string, { type: string; name?: string }> };
    };
    expect(doc.paths["/app/{id}/data"]?.get?.security).toEqual([{ telegramInitData: [] }]);
    expect(doc.paths["/app/{id}/commands"]?.post?.security).toEqual([{ telegramInitData: [] }]);
    expect(doc.components.securitySchemes.telegramInitData).toMatchObject({ type: "apiKey", name: "Authorization" });
  });

  it("gives the owner the balance, today's spend per operation and active users, and the limits", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" });
    await usage(inst, "a1", "response", 300_000, "client-1");
    await usage(inst, "a2", "response", 200_000, "client-2");
    await usage(inst, "a3", "response", 100_000, "client-1");
    await usage(inst, "k1", "knowhow_update", 1_500_000);
    const res = await api(`/app/${inst.id}/data`, { headers: tma(signInitData(inst.botToken, olga)) });
    expect(res.status).toBe(200);
    const body = res.json as unknown as {
      balanceMicros: number;
      days: { day: number; costMicros: Record<string, number>; answers: number; activeUsers: number }[];
      spend: { todayMicros: number };
      limits: { minTopUpMicros: number };
      invoices: unknown[];
    };
    expect(body.balanceMicros).toBe(inst.balanceMicros - 2_100_000);
    expect(body.spend.todayMicros).toBe(2_100_000);
    expect(body.days).toHaveLength(30);
    const today = body.days.at(-1);
    expect(today?.day).toBe(Math.floor(Date.now() / 86_400_000));
    expect(today).toMatchObject({
      costMicros: { response: 600_000, knowhow_update: 1_500_000, role_update: 0 },
      answers: 3,
      activeUsers: 2,
    });
    expect(body.days.slice(0, -1).every((d) => d.answers === 0 && d.costMicros.response === 0)).toBe(true);
    expect(body.limits.minTopUpMicros).toBe(config.minTopUpMicros);
    expect(body.invoices).toEqual([]);
  });

  it("answers 401 and nothing else to a forged, stale, another bot's or a client's initData, and to no initData", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const valid = signInitData(inst.botToken, olga);
    const refused = [
      tma(valid.replace(/hash=[0-9a-f]{8}/, "hash=00000000")),
      tma(signInitData(inst.botToken, olga, now() - 2 * 3600)),
      tma(signInitData(botToken(), olga)),
      tma(signInitData(inst.botToken, { id: 5550001, first_name: "Client" })),
      {},
      { authorization: `Bearer ${valid}` },
    ];
    for (const headers of refused) {
      const res = await api(`/app/${inst.id}/data`, { headers });
      expect(res.status).toBe(401);
      expect(Object.keys(res.json)).toEqual(["error"]);
      expect(res.json.error?.code).toBe("unauthorized");
      expect(res.text).not.toContain("balance");
    }
    // An unknown instance looks the same as a refusal.
    const unknown = await api("/app/no-such-instance/data", { headers: tma(valid) });
    expect(unknown.status).toBe(401);
  });
});

describe("the chart's days", () => {
  it("are each UTC day's spend per operation, answers and distinct active users, from the rollups", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" });
    const DAY = 86_400_000;
    const today = Math.floor(Date.now() / DAY);
    type Seed = {
      day: number;
      minute: number;
      operation: "response" | "knowhow_update" | "role_update";
      cost: number;
      user: string | null;
    };
    const seeded: Seed[] = [];
    for (let back = 0; back < 35; back += 3) {
      for (let i = 0; i < (back % 4) + 1; i++) {
        seeded.push({
          day: today - back,
          minute: 60 + i * 7,
          operation: "response",
          cost: 10_000 + back * 100 + i,
          user: `u${(back + i) % 3}`,
        });
      }
      // The same user twice a day counts once; a user active on two days counts on both.
      seeded.push({ day: today - back, minute: 300, operation: "response", cost: 5_000, user: "u0" });
      if (back % 2 === 0)
        seeded.push({ day: today - back, minute: 400, operation: "role_update", cost: 70_000, user: null });
    }
    // Earlier today than now, so nothing is in the future.
    const at = (s: Seed) => Math.min(s.day * DAY + s.minute * 60_000, Date.now() - 1000);
    seeded.sort((a, b) => at(a) - at(b));
    await runInDurableObject(stub(inst.id), (_instance, state) => {
      const ledger = new Ledger(state.storage.sql, loadConfig(env));
      seeded.forEach((s, i) => {
        const input = {
          idempotencyKey: `seed-${i}`,
          operation: s.operation,
          costMicros: s.cost,
          fingerprint: `${i}`,
          endUserId: s.user,
        };
        const { outcome } = ledger.debit(input, at(s), ledger.account());
        if (!outcome.ok) throw new Error(outcome.reason);
      });
    });
    const res = await api(`/app/${inst.id}/data`, { headers: tma(signInitData(inst.botToken, olga)) });
    expect(res.status).toBe(200);
    const days = res.json.days as {
      day: number;
      costMicros: Record<string, number>;
      answers: number;
      activeUsers: number;
    }[];
    expect(days.map((d) => d.day)).toEqual(Array.from({ length: 30 }, (_, i) => today - 29 + i));
    for (const d of days) {
      const own = seeded.filter((s) => s.day === d.day);
      const answers = own.filter((s) => s.operation === "response");
      expect(d, `day ${d.day}`).toEqual({
        day: d.day,
        costMicros: {
          response: answers.reduce((t, s) => t + s.cost, 0),
          knowhow_update: 0,
          role_update: own.filter((s) => s.operation === "role_update").reduce((t, s) => t + s.cost, 0),
        },
        answers: answers.length,
        activeUsers: new Set(own.flatMap((s) => (s.user ? [s.user] : []))).size,
      });
    }
    expect(days.filter((d) => d.answers > 0)).toHaveLength(10);
  });
});

describe("POST /app/:id/commands", () => {
  it("runs a threshold change as the owner's command: the same reply in the chat, and the data shows it", async () => {
    const { inst } = await withCard({ topUp: 250, rechargeAt: 100 });
    const before = (await ownerMessages(inst)).length;
    const res = await api(`/app/${inst.id}/commands`, {
      method: "POST",
      headers: tma(signInitData(inst.botToken, olga)),
      body: { command: "changecreditstopup", args: ["750", "200"] },
    });
    expect(res.status).toBe(200);
    const replies = res.json.replies as string[];
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatch(/\$750/);
    const chat = await waitForMessages(inst.botToken, OWNER, before + 1);
    expect(chat.at(-1)?.text).toBe(replies[0]);
    const data = await api(`/app/${inst.id}/data`, { headers: tma(signInitData(inst.botToken, olga)) });
    expect(data.json.autoRecharge).toMatchObject({
      enabled: true,
      topUpMicros: 750 * USD,
      rechargeAtMicros: 200 * USD,
    });
  });

  it("refuses a value the command refuses, with the command's words, and sends nothing to the chat", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const before = (await sentMessages(inst.botToken, OWNER)).length;
    const res = await api(`/app/${inst.id}/commands`, {
      method: "POST",
      headers: tma(signInitData(inst.botToken, olga)),
      body: { command: "changecreditstopup", args: ["750", "5"] },
    });
    expect(res.status).toBe(400);
    const expected = parseSettings("changeCreditsTopUp", ["750", "5"], config, EN);
    expect(expected.ok).toBe(false);
    expect(res.json.error?.message).toBe(expected.ok ? "" : expected.message);
    expect(await sentMessages(inst.botToken, OWNER)).toHaveLength(before);
  });

  it("sets the client limit and the language like /clientLimit and /language", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const headers = tma(signInitData(inst.botToken, olga));
    const limit = await api(`/app/${inst.id}/commands`, {
      method: "POST",
      headers,
      body: { command: "clientlimit", args: ["2"] },
    });
    expect(limit.status).toBe(200);
    expect(limit.json.replies).toEqual([EN.clientLimitSet(2 * USD)]);
    const lang = await api(`/app/${inst.id}/commands`, {
      method: "POST",
      headers,
      body: { command: "language", args: ["cs"] },
    });
    expect(lang.json.replies).toEqual([textsIn("cs").languageSet()]);
    const data = await api(`/app/${inst.id}/data`, { headers });
    expect(data.json).toMatchObject({ clientLimitMicros: 2 * USD, lang: "cs" });
  });

  it("refuses a command outside the list, and a client's initData, before anything runs", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const topUp = await api(`/app/${inst.id}/commands`, {
      method: "POST",
      headers: tma(signInitData(inst.botToken, olga)),
      body: { command: "adjust", args: ["1000"] },
    });
    expect(topUp.status).toBe(400);
    const client = await api(`/app/${inst.id}/commands`, {
      method: "POST",
      headers: tma(signInitData(inst.botToken, { id: 5550001, first_name: "Client" })),
      body: { command: "clientlimit", args: ["0"] },
    });
    expect(client.status).toBe(401);
    expect(Object.keys(client.json)).toEqual(["error"]);
    // Without initData the body is not even looked at: 401, not the 400 a bad body would get.
    const anonymous = await api(`/app/${inst.id}/commands`, { method: "POST", body: { command: "adjust" } });
    expect(anonymous.status).toBe(401);
    expect(Object.keys(anonymous.json)).toEqual(["error"]);
  });
});

describe("/dashboard and the menu button", () => {
  it("answers /dashboard with a button that opens the Mini App of this instance", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const reply = await ownerSays(inst, "/dashboard");
    expect(reply.text).toBe(EN.dashboardLink("", true));
    const button = (reply.reply_markup as { inline_keyboard: { web_app?: { url: string } }[][] })
      .inline_keyboard[0]?.[0];
    expect(button?.web_app?.url).toBe(`https://credits.example.test/dashboard/?instance=${inst.id}`);
  });

  it("gives the owner's chat, and only it, a menu button that opens the Mini App", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const url = `${env.TELEGRAM_API_BASE}/__control/calls?token=${encodeURIComponent(inst.botToken)}&method=setChatMenuButton`;
    const { calls } = (await (await fetch(url)).json()) as {
      calls: { params: Record<string, unknown>; ok: boolean }[];
    };
    expect(calls.map((c) => [c.ok, c.params])).toEqual([
      [
        true,
        {
          chat_id: OWNER,
          menu_button: {
            type: "web_app",
            text: EN.dashboardMenuButton(),
            web_app: { url: `https://credits.example.test/dashboard/?instance=${inst.id}` },
          },
        },
      ],
    ]);
  });

  it("labels the menu button in the owner's language given at provisioning", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, ownerLanguage: "cs" });
    const url = `${env.TELEGRAM_API_BASE}/__control/calls?token=${encodeURIComponent(inst.botToken)}&method=setChatMenuButton`;
    const { calls } = (await (await fetch(url)).json()) as { calls: { params: { menu_button: { text: string } } }[] };
    expect(calls.map((c) => c.params.menu_button.text)).toEqual([textsIn("cs").dashboardMenuButton()]);
  });
});
