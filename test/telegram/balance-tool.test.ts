import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { detectBalanceQuestion } from "../../src/telegram/intent";
import { ADMIN, api, type Provisioned, provision, USD } from "../helpers";
import { deliver, privateText, waitForMessages } from "./fixtures";

/** The model's `get_credit_balance` tool: the second line of defence after the rules (docs/balance-question.md). */

const OWNER = 4242301;
const owner = { id: OWNER, first_name: "Olga" };
const CLIENT = 4242302;
const client = { id: CLIENT, first_name: "Karel" };

/** The rules miss it ("budget" is not a balance word): only the model can see it is a balance question. */
const MISSED = "What's my remaining budget for the bot?";
/** The stand-in's directive: answer with a call of the balance function (if the request offers tools). */
const CALL_BALANCE = "[[tool:get_credit_balance]]";

interface RecordedRequest {
  tools: { type: string; function: { name: string; parameters: unknown } }[] | null;
  response: {
    content: string | null;
    tool_calls?: { id: string; type: string; function: { name: string; arguments: string } }[];
    finish_reason: string;
    usage: { prompt_tokens: number; completion_tokens: number };
  } | null;
}

async function modelRequests(contains: string): Promise<RecordedRequest[]> {
  const base = env.AI_BASE_URL.replace(/\/v1$/, "");
  const res = await fetch(`${base}/__control/requests?contains=${encodeURIComponent(contains)}`);
  return ((await res.json()) as { requests: RecordedRequest[] }).requests;
}

async function ledgerEntries(inst: Provisioned) {
  const res = await api(`/admin/instances/${inst.id}/ledger?limit=1000`, { headers: ADMIN });
  return res.json.entries as { kind: string; amountMicros: number; endUserId: string | null }[];
}

async function balanceOf(inst: Provisioned) {
  const res = await api(`/v1/instances/${inst.id}/balance`, { headers: inst.auth });
  return res.json as { balanceMicros: number; availableMicros: number };
}

/** gpt-4o-mini at $0.15 / $0.60 per million tokens, no markup, rounded up to a whole micro-USD (at least 1). */
function costOf(usage: { prompt_tokens: number; completion_tokens: number }): number {
  return Math.max(1, Math.ceil((usage.prompt_tokens * 150_000 + usage.completion_tokens * 600_000) / 1_000_000));
}

function offeredNames(request: RecordedRequest | undefined): string[] {
  return (request?.tools ?? []).map((t) => t.function.name);
}

describe("the model's get_credit_balance tool", () => {
  it("an owner's balance question the rules miss: the model calls the tool, the owner gets /balance, free", async () => {
    expect(detectBalanceQuestion(MISSED)).toBeNull();
    const inst = await provision({ ownerTelegramId: OWNER });
    await deliver(inst, privateText(owner, `${MISSED} ${CALL_BALANCE} ${inst.id}`));
    const [toolAnswer] = await waitForMessages(inst.botToken, OWNER, 1);

    const [request] = await modelRequests(inst.id);
    expect(offeredNames(request)).toEqual(["get_credit_balance"]);
    expect(request?.tools?.[0]?.function.parameters).toMatchObject({ type: "object", properties: {} });
    expect(request?.response).toMatchObject({ content: null, finish_reason: "tool_calls" });
    expect(request?.response?.tool_calls?.[0]?.function.name).toBe("get_credit_balance");
    expect(request?.response?.usage.completion_tokens).toBeGreaterThan(0);

    // Exactly what /balance says, and nothing held or charged for the model call.
    await deliver(inst, privateText(owner, "/balance"));
    const [, command] = await waitForMessages(inst.botToken, OWNER, 2);
    expect(toolAnswer?.text).toContain("$50.00");
    expect(toolAnswer?.text).toBe(command?.text);
    expect(await balanceOf(inst)).toMatchObject({ balanceMicros: 50 * USD, availableMicros: 50 * USD });
    expect((await ledgerEntries(inst)).filter((e) => e.kind === "hold_settle")).toEqual([]);
  });

  it("a client's message never offers the tool, and the stand-in's call directive stays text", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    await deliver(inst, privateText(client, `${MISSED} ${CALL_BALANCE} client-${inst.id}`));
    const [reply] = await waitForMessages(inst.botToken, CLIENT, 1);
    expect(reply?.text).toContain("Answer to:");
    expect(reply?.text).not.toContain("$50.00");
    const [clientRequest] = await modelRequests(`client-${inst.id}`);
    expect(clientRequest).toBeDefined();
    expect(clientRequest?.tools).toBeNull();
    expect(clientRequest?.response?.finish_reason).toBe("stop");
    const charged = (await ledgerEntries(inst)).filter((e) => e.kind === "hold_settle");
    expect(charged).toEqual([
      expect.objectContaining({
        endUserId: String(CLIENT),
        amountMicros: -costOf(clientRequest?.response?.usage ?? { prompt_tokens: 0, completion_tokens: 0 }),
      }),
    ]);

    // The same instance's owner is offered it: the difference is the chat, not the instance.
    await deliver(inst, privateText(owner, `Draft a greeting for new clients owner-${inst.id}`));
    await waitForMessages(inst.botToken, OWNER, 1);
    const [ownerRequest] = await modelRequests(`owner-${inst.id}`);
    expect(offeredNames(ownerRequest)).toEqual(["get_credit_balance"]);
  });

  it("an ordinary owner question answered with text is charged as before", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    const marker = `ordinary-${inst.id}`;
    await deliver(inst, privateText(owner, `How should I price a one-hour consultation? ${marker}`));
    const [reply] = await waitForMessages(inst.botToken, OWNER, 1);
    expect(reply?.text).toContain(`Answer to: How should I price a one-hour consultation? ${marker}`);
    const [request] = await modelRequests(marker);
    // The tool was offered and not called: the text answer is metered like any other.
    expect(offeredNames(request)).toEqual(["get_credit_balance"]);
    expect(request?.response?.finish_reason).toBe("stop");
    const usage = request?.response?.usage;
    if (!usage) throw new Error("model was not called");
    const cost = costOf(usage);
    const charged = (await ledgerEntries(inst)).filter((e) => e.kind === "hold_settle");
    expect(charged).toEqual([expect.objectContaining({ amountMicros: -cost, endUserId: String(OWNER) })]);
    expect(await balanceOf(inst)).toMatchObject({ balanceMicros: 50 * USD - cost, availableMicros: 50 * USD - cost });
  });

  it("a call of a function the bot does not have is no answer: the owner is asked to retry, nothing is charged", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    await deliver(inst, privateText(owner, `Delete my clients [[tool:delete_all_clients]] unknown-${inst.id}`));
    const [reply] = await waitForMessages(inst.botToken, OWNER, 1);
    expect(reply?.text).toMatch(/try again/i);
    const [request] = await modelRequests(`unknown-${inst.id}`);
    expect(request?.response?.tool_calls?.[0]?.function.name).toBe("delete_all_clients");
    expect(await balanceOf(inst)).toMatchObject({ balanceMicros: 50 * USD, availableMicros: 50 * USD });
    expect((await ledgerEntries(inst)).filter((e) => e.kind === "hold_settle")).toEqual([]);
  });

  it("a balance call with broken arguments still gets the balance (the tool takes none), free", async () => {
    const inst = await provision({ ownerTelegramId: OWNER });
    await deliver(inst, privateText(owner, `${MISSED} ${CALL_BALANCE} [[tool-args:{"x": ]] args-${inst.id}`));
    const [reply] = await waitForMessages(inst.botToken, OWNER, 1);
    expect(reply?.text).toContain("$50.00");
    const [request] = await modelRequests(`args-${inst.id}`);
    expect(request?.response?.tool_calls?.[0]?.function.arguments).toBe('{"x": ');
    expect((await ledgerEntries(inst)).filter((e) => e.kind === "hold_settle")).toEqual([]);
  });
});
