import type { Config } from "../env";
import { describeError, log } from "../log";
import { parseOwnerAmount } from "../money";
import * as texts from "../telegram/texts";
import type { Job } from "../telegram/updates";
import type { Billing } from "./billing";
import { parseInvoiceEmail } from "./invoice-email";
import { BillingEffects } from "./notices";

type OwnerCommandJob = Extract<Job, { kind: "owner_command" }>;

export interface BillingCommandContext {
  billing: Billing;
  config: Config;
  instanceId: string;
  /** The bot's username: the Customer Portal returns to its chat (`https://t.me/<username>`). */
  botUsername: string | null;
  reply(text: string, options?: { parseMode?: "HTML"; button?: { text: string; url: string } }): Promise<unknown>;
  invoices(): Promise<texts.InvoiceRow[]>;
  /** The object tells the owner what billing decided, and re-arms. */
  apply(fx: BillingEffects): void;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** `{topUpAmount}:{rechargeAt}` as the SPEC's amount rules say; every refusal names the problem and shows an example. */
export function parseSettings(
  command: "setupCredits" | "changeCreditsTopUp",
  args: readonly string[],
  config: Config,
): Parsed<{ topUpMicros: number; rechargeAtMicros: number }> {
  const example = command === "setupCredits" ? texts.setupCommand() : texts.changeCommand(750_000_000, 200_000_000);
  if (args.length < 2) return { ok: false, message: texts.settingsProblem({ kind: "missing_parts", command }) };
  if (args.length > 2) return { ok: false, message: texts.settingsProblem({ kind: "too_many_parts", command }) };
  const topUp = parseOwnerAmount(args[0] ?? "");
  if (!topUp.ok) return { ok: false, message: texts.amountProblem(topUp.problem, "top-up", example) };
  const rechargeAt = parseOwnerAmount(args[1] ?? "");
  if (!rechargeAt.ok) return { ok: false, message: texts.amountProblem(rechargeAt.problem, "threshold", example) };
  if (topUp.micros < config.minTopUpMicros) {
    return {
      ok: false,
      message: texts.settingsProblem({ kind: "top_up_below_min", command, minMicros: config.minTopUpMicros }),
    };
  }
  if (topUp.micros > config.maxTopUpMicros) {
    return {
      ok: false,
      message: texts.settingsProblem({ kind: "top_up_above_max", command, maxMicros: config.maxTopUpMicros }),
    };
  }
  if (rechargeAt.micros < config.minRechargeAtMicros) {
    return {
      ok: false,
      message: texts.settingsProblem({ kind: "threshold_below_min", command, minMicros: config.minRechargeAtMicros }),
    };
  }
  // A threshold above the largest top-up would start recharges back to back (until the daily limit).
  if (rechargeAt.micros > config.maxTopUpMicros) {
    return {
      ok: false,
      message: texts.settingsProblem({ kind: "threshold_above_max", command, maxMicros: config.maxTopUpMicros }),
    };
  }
  return { ok: true, value: { topUpMicros: topUp.micros, rechargeAtMicros: rechargeAt.micros } };
}

export function parseTopUp(args: readonly string[], config: Config): Parsed<number> {
  const command = "topUp" as const;
  if (args.length < 1) return { ok: false, message: texts.settingsProblem({ kind: "missing_parts", command }) };
  if (args.length > 1) return { ok: false, message: texts.settingsProblem({ kind: "too_many_parts", command }) };
  const amount = parseOwnerAmount(args[0] ?? "");
  if (!amount.ok) return { ok: false, message: texts.amountProblem(amount.problem, "amount", texts.topUpCommand()) };
  if (amount.micros < config.minManualTopUpMicros) {
    return {
      ok: false,
      message: texts.settingsProblem({ kind: "top_up_below_min", command, minMicros: config.minManualTopUpMicros }),
    };
  }
  if (amount.micros > config.maxTopUpMicros) {
    return {
      ok: false,
      message: texts.settingsProblem({ kind: "top_up_above_max", command, maxMicros: config.maxTopUpMicros }),
    };
  }
  return { ok: true, value: amount.micros };
}

/** The billing owner commands. Bad input changes nothing; a Stripe outage says so and changes nothing. */
export async function billingCommand(job: OwnerCommandJob, ctx: BillingCommandContext): Promise<void> {
  try {
    switch (job.command) {
      case "setupcredits": {
        const parsed = parseSettings("setupCredits", job.args, ctx.config);
        if (!parsed.ok) return void (await ctx.reply(parsed.message));
        const { topUpMicros, rechargeAtMicros } = parsed.value;
        const { url, onSave } = await ctx.billing.setupCheckout(topUpMicros, rechargeAtMicros);
        await ctx.reply(texts.checkoutLink("setup", { topUpMicros, rechargeAtMicros, onSave }), {
          button: { text: texts.checkoutButton("setup"), url },
        });
        return;
      }
      case "changecreditstopup": {
        const parsed = parseSettings("changeCreditsTopUp", job.args, ctx.config);
        if (!parsed.ok) return void (await ctx.reply(parsed.message));
        const { topUpMicros, rechargeAtMicros } = parsed.value;
        const fx = new BillingEffects();
        const changed = ctx.billing.changeSettings(fx, topUpMicros, rechargeAtMicros);
        await ctx.reply(
          changed ? texts.settingsChanged(topUpMicros, rechargeAtMicros, changed) : texts.needCardFirst(),
        );
        ctx.apply(fx);
        return;
      }
      case "topup": {
        const parsed = parseTopUp(job.args, ctx.config);
        if (!parsed.ok) return void (await ctx.reply(parsed.message));
        const url = await ctx.billing.topUpCheckout(parsed.value);
        await ctx.reply(texts.checkoutLink("topup", { amountMicros: parsed.value }), {
          button: { text: texts.checkoutButton("topup", parsed.value), url },
        });
        return;
      }
      case "billing": {
        const returnUrl = ctx.botUsername ? `https://t.me/${ctx.botUsername}` : undefined;
        const url = await ctx.billing.billingPortal(returnUrl ?? ctx.config.publicBaseUrl);
        await ctx.reply(texts.billingPortalLink(), { button: { text: texts.billingPortalButton(), url } });
        return;
      }
      case "invoiceemail": {
        if (job.args.length === 0) {
          return void (await ctx.reply(texts.invoiceEmailCurrent(await ctx.billing.invoiceEmail())));
        }
        const email = parseInvoiceEmail(job.args);
        if (!email.ok) return void (await ctx.reply(texts.invoiceEmailProblem(job.args.join(" "))));
        await ctx.billing.setInvoiceEmail(email.value);
        await ctx.reply(texts.invoiceEmailSet(email.value));
        return;
      }
      case "invoices": {
        const list = texts.invoicesList(await ctx.invoices());
        await ctx.reply(list.text, { parseMode: list.parseMode });
        return;
      }
      default:
        await ctx.reply(texts.helpText());
    }
  } catch (error) {
    log("warn", "billing_command_failed", {
      instanceId: ctx.instanceId,
      command: job.command,
      error: describeError(error),
    });
    await ctx.reply(texts.paymentsUnavailable());
  }
}
