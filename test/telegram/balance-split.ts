/**
 * The seeded split of the balance corpus into a tuning half and a held-out half. Deterministic: each message
 * gets a 32-bit FNV-1a hash of `${SPLIT_SEED}:${text}`; within each (language × balance/near-miss) group the
 * messages are ordered by hash and the first half (rounded down) is the tuning half. The split therefore
 * does not depend on the order of the corpus, and a new message lands in a half by its hash alone... except
 * that it shifts the halfway point of its group by one, which may move one neighbour across the line.
 *
 * Rules may be tuned on tuning-half failures only; the held-out half measures how the rules generalise.
 */
import type { CorpusItem } from "./balance-corpus";

export const SPLIT_SEED = "balance-corpus-v1";

export type Half = "tuning" | "heldOut";

export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function splitCorpus(items: readonly CorpusItem[], seed: string = SPLIT_SEED): Record<Half, CorpusItem[]> {
  const groups = new Map<string, CorpusItem[]>();
  for (const item of items) {
    const key = `${item.lang}:${item.balance}`;
    const group = groups.get(key) ?? [];
    group.push(item);
    groups.set(key, group);
  }
  const halves: Record<Half, CorpusItem[]> = { tuning: [], heldOut: [] };
  for (const group of groups.values()) {
    const ordered = group
      .map((item) => ({ item, hash: fnv1a(`${seed}:${item.text}`) }))
      .sort((a, b) => a.hash - b.hash || (a.item.text < b.item.text ? -1 : 1));
    const cut = Math.floor(ordered.length / 2);
    ordered.forEach(({ item }, i) => {
      (i < cut ? halves.tuning : halves.heldOut).push(item);
    });
  }
  return halves;
}
