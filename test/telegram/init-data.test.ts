import { describe, expect, it } from "vitest";
import { verifyInitData } from "../../src/telegram/init-data";

/**
 * A signed `initData` published with its (revoked, example) bot token by the Telegram Mini Apps documentation
 * (docs.telegram-mini-apps.com, "Init data" → validation; the same vector is used by the tma.js libraries). It is
 * not produced by our stand-in's signer, so a misreading of Telegram's algorithm shared by our signer and our
 * check cannot make this test pass.
 */
const VECTOR = {
  token: "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8",
  initData:
    "query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%22%2C" +
    "%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C" +
    "%22is_premium%22%3Atrue%7D&auth_date=1662771648&hash=c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2",
  signedAt: 1662771648 * 1000,
};

describe("initData against a vector signed outside this project", () => {
  it("accepts the published initData with its token, and names its user", async () => {
    expect(await verifyInitData(VECTOR.initData, VECTOR.token, VECTOR.signedAt + 60_000)).toEqual({
      ok: true,
      userId: 279058397,
      authDate: 1662771648,
    });
  });

  it("refuses it with another bot's token, with one changed field, and an hour and more later", async () => {
    const otherBot = "5768337692:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8";
    expect(await verifyInitData(VECTOR.initData, otherBot, VECTOR.signedAt)).toMatchObject({
      ok: false,
      why: "bad_hash",
    });
    const changed = VECTOR.initData.replace("279058397", "279058398");
    expect(await verifyInitData(changed, VECTOR.token, VECTOR.signedAt)).toMatchObject({ ok: false, why: "bad_hash" });
    const later = VECTOR.signedAt + 60 * 60_000 + 1_000;
    expect(await verifyInitData(VECTOR.initData, VECTOR.token, later)).toMatchObject({ ok: false, why: "stale" });
  });
});
