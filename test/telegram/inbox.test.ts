import { describe, expect, it } from "vitest";
import { provision } from "../helpers";
import { deliver, privateText, waitForMessages } from "./fixtures";

const OWNER = 4242001;

describe("the inbox", () => {
  it("the owner's /balance is answered within a second while nine clients' answers wait on a 6 s model", async () => {
    const inst = await provision({ ownerTelegramId: OWNER, license: "pro" });
    const clients = Array.from({ length: 9 }, (_, i) => 9700 + i);
    for (const id of clients) await deliver(inst, privateText({ id }, "[[delay:6000]] What do you offer?"));
    const asked = Date.now();
    await deliver(inst, privateText({ id: OWNER, first_name: "Olga" }, "/balance"));
    const [reply] = await waitForMessages(inst.botToken, OWNER, 1);
    const waited = Date.now() - asked;
    expect(reply?.text).toMatch(/\$200\.00/);
    expect(waited).toBeLessThan(1_000);
    // The clients are answered too: eight at once, the ninth as soon as a slot frees.
    for (const id of clients) await waitForMessages(inst.botToken, id, 1);
  }, 40_000);
});
