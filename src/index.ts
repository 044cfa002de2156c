import { DurableObject } from "cloudflare:workers";
export class CreditAccount extends DurableObject<Env> {}
export default {
  async fetch(request: Request, env: Env) {
    const r = await fetch(`${env.TELEGRAM_API_BASE}/botX/getMe`);
    return new Response(await r.text());
  },
} satisfies ExportedHandler<Env>;
