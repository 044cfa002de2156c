import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/env";
import { Ledger } from "../../src/ledger/ledger";
import { formatUsd } from "../../src/money";
import { provision, stub, USD } from "../helpers";
import { deliver, privateText, waitForMessages } from "./fixtures";

const OWNER = 4242001;
const HOUR = 3_600_000;

interface Seeded {
  at: number;
  cost: number;
  operation: "response" | "knowhow_update" | "role_update";
  user: string | null;
}

describe("/stats", () => {
  it("reports a week of seeded usage exactly as the ledger says", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" }); // $200
    const now = Date.now();
    // A deterministic week: answers every 3 hours from 6 users, daily know-how, two role updates.
    const seeded: Seeded[] = [];
    for (let h = 1; h < 7 * 24; h += 3) {
      seeded.push({ at: now - h * HOUR, cost: 1_000 + ((h * 37) % 900), operation: "response", user: `u${h % 6}` });
    }
    for (let d = 0; d < 7; d++)
      seeded.push({ at: now - d * 24 * HOUR - 2 * HOUR, cost: 150_000, operation: "knowhow_update", user: null });
    seeded.push({ at: now - 30 * HOUR, cost: 400_000, operation: "role_update", user: null });
    seeded.push({ at: now - 5 * HOUR, cost: 250_000, operation: "role_update", user: null });
    seeded.sort((a, b) => a.at - b.at);

    await runInDurableObject(stub(inst.id), (_instance, state) => {
      // The object's own ledger code, with the clock set to each seeded moment.
      const ledger = new Ledger(state.storage.sql, loadConfig(env));
      seeded.forEach((s, i) => {
        // The debit the object's `charge` runs, at a past moment (the RPC charges at Date.now()).
        const { outcome: r } = ledger.debit(
          {
            idempotencyKey: `seed-${i}`,
            operation: s.operation,
            costMicros: s.cost,
            fingerprint: `${i}`,
            endUserId: s.user,
          },
          s.at,
          ledger.account(),
        );
        if (!r.ok) throw new Error(r.reason);
      });
    });

    await deliver(inst, privateText({ id: OWNER }, "/stats"));
    const [report] = await waitForMessages(inst.botToken, OWNER, 1);
    if (!report) throw new Error("no report");
    const text = report.text;

    const within = (ms: number) => seeded.filter((s) => s.at > now - ms);
    const sum = (xs: Seeded[]) => xs.reduce((t, s) => t + s.cost, 0);
    const total = sum(seeded);
    const balance = 200 * USD - total;
    expect(text.split("\n")[0]).toBe(`Credits: ${formatUsd(balance)}`);

    const week = within(7 * 24 * HOUR + HOUR);
    const answers7 = week.filter((s) => s.operation === "response");
    const answers24 = within(24 * HOUR).filter((s) => s.operation === "response");
    expect(text).toContain(formatUsd(sum(week)));
    expect(text).toContain(String(answers7.length));
    expect(text).toContain(String(answers24.length));
    expect(text).toContain(formatUsd(Math.round(sum(answers7) / answers7.length)));
    expect(text).toContain(formatUsd(sum(seeded.filter((s) => s.operation === "knowhow_update"))));
    expect(text).toContain(formatUsd(sum(seeded.filter((s) => s.operation === "role_update"))));
    // Three days of the week's average burn, rounded up to $10, at least the minimum threshold.
    const recommended = Math.max(100 * USD, Math.ceil((sum(week) * 3) / 7 / (10 * USD)) * 10 * USD);
    expect(text).toContain(`${recommended / USD}`);
    expect(text).toMatch(/runway/i);
    for (const line of text.split("\n")) expect(line.length, line).toBeLessThanOrEqual(60);
  });
});
