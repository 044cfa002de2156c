import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";
it("reaches the stand-in", async () => {
  const r = await SELF.fetch("https://x/");
  expect(await r.text()).toContain("getMe");
});
