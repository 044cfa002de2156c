import fc from "fast-check";

/**
 * Hostile input, shared by the fuzz properties. Values are generated as raw JSON text where it
 * matters, so that tokens no `JSON.stringify` would write (`1e309`, `-0`, `9007199254740993`,
 * duplicate keys, deep nesting) reach the Worker exactly as an attacker would send them.
 */

/** The Worker's body limit (src/app.ts MAX_BODY_BYTES). */
export const BODY_LIMIT = 64 * 1024;

export const INVISIBLES = [
  "\u200b", // zero-width space
  "\u200c", // zero-width non-joiner
  "\u200d", // zero-width joiner
  "\u2060", // word joiner
  "\ufeff", // BOM / zero-width no-break space
  "\u00ad", // soft hyphen
  "\u180e", // Mongolian vowel separator
  "\u200e", // LRM
  "\u200f", // RLM
  "\u061c", // Arabic letter mark
  "\u202a",
  "\u202b",
  "\u202c",
  "\u202d",
  "\u202e", // RLO: "005" shows as "500"
  "\u2066",
  "\u2067",
  "\u2068",
  "\u2069",
] as const;

export const UNICODE_SPACES = ["\u00a0", "\u2007", "\u2009", "\u202f", "\u205f", "\u3000", "\u1680"] as const;

/** First code point of ten-digit runs that are not ASCII: full-width, Arabic-Indic, Persian, Devanagari, Bengali, Thai, math bold. */
const DIGIT_BLOCKS = [0xff10, 0x0660, 0x06f0, 0x0966, 0x09e6, 0x0e50, 0x1d7ce, 0x1d7ec] as const;
const SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹";

/** Letters that render like ASCII ones (Cyrillic, Greek, full-width). */
export const LOOKALIKE_LETTERS: Record<string, readonly string[]> = {
  a: ["а", "ɑ", "ａ"],
  c: ["с", "ϲ", "ｃ"],
  d: ["ԁ", "ｄ"],
  e: ["е", "ｅ"],
  h: ["һ", "ｈ"],
  i: ["і", "ı", "ｉ"],
  k: ["κ", "ｋ"],
  l: ["ӏ", "ｌ"],
  n: ["ո", "ｎ"],
  o: ["о", "ο", "ｏ", "0"],
  p: ["р", "ρ", "ｐ"],
  r: ["г", "ｒ"],
  s: ["ѕ", "ｓ"],
  t: ["т", "ｔ"],
  u: ["υ", "ս", "ｕ"],
  v: ["ν", "ｖ"],
  x: ["х", "ｘ"],
  y: ["у", "ｙ"],
  C: ["С", "Ϲ", "Ｃ"],
  P: ["Р", "Ρ", "Ｐ"],
  T: ["Т", "Τ", "Ｔ"],
  U: ["Ս", "Ｕ"],
};

/** Maps an ASCII digit string onto a look-alike digit system. */
function lookalikeDigits(digits: string, block: number): string {
  return [...digits].map((d) => (/[0-9]/.test(d) ? String.fromCodePoint(block + Number(d)) : d)).join("");
}

/** `word` with at least one character swapped for a look-alike (so it never equals `word`). */
export function lookalikeOf(word: string): fc.Arbitrary<string> {
  const positions = [...word].flatMap((ch, i) => (LOOKALIKE_LETTERS[ch] ? [i] : []));
  if (positions.length === 0) return fc.constant(`${word}\u200b`);
  return fc.tuple(fc.subarray(positions, { minLength: 1 }), fc.nat()).map(([swap, pick]) =>
    [...word]
      .map((ch, i) => {
        const options = LOOKALIKE_LETTERS[ch];
        return swap.includes(i) && options ? (options[pick % options.length] as string) : ch;
      })
      .join(""),
  );
}

/** `text` with invisible characters, Unicode spaces or direction marks inserted somewhere. */
export function withInvisibles(text: string): fc.Arbitrary<string> {
  return fc
    .array(fc.tuple(fc.nat({ max: text.length }), fc.constantFrom(...INVISIBLES, ...UNICODE_SPACES)), {
      minLength: 1,
      maxLength: 3,
    })
    .map((inserts) => {
      let out = text;
      for (const [at, ch] of inserts.sort((a, b) => b[0] - a[0])) out = out.slice(0, at) + ch + out.slice(at);
      return out;
    });
}

/** An ASCII digit string rendered in another digit system (full-width, Arabic-Indic, superscripts …). */
export function lookalikeNumber(digits: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...DIGIT_BLOCKS).map((block) => lookalikeDigits(digits, block)),
    fc.constant([...digits].map((d) => (/[0-9]/.test(d) ? SUPERSCRIPTS[Number(d)] : d)).join("")),
    // Only one digit swapped: the hardest to see.
    fc
      .tuple(fc.nat({ max: Math.max(0, digits.length - 1) }), fc.constantFrom(...DIGIT_BLOCKS))
      .map(([at, block]) => digits.slice(0, at) + lookalikeDigits(digits.charAt(at), block) + digits.slice(at + 1)),
  );
}

/** Numbers that break naive parsers, as raw JSON tokens (some are not valid JSON on purpose). */
export const NUMBER_TOKENS = [
  "0",
  "-0",
  "0.0",
  "-0.0",
  "0.1",
  "0.5",
  "1.5",
  "1.0",
  "1e3",
  "1E3",
  "1e-7",
  "5e-324",
  "1e308",
  "1e309",
  "-1e309",
  "1.7976931348623157e308",
  "9007199254740991",
  "9007199254740992",
  "9007199254740993",
  "-9007199254740993",
  "18446744073709551616",
  "123456789012345678901234567890",
  "2147483648",
  "-2147483649",
  "4294967296",
  "1000000000000",
  "1000000000001",
  "999999999999.5",
  "-1",
  "-5",
  "-1000000000001",
  // Not JSON: the parser must refuse these, not the handler.
  "NaN",
  "-NaN",
  "Infinity",
  "-Infinity",
  "0x10",
  "0o7",
  "0b1",
  "1_000",
  "+5",
  ".5",
  "5.",
  "01",
  "1e",
  "--1",
] as const;

/** JSON strings that look like numbers or are otherwise awkward. */
export const STRING_TOKENS = [
  '""',
  '" "',
  '"NaN"',
  '"Infinity"',
  '"1e309"',
  '"-0"',
  '"5"',
  '"500"',
  '"0x1F4"',
  '"1,000"',
  '"undefined"',
  '"null"',
  '"true"',
  '"__proto__"',
  '"constructor"',
  '"toString"',
  '"\\u0000"',
  '"\\ud800"',
  '"\\udfff\\ud800"',
  '"５００"',
  '"٥٠٠"',
  '"5\\u200b00"',
  '"\\u202e005"',
  '"<script>alert(1)</script>"',
  '"\'; DROP TABLE ledger; --"',
  '"=HYPERLINK(\\"http://x\\")"',
  '"%00"',
  '"../../etc/passwd"',
] as const;

export const OTHER_TOKENS = ["true", "false", "null", "[]", "{}", "[1]", '{"a":1}', '[""]', '{"__proto__":{"x":1}}'];

/** Any hostile JSON scalar or small value, as raw text. */
export const hostileToken: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NUMBER_TOKENS) },
  { weight: 2, arbitrary: fc.constantFrom(...STRING_TOKENS) },
  { weight: 1, arbitrary: fc.constantFrom(...OTHER_TOKENS) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.double().map((d) => (Number.isFinite(d) ? String(d) : "1e999")) },
  { weight: 1, arbitrary: fc.bigInt().map(String) },
  // A value nested thousands of levels deep, in place of a scalar.
  { weight: 1, arbitrary: fc.integer({ min: 50, max: 12_000 }).map((d) => `${"[".repeat(d)}${"]".repeat(d)}`) },
);

/** Raw JSON text of a random tree whose leaves are hostile tokens; keys include prototype names. */
export const hostileJson: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    hostileToken,
    fc.array(tie("value"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
    fc
      .array(
        fc.tuple(
          fc.oneof(
            fc.constantFrom("__proto__", "constructor", "prototype", "update_id", "message", "id", "type", "data"),
            fc.string({ maxLength: 12 }),
          ),
          tie("value"),
        ),
        { maxLength: 4 },
      )
      .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`),
  ),
})).value;

/** Nesting far deeper than any real body: `[[[[…]]]]`, `{"a":{"a":…}}`, unclosed or closed. */
export const deepNesting: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 100, max: 30_000 }), fc.constantFrom("array", "object"), fc.boolean())
  .map(([depth, kind, closed]) => {
    if (kind === "array") return "[".repeat(depth) + (closed ? "]".repeat(depth) : "");
    const d = Math.floor(depth / 5);
    return '{"a":'.repeat(d) + (closed ? `1${"}".repeat(d)}` : "");
  });

/** Bodies that straddle the 64 KB limit (as JSON with one long string). */
export const hugeBody: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: -64, max: 64 }), fc.constantFrom("x", "é", "€", "😀"))
  .map(([delta, ch]) => {
    const target = BODY_LIMIT + delta;
    const unit = new TextEncoder().encode(ch).length;
    const filler = ch.repeat(Math.max(0, Math.floor((target - 8) / unit)));
    return `{"x":"${filler}"}`;
  });

/** Text that is almost JSON: truncated, with comments, single quotes, trailing commas, BOMs, NULs. */
export const almostJson: fc.Arbitrary<string> = fc.oneof(
  fc.json().chain((j) => fc.nat({ max: Math.max(0, j.length - 1) }).map((n) => j.slice(0, n))),
  fc.constantFrom(
    "",
    " ",
    "\ufeff{}",
    "{'a':1}",
    '{"a":1,}',
    "[1,]",
    '{"a":1}/*x*/',
    '// c\n{"a":1}',
    '{"a":undefined}',
    '{"a":NaN}',
    "{a:1}",
    '{"a":1}{"a":2}',
    '{"a":1} x',
    "\u0000",
    '"\\ud800"',
    '{"a":"\\x41"}',
    '{"a":"\\u00"}',
    "null",
    "true",
    "0",
    "-0",
    "1e309",
    '"just a string"',
  ),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => String.fromCharCode(...bytes)),
);

/** Any hostile body: JSON or not, deep, huge, or just random. */
export const hostileBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: hostileJson },
  { weight: 3, arbitrary: almostJson },
  { weight: 2, arbitrary: fc.json() },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: hugeBody },
);

/** Content types a client might send instead of (or around) application/json. `null` means no header. */
export const contentType: fc.Arbitrary<string | null> = fc.constantFrom(
  null,
  "",
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/json;charset=latin1",
  "text/plain",
  "text/json",
  "application/jsonp",
  "application/json5",
  "application/vnd.api+json",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz",
  "application/xml",
  "*/*",
  "json",
);

export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"] as const;
export const method: fc.Arbitrary<(typeof METHODS)[number]> = fc.constantFrom(...METHODS);

/**
 * A header value fetch sends as is (printable ASCII: workerd would re-encode anything else as
 * UTF-8 with a warning, which real Telegram and Stripe never send), possibly very long.
 */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
  fc.integer({ min: 200, max: 10_000 }).map((n) => "A".repeat(n)),
);

/**
 * Does the body parse as JSON once decoded as UTF-8? (The oracle for "malformed JSON → 400".) Decoding
 * drops a leading byte order mark, as the Worker's `text()` does, so `\ufeff{}` is JSON.
 */
export function parsesAsJson(text: string): boolean {
  try {
    parseBody(text);
    return true;
  } catch {
    return false;
  }
}

/** The body as the Worker parses it: UTF-8 decoding drops a leading byte order mark. */
export function parseBody(text: string): unknown {
  return JSON.parse(text.replace(/^\ufeff/, ""));
}

export function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * A JSON object written field by field as raw text, so a mutation can put any token anywhere,
 * repeat a key or drop one.
 */
export type RawObject = [key: string, rawValue: string][];

export function rawText(fields: RawObject): string {
  return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
}

export type Mutation =
  | { kind: "replace"; key: string; token: string }
  | { kind: "drop"; key: string }
  | { kind: "extra"; key: string; token: string }
  | { kind: "duplicate"; key: string; token: string }
  | { kind: "rename"; key: string; to: string };

/** One random change to a valid body: a hostile value, a missing or unknown key, a repeated or disguised key. */
export function mutation(keys: readonly string[], tokenFor: (key: string) => fc.Arbitrary<string>) {
  const key = fc.constantFrom(...keys);
  return fc.oneof(
    {
      weight: 5,
      arbitrary: key.chain((k) => tokenFor(k).map((token): Mutation => ({ kind: "replace", key: k, token }))),
    },
    { weight: 1, arbitrary: key.map((k): Mutation => ({ kind: "drop", key: k })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.oneof(fc.constantFrom("__proto__", "constructor", "pad", "amount", "cost"), fc.string()),
          hostileToken,
        )
        .filter(([k]) => !keys.includes(k))
        .map(([k, token]): Mutation => ({ kind: "extra", key: k, token })),
    },
    {
      weight: 1,
      arbitrary: key.chain((k) => tokenFor(k).map((token): Mutation => ({ kind: "duplicate", key: k, token }))),
    },
    {
      weight: 1,
      arbitrary: key.chain((k) =>
        fc
          .oneof(lookalikeOf(k), withInvisibles(k), fc.constant(k.toUpperCase()), fc.constant(` ${k}`))
          .filter((to) => to !== k)
          .map((to): Mutation => ({ kind: "rename", key: k, to })),
      ),
    },
  );
}

export function applyMutations(fields: RawObject, mutations: readonly Mutation[]): RawObject {
  let out: RawObject = fields.map(([k, v]) => [k, v]);
  for (const m of mutations) {
    switch (m.kind) {
      case "replace":
        out = out.map(([k, v]) => [k, k === m.key ? m.token : v]);
        break;
      case "drop":
        out = out.filter(([k]) => k !== m.key);
        break;
      case "extra":
        out.push([m.key, m.token]);
        break;
      case "duplicate":
        out.push([m.key, m.token]);
        break;
      case "rename":
        out = out.map(([k, v]) => [k === m.key ? m.to : k, v]);
        break;
    }
  }
  return out;
}
