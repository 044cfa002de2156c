/**
 * Small Web Crypto helpers. Only `globalThis.crypto` is used so the same code runs in workerd and in Node.
 */

const encoder = new TextEncoder();

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Strict decoder: anything outside the URL-safe alphabet is rejected rather than silently skipped. */
function fromBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const padded = text
    .replaceAll("-", "+")
    .replaceAll("_", "/")
    .padEnd(Math.ceil(text.length / 4) * 4, "=");
  return fromBinaryString(atob(padded));
}

function fromBinaryString(binary: string): Uint8Array {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return toHex(new Uint8Array(digest));
}

/** URL-safe base64 without padding: valid as a Telegram `secret_token` (1–256 chars of A-Z a-z 0-9 _ -). */
export function randomToken(bytes = 32): string {
  // getRandomValues refuses more than 65536 bytes per call.
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 65_536) {
    throw new RangeError("randomToken needs between 1 and 65536 bytes");
  }
  return toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/**
 * Compares two secrets without leaking where they differ or how long they are: both sides are hashed to
 * fixed-size digests first, and the digests are compared in constant time.
 */
export async function timingSafeEqualStrings(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([sha256Hex(a), sha256Hex(b)]);
  return sameDigest(x, y);
}

/**
 * Constant-time comparison of two hex digests (say a stored key hash and a presented one): every
 * character is visited whatever the contents. Sync, so it fits inside a Durable Object transaction; plain
 * JS because it runs on every debit, where encoding both strings for `crypto.subtle.timingSafeEqual` cost
 * more than the rest of the authorization (about 8% of a debit's CPU in the benchmark).
 */
export function sameDigest(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

const SEALED_VERSION = "v1";
const IV_BYTES = 12;
const GCM_TAG_BYTES = 16;

/** Imports the AES-256-GCM key. Errors never include the value: it is a secret. */
export async function importEncryptionKey(base64Key: string, name = "TOKEN_ENCRYPTION_KEY"): Promise<CryptoKey> {
  const invalid = `${name} must be 32 bytes of base64`;
  let raw: Uint8Array;
  try {
    raw = fromBinaryString(atob(base64Key.trim()));
  } catch {
    throw new Error(invalid);
  }
  if (raw.length !== 32) throw new Error(invalid);
  return crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

/** Seals a secret as `v1.<iv>.<ciphertext+tag>`; the version prefix leaves room to rotate the scheme. */
export async function encryptSecret(key: CryptoKey, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, encoder.encode(plaintext));
  return `${SEALED_VERSION}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ciphertext))}`;
}

/** Opens a value from `encryptSecret`. GCM authentication makes any tampering or a wrong key throw. */
export async function decryptSecret(key: CryptoKey, sealed: string): Promise<string> {
  const parts = sealed.split(".");
  const iv = parts.length === 3 && parts[0] === SEALED_VERSION ? fromBase64Url(parts[1] ?? "") : undefined;
  const ciphertext = iv ? fromBase64Url(parts[2] ?? "") : undefined;
  if (!iv || iv.length !== IV_BYTES || !ciphertext || ciphertext.length < GCM_TAG_BYTES) {
    throw new Error("Sealed secret is malformed");
  }
  let plaintext: ArrayBuffer;
  try {
    plaintext = await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, ciphertext);
  } catch {
    // The underlying error says nothing useful and may differ between runtimes; keep one clear message.
    throw new Error("Sealed secret failed authentication (tampered or wrong key)");
  }
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(plaintext);
}

/**
 * The keys bot tokens are sealed with: `TOKEN_ENCRYPTION_KEY` seals and opens; while it is being rotated,
 * `TOKEN_ENCRYPTION_KEY_PREVIOUS` (optional) still opens what was sealed before (docs/deploy.md, rotation).
 */
export interface TokenKeySecrets {
  TOKEN_ENCRYPTION_KEY: string;
  TOKEN_ENCRYPTION_KEY_PREVIOUS?: string;
}

/**
 * A malformed previous key is left out (and reported through `onInvalidPrevious`, without its value):
 * a typo made while rotating must not stop the tokens sealed with the current key from opening.
 */
export async function tokenKeyring(
  secrets: TokenKeySecrets,
  onInvalidPrevious: (message: string) => void = () => {},
): Promise<CryptoKey[]> {
  const previous = secrets.TOKEN_ENCRYPTION_KEY_PREVIOUS?.trim();
  const current = await importEncryptionKey(secrets.TOKEN_ENCRYPTION_KEY);
  if (!previous) return [current];
  try {
    return [current, await importEncryptionKey(previous, "TOKEN_ENCRYPTION_KEY_PREVIOUS")];
  } catch (error) {
    onInvalidPrevious(error instanceof Error ? error.message : "TOKEN_ENCRYPTION_KEY_PREVIOUS is invalid");
    return [current];
  }
}

/**
 * Opens a sealed value with the first key that authenticates it (AES-GCM's tag makes trying safe: a wrong
 * key fails, it never yields garbage). `keyIndex` > 0 means the value should be sealed again with `keys[0]`.
 */
export async function openSealed(
  keys: readonly CryptoKey[],
  sealed: string,
): Promise<{ plaintext: string; keyIndex: number }> {
  let failure: unknown = new Error("No key to open the sealed secret with");
  for (const [keyIndex, key] of keys.entries()) {
    try {
      return { plaintext: await decryptSecret(key, sealed), keyIndex };
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}
