/** Stripe: checkout links, card and recharge outcomes, top-ups, invoices. */
import { formatUsd } from "../../../money";
import {
  changeCommand,
  commandAmount,
  declineCode,
  EXAMPLES,
  invoicesLayout,
  oneLine,
  setupCommandFor,
  topUpCommand,
} from "../format";
import type { ChargeNow, InvoiceRow, ShortOfThreshold } from "../types";
import { card as cardLabel, statusLabel } from "./words";

/** "Váš zůstatek $50.00 je na hranici $100.00 nebo pod ní" */
function underThreshold(now: ChargeNow): string {
  return `Váš zůstatek ${formatUsd(now.balanceMicros)} je na hranici ${formatUsd(now.rechargeAtMicros)} nebo pod ní`;
}

const HELD: Record<NonNullable<ChargeNow["held"]>, string> = {
  in_flight: "dobití už je na cestě, proto se teď nic dalšího nestrhne.",
  daily_limit: "dnešní limit automatických dobití je vyčerpán, proto se do zítřka (UTC) nic nestrhne.",
  card_trouble: "poslední platba kartou selhala, proto se teď nic nestrhne.",
};

/** Before the card is saved: what saving it will do at once. */
function onSaveLine(now: ChargeNow | undefined): string {
  if (!now) return "Teď se nic nestrhne.";
  // The amount of the unpaid invoice a new card voids (Czech declines the noun phrase, so only the amount is kept).
  const voids = now.voidsMicros !== null ? formatUsd(now.voidsMicros) : null;
  if (now.charge?.kind === "unpaid_invoice") {
    return `${underThreshold(now)}: uložením karty se teď strhne ${formatUsd(now.charge.amountMicros)} (nezaplacená faktura automatického dobíjení).`;
  }
  if (now.charge) return `${underThreshold(now)}: uložením karty se teď strhne ${formatUsd(now.charge.amountMicros)}.`;
  if (now.held)
    return `${underThreshold(now)}, ale ${HELD[now.held]}${voids ? ` Uložením karty se zruší nezaplacená faktura na ${voids}.` : ""}`;
  if (voids) {
    return (
      `Teď se nic nestrhne: váš zůstatek ${formatUsd(now.balanceMicros)} je nad ${formatUsd(now.rechargeAtMicros)}, ` +
      `takže uložení karty nezaplacenou fakturu na ${voids} nezaplatí, ale zruší.`
    );
  }
  return "Teď se nic nestrhne.";
}

/** After the card is saved or the settings changed: what happened at once. */
export function nowLine(now: ChargeNow | undefined): string | null {
  if (!now) return null;
  const lines: string[] = [];
  if (now.charge?.kind === "unpaid_invoice") {
    lines.push(
      `${underThreshold(now)}, proto se nezaplacená faktura na ${formatUsd(now.charge.amountMicros)} teď zaplatí touto kartou.`,
    );
  } else if (now.charge) {
    lines.push(`${underThreshold(now)}, proto se z karty teď strhne ${formatUsd(now.charge.amountMicros)}.`);
  } else if (now.held) {
    lines.push(`${underThreshold(now)}, ale ${HELD[now.held]}`);
  }
  if (now.voidsMicros !== null) {
    lines.push(
      now.balanceMicros > now.rechargeAtMicros
        ? `Nezaplacená faktura na ${formatUsd(now.voidsMicros)} byla ve Stripe zrušena: váš zůstatek ` +
            `${formatUsd(now.balanceMicros)} je nad ${formatUsd(now.rechargeAtMicros)}, takže se nestrhne.`
        : `Nezaplacená faktura na ${formatUsd(now.voidsMicros)} byla ve Stripe zrušena, aby se nestrhlo dvakrát.`,
    );
  }
  return lines.length > 0 ? lines.join("\n") : null;
}

/** The line above a Checkout link button; for a card, what saving it does at once (`onSave`). */
export function checkoutLink(
  kind: "setup",
  amounts: { topUpMicros: number; rechargeAtMicros: number; onSave?: ChargeNow },
): string;
export function checkoutLink(kind: "topup", amounts: { amountMicros: number }): string;
export function checkoutLink(
  kind: "setup" | "topup",
  amounts: { topUpMicros: number; rechargeAtMicros: number; onSave?: ChargeNow } | { amountMicros: number },
): string {
  if (kind === "setup" && "topUpMicros" in amounts) {
    return (
      `Automatické dobíjení (dobije ${formatUsd(amounts.topUpMicros)}, když zůstatek klesne na ` +
      `${formatUsd(amounts.rechargeAtMicros)}) zapnete uložením karty na zabezpečené stránce Stripe. ${onSaveLine(amounts.onSave)}`
    );
  }
  if ("amountMicros" in amounts) {
    return `Kredity v hodnotě ${formatUsd(amounts.amountMicros)} zaplatíte na zabezpečené stránce Stripe. Dostanete fakturu.`;
  }
  throw new TypeError(`checkoutLink: amounts do not fit kind ${kind}`);
}

/** Caption of the link button under `checkoutLink`. */
export function checkoutButton(kind: "setup" | "topup", amountMicros?: number): string {
  return kind === "setup"
    ? "Uložit kartu"
    : amountMicros !== undefined
      ? `Zaplatit ${formatUsd(amountMicros)}`
      : "Zaplatit";
}

/**
 * The card is saved, with the settings of its link (`olderLink`: a link older than the newest one, whose
 * settings are the ones that now apply), and what that did at once (`now`).
 */
export function cardSaved(
  topUpMicros: number,
  rechargeAtMicros: number,
  brand: string | null,
  last4: string | null,
  extra: { now?: ChargeNow; olderLink?: boolean } = {},
) {
  const card = cardLabel(brand, last4);
  const from = extra.olderLink ? " přes starší odkaz na uložení karty, s nastavením z tohoto odkazu" : "";
  const saved =
    `✅ Karta${card ? ` ${card}` : ""} uložena${from}. Automatické dobíjení je zapnuté: když zůstatek klesne na ` +
    `${formatUsd(rechargeAtMicros)}, z karty se strhne ${formatUsd(topUpMicros)} a připíšou se kredity v hodnotě ${formatUsd(topUpMicros)}.`;
  const now = nowLine(extra.now);
  return now ? `${saved}\n${now}` : saved;
}

export function settingsChanged(topUpMicros: number, rechargeAtMicros: number, now?: ChargeNow): string {
  const changed = `✅ Automatické dobíjení upraveno: dobije ${formatUsd(topUpMicros)}, když zůstatek klesne na ${formatUsd(rechargeAtMicros)}.`;
  const line = nowLine(now);
  return line ? `${changed}\n${line}` : changed;
}

export function needCardFirst(): string {
  return `Zatím nemáte uloženou kartu, takže není co měnit. Nejdřív zapněte automatické dobíjení: ${EXAMPLES.setupCredits}`;
}

const BACK_ONLINE = "Váš bot opět odpovídá vašim klientům.";

/**
 * One ✅ per credit: the amount, the new balance, the invoice; when it ended an out-of-credits episode
 * (`restored`) it says the bot answers again; when it fell short of the threshold, what to do.
 */
export function rechargeSucceeded(
  amountMicros: number,
  balanceMicros: number,
  invoiceUrl: string | null,
  extra: { restored?: boolean; short?: ShortOfThreshold | null } = {},
): string {
  const lines = [`✅ Automatické dobíjení přidalo ${formatUsd(amountMicros)}. Zůstatek: ${formatUsd(balanceMicros)}.`];
  if (extra.restored) lines.push(BACK_ONLINE);
  if (invoiceUrl) lines.push(`Faktura: ${invoiceUrl}`);
  const short = extra.short;
  if (short) {
    const threshold = formatUsd(short.rechargeAtMicros);
    lines.push(
      `⚠️ Částka dobití (${formatUsd(short.topUpMicros)}) nepokryla celý rozdíl: zůstatek je stále na hranici ` +
        `${threshold} nebo pod ní, takže automatické dobíjení znovu strhne platbu až poté, co se zůstatek dostane nad ${threshold}.`,
    );
    const bigger =
      short.biggerTopUpMicros !== null
        ? `, nebo nastavte částku dobití, která rozdíl pokryje (teď se jednou strhne): ${changeCommand(short.biggerTopUpMicros, short.rechargeAtMicros)}`
        : "";
    lines.push(`Řešení: dokupte rozdíl jednorázově příkazem ${topUpCommand(short.topUpNeededMicros)}${bigger}`);
  }
  return lines.join("\n");
}

const DECLINE_REASONS: Record<string, string> = {
  card_declined: "vaše karta byla zamítnuta",
  expired_card: "platnost vaší karty vypršela",
  insufficient_funds: "na kartě nejsou dostatečné prostředky",
  incorrect_cvc: "bezpečnostní kód karty byl odmítnut",
  incorrect_number: "číslo karty bylo odmítnuto",
  lost_card: "karta je nahlášena jako ztracená",
  stolen_card: "karta je nahlášena jako odcizená",
  card_velocity_exceeded: "karta dosáhla limitu útraty",
  processing_error: "u zpracovatele karty došlo k chybě",
  authentication_required: "vaše banka žádá potvrzení platby",
  do_not_honor: "vaše banka platbu zamítla",
  generic_decline: "vaše karta byla zamítnuta",
  fraudulent: "vaše banka platbu zamítla",
};

export function rechargeFailed(
  reasonCode: string,
  declineMessage: string | null,
  settings?: { topUpMicros: number; rechargeAtMicros: number },
): string {
  const code = declineCode(reasonCode);
  const reason = DECLINE_REASONS[code] ?? (code ? `platba se nezdařila (${code})` : "platba se nezdařila");
  const lines = [`⚠️ Automatické dobíjení selhalo: ${reason}.`];
  // The bank's own text is shown as Stripe sent it.
  if (declineMessage?.trim()) lines.push(`Zpráva banky: ${oneLine(declineMessage)}`);
  const setup = setupCommandFor(settings ?? {});
  lines.push(
    `Řešení: uložte novou kartu příkazem ${setup}, nebo dobijte kredity jednorázově příkazem ${EXAMPLES.topUp}.`,
  );
  return lines.join("\n");
}

export function rechargeNeedsConfirmation(url: string): string {
  return `⚠️ Vaše banka žádá potvrzení platby automatického dobíjení. Potvrďte ji zde: ${url}\nKredity připíšeme hned po zaplacení.`;
}

/** "1 platbu", "3 platby", "5 plateb" (accusative, after "strhlo"). */
function payments(n: number): string {
  const word = n === 1 ? "platbu" : n >= 2 && n <= 4 ? "platby" : "plateb";
  return `${n} ${word}`;
}

export function dailyLimitReached(maxPerDay: number): string {
  return (
    `⚠️ Automatické dobíjení dnes z vaší karty strhlo už ${payments(maxPerDay)}, což je denní limit, ` +
    `proto je pozastaveno do zítřka (UTC). Kredity teď dobijete příkazem ${EXAMPLES.topUp}\n` +
    `Vyšší částka dobití znamená méně plateb: ${EXAMPLES.changeCreditsTopUp}`
  );
}

export function topUpSucceeded(
  amountMicros: number,
  balanceMicros: number,
  extra: { restored?: boolean } = {},
): string {
  const added = `✅ Připsali jsme kredity v hodnotě ${formatUsd(amountMicros)}. Zůstatek: ${formatUsd(balanceMicros)}.`;
  return extra.restored ? `${added}\n${BACK_ONLINE}` : added;
}

export function invoicesList(rows: readonly InvoiceRow[]): { text: string; parseMode: "HTML" } {
  return invoicesLayout(rows, {
    none: "Zatím žádná dobití.",
    heading: "Poslední dobití",
    invoice: "faktura",
    statusLabel,
  });
}

/** Stripe could not be reached for an owner command; nothing was changed. */
export function paymentsUnavailable(): string {
  return "⚠️ Platby jsou teď nedostupné, proto se nic nezměnilo. Zkuste to prosím za pár minut.";
}

/** A card link completed after a newer one was sent: nothing changed, the newest link is the one to use. */
export function cardLinkOutdated(brand: string | null, last4: string | null): string {
  const card = cardLabel(brand, last4);
  return (
    `Karta${card ? ` ${card}` : ""} byla zadána přes starší odkaz, proto se nic nezměnilo: platí novější odkaz ` +
    `z /setupCredits. Kartu uložte přes nejnovější odkaz, nebo pošlete ${EXAMPLES.setupCredits} pro nový odkaz.`
  );
}

export function cardLinkExpired(): string {
  return `Platnost odkazu vypršela dřív, než jste kartu uložili, proto se nic nezměnilo. Nový odkaz: ${EXAMPLES.setupCredits}`;
}

export function newerCardLinkWaiting(): string {
  return "Novější odkaz z /setupCredits je stále otevřený: jeho dokončení tato nastavení nahradí.";
}

export function topUpExpired(amountMicros: number): string {
  return (
    `Platnost odkazu na dobití ${formatUsd(amountMicros)} vypršela bez zaplacení: nic se nestrhlo. ` +
    `Nový odkaz: /topUp:${commandAmount(amountMicros)}`
  );
}

/** The page Stripe's Checkout returns to after the card or payment went through. */
export function checkoutDonePage(): { title: string; text: string } {
  return {
    title: "Hotovo",
    text: "Děkujeme. Tuto stránku můžete zavřít a vrátit se do Telegramu: bot vám to tam potvrdí.",
  };
}

/** The page Stripe's Checkout returns to when the owner cancelled. */
export function checkoutCancelledPage(): { title: string; text: string } {
  return {
    title: "Zrušeno",
    text: "Nic se nestrhlo a nic se nezměnilo. Kdykoli můžete začít znovu z Telegramu.",
  };
}
