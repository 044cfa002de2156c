/**
 * `npm run dev`: the product on this machine with no accounts. Starts the Telegram, Stripe and model
 * stand-ins on 8081/8082/8083, then `wrangler dev` (local D1 with migrations applied, local Durable
 * Objects, the cron at /cdn-cgi/handler/scheduled) pointed at them. Ctrl-C stops both.
 * Extra arguments go to `wrangler dev`.
 *
 * Each wrangler runs in a process group of its own, and one cleanup path (`Cleanup` in ./local.ts) stops the
 * stand-ins and every such group (wrangler and its workerd) however this ends: wrangler exiting (its own Ctrl-C
 * or `x` key), SIGINT, SIGTERM or SIGHUP to this process, or an error.
 */
import { copyFileSync, existsSync } from "node:fs";
import { constants } from "node:os";
import path from "node:path";
import { Cleanup, ROOT } from "./local";
import { standinVarFlags, startLocalStandins } from "./local-standins";

const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");

const cleanup = new Cleanup();
process.on("exit", () => cleanup.killNow());
let stopping = false;
const onSignal = (signal: NodeJS.Signals) => {
  const code = 128 + (constants.signals[signal] ?? 2);
  // Ctrl-C reaches this process twice (from the terminal and relayed by tsx): one cleanup, bounded in time.
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(code), 15_000).unref(); // The exit hook SIGKILLs every child group.
  void cleanup.run().then(() => process.exit(code));
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);

if (!existsSync(path.join(ROOT, ".dev.vars")))
  copyFileSync(path.join(ROOT, ".dev.vars.example"), path.join(ROOT, ".dev.vars"));

try {
  const { standins } = await startLocalStandins();
  cleanup.add(() => standins.close());
  console.log(
    `Stand-ins: Telegram ${standins.telegram.origin}, Stripe ${standins.stripe.origin}, model ${standins.model.origin}/v1`,
  );
} catch (error) {
  // Most likely `npm run standins` already holds the ports: use those.
  console.log(
    `Stand-ins not started here (${error instanceof Error ? error.message : String(error)}); using the ones already running.`,
  );
}

const run = (args: string[]) =>
  new Promise<number>((resolve) => {
    const child = cleanup.spawn(WRANGLER, args, { cwd: ROOT, stdio: "inherit" });
    child.on("error", (error) => {
      console.error(`wrangler did not start: ${error.message}`);
      resolve(1);
    });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });

let code = await run(["d1", "migrations", "apply", "DB", "--local"]);
if (code === 0 && !stopping)
  code = await run(["dev", "--test-scheduled", ...standinVarFlags(), ...process.argv.slice(2)]);
await cleanup.run();
process.exit(code);
