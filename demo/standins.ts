/**
 * `npm run standins`: the Telegram, Stripe and model stand-ins on the ports of `.dev.vars.example`
 * (8081/8082/8083), for a Worker started in another terminal with `npm run dev`, which then uses them instead of its own.
 * Runs until Ctrl-C.
 */
import { bold, dim } from "./chat";
import { startLocalStandins } from "./local-standins";

const { standins, worker } = await startLocalStandins();
const stop = () => {
  void standins.close().then(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);

console.log(bold("Stand-ins are running (Ctrl-C stops them):"));
console.log(`  Telegram Bot API  ${standins.telegram.origin}`);
console.log(`  Stripe API        ${standins.stripe.origin}   → signed events to ${worker}/stripe/webhook`);
console.log(`  OpenAI-compatible ${standins.model.origin}/v1`);
console.log(dim("\nIn another terminal, start the Worker pointed at them:"));
console.log("  npm run dev   (it finds these stand-ins on their ports and uses them)");
console.log(dim("Then provision an instance and chat with it: see docs/local.md."));
