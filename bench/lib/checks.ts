import { type AppClient, waitFor } from "./app";
import type { DebitBook } from "./load";

/**
 * Correctness after a load scenario, for every instance it touched:
 * - the client: no key charged twice, every answer 200 with chargedMicros = the cost sent;
 * - the balance: start − Σ cost of the distinct keys, to the micro-dollar;
 * - the object's ledger: one usage entry per distinct key (duplicates charged once), amounts summing
 *   to the charges, balance = Σ ledger, every balance_after the running sum;
 * - D1, once flushed: the same entries field by field, and the projection at the object's balance.
 */

export interface CheckOutcome {
  label: string;
  instances: number;
  keys: number;
  duplicatesSent: number;
  resent: number;
  violations: string[];
}

export async function checkDebits(
  app: AppClient,
  book: DebitBook,
  startBalances: number[],
  opts: { d1?: boolean; concurrency?: number } = {},
): Promise<CheckOutcome> {
  const resent = await book.settleUnanswered(app.origin);
  const violations = book.violations().map((v) => `${book.name}: ${v}`);
  const expected = book.expectedCharges();
  let next = 0;
  const checkOne = async (i: number) => {
    const instance = book.instances[i];
    if (!instance) return;
    const tag = `${book.name}/${instance.id}`;
    const charged = expected.perInstance[i] ?? 0;
    const keys = expected.keysPerInstance[i] ?? 0;
    const balance = await app.balance(instance.id);
    const want = (startBalances[i] ?? 0) - charged;
    if (balance !== want) violations.push(`${tag}: balance ${balance} ≠ start − charges ${want}`);
    const { audit } = await app.audit(instance.id, false);
    if (audit.duplicateUsageKeys !== 0) violations.push(`${tag}: ${audit.duplicateUsageKeys} keys charged twice`);
    if (audit.usageEntries !== keys) violations.push(`${tag}: ${audit.usageEntries} usage entries for ${keys} keys`);
    if (audit.usageSumMicros !== -charged)
      violations.push(`${tag}: usage entries sum ${audit.usageSumMicros} ≠ −${charged}`);
    if (audit.ledgerSumMicros !== audit.balanceMicros) {
      violations.push(`${tag}: ledger sums to ${audit.ledgerSumMicros}, balance is ${audit.balanceMicros}`);
    }
    if (audit.runningMismatches !== 0)
      violations.push(`${tag}: ${audit.runningMismatches} entries off the running sum`);
    if (opts.d1 !== false) violations.push(...(await checkHistory(app, instance.id, tag)));
  };
  const worker = async () => {
    while (next < book.instances.length) await checkOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, book.instances.length) }, worker));
  const summary = book.summary();
  return {
    label: book.name,
    instances: book.instances.length,
    keys: summary.keys,
    duplicatesSent: summary.duplicatesSent,
    resent,
    violations,
  };
}

/** Waits for the flush, then compares D1 with the object's ledger. */
export async function checkHistory(app: AppClient, id: string, tag = id): Promise<string[]> {
  const violations: string[] = [];
  await app.waitFlushed(id);
  // The outbox is empty once D1 confirmed; the projection is written in the same batch.
  const { audit, history } = await waitFor(`${tag} audit`, async () => app.audit(id, true));
  if (!history) return [`${tag}: no history comparison`];
  if (history.d1Entries !== audit.entries)
    violations.push(`${tag}: D1 has ${history.d1Entries} entries, ledger ${audit.entries}`);
  if (history.compared !== audit.entries)
    violations.push(`${tag}: compared ${history.compared} of ${audit.entries} entries`);
  for (const m of history.mismatches) {
    violations.push(`${tag}: D1 entry ${m.seq} ${m.field}: ${JSON.stringify(m.d1)} ≠ ${JSON.stringify(m.object)}`);
  }
  if (!history.projection) violations.push(`${tag}: no D1 projection row`);
  else if (
    history.projection.balanceMicros !== audit.balanceMicros ||
    history.projection.projectedSeq !== audit.lastSeq
  ) {
    violations.push(
      `${tag}: D1 projection ${history.projection.balanceMicros} @${history.projection.projectedSeq} ≠ ${audit.balanceMicros} @${audit.lastSeq}`,
    );
  }
  return violations;
}
