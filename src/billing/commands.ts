import type { Config } from "../env";
import { describeError, log } from "../log";
import { parseSettings, parseTopUp } from "../telegram/command-args";
import type { Catalogue, InvoiceRow } from "../telegram/texts";
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
  /** The owner's catalogue (their language). */
  texts: Catalogue;
  reply(text: string, options?: { parseMode?: "HTML"; button?: { text: string; url: string } }): Promise<unknown>;
  invoices(): Promise<InvoiceRow[]>;
  /** The object tells the owner what billing decided, and re-arms. */
  apply(fx: BillingEffects): void;
}

// The values of the amount commands are checked in one place with `/clientLimit`'s (every problem at once).
export { parseSettings, parseTopUp };

/** The billing owner commands. Bad input changes nothing; a Stripe outage says so and changes nothing. */
export async function billingCommand(job: OwnerCommandJob, ctx: BillingCommandContext): Promise<void> {
  try {
    switch (job.command) {
      case "setupcredits": {
        const parsed = parseSettings("setupCredits", job.args, ctx.config, ctx.texts);
        if (!parsed.ok) return void (await ctx.reply(parsed.message));
        const { topUpMicros, rechargeAtMicros } = parsed.value;
        const { url, onSave } = await ctx.billing.setupCheckout(topUpMicros, rechargeAtMicros);
        await ctx.reply(ctx.texts.checkoutLink("setup", { topUpMicros, rechargeAtMicros, onSave }), {
          button: { text: ctx.texts.checkoutButton("setup"), url },
        });
        return;
      }
      case "changecreditstopup": {
        const parsed = parseSettings("changeCreditsTopUp", job.args, ctx.config, ctx.texts);
        if (!parsed.ok) return void (await ctx.reply(parsed.message));
        const { topUpMicros, rechargeAtMicros } = parsed.value;
        const fx = new BillingEffects();
        const wasOn = ctx.billing.view()?.enabled === true;
        const changed = ctx.billing.changeSettings(fx, topUpMicros, rechargeAtMicros);
        await ctx.reply(
          !changed
            ? ctx.texts.needCardFirst()
            : wasOn
              ? ctx.texts.settingsChanged(topUpMicros, rechargeAtMicros, changed)
              : ctx.texts.autoRechargeOnAgain(topUpMicros, rechargeAtMicros, changed),
        );
        ctx.apply(fx);
        return;
      }
      case "topup": {
        const parsed = parseTopUp(job.args, ctx.config, ctx.texts);
        if (!parsed.ok) return void (await ctx.reply(parsed.message));
        const url = await ctx.billing.topUpCheckout(parsed.value);
        await ctx.reply(ctx.texts.checkoutLink("topup", { amountMicros: parsed.value }), {
          button: { text: ctx.texts.checkoutButton("topup", parsed.value), url },
        });
        return;
      }
      case "stopcredits": {
        // Stopping keeps the billing row, so the view after it is the one to word (null only without any row).
        const stopped = ctx.billing.stopAutoRecharge();
        const after = ctx.billing.view();
        await ctx.reply(
          stopped && after ? ctx.texts.autoRechargeStopped(after) : ctx.texts.autoRechargeAlreadyOff(after),
        );
        return;
      }
      case "billing": {
        const returnUrl = ctx.botUsername ? `https://t.me/${ctx.botUsername}` : undefined;
        const url = await ctx.billing.billingPortal(returnUrl ?? ctx.config.publicBaseUrl);
        await ctx.reply(ctx.texts.billingPortalLink(), { button: { text: ctx.texts.billingPortalButton(), url } });
        return;
      }
      case "invoiceemail": {
        if (job.args.length === 0) {
          return void (await ctx.reply(ctx.texts.invoiceEmailCurrent(await ctx.billing.invoiceEmail())));
        }
        const email = parseInvoiceEmail(job.args);
        if (!email.ok) return void (await ctx.reply(ctx.texts.invoiceEmailProblem(job.args.join(" "))));
        await ctx.billing.setInvoiceEmail(email.value);
        await ctx.reply(ctx.texts.invoiceEmailSet(email.value));
        return;
      }
      case "invoices": {
        const list = ctx.texts.invoicesList(await ctx.invoices());
        await ctx.reply(list.text, { parseMode: list.parseMode });
        return;
      }
      default:
        await ctx.reply(ctx.texts.helpText());
    }
  } catch (error) {
    log("warn", "billing_command_failed", {
      instanceId: ctx.instanceId,
      command: job.command,
      error: describeError(error),
    });
    await ctx.reply(ctx.texts.paymentsUnavailable());
  }
}
