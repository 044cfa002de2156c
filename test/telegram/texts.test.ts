import { describe, expect, it } from "vitest";
import type { AutoRechargeStatus, AutoRechargeView, StatsSnapshot } from "../../src/ledger/types";
import { MICROS_PER_USD } from "../../src/money";
import { outReason } from "../../src/telegram/bot";
import * as texts from "../../src/telegram/texts";
import { commandAmount, escapeHtml, type OutOfCreditsReason, textsIn } from "../../src/telegram/texts";
import type { Lang } from "../../src/telegram/types";

const EN = textsIn("en");
const {
  answerFailed,
  cardSaved,
  checkoutLink,
  creditsRestored,
  dailyLimitReached,
  formatRunway,
  helpText,
  invoicesList,
  menuCommands: MENU_COMMANDS,
  needCardFirst,
  nonTextMessage,
  notOwnerRefusal,
  outOfCreditsHourly,
  outOfCreditsNow,
  rechargeFailed,
  rechargeNeedsConfirmation,
  rechargeSucceeded,
  settingsChanged,
  statsReport,
  topUpSucceeded,
} = EN;
/** `/balance` in a language (the catalogue of that language). */
const balanceAnswer = (lang: Lang, v: Parameters<typeof EN.balanceAnswer>[0]) => textsIn(lang).balanceAnswer(v);

const usd = (n: number) => Math.round(n * MICROS_PER_USD);

function autoRecharge(over: Partial<AutoRechargeView> = {}): AutoRechargeView {
  return {
    enabled: true,
    topUpMicros: usd(500),
    rechargeAtMicros: usd(100),
    cardBrand: "visa",
    cardLast4: "4242",
    status: "active",
    confirmUrl: null,
    ...over,
  };
}

function snapshot(over: Partial<StatsSnapshot> = {}): StatsSnapshot {
  return {
    now: Date.UTC(2025, 5, 15, 12),
    balanceMicros: usd(1234.56),
    availableMicros: usd(1200),
    autoRecharge: autoRecharge(),
    spend: { todayMicros: usd(1.23), d7Micros: usd(8), d30Micros: usd(30) },
    answers: { h24: 12, d7: 80, d30: 300 },
    activeUsers: { h24: 3, d7: 10, d30: 25 },
    costByOperation30d: [
      { operation: "response", costMicros: usd(25), count: 300 },
      { operation: "knowhow_update", costMicros: usd(4), count: 2 },
      { operation: "role_update", costMicros: usd(1), count: 1 },
    ],
    avgCostPerAnswerMicros: 83_333,
    unansweredWhileOut30d: 4,
    lastRecharge: { at: Date.UTC(2025, 5, 2, 9), amountMicros: usd(500), status: "paid" },
    runwayHours: 84,
    recommendedRechargeAtMicros: usd(120),
    ...over,
  };
}

/** Checks open/close pairs and returns the text with tags removed and entities decoded (what the user sees). */
function checkHtml(html: string): string {
  const stack: string[] = [];
  for (const m of html.matchAll(/<(\/?)([a-z]+)(?:\s[^>]*)?>/g)) {
    const [, closing, tag] = m;
    expect(["b", "i", "code", "pre", "a"]).toContain(tag);
    if (closing) expect(stack.pop()).toBe(tag);
    else stack.push(tag ?? "");
  }
  expect(stack).toEqual([]);
  // No bare "<", ">" or "&" outside tags/entities.
  const withoutTags = html.replace(/<\/?[a-z]+(?:\s[^>]*)?>/g, "");
  expect(withoutTags).not.toMatch(/[<>]/);
  expect(withoutTags).not.toMatch(/&(?!(?:amp|lt|gt|quot|#39);)/);
  return withoutTags
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

function preLines(html: string): string[] {
  return [...html.matchAll(/<pre>([\s\S]*?)<\/pre>/g)].flatMap((m) => checkHtml(m[1] ?? "").split("\n"));
}

const STATUSES: AutoRechargeStatus[] = ["active", "failing", "needs_confirmation", "daily_limit", "pending_card"];
const LANGS: Lang[] = ["en", "cs"];

describe("balanceAnswer", () => {
  const base = { balanceMicros: usd(1234.56), availableMicros: usd(1234.56) };

  it.each(LANGS)("first line is the balance (%s)", (lang) => {
    const first = balanceAnswer(lang, { ...base, autoRecharge: null }).split("\n")[0];
    expect(first).toBe(lang === "en" ? "Your credit balance: $1,234.56" : "Váš zůstatek kreditů: $1,234.56");
  });

  it.each(LANGS)("auto-recharge off tells how to turn it on (%s)", (lang) => {
    const text = balanceAnswer(lang, { ...base, autoRecharge: null });
    expect(text).toContain("/setupCredits:500:100");
    expect(text).toMatch(lang === "en" ? /Auto-recharge: off/ : /Automatické dobíjení: vypnuto/);
    expect(balanceAnswer(lang, { ...base, autoRecharge: autoRecharge({ enabled: false }) })).toBe(text);
  });

  it("auto-recharge on, English", () => {
    expect(balanceAnswer("en", { ...base, autoRecharge: autoRecharge() })).toBe(
      "Your credit balance: $1,234.56\n" +
        "Auto-recharge: on — adds $500.00 when the balance drops to $100.00, card Visa •••• 4242.",
    );
  });

  it("auto-recharge on, Czech", () => {
    expect(balanceAnswer("cs", { ...base, autoRecharge: autoRecharge() })).toBe(
      "Váš zůstatek kreditů: $1,234.56\n" +
        "Automatické dobíjení: zapnuto — dobije $500.00, když zůstatek klesne na $100.00, karta Visa •••• 4242.",
    );
  });

  const expectations: Record<AutoRechargeStatus, Record<Lang, RegExp[]>> = {
    active: { en: [/on —/, /Visa •••• 4242/], cs: [/zapnuto/, /Visa •••• 4242/] },
    failing: {
      en: [/declined/, /\/setupCredits:750:150/, /\/topUp:100/],
      cs: [/zamítnuta/, /\/setupCredits:750:150/, /\/topUp:100/],
    },
    needs_confirmation: {
      en: [/confirm/, /https:\/\/invoice\.example\/abc/],
      cs: [/potvrzení/, /https:\/\/invoice\.example\/abc/],
    },
    daily_limit: { en: [/daily/, /\/topUp:100/], cs: [/denní/, /\/topUp:100/] },
    pending_card: { en: [/waiting for your card/, /\/setupCredits/], cs: [/čeká na uložení karty/, /\/setupCredits/] },
  };

  for (const status of STATUSES) {
    it.each(LANGS)(`status ${status} (%s)`, (lang) => {
      const text = balanceAnswer(lang, {
        ...base,
        autoRecharge: autoRecharge({
          status,
          topUpMicros: usd(750),
          rechargeAtMicros: usd(150),
          confirmUrl: status === "needs_confirmation" ? "https://invoice.example/abc" : null,
        }),
      });
      for (const re of expectations[status][lang]) expect(text).toMatch(re);
      expect(text.split("\n")).toHaveLength(2);
    });
  }

  it("needs_confirmation without a link points to /invoices", () => {
    const text = balanceAnswer("en", { ...base, autoRecharge: autoRecharge({ status: "needs_confirmation" }) });
    expect(text).toContain("/invoices");
  });

  it.each(LANGS)("shows the reserved amount when holds are open (%s)", (lang) => {
    const text = balanceAnswer(lang, { balanceMicros: usd(100), availableMicros: usd(97.5), autoRecharge: null });
    const lines = text.split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain("$2.50");
    expect(lines[1]).toContain("$97.50");
  });
});

describe("statsReport", () => {
  it("starts with exactly 'Credits: $X' and is HTML", () => {
    const r = statsReport(snapshot());
    expect(r.parseMode).toBe("HTML");
    expect(r.text.split("\n")[0]).toBe("Credits: $1,234.56");
  });

  it("keeps lines inside <pre> at most 40 characters and the whole report under 30 lines", () => {
    for (const s of [
      snapshot(),
      snapshot({
        balanceMicros: usd(99_999.99),
        spend: { todayMicros: usd(9_999.99), d7Micros: usd(45_000), d30Micros: usd(99_999.99) },
        answers: { h24: 123_456, d7: 1_234_567, d30: 9_999_999 },
        activeUsers: { h24: 99_999, d7: 999_999, d30: 9_999_999 },
        lastRecharge: { at: Date.UTC(2025, 0, 1), amountMicros: usd(10_000), status: "needs_confirmation" },
        autoRecharge: autoRecharge({ status: "daily_limit", cardBrand: "american_express", topUpMicros: usd(10_000) }),
        recommendedRechargeAtMicros: usd(12_345.67),
      }),
      snapshot({ autoRecharge: null, lastRecharge: null, runwayHours: null, avgCostPerAnswerMicros: null }),
    ]) {
      const { text } = statsReport(s);
      const lines = preLines(text);
      expect(lines.length).toBeGreaterThan(5);
      for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(40);
      expect(text.split("\n").length).toBeLessThanOrEqual(30);
    }
  });

  it("escapes every dynamic string and keeps tags balanced", () => {
    const { text } = statsReport(
      snapshot({
        autoRecharge: autoRecharge({ cardBrand: "<b>&", cardLast4: "<i>" }),
        lastRecharge: { at: Date.UTC(2025, 5, 2), amountMicros: usd(500), status: "<script>&amp;" },
      }),
    );
    const visible = checkHtml(text);
    expect(text).toContain("&lt;b&gt;&amp; •••• &lt;i&gt;");
    expect(visible).toContain("<b>& •••• <i>");
    expect(visible).toContain("<script>&amp;");
    expect(text).not.toContain("<script>");
  });

  it("shows the key metrics", () => {
    const visible = checkHtml(statsReport(snapshot()).text);
    for (const part of [
      "Top-up   $500.00",
      "$100.00 or less",
      "Visa •••• 4242",
      "Today",
      "$1.23",
      "$8.00",
      "$30.00",
      "Answers",
      "Know-how updates",
      "Role updates",
      "Avg per answer",
      "24 h          12      3",
      "30 days      300     25",
      "Unanswered while out of credits (30 days): 4",
      "2025-06-02 $500.00",
      "paid",
      "≈ 3.5 days",
      "$120.00",
    ]) {
      expect(visible).toContain(part);
    }
  });

  it("applies the recommendation with /changeCreditsTopUp when a card is saved", () => {
    const { text } = statsReport(snapshot({ recommendedRechargeAtMicros: usd(1234.5) }));
    expect(text).toContain("<code>/changeCreditsTopUp:500:1234.50</code>");
  });

  it("applies the recommendation with /setupCredits when auto-recharge is off", () => {
    const { text } = statsReport(snapshot({ autoRecharge: null }));
    expect(text).toContain("<code>/setupCredits:500:120</code>");
    expect(checkHtml(text)).toMatch(/Status\s+off/);
  });

  it("says so when the threshold already matches", () => {
    const { text } = statsReport(snapshot({ recommendedRechargeAtMicros: usd(100) }));
    expect(text).not.toContain("<code>");
    expect(text).toContain("already matches");
  });

  it("handles no recharge and no spend", () => {
    const visible = checkHtml(
      statsReport(snapshot({ lastRecharge: null, runwayHours: null, avgCostPerAnswerMicros: null })).text,
    );
    expect(visible).toMatch(/Recharged\s+none/);
    expect(visible).toContain("no recent spend");
  });
});

describe("formatting helpers", () => {
  it.each([
    [null, "no recent spend"],
    [0.5, "< 1 hour"],
    [1, "≈ 1 hour"],
    [10, "≈ 10 hours"],
    [47.4, "≈ 47 hours"],
    [84, "≈ 3.5 days"],
    [72, "≈ 3 days"],
    [24 * 45, "≈ 45 days"],
  ])("formatRunway(%j) = %j", (hours, text) => {
    expect(formatRunway(hours)).toBe(text);
  });

  it.each([
    [usd(500), "500"],
    [usd(99.5), "99.50"],
    [usd(1234.56), "1234.56"],
    [usd(100) + 1, "100.01"],
    [0, "0"],
  ])("commandAmount(%d) = %j", (micros, text) => {
    expect(commandAmount(micros)).toBe(text);
  });

  it("escapeHtml escapes the five special characters", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });
});

describe("help and menu", () => {
  it("menu command names are valid for setMyCommands", () => {
    expect(MENU_COMMANDS.map((c) => c.command)).toEqual([
      "balance",
      "stats",
      "dashboard",
      "setupcredits",
      "changecreditstopup",
      "stopcredits",
      "topup",
      "clientlimit",
      "invoices",
      "billing",
      "invoiceemail",
      "language",
      "help",
    ]);
    for (const c of MENU_COMMANDS) {
      expect(c.command).toMatch(/^[a-z0-9_]{1,32}$/);
      expect(c.description.length).toBeGreaterThanOrEqual(3);
      expect(c.description.length).toBeLessThanOrEqual(256);
    }
  });

  it("help mentions every command, asking in words, and the input rules", () => {
    const text = helpText();
    for (const part of [
      "/balance",
      "/stats",
      "/setupCredits:{topUpAmount}:{rechargeAt}",
      "/setupCredits:500:100",
      "/changeCreditsTopUp:{newTopUpAmount}:{newRechargeAt}",
      "/changeCreditsTopUp:750:200",
      "/topUp:{amount}",
      "/topUp:100",
      "/stopCredits",
      "/clientLimit:{usd}",
      "/clientLimit:2",
      "/invoices",
      "/billing",
      "/invoiceEmail:{email}",
      "/invoiceEmail:name@example.com",
      "/help",
      "kolik mám kreditů?",
      "/setupCredits 500 100",
    ]) {
      expect(text).toContain(part);
    }
    expect(text).toMatch(/case/i);
  });

  it("help shows configured limits when given", () => {
    const text = helpText({
      minTopUpMicros: usd(250),
      maxTopUpMicros: usd(10_000),
      minRechargeAtMicros: usd(100),
      minManualTopUpMicros: usd(50),
    });
    expect(text).toContain("$250.00");
    expect(text).toContain("$10,000.00");
    expect(text).toContain("$50.00");
  });

  it("refuses non-owners briefly", () => {
    expect(notOwnerRefusal()).toMatch(/owner/);
    expect(notOwnerRefusal().length).toBeLessThan(100);
  });
});

describe("input problems", () => {
  // The live path: every problem of a command at once (command-args.ts builds the accepted example).
  it.each([
    ["missing", /missing/],
    ["not_a_number", /number/],
    ["negative", /negative/],
    ["zero", /more than zero/],
    ["too_many_decimals", /two decimals/],
    ["too_large", /too large/],
  ] as const)("an amount that is %s says what was wrong and shows the example", (problem, re) => {
    const text = EN.commandProblems(
      "setupCredits",
      [{ kind: "amount", what: "top-up", problem }],
      "/setupCredits:500:100",
    );
    expect(text).toMatch(re);
    expect(text).toContain("top-up");
    expect(text).toContain("Nothing was changed");
    expect(text).toContain("Example: /setupCredits:500:100");
  });

  it("limits name the minimum or maximum; the form and the example come with them", () => {
    const below = EN.commandProblems(
      "setupCredits",
      [{ kind: "top_up_below_min", minMicros: usd(250) }],
      "/setupCredits:500:100",
    );
    expect(below).toContain("$250.00");
    expect(below).toContain("Form: /setupCredits:{topUpAmount}:{rechargeAt}");
    const manual = EN.commandProblems("topUp", [{ kind: "top_up_below_min", minMicros: usd(50) }], "/topUp:100");
    expect(manual).toMatch(/one-off top-up must be at least \$50\.00/);
    const above = EN.commandProblems(
      "changeCreditsTopUp",
      [{ kind: "top_up_above_max", maxMicros: usd(10_000) }],
      "/changeCreditsTopUp:750:200",
    );
    expect(above).toContain("$10,000.00");
    const threshold = EN.commandProblems(
      "setupCredits",
      [{ kind: "threshold_below_min", minMicros: usd(150) }],
      "/setupCredits:500:150",
    );
    expect(threshold).toContain("$150.00");
    expect(threshold).toContain("/setupCredits:500:150");
  });

  it("several problems are listed together; too many parts says how many are expected", () => {
    const text = EN.commandProblems(
      "setupCredits",
      [{ kind: "too_many_parts" }, { kind: "threshold_below_min", minMicros: usd(100) }],
      "/setupCredits:500:100",
    );
    expect(text).toMatch(/has 2 problems/);
    expect(text).toMatch(/exactly two/);
    expect(EN.commandProblems("topUp", [{ kind: "too_many_parts" }], "/topUp:100")).toMatch(/exactly one/);
  });
});

describe("notifications", () => {
  const reasons: [OutOfCreditsReason, RegExp, RegExp][] = [
    ["auto_recharge_off", /auto-recharge is off/, /\/setupCredits:500:100/],
    ["card_declined", /declined/, /\/setupCredits:500:100/],
    ["needs_confirmation", /confirm/, /https:\/\/pay\.example\/x/],
    ["daily_limit", /daily limit/, /\/topUp:100/],
    ["recharge_pending", /on its way/, /\/topUp:100/],
  ];

  it.each(reasons)("out of credits (%s): warning, balance, why and fix", (reason, why, fix) => {
    for (const text of [
      outOfCreditsNow(usd(0.42), reason, { confirmUrl: "https://pay.example/x" }),
      outOfCreditsHourly(usd(0.42), reason, { confirmUrl: "https://pay.example/x", unanswered: 7 }),
    ]) {
      expect(text.startsWith("⚠️")).toBe(true);
      expect(text).toContain("$0.42");
      expect(text).toMatch(why);
      expect(text).toMatch(fix);
    }
    expect(outOfCreditsHourly(0, reason, { unanswered: 7 })).toContain("7 so far");
  });

  it("repeats the owner's settings in the fix command", () => {
    const text = outOfCreditsNow(0, "card_declined", { topUpMicros: usd(750), rechargeAtMicros: usd(150) });
    expect(text).toContain("/setupCredits:750:150");
  });

  it("credits restored", () => {
    expect(creditsRestored(usd(500))).toMatch(/^✅.*\$500\.00/);
  });

  it("end-user messages carry no billing words", () => {
    for (const lang of LANGS) {
      const t = textsIn(lang);
      for (const text of [t.userDailyCapReached(), t.answerFailed(), t.nonTextMessage()]) {
        expect(text).not.toMatch(/credit|kredit|balance|zůstatek|\$|billing|pay|plat/i);
      }
    }
    expect(answerFailed()).toBe("Sorry, I can't answer right now. Please try again in a minute.");
    expect(nonTextMessage()).toMatch(/text/);
  });
});

describe("Stripe texts", () => {
  it("checkout link intros", () => {
    expect(checkoutLink("setup", { topUpMicros: usd(500), rechargeAtMicros: usd(100) })).toMatch(
      /\$500\.00.*\$100\.00/,
    );
    expect(checkoutLink("topup", { amountMicros: usd(100) })).toContain("$100.00");
  });

  it("card saved and settings changed", () => {
    const saved = cardSaved(usd(500), usd(100), "visa", "4242");
    expect(saved).toContain("Visa •••• 4242");
    expect(saved).toContain("$500.00");
    expect(saved).toContain("$100.00");
    expect(settingsChanged(usd(750), usd(200))).toMatch(/\$750\.00.*\$200\.00/);
    expect(needCardFirst()).toContain("/setupCredits");
  });

  it("recharge results", () => {
    const ok = rechargeSucceeded(usd(500), usd(600), "https://invoice.example/1");
    expect(ok).toMatch(/\$500\.00/);
    expect(ok).toMatch(/\$600\.00/);
    expect(ok).toContain("https://invoice.example/1");
    expect(rechargeSucceeded(usd(500), usd(600), null)).not.toContain("Invoice");

    const failed = rechargeFailed("expired_card", "Your card has expired.");
    expect(failed).toMatch(/expired/);
    expect(failed).toContain("Your card has expired.");
    expect(failed).toContain("/setupCredits");
    expect(failed).toContain("/topUp:100");
    expect(rechargeFailed("weird code!", null)).toContain("weirdcode");

    expect(rechargeNeedsConfirmation("https://pay.example/y")).toContain("https://pay.example/y");
    expect(dailyLimitReached(5)).toMatch(/5 times/);
    expect(dailyLimitReached(5)).toContain("/topUp:100");
    expect(topUpSucceeded(usd(100), usd(150))).toMatch(/\$100\.00.*\$150\.00/);
  });

  it("invoices list: empty, links escaped, unsafe links dropped", () => {
    expect(invoicesList([])).toEqual({ text: "No recharges yet.", parseMode: "HTML" });
    const { text, parseMode } = invoicesList([
      {
        createdAt: Date.UTC(2025, 5, 2),
        amountMicros: usd(500),
        status: "paid",
        hostedUrl: "https://invoice.example/i?a=1&b=2",
        pdfUrl: "https://invoice.example/pdf",
      },
      {
        createdAt: Date.UTC(2025, 5, 1),
        amountMicros: usd(250),
        status: "<open>",
        hostedUrl: "javascript:alert(1)",
        pdfUrl: null,
      },
    ]);
    expect(parseMode).toBe("HTML");
    checkHtml(text);
    expect(text).toContain('<a href="https://invoice.example/i?a=1&amp;b=2">invoice</a>');
    expect(text).toContain('<a href="https://invoice.example/pdf">PDF</a>');
    expect(text).toContain("2025-06-02 · $500.00 · paid");
    expect(text).toContain("&lt;open&gt;");
    expect(text).not.toContain("javascript:");
  });
});

describe("module layout", () => {
  it("the texts index exports the catalogues' entry point and the language-free helpers only", () => {
    // Words live in the catalogues (texts/en, texts/cs); helpers shared between languages stay internal.
    expect(Object.keys(texts).sort()).toEqual(
      [
        "EXAMPLES",
        "changeCommand",
        "clientLimitCommand",
        "commandAmount",
        "escapeHtml",
        "isoDate",
        "rechargeState",
        "setupCommand",
        "textsIn",
        "topUpCommand",
      ].sort(),
    );
  });
});

describe("early warning with auto-recharge stopped", () => {
  it("points to /changeCreditsTopUp when a card is saved (no new card needed), to /setupCredits when none is", () => {
    const withCard = EN.lowCreditsWarning(95_000_000, "runway_short", {
      runwayHours: 5,
      topUpMicros: 500_000_000,
      rechargeAtMicros: 100_000_000,
      cardSaved: true,
    });
    expect(withCard).toContain("/changeCreditsTopUp:500:100");
    expect(withCard).not.toContain("/setupCredits");
    const noCard = EN.lowCreditsWarning(95_000_000, "runway_short", { runwayHours: 5 });
    expect(noCard).toContain("/setupCredits:");
  });
});

describe("out of credits: the reason says what is true", () => {
  const view = (over: Partial<AutoRechargeView>): AutoRechargeView => ({
    enabled: true,
    topUpMicros: 250_000_000,
    rechargeAtMicros: 100_000_000,
    cardBrand: "visa",
    cardLast4: "4242",
    status: "active",
    confirmUrl: null,
    cardSaved: true,
    ...over,
  });

  it("after a top-up smaller than the gap nothing is on its way: the owner is told why and how to fix it", () => {
    expect(outReason(view({ armed: false, inFlight: false }))).toBe("top_up_short");
    expect(outReason(view({ armed: true, inFlight: true }))).toBe("recharge_pending");
    expect(outReason(view({ armed: false, inFlight: true }))).toBe("recharge_pending");
    const text = EN.outOfCreditsNow(0, "top_up_short", { topUpMicros: 250_000_000, rechargeAtMicros: 100_000_000 });
    expect(text).not.toMatch(/on its way/);
    expect(text).toContain("/changeCreditsTopUp:500:100");
  });

  it("auto-recharge stopped with a card saved: turn it on with /changeCreditsTopUp, not a new card", () => {
    expect(outReason(view({ enabled: false }))).toBe("auto_recharge_off");
    const text = EN.outOfCreditsNow(0, "auto_recharge_off", {
      topUpMicros: 250_000_000,
      rechargeAtMicros: 100_000_000,
      cardSaved: true,
    });
    expect(text).toContain("/changeCreditsTopUp:250:100");
    expect(text).not.toContain("/setupCredits");
  });
});

describe("found by the catalogue check", () => {
  it("a card whose brand is unknown is '•••• 9137' after the word for card, never 'Card Card'", () => {
    for (const lang of LANGS) {
      const t = textsIn(lang);
      const texts = [t.cardSaved(usd(500), usd(100), null, "9137"), t.cardLinkOutdated(null, "9137")];
      for (const text of texts) {
        expect(text).toContain("•••• 9137");
        expect(text).not.toMatch(/(Card|Karta) (Card|Karta)/i);
      }
    }
  });

  it("an invoice voided while a recharge is on its way is not said to be voided because the balance is above the threshold", () => {
    const now = {
      balanceMicros: usd(67.89),
      rechargeAtMicros: usd(150),
      charge: null,
      held: "in_flight" as const,
      voidsMicros: usd(9.87),
    };
    const text = settingsChanged(usd(500), usd(150), now);
    expect(text).toMatch(/on its way/);
    expect(text).toContain("$9.87");
    expect(text).not.toMatch(/is above/);
    const cs = textsIn("cs").settingsChanged(usd(500), usd(150), now);
    expect(cs).not.toMatch(/je nad/);
  });
});
