import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Completion } from "../../src/ai/model";
import { encryptSecret, importEncryptionKey, sha256Hex } from "../../src/crypto";
import { ADMIN, api, type Provisioned, provision, stub, USD } from "../helpers";
import {
  deliver,
  modelRequests,
  privateText,
  sentMessages,
  settle,
  spentToday,
  waitForMessages,
  webhookSecret,
} from "./fixtures";

/**
 * The model's wait outside the object (docs/telegram.md, "The model's wait"): a client's question is leased to the
 * webhook's Worker, which asks the model and delivers the answer under the lease; the object settles and sends it.
 * The lease is a guarded transition: one delivery per job, none after the object took the job back, and a
 * Worker that never comes back costs a late answer, never a lost or doubled one.
 */

const OWNER = 4242077;
const client = (id: number) => ({ id, first_name: `Client${id}` });

interface UpdateRow {
  model_lease: string | null;
  model_lease_until: number | null;
  model_completion: string | null;
  status: string;
  attempts: number;
}

function row(inst: Provisioned, updateId: number): Promise<UpdateRow | undefined> {
  return runInDurableObject(
    stub(inst.id),
    (_i, state) =>
      state.storage.sql
        .exec<UpdateRow & Record<string, SqlStorageValue>>(
          "SELECT model_lease, model_lease_until, model_completion, status, attempts FROM telegram_updates WHERE update_id = ?",
          updateId,
        )
        .toArray()
        .map((r) => ({ ...r }))[0],
  );
}

async function settles(inst: Provisioned) {
  const res = await api(`/admin/instances/${inst.id}/ledger?limit=1000`, { headers: ADMIN });
  return (res.json.entries as { kind: string; amountMicros: number }[]).filter((e) => e.kind === "hold_settle");
}

async function balanceOf(inst: Provisioned) {
  const res = await api(`/v1/instances/${inst.id}/balance`, { headers: inst.auth });
  return res.json as { balanceMicros: number; availableMicros: number };
}

/** The webhook's call into the object, without the Worker that would take the model call: the Worker is gone. */
async function receiveOnly(inst: Provisioned, update: { update_id: number }) {
  const secretHash = await sha256Hex(await webhookSecret(inst.botToken));
  return stub(inst.id).receiveUpdate(secretHash, JSON.stringify(update));
}

const answerOf = (text: string, inputTokens = 1000, outputTokens = 300): Completion => ({
  ok: true,
  text,
  inputTokens,
  outputTokens,
  toolCalls: [],
  malformedToolCalls: 0,
});

describe("the model's wait outside the object", () => {
  it("the Worker asks the model under a lease while the hold is taken; the object settles and sends what it delivered", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const update = privateText(client(801), `[[delay:1500]] outside ${inst.id}`);
    await deliver(inst, update);
    await settle(500);
    // At the model: the job is leased to the Worker, the worst case held, nothing charged, nothing sent.
    const during = await row(inst, update.update_id);
    expect(during?.model_lease).toMatch(/^[0-9a-f-]{36}$/);
    expect(during?.model_lease_until).toBeGreaterThan(Date.now());
    expect(during?.attempts).toBe(0); // a lease is not one of the object's attempts
    const held = await balanceOf(inst);
    expect(held.availableMicros).toBeLessThan(held.balanceMicros);
    expect(await settles(inst)).toHaveLength(0);
    const [reply] = await waitForMessages(inst.botToken, 801, 1);
    expect(reply?.text).toContain(`outside ${inst.id}`);
    // Delivered under the lease (long before it could run out): the lease ended with the job, one run of the
    // object's, the delivered answer not kept beside the stored one; the model was asked once, by the Worker.
    expect(Date.now()).toBeLessThan(during?.model_lease_until ?? 0);
    const after = await row(inst, update.update_id);
    expect(after).toEqual({
      model_lease: null,
      model_lease_until: null,
      model_completion: null,
      status: "done",
      attempts: 1,
    });
    const [request] = await modelRequests(`outside ${inst.id}`);
    if (!request) throw new Error("model was not called");
    const { prompt_tokens, completion_tokens } = request.response.usage;
    const expected = Math.ceil(prompt_tokens * 0.15 + completion_tokens * 0.6);
    expect((await settles(inst)).map((e) => e.amountMicros)).toEqual([-expected]);
    expect(await balanceOf(inst)).toMatchObject({
      balanceMicros: 50 * USD - expected,
      availableMicros: 50 * USD - expected,
    });
    expect(await modelRequests(`outside ${inst.id}`)).toHaveLength(1);
  });

  it("a Worker that never comes back: the object takes the job back when the lease runs out, answers once; the late delivery is refused", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const update = privateText(client(802), `[[delay:1000]] abandoned ${inst.id}`);
    const { status, modelCall } = await receiveOnly(inst, update);
    expect(status).toBe(200);
    if (!modelCall) throw new Error("a client's question with credits is leased");
    expect(modelCall.ask.userText).toBe(`[[delay:1000]] abandoned ${inst.id}`);
    // Before the lease runs out the object leaves the job alone, even when its alarm runs.
    await runDurableObjectAlarm(stub(inst.id));
    await settle(300);
    expect(await sentMessages(inst.botToken, 802)).toHaveLength(0);
    expect(await modelRequests(`abandoned ${inst.id}`)).toHaveLength(0);
    // The lease runs out: the next run takes the job back and asks the model itself.
    await runInDurableObject(stub(inst.id), (_i, state) => {
      state.storage.sql.exec(
        "UPDATE telegram_updates SET model_lease_until = ? WHERE update_id = ?",
        1,
        update.update_id,
      );
    });
    const takenBack = runDurableObjectAlarm(stub(inst.id));
    // While the object waits on its own model call, the Worker comes back late with its answer: refused.
    await settle(300);
    expect(await row(inst, update.update_id)).toMatchObject({ model_lease: null, status: "pending", attempts: 1 });
    const late = await stub(inst.id).modelAnswered(update.update_id, modelCall.lease, answerOf("a late answer"));
    expect(late).toEqual({ accepted: false });
    await takenBack;
    const [reply] = await waitForMessages(inst.botToken, 802, 1);
    expect(reply?.text).toContain(`abandoned ${inst.id}`);
    expect(await modelRequests(`abandoned ${inst.id}`)).toHaveLength(1);
    expect(await row(inst, update.update_id)).toMatchObject({ model_completion: null, status: "done" });
    // After the job is done a delivery is refused too; nothing sent or charged again.
    expect(await stub(inst.id).modelAnswered(update.update_id, modelCall.lease, answerOf("later still"))).toEqual({
      accepted: false,
    });
    await settle(300);
    expect(await sentMessages(inst.botToken, 802)).toHaveLength(1);
    expect(await settles(inst)).toHaveLength(1);
    const balance = await balanceOf(inst);
    expect(balance.availableMicros).toBe(balance.balanceMicros);
  });

  it("a lease delivers once: a second delivery, or one under another lease, is refused", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const update = privateText(client(803), `twice ${inst.id}`);
    const { modelCall } = await receiveOnly(inst, update);
    if (!modelCall) throw new Error("not leased");
    const forged = await stub(inst.id).modelAnswered(update.update_id, crypto.randomUUID(), answerOf("forged"));
    expect(forged).toEqual({ accepted: false });
    // Two deliveries at once (their order is the runtime's): exactly one is taken, and it is the one answered.
    const [first, second] = await Promise.all([
      stub(inst.id).modelAnswered(update.update_id, modelCall.lease, answerOf("first answer", 1000, 300)),
      stub(inst.id).modelAnswered(update.update_id, modelCall.lease, answerOf("second answer", 2000, 500)),
    ]);
    expect([first?.accepted, second?.accepted].filter(Boolean)).toHaveLength(1);
    const [reply] = await waitForMessages(inst.botToken, 803, 1);
    expect(reply?.text).toBe(first?.accepted ? "first answer" : "second answer");
    await settle(300);
    expect(await sentMessages(inst.botToken, 803)).toHaveLength(1);
    // gpt-4o-mini: 1,000 input and 300 output tokens are 150 + 180 micro-USD; 2,000 and 500 are 300 + 300.
    expect((await settles(inst)).map((e) => e.amountMicros)).toEqual([first?.accepted ? -330 : -600]);
    expect(await modelRequests(`twice ${inst.id}`)).toHaveLength(0);
  });

  it("the Worker gives the job back (its time ran out): the object asks the model with its own timeout", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const update = privateText(client(804), `given back ${inst.id}`);
    const { modelCall } = await receiveOnly(inst, update);
    if (!modelCall) throw new Error("not leased");
    expect(await stub(inst.id).modelAnswered(update.update_id, modelCall.lease, null)).toEqual({ accepted: true });
    const [reply] = await waitForMessages(inst.botToken, 804, 1);
    expect(reply?.text).toContain(`given back ${inst.id}`);
    expect(await modelRequests(`given back ${inst.id}`)).toHaveLength(1);
    expect(await settles(inst)).toHaveLength(1);
  });

  it("a model failure delivered by the Worker: the client is told to try again, the hold is released, nothing charged", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const update = privateText(client(805), `fails ${inst.id}`);
    const { modelCall } = await receiveOnly(inst, update);
    if (!modelCall) throw new Error("not leased");
    const failed: Completion = { ok: false, reason: "unavailable", status: 503 };
    expect(await stub(inst.id).modelAnswered(update.update_id, modelCall.lease, failed)).toEqual({ accepted: true });
    const [reply] = await waitForMessages(inst.botToken, 805, 1);
    expect(reply?.text).toMatch(/try again/i);
    await settle(300);
    expect(await settles(inst)).toHaveLength(0);
    expect(await balanceOf(inst)).toMatchObject({ balanceMicros: 50 * USD, availableMicros: 50 * USD });
  });

  it("questions the checks stop are never leased: out of credits, over the client's daily limit, the owner's own", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    // The owner's messages run in the object (their language, the welcome, the balance tool).
    expect(
      (await receiveOnly(inst, privateText({ id: OWNER, first_name: "Olga" }, "Write me a haiku"))).modelCall,
    ).toBe(undefined);
    // A client over the daily limit: told so by the object, the model never asked.
    await spentToday(inst, "806", USD);
    expect((await receiveOnly(inst, privateText(client(806), `limit ${inst.id}`))).modelCall).toBe(undefined);
    await waitForMessages(inst.botToken, 806, 1);
    // Out of credits: no lease, no model call; the object counts the message and tells the owner.
    await api(`/admin/instances/${inst.id}/adjustments`, {
      method: "POST",
      headers: ADMIN,
      body: { idempotencyKey: "empty", amountMicros: -50 * USD, reason: "test: empty the account" },
    });
    expect((await receiveOnly(inst, privateText(client(807), `empty ${inst.id}`))).modelCall).toBe(undefined);
    await settle(500);
    expect(await modelRequests(`limit ${inst.id}`)).toHaveLength(0);
    expect(await modelRequests(`empty ${inst.id}`)).toHaveLength(0);
    expect(await sentMessages(inst.botToken, 807)).toHaveLength(0);
  });
  it("a given-back job whose client reached the daily limit meanwhile is still answered: its hold passed the limit", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const update = privateText(client(808), `limit meanwhile ${inst.id}`);
    const { modelCall } = await receiveOnly(inst, update);
    if (!modelCall) throw new Error("not leased");
    // Another answer of this client settles meanwhile and takes them to the limit.
    await spentToday(inst, "808", USD);
    expect(await stub(inst.id).modelAnswered(update.update_id, modelCall.lease, null)).toEqual({ accepted: true });
    const [reply] = await waitForMessages(inst.botToken, 808, 1);
    expect(reply?.text).toContain(`limit meanwhile ${inst.id}`);
    expect(await settles(inst)).toHaveLength(1);
    const balance = await balanceOf(inst);
    expect(balance.availableMicros).toBe(balance.balanceMicros); // no hold left open
  });

  it("the daily limit counts a client's answers in flight: a burst is not leased past it", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const first = await receiveOnly(inst, privateText(client(809), `burst 1 ${inst.id}`));
    if (!first.modelCall) throw new Error("not leased");
    const oneAnswer = await runInDurableObject(
      stub(inst.id),
      (_i, state) => state.storage.sql.exec<{ held: number }>("SELECT held_micros AS held FROM account").one().held,
    );
    // The owner's limit per client: two answers' worst case and a half.
    await runInDurableObject(stub(inst.id), (_i, state) => {
      state.storage.sql.exec("UPDATE account SET client_limit_micros = ?", Math.floor(oneAnswer * 2.5));
    });
    const second = await receiveOnly(inst, privateText(client(809), `burst 2 ${inst.id}`));
    const third = await receiveOnly(inst, privateText(client(809), `burst 3 ${inst.id}`));
    expect(second.modelCall).toBeDefined();
    // Two answers in flight: a third would pass the limit if both cost their worst case. The object says so.
    expect(third.modelCall).toBeUndefined();
    const [reply] = await waitForMessages(inst.botToken, 809, 1);
    expect(reply?.text).not.toContain("burst");
    expect(await modelRequests(`burst 3 ${inst.id}`)).toHaveLength(0);
  });

  it("a hold taken at arrival lives on for the object's own run when the job is given back", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const update = privateText(client(810), `[[delay:500]] long wait ${inst.id}`);
    const { modelCall } = await receiveOnly(inst, update);
    if (!modelCall) throw new Error("not leased");
    // The job waited in the object's queue: its hold is a second from expiring when its run starts.
    await runInDurableObject(stub(inst.id), (_i, state) => {
      state.storage.sql.exec("UPDATE holds SET expires_at = ? WHERE status = 'open'", Date.now() + 1_000);
    });
    expect(await stub(inst.id).modelAnswered(update.update_id, modelCall.lease, null)).toEqual({ accepted: true });
    await settle(200);
    const expiresAt = await runInDurableObject(
      stub(inst.id),
      (_i, state) =>
        state.storage.sql.exec<{ at: number }>("SELECT expires_at AS at FROM holds WHERE status = 'open'").one().at,
    );
    expect(expiresAt).toBeGreaterThan(Date.now() + 4 * 60_000);
    await waitForMessages(inst.botToken, 810, 1);
    expect(await settles(inst)).toHaveLength(1);
  });

  it("the object takes a job back when its lease runs out, not a safety delay later", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const update = privateText(client(811), `lease end ${inst.id}`);
    const { modelCall } = await receiveOnly(inst, update);
    if (!modelCall) throw new Error("not leased");
    const leaseEnd = Date.now() + 5_000;
    await runInDurableObject(stub(inst.id), (_i, state) => {
      state.storage.sql.exec(
        "UPDATE telegram_updates SET model_lease_until = ? WHERE update_id = ?",
        leaseEnd,
        update.update_id,
      );
    });
    await runDurableObjectAlarm(stub(inst.id));
    const alarm = await runInDurableObject(stub(inst.id), (_i, state) => state.storage.getAlarm());
    expect(alarm).toBe(leaseEnd);
  });
  it("a job that gives up before its answer is settled gives its hold back at once", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const update = privateText(client(812), `gives up ${inst.id}`);
    const { modelCall } = await receiveOnly(inst, update);
    if (!modelCall) throw new Error("not leased");
    // The bot token can no longer be opened (sealed with a key this deployment does not have), and the job is
    // on its last attempt: the object's run fails before it settles, and gives up.
    const status = await stub(inst.id).status();
    if (!status.ok || status.botId === null || status.botUsername === null) throw new Error("no bot");
    const unknownKey = await importEncryptionKey("YWJjZGVmYWJjZGVmYWJjZGVmYWJjZGVmYWJjZGVmYWI=");
    const replaced = await stub(inst.id).replaceBotCredentials({
      botTokenSealed: await encryptSecret(unknownKey, inst.botToken),
      webhookSecretHash: await sha256Hex(await webhookSecret(inst.botToken)),
      botId: status.botId,
      botUsername: status.botUsername,
    });
    expect(replaced.ok).toBe(true);
    await runInDurableObject(stub(inst.id), (_i, state) => {
      state.storage.sql.exec("UPDATE telegram_updates SET attempts = 4 WHERE update_id = ?", update.update_id);
    });
    const before = await balanceOf(inst);
    expect(before.availableMicros).toBeLessThan(before.balanceMicros);
    expect(await stub(inst.id).modelAnswered(update.update_id, modelCall.lease, answerOf("never sent"))).toEqual({
      accepted: true,
    });
    await settle(500);
    expect(await row(inst, update.update_id)).toMatchObject({ status: "done", attempts: 5 });
    expect(await settles(inst)).toHaveLength(0);
    expect(await balanceOf(inst)).toMatchObject({ balanceMicros: 50 * USD, availableMicros: 50 * USD });
  });
});
