/**
 * The vocabulary of the balance-question detector (src/telegram/intent.ts), one entry per language: the
 * words and phrases of each concept and the patterns a question must match. Phrasings and languages are
 * data: extend `BALANCE_QUESTION_LANGUAGES` here; the matcher does not change. See docs/balance-question.md.
 */
import type { Lang } from "./types";

/**
 * What a word contributes to the meaning. `balance`, `credit`, `creditOf`, `money`, `currency` and `account`
 * carry the topic; the rest make a phrase a question about the owner's own amount, or change nothing.
 */
export type Concept =
  /** "balance", "zůstatek" */
  | "balance"
  /** "credit(s)"; Czech nominative and other cases "kredit", "kredity", "kreditem" */
  | "credit"
  /**
   * Czech genitive "kreditu"/"kreditů": "kolik kreditů" asks for an amount of credit, while "kolik je kredit"
   * (nominative) asks for a price
   */
  | "creditOf"
  /** "money", "cash", "funds", "peníze" — about credits only together with left / account / enough … */
  | "money"
  /** "dollars", "USD", "$" — the unit of the balance */
  | "currency"
  /** "account", "wallet", "účet", "konto" */
  | "account"
  /** the product: "AI", "bot", "AI Expert", "prepaid", "odpovědí" */
  | "product"
  /** "left", "remaining", "available", "zbývá", "k dispozici" */
  | "remaining"
  /** "much"/"many" (of "how much/many"), "kolik" */
  | "quantity"
  /** possessive / first person: "my", "I", "we", "mám", "můj", "mi" */
  | "own"
  /** "current", "now", "still", "aktuální", "ještě" */
  | "current"
  /** "today", "this week", "do pátku": when, not what */
  | "period"
  /** the definite article: "what's the balance" is about a specific (the owner's) balance */
  | "the"
  /** question words: "what", "how", "co", "jak" */
  | "question"
  /**
   * question words asking for the value of a specific thing: Czech "jaký je zůstatek" means "what is the
   * balance (amount)", while "co je zůstatek" asks for a definition, so they are different concepts
   */
  | "which"
  /** imperative and wish verbs: "check", "show", "tell", "I need", "ukaž", "řekni", "chci vědět" */
  | "command"
  /** "enough", "last", "dost", "stačí", "vystačí" */
  | "sufficiency"
  /** "low", "running", "out", "zero", "málo", "dochází", "došel" */
  | "low"
  /** "status", "looking", "doing", "stav", "vypadá", "v pořádku" */
  | "status"
  /** "top up", "recharge", "dobít" */
  | "topUp"
  /** "spend", "utratit" — "how much can I still spend" */
  | "spend"
  /** digits: "$100", "50" */
  | "number"
  /** "please", "thanks", "hi", "ahoj", "quick question" */
  | "polite"
  /** grammatical glue that changes nothing: "is", "of", "do", "have", "je", "na" */
  | "glue"
  /** "how do I …", "how to …", "jak si …": asks how to do something, not for the balance */
  | "howTo"
  /**
   * a word or phrase known to mean something else ("credit check", "kreditní", "balanced", "zůstatková"):
   * like an unknown word, it sends the message to the AI. Listed where a stem or a typo would otherwise
   * take it for a balance word.
   */
  | "foreign";

export interface BalancePattern {
  /** Every one of these concepts must be present. */
  all: readonly Concept[];
  /** At least one of these must be present too (absent = no extra requirement) … */
  anyOf?: readonly Concept[];
  /**
   * … unless the message is only the `all` words plus politeness: "Balance", "zůstatek?". `"question_mark"`
   * allows that only when the message carries a "?" ("credits?" yes, "Credits" — maybe film credits — no).
   */
  bare?: "always" | "question_mark";
}

export interface LanguageIntentData {
  lang: Lang;
  /**
   * Vocabulary in normalized form (see `normalize`: lowercase, no diacritics, no apostrophes). A word may
   * appear under one concept only. A trailing `*` matches any word starting with the stem (use for stems
   * that no unrelated word starts with); the longest matching stem wins.
   */
  words: Partial<Record<Concept, readonly string[]>>;
  /** Sequences of normalized words read as one concept, before single words: "credit check", "how do i". */
  phrases?: Partial<Record<Concept, readonly string[]>>;
  patterns: readonly BalancePattern[];
}

/** "what's the balance", "credit balance", "check balance": everything but a bare question word. */
const BALANCE_CUES: readonly Concept[] = [
  "own",
  "the",
  "current",
  "credit",
  "creditOf",
  "money",
  "currency",
  "account",
  "product",
  "remaining",
  "command",
  "sufficiency",
  "low",
  "status",
  "number",
];

/** "my credits", "credits left", "enough credits", "low on credits", "AI credits"; not "what is a credit". */
const CREDIT_CUES: readonly Concept[] = [
  "own",
  "current",
  "remaining",
  "balance",
  "account",
  "currency",
  "product",
  "command",
  "sufficiency",
  "low",
  "status",
];

/**
 * "money left", "money on the account", "the bot's money"; not "how much money do I have", "do I have enough
 * money", "I ran out of money" (personal finance, a question for the expert bot).
 */
const MONEY_CUES: readonly Concept[] = ["remaining", "account", "product", "balance", "credit"];

/** "how many dollars do I have", "dollars left", "enough dollars?", "USD balance". */
const CURRENCY_CUES: readonly Concept[] = [...MONEY_CUES, "own", "sufficiency", "low"];

/** A word list written as one space-separated string. */
function w(list: string): readonly string[] {
  return list.split(" ");
}

export const BALANCE_QUESTION_LANGUAGES: readonly LanguageIntentData[] = [
  {
    lang: "en",
    words: {
      balance: w("balance balances bal"),
      credit: w("credit credits creds cred"),
      // Listed so that a typo correction does not take them for "balance"/"credits".
      foreign: w(
        "balanced balancing unbalanced imbalance balancer credited crediting creditor creditors creditworthy discredit",
      ),
      money: w("money moneys cash funds fund funding funded"),
      currency: w("usd dollar dollars bucks buck"),
      account: w("account acct wallet"),
      product: w("ai bot bots expert assistant chatbot prepaid"),
      remaining: w("left remaining remain remains leftover available rest"),
      quantity: w("much many amount"),
      own: w("my mine i me our ours we us ive im id ill myself weve were"),
      current: w("current currently now actual still moment presently rn yet"),
      period: w(
        "today tonight tomorrow day week weekend month year this next end monday tuesday wednesday thursday friday saturday sunday",
      ),
      the: w("the"),
      question: w("what whats how hows which whatre where wheres when wat wut whts"),
      command: w(
        "check show tell get give gimme display see view send list report let know need want wanna like find confirm",
      ),
      sufficiency: w("enough sufficient suffice last cover"),
      low: w("low running run ran out zero empty close near nearly almost gone"),
      status: w("status looking look looks doing going good ok okay fine situation"),
      topUp: w("top topup recharge refill reload"),
      spend: w("spend spent"),
      polite: w(
        "please pls plz thanks thank thx ty hi hello hey yo morning afternoon evening quick question sorry bro mate buddy btw just well oh um hmm yeah yes",
      ),
      glue: w(
        "is are was be been am of on in for at do does did have has had hav got a an it its there theres to can could would will should with up so far anything any some that thats about as by from right then again s you u ya your ur r dont doesnt didnt isnt arent havent not more less than least below above under over until till soon or and if whether exactly roughly approximately around",
      ),
    },
    phrases: {
      // "credit check" is a finance term, "credit where credit is due" praise; "check my credits" is ours.
      // "out of balance" is physical or bookkeeping; "give me credit(s)" asks for credits (or praise), not the balance.
      foreign: [
        "credit check",
        "credit checks",
        "out of balance",
        "give me credit",
        "give me credits",
        "give us credit",
      ],
      howTo: ["how do i", "how do we", "how can i", "how can we", "how to", "how should i", "how would i"],
    },
    patterns: [
      // "balance?", "my balance", "credit balance", "what's the balance", "check balance"; not "what is balance".
      { all: ["balance"], anyOf: BALANCE_CUES, bare: "always" },
      // "how many credits do I have", "credits left?", "low on credits?", "AI credits"; not "how much is a credit".
      { all: ["credit"], anyOf: CREDIT_CUES, bare: "question_mark" },
      // "how much money is left", "is there still money on the account"; not "how much money do I have".
      { all: ["money"], anyOf: MONEY_CUES },
      // "how many dollars do I have left", "USD balance?"
      { all: ["currency"], anyOf: CURRENCY_CUES },
      // "how much is left?", "how much do I have left?"
      { all: ["quantity", "remaining"] },
      // "what's left for me", "show me what's left"
      { all: ["remaining"], anyOf: ["own", "command"] },
      // "how much do I have on my account"
      { all: ["quantity", "account"] },
      // "how much can I still spend?"
      { all: ["quantity", "spend"], anyOf: ["current", "remaining"] },
    ],
  },
  {
    lang: "cs",
    words: {
      balance: w("zustatek zustatk*"),
      // "kreditní" (card, history, risk, score, a university's system), "kreditka", "zůstatková cena",
      // "bilance" (a state's trade or payment balance): longer stems win over "zustatk*".
      foreign: w("kreditn* kreditk* zustatkov* bilanc*"),
      credit: w("kredit kredity kreditem kredite kreditum kreditech kreditama kreditami kredyt kredyty"),
      creditOf: w("kreditu kredytu"),
      money: w("penize penez penezi penezich penezma prachy prachu prachama financi"),
      currency: w("usd dolar dolary dolaru dolarech dolarum dolarama dolarami"),
      account: w("ucet uctu uctem ucte konto kontu konte kontem penezenka penezence"),
      product: w("ai bot bota botovi botem bote expert experta expertovi asistent asistenta predplac* odpovedi"),
      remaining: w(
        "zbyva zbyvaji zbyvajici* zbejva zbylo zbyl zbyla zbyly zbyle zbylych zbytek zustalo zustal zustala zustaly zustava zustavaji dispozici dostupny dostupne dostupneho",
      ),
      quantity: w("kolik kolika mnoho"),
      own: w(
        "muj moje moji mam mame nemam nemame mi me mne mem meho memu mym mych nam nas nase nasi nasem naseho my jsem jsme nejsem nejsme si svuj sve svoje svych",
      ),
      current: w("aktualni aktualne aktualniho aktualnim ted tedka nyni momentalne zrovna jeste porad stale"),
      period: w(
        "dnes dneska dnesek zitra zitrek zitrejsek tyden tydne tydnu vikend vikendu mesic mesice mesici konec konce pondeli utery streda stredu ctvrtek patek patku sobota sobotu nedele nedeli tento tenhle tuto pristi pristiho",
      ),
      question: w("jak co kde"),
      which: w("jaky jaka jake jakej jakou jakym vysoky velky"),
      command: w(
        "ukaz ukazte ukazat zobraz zobrazte zobrazit zkontroluj zkontrolujte zkontrolovat napis napiste napsat rekni reknete rict sdel sdelte sdelit zjisti zjistete zjistit posli poslete poslat dej dejte vedet znat potrebuju potrebuji chci chtel chtela muzes muzete mohl mohla bys byste",
      ),
      sufficiency: w("dost dostatek staci stacit vystaci vystacit vydrzi vydrzet postaci"),
      low: w("malo nizky nizko nizke nizkej dochazi nedochazi dojde dojdou dosel dosla doslo dosly nule nulu nula"),
      status: w("stav stavu stavem vypada vypadaji poradku poradek"),
      topUp: w("dobit dobiti dobijet dobiju dobije"),
      spend: w("utratit utratim minout"),
      polite: w(
        "prosim prosimte dekuji dekuju diky dik ahoj cau caute cus nazdar zdravim dobry dobrej den pls hele rad rada bych",
      ),
      glue: w(
        "je jsou neni byl bude budou by na v ve s se z ze za do od u k o a i to tedy teda uz mit ma maji nejaky nejaka nejake nejakej nejakou vubec vsechno vse aspon alespon vic vice mene nez tak ten tom moc hodne prave jen jenom jestli zda muzu mohu muzeme brzo brzy potreba musim ne ano pro",
      ),
    },
    phrases: {
      howTo: ["jak si", "jak mam", "jak muzu", "jak mohu", "jak se", "jak lze", "jak dobit", "jak zjistit"],
    },
    patterns: [
      // "zůstatek?", "můj zůstatek", "jaký je zůstatek", "kolik je zůstatek"; not "co je zůstatek".
      { all: ["balance"], anyOf: [...BALANCE_CUES, "quantity", "which"], bare: "always" },
      // "kolik mám kreditů", "zbývající kredit", "dochází mi kredit"; not "kolik je kredit" (a price).
      { all: ["credit"], anyOf: CREDIT_CUES, bare: "question_mark" },
      // "kolik kreditů?", "kolik je kreditu?" (genitive: an amount of credit)
      { all: ["creditOf"], anyOf: [...CREDIT_CUES, "quantity", "which"], bare: "question_mark" },
      // "stav kreditu", "stav účtu"
      { all: ["status"], anyOf: ["credit", "creditOf", "account", "money", "currency"] },
      // "kolik mám peněz na účtu", "kolik mi zbývá peněz"
      { all: ["money"], anyOf: MONEY_CUES },
      // "kolik mám USD", "kolik dolarů mi zbývá"
      { all: ["currency"], anyOf: CURRENCY_CUES },
      // "kolik mi zbývá?", "kolik je k dispozici?"
      { all: ["quantity", "remaining"] },
      // "kolik mám na účtu?", "kolik je na kontě?"
      { all: ["quantity", "account"] },
      // "kolik ještě můžu utratit?"
      { all: ["quantity", "spend"], anyOf: ["current", "remaining"] },
    ],
  },
];
