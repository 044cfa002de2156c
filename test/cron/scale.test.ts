import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { encryptSecret, importEncryptionKey } from "../../src/crypto";
import worker from "../../src/index";
import { botToken, stub } from "../helpers";
import { sentMessages } from "../telegram/fixtures";

const TOTAL = 10_000;
/**
 * Out-of-credits instances among them. CI runs 100; `SCALE_OUT=1000 npx vitest run test/cron/scale.test.ts`
 * runs the 1,000 (slow only because the local runtime creates objects ever more slowly, see docs/cron.md).
 */
const OUT = Number((import.meta as unknown as { env: Record<string, string | undefined> }).env.SCALE_OUT ?? 100);

describe("hourly run at scale", () => {
  it("pages through 10,000 instances and alerts exactly the out-of-credits ones", { timeout: 1_800_000 }, async () => {
    // 1,000 objects log a line each; relaying them to the test runner dominates the run otherwise.
    const runReports: unknown[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      if (typeof line === "string" && line.includes('"event":"hourly_run"')) runReports.push(JSON.parse(line));
    });
    const t0 = Date.now();
    const run = crypto.randomUUID().slice(0, 6);
    const token = botToken();
    const sealed = await encryptSecret(await importEncryptionKey(env.TOKEN_ENCRYPTION_KEY), token);
    const rows = Array.from({ length: TOTAL }, (_, i) => ({
      id: `scale-${run}-${String(i).padStart(5, "0")}`,
      owner: 900_000_000 + i,
      out: (i * OUT) % TOTAL < OUT ? 1 : 0, // spread evenly over the id range
    }));
    for (let i = 0; i < rows.length; i += 2_000) {
      await env.DB.prepare(
        `INSERT INTO instances (id, owner_telegram_id, license, bot_token_sealed, webhook_secret_hash, api_key_hash, created_at, balance_micros, out_of_credits)
         SELECT r.value ->> '$.id', r.value ->> '$.owner', 'starter', ?1, 'x', 'x', 0, 0, r.value ->> '$.out' FROM json_each(?2) AS r`,
      )
        .bind(sealed, JSON.stringify(rows.slice(i, i + 2_000)))
        .run();
    }
    const t1 = Date.now();
    const outRows = rows.filter((r) => r.out === 1);
    expect(outRows).toHaveLength(OUT);
    for (let i = 0; i < outRows.length; i += 50) {
      await Promise.all(
        outRows.slice(i, i + 50).map((r) =>
          stub(r.id).provision({
            instanceId: r.id,
            ownerTelegramId: r.owner,
            license: "starter",
            bonusMicros: 0,
            apiKeyHash: "0".repeat(64),
            webhookSecretHash: "1".repeat(64),
            botTokenSealed: sealed,
            botId: 1,
            botUsername: "scale_bot",
            systemPrompt: null,
          }),
        ),
      );
    }
    const t2 = Date.now();
    const controller = createScheduledController({ scheduledTime: Date.now(), cron: "0 * * * *" });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);
    const t3 = Date.now();
    const report = runReports.at(-1);
    const alerted = (await sentMessages(token)).filter((m) => m.text.startsWith("⚠️ Still out of credits"));
    console.warn(
      JSON.stringify({ total: TOTAL, out: OUT, seedD1Ms: t1 - t0, provisionMs: t2 - t1, cronMs: t3 - t2, report }),
    );
    expect(report).toMatchObject({ visited: OUT, alerted: OUT, failed: 0 });
    expect(alerted).toHaveLength(OUT);
    expect(new Set(alerted.map((m) => m.chat_id))).toEqual(new Set(outRows.map((r) => r.owner)));
  });
});
