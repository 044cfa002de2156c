import type { Completion, ToolDefinition } from "../ai/model";

/**
 * The second line of defence for "what's my balance?" (the rules in `intent.ts` are the first): in the owner's
 * chat the model is offered this function, and an answer that calls it becomes the `/balance` answer, free.
 * Clients' chats never offer it.
 */
export const BALANCE_TOOL_NAME = "get_credit_balance";

export const BALANCE_TOOL: ToolDefinition = {
  type: "function",
  function: {
    name: BALANCE_TOOL_NAME,
    description:
      "Shows the bot owner their current AI credit balance in USD and their auto-recharge status. Call it whenever " +
      "the owner asks how much credit, money or budget their bot has left, whether it is enough or running low, " +
      "or about the state of their credits or account. Takes no arguments.",
    parameters: { type: "object", properties: {}, additionalProperties: false },
  },
};

export interface ToolCallReading {
  /** The model called `get_credit_balance` (and it was offered). */
  balance: boolean;
  /** Names of other function calls, or of any call when no tool was offered: ignored. */
  ignored: string[];
  /** Calls that were not a well-formed function call: ignored. */
  malformed: number;
}

/** What a completion's function calls ask for; `offered` says whether the request carried the balance tool. */
export function readToolCalls(completion: Extract<Completion, { ok: true }>, offered: boolean): ToolCallReading {
  let balance = false;
  const ignored: string[] = [];
  for (const call of completion.toolCalls) {
    // Arguments are not read: the tool takes none, so a stray or broken argument text changes nothing.
    if (offered && call.name === BALANCE_TOOL_NAME) balance = true;
    else ignored.push(call.name.slice(0, 64));
  }
  return { balance, ignored, malformed: completion.malformedToolCalls };
}
