import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseSettings, parseTopUp } from "../../src/billing/commands";
import { loadConfig } from "../../src/env";
import { textsIn } from "../../src/telegram/texts";

const EN = textsIn("en");

// The test Worker's configuration: top-up $250–$10,000, threshold at least $100, one-off top-up at least $50.
const config = loadConfig(env);

describe("parseSettings", () => {
  it("reads the top-up and the threshold in micro-USD, with the SPEC's amount forms", () => {
    expect(parseSettings("setupCredits", ["500", "100"], config, EN)).toEqual({
      ok: true,
      value: { topUpMicros: 500_000_000, rechargeAtMicros: 100_000_000 },
    });
    expect(parseSettings("changeCreditsTopUp", ["$1250.50", "200"], config, EN)).toEqual({
      ok: true,
      value: { topUpMicros: 1_250_500_000, rechargeAtMicros: 200_000_000 },
    });
  });

  it("accepts the bounds themselves", () => {
    expect(parseSettings("setupCredits", ["250", "100"], config, EN).ok).toBe(true);
    expect(parseSettings("setupCredits", ["10000", "10000"], config, EN).ok).toBe(true);
  });

  it("names the missing or extra part and shows the command", () => {
    const missing = parseSettings("setupCredits", ["500"], config, EN);
    const extra = parseSettings("changeCreditsTopUp", ["500", "100", "7"], config, EN);
    expect(missing.ok).toBe(false);
    expect(extra.ok).toBe(false);
    if (missing.ok || extra.ok) return;
    expect(missing.message).toMatch(/setupCredits/);
    expect(extra.message).toMatch(/changeCreditsTopUp/);
    expect(missing.message).not.toBe(extra.message);
  });

  it.each([
    [["100", "100"], /at least \$250\.00/],
    [["10000.01", "100"], /at most \$10,000\.00/],
    [["500", "99.99"], /at least \$100\.00/],
    [["500", "10000.01"], /\$10,000\.00/],
    [["abc", "100"], /top-up/i],
    [["500", "-5"], /threshold/i],
  ])("refuses %j with a message that says why (%s) and that nothing changed", (args, why) => {
    const parsed = parseSettings("setupCredits", args, config, EN);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message).toMatch(why);
    expect(parsed.message).toMatch(/Nothing was changed|Example/);
  });
});

describe("parseTopUp", () => {
  it("reads one amount between the one-off minimum and the maximum", () => {
    expect(parseTopUp(["50"], config, EN)).toEqual({ ok: true, value: 50_000_000 });
    expect(parseTopUp(["49.99"], config, EN).ok).toBe(false);
    expect(parseTopUp(["10000.01"], config, EN).ok).toBe(false);
    expect(parseTopUp([], config, EN).ok).toBe(false);
    expect(parseTopUp(["50", "1"], config, EN).ok).toBe(false);
  });
});
