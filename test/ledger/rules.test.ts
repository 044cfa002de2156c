import { describe, expect, it } from "vitest";
import {
  backoffMs,
  canSpend,
  dayOf,
  isOutOfCredits,
  jobRetryScheduleMs,
  MAX_JOB_ATTEMPTS,
  settleAmounts,
} from "../../src/ledger/rules";

const FLOOR = 5_000_000; // $5

describe("canSpend", () => {
  it("lets an answer spend the last micro-dollar, and not one more", () => {
    expect(canSpend(1_000, 1_000, "response", FLOOR)).toEqual({ ok: true });
    expect(canSpend(999, 1_000, "response", FLOOR)).toEqual({ ok: false, reason: "insufficient_credits" });
  });

  it("makes background work leave the floor behind, for every background operation", () => {
    for (const operation of ["knowhow_update", "role_update"] as const) {
      expect(canSpend(FLOOR + 1_000, 1_000, operation, FLOOR)).toEqual({ ok: true });
      expect(canSpend(FLOOR + 999, 1_000, operation, FLOOR)).toEqual({ ok: false, reason: "background_floor" });
    }
  });

  it("refuses anything at a zero or negative available balance, a free operation only at zero", () => {
    expect(canSpend(0, 1, "response", FLOOR).ok).toBe(false);
    expect(canSpend(-5, 0, "response", FLOOR).ok).toBe(false);
    expect(canSpend(0, 0, "response", FLOOR)).toEqual({ ok: true });
  });

  it("with no floor, background work may spend down to zero like an answer", () => {
    expect(canSpend(1_000, 1_000, "knowhow_update", 0)).toEqual({ ok: true });
  });
});

describe("isOutOfCredits", () => {
  it("is out when one worst-case answer no longer fits", () => {
    expect(isOutOfCredits(49_999, 50_000)).toBe(true);
    expect(isOutOfCredits(50_000, 50_000)).toBe(false);
  });

  it("with a zero worst case, is out only below one micro-dollar", () => {
    expect(isOutOfCredits(0, 0)).toBe(true);
    expect(isOutOfCredits(1, 0)).toBe(false);
  });
});

describe("settleAmounts", () => {
  it("never charges more than the hold, and releases the rest", () => {
    expect(settleAmounts(10_000, 4_000)).toEqual({ charged: 4_000, released: 6_000 });
    expect(settleAmounts(10_000, 25_000)).toEqual({ charged: 10_000, released: 0 });
    expect(settleAmounts(10_000, 0)).toEqual({ charged: 0, released: 10_000 });
  });
});

describe("backoff and days", () => {
  it("doubles from 2 s and stops at 5 min", () => {
    expect([0, 1, 2, 3].map(backoffMs)).toEqual([2_000, 4_000, 8_000, 16_000]);
    expect(backoffMs(8)).toBe(300_000);
    expect(backoffMs(50)).toBe(300_000);
  });

  it("a Telegram job retries for the backoffs before each attempt but the first", () => {
    expect(MAX_JOB_ATTEMPTS).toBe(5);
    expect(jobRetryScheduleMs()).toBe(30_000);
  });

  it("counts UTC days from the epoch", () => {
    expect(dayOf(Date.UTC(1970, 0, 1, 23, 59, 59, 999))).toBe(0);
    expect(dayOf(Date.UTC(1970, 0, 2))).toBe(1);
    expect(dayOf(Date.UTC(2026, 11, 6, 12))).toBe(dayOf(Date.UTC(2026, 11, 6)));
  });
});
