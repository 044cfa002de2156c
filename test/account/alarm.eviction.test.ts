import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { provision, stub, USD } from "../helpers";

const internal = { kind: "internal" } as const;

const alarmOf = (id: string) => runInDurableObject(stub(id), (_i, state) => state.storage.getAlarm());

describe("the object's alarm", () => {
  // Found by the fault simulation (seed 20261206, sequence 169): an eviction while a recharge step was in
  // flight made the step's `setAlarm` fail; the next object found the step due and no alarm, and nothing
  // drove it until the hourly cron. Any lost alarm is the same bug: the object re-arms due work when it starts.
  it("is armed again when the object starts and finds work with no alarm", async () => {
    const inst = await provision();
    const held = await stub(inst.id).hold(internal, {
      idempotencyKey: "h1",
      operation: "response",
      maxCostMicros: USD,
      ttlMs: 60_000,
      fingerprint: "h1",
    });
    expect(held.ok).toBe(true);
    if (!held.ok) return;
    // The alarm is lost (a failed setAlarm, an eviction before it was written).
    await runInDurableObject(stub(inst.id), (_i, state) => state.storage.deleteAlarm());
    expect(await alarmOf(inst.id)).toBeNull();
    await abortAllDurableObjects();
    // Any request starts the object again.
    expect((await stub(inst.id).status()).ok).toBe(true);
    const alarm = await alarmOf(inst.id);
    expect(alarm).not.toBeNull();
    expect(alarm).toBeLessThanOrEqual(held.expiresAt);
  });

  it("is left alone when the object starts with nothing to do", async () => {
    const inst = await provision();
    await runInDurableObject(stub(inst.id), async (instance, state) => {
      await instance.alarm(); // the history copy of provisioning, done
      await state.storage.deleteAlarm();
    });
    await abortAllDurableObjects();
    expect((await stub(inst.id).status()).ok).toBe(true);
    expect(await alarmOf(inst.id)).toBeNull();
  });
});
