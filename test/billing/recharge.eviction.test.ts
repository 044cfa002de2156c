import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { stub, USD } from "../helpers";
import { debit, ledgerKinds, stripeControl, summary, waitForBalance, waitForPaidInvoices, withCard } from "./fixtures";

/**
 * Evictions (abortAllDurableObjects) reset every object of the runtime, so these tests run on
 * their own, after the rest of the suite (see the `test` script).
 */

describe("recharge under evictions", () => {
  it("an eviction after Stripe succeeded but before the local write resumes with the same keys: one charge", async () => {
    const { inst, customer } = await withCard({ license: "pro", topUp: 250, rechargeAt: 150 });
    // Each of the four steps succeeds at Stripe but its answer is lost; the object is then evicted
    // before it could record anything, and a fresh object resumes from storage.
    for (const pathSuffix of ["/v1/invoices", "/v1/invoiceitems", "/finalize", "/pay"]) {
      await stripeControl("fault", {
        match: { customer, pathSuffix },
        kind: "timeout_after_success",
        count: 1,
        delayMs: 10,
      });
    }
    await debit(inst, "cross", 60 * USD);
    const rechargeRow = () =>
      runInDurableObject(
        stub(inst.id),
        (_i, state) =>
          state.storage.sql
            .exec<{ step: string; attempts: number; status: string }>("SELECT step, attempts, status FROM recharges")
            .toArray()[0],
      );
    const stepsEvicted: string[] = [];
    let last = "";
    for (let i = 0; i < 10; i++) {
      const r = await vi.waitFor(
        async () => {
          const row = await rechargeRow();
          const failedNow = row && row.attempts >= 1 && `${row.step}/${row.attempts}` !== last;
          if (!(row && (row.status === "paid" || failedNow))) throw new Error("waiting for a failed step");
          return row;
        },
        { timeout: 15_000, interval: 50 },
      );
      if (r.status === "paid") break;
      last = `${r.step}/${r.attempts}`;
      stepsEvicted.push(r.step);
      // The retry is due in a few seconds; the object is gone meanwhile and its stored alarm resumes it.
      await abortAllDurableObjects();
    }
    expect(stepsEvicted).toEqual(["invoice", "item", "finalize", "pay"]);
    await waitForPaidInvoices(customer, 1);
    await waitForBalance(inst, 390 * USD);
    const s = await summary(customer);
    expect(s.invoices).toHaveLength(1);
    expect(s.payments).toBe(1);
    expect(await ledgerKinds(inst)).toHaveLength(1);
  });
});
