import type { Billing } from "../billing/billing";
import type { Config } from "../env";
import { isLang, type Lang } from "../lang";
import type { Ledger } from "../ledger/ledger";
import type { AutoRechargeView, DayUsage, Outcome, StatsSnapshot } from "../ledger/types";
import { log } from "../log";
import { type Parsed, parseClientLimit, parseSettings } from "../telegram/command-args";
import { verifyInitData } from "../telegram/init-data";
import { type Catalogue, type InvoiceRow, textsIn } from "../telegram/texts";
import type { OwnerCommand } from "../telegram/updates";
import type { BotJobs } from "./bot-jobs";
import type { BotToken } from "./bot-token";

/** Days of the dashboard's chart. */
export const DASHBOARD_DAYS = 30;

/**
 * The owner commands the dashboard may send, each with the check its handler makes first: a value the command
 * would refuse is refused here with the command's own words, and nothing is sent to the chat. Commands that
 * need a page of their own (`setupcredits`: Stripe Checkout; `billing`: the Customer Portal) give its link back.
 */
const APP_COMMANDS = {
  changecreditstopup: (args, config, t) => parseSettings("changeCreditsTopUp", args, config, t),
  setupcredits: (args, config, t) => parseSettings("setupCredits", args, config, t),
  // Like the typed commands, these two ignore values.
  stopcredits: () => ({ ok: true, value: null }),
  clientlimit: (args, config, t) => parseClientLimit(args, config, t),
  language: (args, _config, t) =>
    args.length === 1 && isLang(args[0])
      ? { ok: true, value: args[0] }
      : { ok: false, message: t.languageProblem(args.join(" ")) },
  billing: () => ({ ok: true, value: null }),
} satisfies Partial<Record<OwnerCommand, (args: string[], config: Config, t: Catalogue) => Parsed<unknown>>>;

export type AppCommandName = keyof typeof APP_COMMANDS;
export const APP_COMMAND_NAMES = Object.keys(APP_COMMANDS) as [AppCommandName, ...AppCommandName[]];

/** What the owner's Mini App shows: `/stats`' figures, the chart's days, the invoices and the settings' limits. */
export interface DashboardView {
  instanceId: string;
  botUsername: string | null;
  lang: Lang;
  balanceMicros: number;
  availableMicros: number;
  autoRecharge: AutoRechargeView | null;
  runwayHours: number | null;
  recommendedRechargeAtMicros: number;
  spend: StatsSnapshot["spend"];
  answers: StatsSnapshot["answers"];
  activeUsers: StatsSnapshot["activeUsers"];
  clientLimitMicros: number;
  days: DayUsage[];
  invoices: InvoiceRow[];
  limits: { minTopUpMicros: number; maxTopUpMicros: number; minRechargeAtMicros: number };
}

export type AppCommandResult =
  | { applied: true; replies: string[]; link: string | null }
  | { applied: false; problem: string };

/**
 * The owner's dashboard inside the object: the `initData` check (the bot token never leaves the object; only
 * the verdict does), the data from the rollups and the object's own recharges (no D1), and settings changes
 * run as the owner's commands through the bot's own handlers (one code path for money; the bot confirms in
 * the chat as it does for a typed command).
 */
export class Dashboard {
  constructor(
    private readonly config: Config,
    private readonly ledger: Ledger,
    private readonly billing: Billing,
    private readonly botToken: BotToken,
    private readonly jobs: BotJobs,
    private readonly tx: <T>(fn: () => T) => T,
  ) {}

  /** Only the instance's owner, with `initData` Telegram signed for this bot within the hour, gets through. */
  async owner(initData: string, now: number): Promise<Outcome<object>> {
    const account = this.ledger.account();
    if (!account) return { ok: false, reason: "not_found" };
    const verdict = await verifyInitData(initData, (await this.botToken.open()).token, now);
    const refused = !verdict.ok ? verdict.why : verdict.userId !== account.owner_telegram_id ? "not_owner" : null;
    if (refused === null) return { ok: true };
    // Why, for the operator; never the data itself (it names a person).
    log("info", "dashboard_refused", { instanceId: account.instance_id, why: refused });
    return { ok: false, reason: "unauthorized" };
  }

  view(now: number): DashboardView {
    const { ledger, billing, config } = this;
    const account = ledger.account();
    // One transaction: the rollups' catch-up writes, and the figures and the chart are one snapshot.
    const { stats, days } = this.tx(
      (): { stats: Omit<StatsSnapshot, "autoRecharge" | "lastRecharge">; days: DayUsage[] } => ({
        stats: ledger.stats(now),
        days: ledger.rollups.dailyUsage(now, DASHBOARD_DAYS),
      }),
    );
    return {
      instanceId: account?.instance_id ?? "",
      botUsername: account?.bot_username ?? null,
      lang: this.ledger.ownerLang(),
      balanceMicros: stats.balanceMicros,
      availableMicros: stats.availableMicros,
      autoRecharge: billing.view(),
      runwayHours: stats.runwayHours,
      recommendedRechargeAtMicros: stats.recommendedRechargeAtMicros,
      spend: stats.spend,
      answers: stats.answers,
      activeUsers: stats.activeUsers,
      clientLimitMicros: ledger.clientLimitMicros(),
      days,
      invoices: billing.invoices(10),
      limits: {
        minTopUpMicros: config.minTopUpMicros,
        maxTopUpMicros: config.maxTopUpMicros,
        minRechargeAtMicros: config.minRechargeAtMicros,
      },
    };
  }

  /** A settings change: checked as the command checks it, then run as the owner's command. */
  async command(name: AppCommandName, args: string[]): Promise<AppCommandResult> {
    const t = textsIn(this.ledger.ownerLang());
    const checked = APP_COMMANDS[name](args, this.config, t);
    if (!checked.ok) return { applied: false, problem: checked.message };
    const sent = await this.jobs.ownerCommandFromApp(name, args);
    return { applied: true, replies: sent.texts, link: sent.link };
  }
}
