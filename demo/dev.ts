/**
 * `npm run dev`: the product on this machine with no accounts. Starts the Telegram, Stripe and model
 * stand-ins on 8081/8082/8083, then `wrangler dev` (local D1 with migrations applied, local Durable
 * Objects, the cron at /cdn-cgi/handler/scheduled) pointed at them. Ctrl-C stops both.
 * Extra arguments go to `wrangler dev`.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./local";
import { standinVarFlags, startLocalStandins } from "./local-standins";

const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");

if (!existsSync(path.join(ROOT, ".dev.vars")))
  copyFileSync(path.join(ROOT, ".dev.vars.example"), path.join(ROOT, ".dev.vars"));

let stopStandins = async () => {};
try {
  const { standins } = await startLocalStandins();
  stopStandins = () => standins.close();
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
    const child = spawn(WRANGLER, args, { cwd: ROOT, stdio: "inherit" });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });

const migrated = await run(["d1", "migrations", "apply", "DB", "--local"]);
let code = migrated;
if (migrated === 0) {
  // wrangler handles Ctrl-C itself; the stand-ins go when it exits.
  process.on("SIGINT", () => undefined);
  code = await run(["dev", "--test-scheduled", ...standinVarFlags(), ...process.argv.slice(2)]);
}
await stopStandins();
process.exit(code);
