/**
 * The two catalogues (src/telegram/texts/en, cs) say the same things: the same keys and menu, the same values
 * (amounts, links, commands, numbers) in every rendering, and no English sentence left in a Czech text.
 * Every catalogue function has sample arguments below; a new text without samples fails the test.
 */
import { describe, expect, it } from "vitest";
import type { AutoRechargeView, Operation, StatsSnapshot } from "../../src/ledger/types";
import type { AmountProblem } from "../../src/money";
import {
  type Catalogue,
  type ChargeNow,
  type CommandProblem,
  type OutOfCreditsReason,
  type OwnerArgsCommand,
  textsIn,
} from "../../src/telegram/texts";

const EN = textsIn("en");
const CS = textsIn("cs");

// Distinctive sample values: each can be found in the output ($123.45, $67.89, $9.87, $4,321.00).
const A = 123_450_000;
const B = 67_890_000;
const C = 9_870_000;
const D = 4_321_000_000;
const TOP_UP = 750_000_000;
const AT = 150_000_000;
const URL = "https://x.example/p-7731";
const PDF = "https://x.example/pdf-5519";
const EMAIL = "own-er@example.com";
const LICENSE = "gold-8812";
const DECLINE_MESSAGE = "ZX-4411/bank";
const BAD_EMAIL = "bad@@addr-5521";
const LONG_INPUT = "longaddr-".repeat(12);
const UNKNOWN_BRAND = "zzbrand";
const UNKNOWN_STATUS = "chargeback_pending_77";
/** Strings the texts repeat as they are (neither amounts, links, commands nor numbers). */
const LITERALS = [
  LICENSE,
  "card_zz_7731",
  DECLINE_MESSAGE,
  BAD_EMAIL,
  `${LONG_INPUT.slice(0, 80)}…`,
  "Visa",
  UNKNOWN_BRAND,
  UNKNOWN_STATUS.replace(/_/g, " "),
];

function autoRecharge(over: Partial<AutoRechargeView> = {}): AutoRechargeView {
  return {
    enabled: true,
    topUpMicros: TOP_UP,
    rechargeAtMicros: AT,
    cardBrand: "visa",
    cardLast4: "9137",
    status: "active",
    confirmUrl: null,
    ...over,
  };
}

function snapshot(over: Partial<StatsSnapshot> = {}): StatsSnapshot {
  return {
    now: Date.UTC(2025, 5, 15, 12),
    balanceMicros: D,
    availableMicros: D,
    autoRecharge: autoRecharge(),
    spend: { todayMicros: C, d7Micros: B, d30Micros: A },
    answers: { h24: 13, d7: 81, d30: 307 },
    activeUsers: { h24: 7, d7: 11, d30: 29 },
    costByOperation30d: [
      { operation: "response", costMicros: 25_170_000, count: 307 },
      { operation: "knowhow_update", costMicros: 4_030_000, count: 2 },
    ],
    avgCostPerAnswerMicros: 83_333,
    unansweredWhileOut30d: 17,
    lastRecharge: { at: Date.UTC(2025, 4, 23, 9), amountMicros: TOP_UP, status: "paid" },
    runwayHours: 312,
    recommendedRechargeAtMicros: 160_000_000,
    ...over,
  };
}

/** Every state auto-recharge can be in, as the owner sees it (`rechargeState`), with and without a known card. */
const AR_SAMPLES: (AutoRechargeView | null)[] = [
  null,
  autoRecharge({ enabled: false }),
  autoRecharge({ enabled: false, cardSaved: true }),
  autoRecharge({ enabled: false, cardSaved: true, cardBrand: null, cardLast4: null }),
  autoRecharge(),
  autoRecharge({ cardBrand: null, cardLast4: null }),
  autoRecharge({ status: "failing" }),
  autoRecharge({ status: "needs_confirmation", confirmUrl: URL }),
  autoRecharge({ status: "needs_confirmation" }),
  autoRecharge({ status: "daily_limit" }),
  autoRecharge({ status: "pending_card" }),
];

const REASONS = "auto_recharge_off card_declined needs_confirmation daily_limit recharge_pending top_up_short".split(
  " ",
) as OutOfCreditsReason[];
const OUT_DETAILS = [
  {},
  { topUpMicros: TOP_UP, rechargeAtMicros: AT },
  { topUpMicros: TOP_UP, rechargeAtMicros: AT, cardSaved: true, confirmUrl: URL, unanswered: 13 },
];
const LOW_DETAILS = [
  {},
  { runwayHours: 7, confirmUrl: URL },
  { runwayHours: null, topUpMicros: TOP_UP, rechargeAtMicros: AT, cardSaved: true },
  { runwayHours: 312, topUpMicros: TOP_UP, rechargeAtMicros: AT },
];

const now = (over: Partial<ChargeNow>): ChargeNow => ({
  balanceMicros: B,
  rechargeAtMicros: AT,
  charge: null,
  held: null,
  voidsMicros: null,
  ...over,
});
const CHARGE_NOW: (ChargeNow | undefined)[] = [
  undefined,
  now({}),
  now({ charge: { kind: "top_up", amountMicros: TOP_UP } }),
  now({ charge: { kind: "unpaid_invoice", amountMicros: A } }),
  ...(["in_flight", "daily_limit", "card_trouble"] as const).flatMap((held) => [
    now({ held }),
    now({ held, voidsMicros: C }),
  ]),
  now({ balanceMicros: D, voidsMicros: C }),
];

const AMOUNT_PROBLEMS = "missing not_a_number negative zero too_many_decimals too_large".split(" ") as AmountProblem[];
const PROBLEMS: CommandProblem[] = [
  ...(["top-up", "threshold", "amount", "limit"] as const).flatMap((what) =>
    AMOUNT_PROBLEMS.map((problem): CommandProblem => ({ kind: "amount", what, problem })),
  ),
  { kind: "missing_parts" },
  { kind: "too_many_parts" },
  { kind: "top_up_below_min", minMicros: C },
  { kind: "top_up_above_max", maxMicros: D },
  { kind: "threshold_below_min", minMicros: B },
  { kind: "threshold_above_max", maxMicros: A },
  { kind: "limit_below_min", minMicros: 30_000 },
];
const COMMANDS: OwnerArgsCommand[] = ["setupCredits", "changeCreditsTopUp", "topUp", "clientLimit"];
const EXAMPLE_FOR: Record<OwnerArgsCommand, string> = {
  setupCredits: "/setupCredits:750:150",
  changeCreditsTopUp: "/changeCreditsTopUp:750:150",
  topUp: "/topUp:123.45",
  clientLimit: "/clientLimit:9.87",
};

const LIMITS = { minTopUpMicros: C, minRechargeAtMicros: B, maxTopUpMicros: D, minManualTopUpMicros: 30_000_000 };

type Sample = (t: Catalogue) => unknown;
const each = <T>(xs: readonly T[], f: (t: Catalogue, x: T) => unknown): Sample[] => xs.map((x) => (t) => f(t, x));

/** Sample calls per catalogue key, driving every branch. Value entries (menuCommands, languageName) are checked apart. */
const SAMPLES: Partial<Record<keyof Catalogue, Sample[]>> = {
  outOfCreditsNow: REASONS.flatMap((r) => each(OUT_DETAILS, (t, d) => t.outOfCreditsNow(A, r, d))),
  outOfCreditsReply: REASONS.flatMap((r) => each(OUT_DETAILS, (t, d) => t.outOfCreditsReply(A, r, d))),
  outOfCreditsHourly: REASONS.flatMap((r) => each(OUT_DETAILS, (t, d) => t.outOfCreditsHourly(A, r, d))),
  lowCreditsWarning: (["recharge_failing", "runway_short"] as const).flatMap((r) =>
    each(LOW_DETAILS, (t, d) => t.lowCreditsWarning(A, r, d)),
  ),
  creditsRestored: [(t) => t.creditsRestored(A)],
  balanceAnswer: [
    ...each(AR_SAMPLES, (t, autoRecharge) => t.balanceAnswer({ balanceMicros: A, availableMicros: A, autoRecharge })),
    (t) => t.balanceAnswer({ balanceMicros: A, availableMicros: B, autoRecharge: null }),
  ],
  nowLine: each(CHARGE_NOW, (t, n) => t.nowLine(n)),
  checkoutLink: [
    ...each(CHARGE_NOW, (t, onSave) => t.checkoutLink("setup", { topUpMicros: TOP_UP, rechargeAtMicros: AT, onSave })),
    (t) => t.checkoutLink("topup", { amountMicros: A }),
  ],
  checkoutButton: [(t) => t.checkoutButton("setup"), ...each([A, undefined], (t, a) => t.checkoutButton("topup", a))],
  cardSaved: [
    ...each(CHARGE_NOW, (t, n) => t.cardSaved(TOP_UP, AT, "visa", "9137", { now: n })),
    (t) => t.cardSaved(TOP_UP, AT, null, null, { olderLink: true }),
    (t) => t.cardSaved(TOP_UP, AT, null, "9137"),
  ],
  settingsChanged: each(CHARGE_NOW, (t, n) => t.settingsChanged(TOP_UP, AT, n)),
  needCardFirst: [(t) => t.needCardFirst()],
  rechargeSucceeded: [
    (t) => t.rechargeSucceeded(A, D, URL),
    (t) => t.rechargeSucceeded(A, D, null, { restored: true }),
    ...each([C, null], (t, bigger) =>
      t.rechargeSucceeded(A, B, URL, {
        restored: true,
        short: { topUpMicros: TOP_UP, rechargeAtMicros: AT, topUpNeededMicros: 82_110_000, biggerTopUpMicros: bigger },
      }),
    ),
  ],
  rechargeFailed: ["insufficient_funds", "card_zz_7731", ""].flatMap((code) => [
    (t) => t.rechargeFailed(code, null),
    (t) => t.rechargeFailed(code, DECLINE_MESSAGE, { topUpMicros: TOP_UP, rechargeAtMicros: AT }),
  ]),
  rechargeNeedsConfirmation: [(t) => t.rechargeNeedsConfirmation(URL)],
  dailyLimitReached: each([1, 3, 7], (t, n) => t.dailyLimitReached(n)),
  topUpSucceeded: [(t) => t.topUpSucceeded(A, D), (t) => t.topUpSucceeded(A, D, { restored: true })],
  invoicesList: [
    (t) => t.invoicesList([]),
    (t) =>
      t.invoicesList(
        ["paid", "open", "void", "requires_action", UNKNOWN_STATUS].map((status, i) => ({
          createdAt: Date.UTC(2025, 2, 17 + i, 8),
          amountMicros: A + i * 1_000_000,
          status,
          hostedUrl: i % 2 === 0 ? `${URL}-${i}` : null,
          pdfUrl: i < 2 ? `${PDF}-${i}` : i === 4 ? "javascript:alert(1)" : null,
        })),
      ),
  ],
  paymentsUnavailable: [(t) => t.paymentsUnavailable()],
  cardLinkOutdated: [(t) => t.cardLinkOutdated("visa", "9137"), (t) => t.cardLinkOutdated(null, null)],
  cardLinkExpired: [(t) => t.cardLinkExpired()],
  checkoutDonePage: [(t) => t.checkoutDonePage()],
  checkoutCancelledPage: [(t) => t.checkoutCancelledPage()],
  newerCardLinkWaiting: [(t) => t.newerCardLinkWaiting()],
  topUpExpired: [(t) => t.topUpExpired(A)],
  userDailyCapReached: [(t) => t.userDailyCapReached()],
  answerFailed: [(t) => t.answerFailed()],
  nonTextMessage: [(t) => t.nonTextMessage()],
  helpText: [
    (t) => t.helpText(),
    (t) => t.helpText(LIMITS),
    ...each(AR_SAMPLES, (t, autoRecharge) => t.helpText(LIMITS, { autoRecharge, clientLimitMicros: C })),
    (t) => t.helpText(undefined, { autoRecharge: null, clientLimitMicros: 0 }),
  ],
  notOwnerRefusal: [(t) => t.notOwnerRefusal()],
  invoiceEmailCurrent: [(t) => t.invoiceEmailCurrent(EMAIL), (t) => t.invoiceEmailCurrent(null)],
  invoiceEmailProblem: [(t) => t.invoiceEmailProblem(BAD_EMAIL), (t) => t.invoiceEmailProblem(LONG_INPUT)],
  invoiceEmailSet: [(t) => t.invoiceEmailSet(EMAIL)],
  billingPortalLink: [(t) => t.billingPortalLink()],
  billingPortalButton: [(t) => t.billingPortalButton()],
  languageCurrent: [(t) => t.languageCurrent(true), (t) => t.languageCurrent(false)],
  languageSet: [(t) => t.languageSet()],
  dashboardLink: [
    (t) => t.dashboardLink("https://credits.example.test/dashboard/?instance=i", true),
    (t) => t.dashboardLink("http://127.0.0.1:8787/dashboard/?instance=i", false),
  ],
  dashboardButton: [(t) => t.dashboardButton()],
  dashboardMenuButton: [(t) => t.dashboardMenuButton()],
  languageProblem: [(t) => t.languageProblem("xx-9931"), (t) => t.languageProblem(LONG_INPUT)],
  autoRechargeStopped: each(
    AR_SAMPLES.filter((ar) => ar !== null),
    (t, ar) => t.autoRechargeStopped(ar),
  ),
  autoRechargeAlreadyOff: each(AR_SAMPLES, (t, ar) => t.autoRechargeAlreadyOff(ar)),
  autoRechargeOnAgain: each(CHARGE_NOW, (t, n) => t.autoRechargeOnAgain(TOP_UP, AT, n)),
  clientLimitSet: each([0, C], (t, m) => t.clientLimitSet(m)),
  clientLimitLabel: each([0, C], (t, m) => t.clientLimitLabel(m)),
  backgroundRefused: (["knowhow_update", "role_update"] satisfies Operation[]).flatMap((operation) =>
    each(AR_SAMPLES, (t, autoRecharge) =>
      t.backgroundRefused({
        operation,
        costMicros: autoRecharge?.status === "failing" ? 0 : C,
        availableMicros: B,
        floorMicros: A,
        autoRecharge,
      }),
    ),
  ),
  settingsNow: [...each(AR_SAMPLES, (t, ar) => t.settingsNow(ar, C)), (t) => t.settingsNow(null, 0)],
  commandProblems: COMMANDS.flatMap((command) => [
    ...each(PROBLEMS, (t, p) => t.commandProblems(command, [p], EXAMPLE_FOR[command])),
    (t) => t.commandProblems(command, PROBLEMS.slice(-3), EXAMPLE_FOR[command]),
    (t) => t.commandProblems(command, PROBLEMS.slice(0, 7), EXAMPLE_FOR[command]),
  ]),
  statsReport: [
    ...each(AR_SAMPLES, (t, autoRecharge) => t.statsReport(snapshot({ autoRecharge }))),
    ...each([0, 1, 3, 13], (t, reachedToday) =>
      t.statsReport(snapshot({ availableMicros: A, clientLimit: { capMicros: reachedToday ? C : 0, reachedToday } })),
    ),
    (t) => t.statsReport(snapshot({ recommendedRechargeAtMicros: AT, runwayHours: 7 })),
    (t) =>
      t.statsReport(
        snapshot({ autoRecharge: null, lastRecharge: null, runwayHours: null, avgCostPerAnswerMicros: null }),
      ),
    (t) =>
      t.statsReport(
        snapshot({ lastRecharge: { at: Date.UTC(2025, 0, 9), amountMicros: A, status: "requires_action" } }),
      ),
  ],
  welcome: [
    (t) => t.welcome({ bonusMicros: A, license: LICENSE, minTopUpMicros: C, minRechargeAtMicros: B }),
    (t) => t.welcome({ bonusMicros: 0, license: LICENSE, minTopUpMicros: C, minRechargeAtMicros: B }),
  ],
  card: each(
    [
      ["visa", "9137"],
      [null, "9137"],
      [UNKNOWN_BRAND, null],
      [null, null],
    ] as const,
    (t, [brand, last4]) => t.card(brand, last4),
  ),
  formatRunway: each([null, 0.5, 1, 7, 84, 312], (t, h) => t.formatRunway(h)),
  statusLabel: each(
    ["paid", "open", "pending", "failed", "requires_action", "void", "refunded", "disputed", UNKNOWN_STATUS],
    (t, s) => t.statusLabel(s),
  ),
};

// ---- The checker: values in a rendering, and English sentences in Czech ----

/** A rendering as text and parse mode (null: plain); a sample that throws (a missing text) shows the error. */
function render(sample: Sample, t: Catalogue): { text: string; parseMode: string | null } {
  try {
    const r = sample(t);
    if (r === null || typeof r === "string") return { text: r ?? "", parseMode: null };
    // A page's title is checked with its text (`{ title, text }`).
    const { text, parseMode, title } = r as { text: string; parseMode?: string; title?: string };
    return { text: title === undefined ? text : `${title}\n${text}`, parseMode: parseMode ?? null };
  } catch (e) {
    return { text: `threw ${String(e)}`, parseMode: "error" };
  }
}

const URL_RE = /(?:https?|javascript):[^\s"'<>]*[^\s"'<>.,;:)]/g;
const COMMAND_RE = /\/[A-Za-z]+(?::[^\s:]*[^\s:.,;)“"])*/g;
const EMAIL_RE = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;
const AMOUNT_RE = /-?\$\d{1,3}(?:,\d{3})*\.\d{2}/g;
const NUMBER_RE = /\d+(?:[.,]\d+)*/g;

/** Text as the reader sees it: tags removed, entities decoded, `{placeholder}` names in a command's form dropped. */
function plain(text: string): string {
  return text
    .replace(/<[^>]*>/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\{[^}]*\}/g, "{}");
}

/** Takes every value out of `text`: returns them (sorted, unique) and what is left. */
function takeValues(text: string): { values: string[]; rest: string } {
  const values = new Set<string>();
  let rest = plain(text);
  for (const literal of LITERALS) {
    if (rest.includes(literal)) values.add(literal);
    rest = rest.split(literal).join(" ");
  }
  for (const re of [URL_RE, COMMAND_RE, EMAIL_RE, AMOUNT_RE]) {
    rest = rest.replace(re, (v) => {
      values.add(v);
      return " ";
    });
  }
  // A decimal comma (Czech runway "3,5") is the same number as "3.5".
  rest = rest.replace(NUMBER_RE, (v) => {
    values.add(`#${v.replace(",", ".")}`);
    return " ";
  });
  return { values: [...values].sort(), rest };
}

/** Lowercase words only: values, emoji and punctuation around them gone, whitespace collapsed. */
function words(text: string): string {
  return takeValues(text)
    .rest.replace(/\p{Extended_Pictographic}|\uFE0F/gu, " ")
    .replace(/\s+/g, " ")
    .trim()
    .toLowerCase();
}

/**
 * Names the two languages share; kept tiny. (None needed so far: "Stripe", "Visa", "PDF", "know-how" are single
 * words, below the three-word minimum of a fragment.)
 */
const SHARED_FRAGMENTS: string[] = [];

/** English sentences and clauses (at least three words once values are gone) of `texts`. */
function englishFragments(texts: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const text of texts) {
    for (const piece of plain(text).split(/\n|(?<=[.!?:])\s+/)) {
      const fragment = words(piece).replace(/^[^a-z]+|[^a-z]+$/g, "");
      if ((fragment.match(/[a-z]{2,}/g) ?? []).length >= 3 && !SHARED_FRAGMENTS.includes(fragment)) out.add(fragment);
    }
  }
  return out;
}

/**
 * The English fragments found in a Czech text; with `english` (the same text in English), also the whole text
 * when its words are the English ones (catches labels too short to be a fragment: "Save card").
 */
function englishIn(czech: string, fragments: Set<string>, english?: string): string[] {
  const haystack = words(czech);
  const found = [...fragments].filter((f) => haystack.includes(f));
  if (english !== undefined && /[a-z]{2}/.test(haystack) && haystack === words(english)) found.push(haystack);
  return found;
}

// ---- Tests ----

const functionKeys = (Object.keys(EN) as (keyof Catalogue)[]).filter((k) => typeof EN[k] === "function").sort();
const renderings = Object.entries(SAMPLES).flatMap(([key, samples]) =>
  (samples ?? []).map((sample, i) => ({ id: `${key}#${i}`, en: render(sample, EN), cs: render(sample, CS) })),
);

describe("the catalogue checker", () => {
  it("catches an English sentence left in Czech, and not a translated one", () => {
    const fragments = englishFragments(["Your credit balance: $1.00\nYour bot is answering your clients again."]);
    expect(englishIn("Váš zůstatek kreditů: $7.00. Your bot is answering your clients again!", fragments)).toEqual([
      "your bot is answering your clients again",
    ]);
    expect(englishIn("Your credit balance: $9.99", fragments)).toEqual(["your credit balance"]);
    expect(englishIn("Váš zůstatek kreditů: $1.00", fragments)).toEqual([]);
    expect(englishIn("Pay $1.00", fragments, "Pay $2.00")).toEqual(["pay"]);
    expect(englishIn("Zaplatit $1.00", fragments, "Pay $1.00")).toEqual([]);
  });

  it("catches a missing or changed value", () => {
    const en = takeValues("Balance: $1.00. Fix: /topUp:100 or https://x.example/a (3 so far)").values;
    expect(takeValues("Zůstatek: $1.00. Řešení: https://x.example/a (zatím 3)").values).not.toEqual(en);
    expect(takeValues("Zůstatek: $1.00. Řešení: /topUp:100 nebo https://x.example/a (zatím 4)").values).not.toEqual(en);
    expect(takeValues("Zůstatek: $1.00. Řešení: /topUp:100 nebo https://x.example/a (zatím 3).").values).toEqual(en);
  });
});

describe("catalogues en and cs", () => {
  it("have the same keys", () => {
    expect(Object.keys(CS).sort()).toEqual(Object.keys(EN).sort());
    for (const key of Object.keys(EN) as (keyof Catalogue)[]) expect(typeof CS[key], key).toBe(typeof EN[key]);
  });

  it("have the same menu, with descriptions Telegram accepts", () => {
    expect(CS.menuCommands.map((c) => c.command)).toEqual(EN.menuCommands.map((c) => c.command));
    for (const { command, description } of [...EN.menuCommands, ...CS.menuCommands]) {
      expect(command).toMatch(/^[a-z0-9_]{1,32}$/);
      expect(description.length, command).toBeGreaterThanOrEqual(1);
      expect(description.length, command).toBeLessThanOrEqual(256);
    }
    expect(CS.languageName).not.toBe(EN.languageName);
  });

  it("has samples for every text", () => {
    expect(functionKeys.filter((k) => !SAMPLES[k]?.length)).toEqual([]);
    expect(Object.keys(SAMPLES).filter((k) => !functionKeys.includes(k as keyof Catalogue))).toEqual([]);
  });

  it.each(functionKeys)("%s shows the same values in both languages", (key) => {
    const own = renderings.filter((r) => r.id.startsWith(`${key}#`));
    expect(own.length).toBeGreaterThan(0);
    for (const { id, en, cs } of own) {
      const why = `${id}\nEN: ${en.text}\nCS: ${cs.text}`;
      expect(cs.parseMode, why).toBe(en.parseMode);
      expect(cs.text.trim().length > 0, why).toBe(en.text.trim().length > 0);
      expect(takeValues(cs.text).values, why).toEqual(takeValues(en.text).values);
    }
  });

  it("leaves no English sentence in a Czech text", () => {
    const fragments = englishFragments([
      ...renderings.map((r) => r.en.text),
      ...EN.menuCommands.map((c) => c.description),
    ]);
    expect(fragments.size).toBeGreaterThan(100);
    const czech = [
      ...renderings.map((r) => ({ id: r.id, text: r.cs.text, en: r.en.text })),
      ...CS.menuCommands.map((c, i) => ({ id: c.command, text: c.description, en: EN.menuCommands[i]?.description })),
      { id: "languageName", text: CS.languageName, en: EN.languageName },
    ];
    const leaks = czech.flatMap(({ id, text, en }) =>
      englishIn(text, fragments, en).map((f) => `${id}: "${f}" in ${text}`),
    );
    expect(leaks).toEqual([]);
  });
});
