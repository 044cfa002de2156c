import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { faultBudget } from "./budget";
import { Cron, type Model, setUpWorld, setupArbitrary, stepArbitrary } from "./commands";
import { checkAll, checkSettled } from "./invariants";
import { Violation, type World } from "./world";

/**
 * Seeded fault injection (issue 8): random sequences of debits, holds, owner commands, Stripe deliveries
 * (duplicated, delayed, reordered, dropped), Stripe API faults at every recharge step (commit-then-error
 * ones too, and late answers held back while the webhooks credit), card behaviours, disputes won and lost,
 * Checkout sessions expiring, evictions at quiet points and with work in flight, alarm re-runs and cron
 * runs, with the invariants of docs/invariants.md (money per invoice included) checked against the real
 * state after every step and once more when everything has been delivered and driven to rest.
 *
 * Evictions reset every object of the runtime, hence `*.eviction.test.ts` (its own pass in `npm test`).
 * A failure prints its seed, the shrunk sequence and the one command that replays it.
 */

const budget = faultBudget();
const seed = budget.seed ?? (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;

/** Everything queued is delivered, every step driven, history flushed, cron reconciles: then nothing may be lost. */
async function drain(world: World): Promise<void> {
  world.trace.push("drain: deliver everything queued, drive recharges to rest, cron, flush history");
  world.phase = "drain: ";
  for (let round = 0; round < 3; round++) {
    await world.relay.deliverAll();
    await world.settleDown();
  }
  await world.quiesce();
  world.last = await world.snapshot();
  await new Cron("next_hour", 30).run({}, world);
  await world.relay.deliverAll();
  await world.settleDown();
  await world.quiesce();
  const settled = await world.snapshot();
  const alarmProblem = checkAll(settled, world);
  if (alarmProblem && settled.recharges.some((r) => r.status === "pending")) {
    throw new Violation("I12 alarm armed", alarmProblem);
  }
  checkSettled(settled, world);
  world.last = settled;
}

/** What a finished sequence reached, for the coverage line of the report. */
function outcomes(world: World): void {
  const s = world.last;
  if (!s) return;
  for (const r of s.recharges) world.count(`${r.kind === "auto" ? "recharge" : "top-up"} ${r.status}`);
  for (const kind of ["recharge", "top_up", "refund", "hold_settle", "usage"]) {
    world.count(`ledger ${kind}`, s.ledger.filter((e) => e.kind === kind).length);
  }
  world.count("answers unpaid (out of credits)", s.unanswered);
  world.count(
    "hourly alerts",
    [...world.alertsByHour.values()].reduce((a, b) => a + b, 0),
  );
  world.count("webhook deliveries", world.relay.posted);
  world.count("webhook deliveries refused (502)", world.relay.refused);
  world.count("events dropped", world.relay.dropped.length);
}

describe("fault simulation", () => {
  it(
    "keeps every invariant under random operations, Stripe faults, evictions, alarms and cron",
    async () => {
      const print = console.log.bind(console);
      const logs: string[] = [];
      const capture = (...args: unknown[]) => {
        logs.push(args.map(String).join(" "));
        if (logs.length > 400) logs.splice(0, logs.length - 200);
      };
      const originalLog = console.log;
      const originalError = console.error;
      // The Worker's JSON log lines would drown the report; the last ones are printed with a failure.
      console.log = capture;
      console.error = capture;

      const coverage = new Map<string, number>();
      let sequences = 0;
      let steps = 0;
      let randomSteps = 0;
      let lastFailure: { trace: string[]; logs: string[]; error: unknown } | null = null;
      const started = Date.now();
      print(
        `fault simulation: seed=${seed} runs=${budget.runs} steps≤${budget.steps}` +
          (budget.path ? ` path=${budget.path}` : ""),
      );

      const property = fc.asyncProperty(
        setupArbitrary,
        fc.commands([stepArbitrary], {
          maxCommands: budget.steps,
          size: "max",
          ...(budget.replayPath ? { replayPath: budget.replayPath } : {}),
        }),
        async (setup, commands) => {
          logs.length = 0;
          const world = await setUpWorld(setup);
          sequences += 1;
          if (sequences % 10 === 0) {
            print(`  … ${sequences} sequences, ${steps} steps, ${((Date.now() - started) / 1000).toFixed(0)} s`);
          }
          try {
            await fc.asyncModelRun(() => ({ model: {} as Model, real: world }), commands);
            await drain(world);
          } catch (error) {
            lastFailure = { trace: [...world.trace], logs: logs.slice(-40), error };
            throw error;
          } finally {
            steps += world.trace.length;
            randomSteps += world.trace.filter((t) => !/^(setup|drain): /.test(t)).length;
            outcomes(world);
            for (const [k, n] of world.coverage) coverage.set(k, (coverage.get(k) ?? 0) + n);
            await world.retire();
          }
        },
      );

      const details = await fc
        .check(property, {
          seed,
          numRuns: budget.runs,
          ...(budget.path ? { path: budget.path } : {}),
          skipAllAfterTimeLimit: budget.shrinkMs + budget.runs * budget.steps * 2_000,
        })
        .finally(() => {
          console.log = originalLog;
          console.error = originalError;
        });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      print(
        `fault simulation: ${sequences} sequences, ${randomSteps} random steps (${steps} checked with setup and drain), ${seconds} s`,
      );
      print(
        `coverage: ${[...coverage]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, n]) => `${k}=${n}`)
          .join(", ")}`,
      );
      if (details.failed) {
        const shrunk = fc.stringify(details.counterexample);
        const replayPath = /replayPath="([^"]*)"/.exec(shrunk)?.[1];
        const failure = lastFailure as { trace: string[]; logs: string[]; error: unknown } | null;
        const report = [
          `FAULT SIMULATION FAILED — seed ${details.seed}, path ${details.counterexamplePath}, shrunk ${details.numShrinks} times`,
          `violation: ${failure?.error instanceof Error ? failure.error.message : String(details.errorInstance)}`,
          "shortest sequence found:",
          ...(failure?.trace ?? []).map((s, i) => `  ${String(i + 1).padStart(2)}. ${s}`),
          `replay: FAULT_SEED=${details.seed} FAULT_PATH=${details.counterexamplePath}` +
            (replayPath ? ` FAULT_REPLAY=${replayPath}` : "") +
            " npm run test:faults",
          "last log lines of that run:",
          ...(failure?.logs ?? []).map((l) => `  ${l}`),
        ].join("\n");
        print(report);
        expect.fail(report);
      }
    },
    // CI: the budget takes about two minutes; a failure may shrink for up to FAULT_SHRINK_MS more.
    budget.shrinkMs + budget.runs * budget.steps * 3_000 + 60_000,
  );
});
