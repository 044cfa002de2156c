import { describe, expect, it } from "vitest";
import {
  decryptSecret,
  encryptSecret,
  importEncryptionKey,
  openSealed,
  randomToken,
  sameDigest,
  sha256Hex,
  timingSafeEqualStrings,
  tokenKeyring,
} from "../../src/crypto";

// "0123456789abcdef0123456789abcdef" and "fedcba9876543210fedcba9876543210", base64.
const KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const OTHER_KEY = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";

/** Flips one bit of the decoded bytes of a base64url segment, keeping it valid base64url. */
function flipBit(segment: string, byteIndex: number): string {
  const binary = atob(
    segment
      .replaceAll("-", "+")
      .replaceAll("_", "/")
      .padEnd(Math.ceil(segment.length / 4) * 4, "="),
  );
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  bytes[byteIndex] = (bytes[byteIndex] ?? 0) ^ 1;
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

describe("sha256Hex", () => {
  it("matches known digests", async () => {
    expect(await sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await sha256Hex("kolik mám kreditů?")).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("randomToken", () => {
  it("is URL-safe base64 without padding, usable as a Telegram secret_token", () => {
    for (let i = 0; i < 200; i++) {
      const token = randomToken();
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
    expect(randomToken(16)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(randomToken(1)).toMatch(/^[A-Za-z0-9_-]{2}$/);
  });

  it("does not repeat", () => {
    const seen = new Set(Array.from({ length: 500 }, () => randomToken()));
    expect(seen.size).toBe(500);
  });

  it("refuses impossible sizes", () => {
    for (const bad of [0, -1, 1.5, 65_537, Number.NaN]) expect(() => randomToken(bad)).toThrow(RangeError);
  });
});

describe("sameDigest", () => {
  it("accepts only the same digest, whichever character differs", async () => {
    const digest = await sha256Hex("key_one");
    expect(sameDigest(digest, digest)).toBe(true);
    expect(sameDigest(digest, await sha256Hex("key_two"))).toBe(false);
    for (const at of [0, 31, 63]) {
      const flipped = digest.slice(0, at) + (digest[at] === "0" ? "1" : "0") + digest.slice(at + 1);
      expect(sameDigest(digest, flipped)).toBe(false);
    }
    expect(sameDigest(digest, digest.slice(0, 63))).toBe(false);
    expect(sameDigest(digest, "")).toBe(false);
  });
});

describe("timingSafeEqualStrings", () => {
  it("tells equal from unequal strings of any length", async () => {
    expect(await timingSafeEqualStrings("secret", "secret")).toBe(true);
    expect(await timingSafeEqualStrings("", "")).toBe(true);
    expect(await timingSafeEqualStrings("secret", "Secret")).toBe(false);
    expect(await timingSafeEqualStrings("secret", "secret ")).toBe(false);
    expect(await timingSafeEqualStrings("secret", "")).toBe(false);
    expect(await timingSafeEqualStrings("a".repeat(10_000), "a".repeat(10_000))).toBe(true);
    expect(await timingSafeEqualStrings("é", "e\u0301")).toBe(false);
  });
});

describe("AES-GCM secrets", () => {
  it("round-trips, with a fresh IV every time", async () => {
    const key = await importEncryptionKey(KEY);
    const plaintext = "123456:AAE-bot-token_with unicode ✓";
    const a = await encryptSecret(key, plaintext);
    const b = await encryptSecret(key, plaintext);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("bot-token");
    expect(await decryptSecret(key, a)).toBe(plaintext);
    expect(await decryptSecret(key, b)).toBe(plaintext);
    expect(await decryptSecret(key, await encryptSecret(key, ""))).toBe("");
  });

  it("detects tampering with the ciphertext, tag or IV", async () => {
    const key = await importEncryptionKey(KEY);
    const sealed = await encryptSecret(key, "a secret bot token");
    const [version, iv, ciphertext] = sealed.split(".") as [string, string, string];
    const ciphertextBytes = Math.floor((ciphertext.length * 3) / 4);
    const tampered = [
      `${version}.${iv}.${flipBit(ciphertext, 0)}`,
      `${version}.${iv}.${flipBit(ciphertext, ciphertextBytes - 1)}`,
      `${version}.${flipBit(iv, 0)}.${ciphertext}`,
    ];
    for (const bad of tampered) await expect(decryptSecret(key, bad)).rejects.toThrow("failed authentication");
  });

  it("rejects malformed sealed values", async () => {
    const key = await importEncryptionKey(KEY);
    const sealed = await encryptSecret(key, "x");
    const [, iv, ciphertext] = sealed.split(".") as [string, string, string];
    for (const bad of [
      "",
      "v1",
      "v1.x.y",
      `v2.${iv}.${ciphertext}`,
      `${sealed}.extra`,
      `v1.${iv}.${ciphertext.slice(0, 10)}`,
      `v1.${iv}.${ciphertext}+`,
      `v1.${iv}AA.${ciphertext}`,
    ]) {
      await expect(decryptSecret(key, bad)).rejects.toThrow(Error);
    }
  });

  it("fails with the wrong key", async () => {
    const sealed = await encryptSecret(await importEncryptionKey(KEY), "a secret bot token");
    await expect(decryptSecret(await importEncryptionKey(OTHER_KEY), sealed)).rejects.toThrow("failed authentication");
  });

  it("refuses keys that are not 32 bytes of base64, without echoing them", async () => {
    const bad = [
      "",
      "not base64 !!!",
      btoa("too short"),
      btoa("x".repeat(33)),
      `${KEY}%`,
      "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNk",
    ];
    for (const value of bad) {
      const error = await importEncryptionKey(value).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe("TOKEN_ENCRYPTION_KEY must be 32 bytes of base64");
    }
  });

  it("keys cannot be exported", async () => {
    const key = await importEncryptionKey(KEY);
    expect(key.extractable).toBe(false);
    await expect(crypto.subtle.exportKey("raw", key)).rejects.toThrow();
  });
});

describe("rotating the token key", () => {
  const PREVIOUS = "OTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTBmZWRjYmE=";
  const OTHER = "YWJjZGVmYWJjZGVmYWJjZGVmYWJjZGVmYWJjZGVmYWI=";

  it("opens with the current key first, then the previous one, and says which", async () => {
    const [current, previous] = await tokenKeyring({
      TOKEN_ENCRYPTION_KEY: KEY,
      TOKEN_ENCRYPTION_KEY_PREVIOUS: PREVIOUS,
    });
    if (!current || !previous) throw new Error("two keys expected");
    const keys = [current, previous];
    expect(await openSealed(keys, await encryptSecret(current, "now"))).toEqual({ plaintext: "now", keyIndex: 0 });
    expect(await openSealed(keys, await encryptSecret(previous, "before"))).toEqual({
      plaintext: "before",
      keyIndex: 1,
    });
    // Without the previous key, a value it sealed does not open; nor does one of an unknown key.
    await expect(openSealed([current], await encryptSecret(previous, "before"))).rejects.toThrow(
      "failed authentication",
    );
    const other = await importEncryptionKey(OTHER);
    await expect(openSealed(keys, await encryptSecret(other, "x"))).rejects.toThrow("failed authentication");
    await expect(openSealed(keys, "v1.not.sealed")).rejects.toThrow("malformed");
  });

  it("has one key when no previous one is set (or it is blank or malformed, which is reported)", async () => {
    expect(await tokenKeyring({ TOKEN_ENCRYPTION_KEY: KEY })).toHaveLength(1);
    expect(await tokenKeyring({ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_ENCRYPTION_KEY_PREVIOUS: "  " })).toHaveLength(1);
    const reported: string[] = [];
    const keys = await tokenKeyring({ TOKEN_ENCRYPTION_KEY: KEY, TOKEN_ENCRYPTION_KEY_PREVIOUS: "c2hvcnQ=" }, (m) =>
      reported.push(m),
    );
    expect(keys).toHaveLength(1);
    expect(reported).toEqual(["TOKEN_ENCRYPTION_KEY_PREVIOUS must be 32 bytes of base64"]);
    // The current key still opens what it sealed.
    const [current] = keys;
    if (!current) throw new Error("no key");
    expect(await openSealed(keys, await encryptSecret(current, "t"))).toEqual({ plaintext: "t", keyIndex: 0 });
    await expect(tokenKeyring({ TOKEN_ENCRYPTION_KEY: "c2hvcnQ=" })).rejects.toThrow("TOKEN_ENCRYPTION_KEY must be");
  });
});
