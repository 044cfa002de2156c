import autocannon, { type Context, type RequestSpec } from "autocannon";
import { sleep } from "./app";
import { cpuTimeMs } from "./runtime";

/** One timed run of autocannon against one target, with exact latency percentiles and CPU accounting. */

export interface LoadSpec {
  origin: string;
  connections: number;
  seconds: number;
  requests: RequestSpec[];
  /** The workerd process serving the target, to measure its CPU time per request. */
  pid: number | null;
  /**
   * After the load, wait until the process has been idle this long, and charge the CPU it used until then
   * (work the requests left behind: the object's alarm copies history and catches up the rollups up to
   * `FLUSH_DELAY_MS` after a debit) to this run. Without it that work lands in the next target's run.
   */
  quietMs?: number;
}

export interface LoadResult {
  connections: number;
  /**
   * The seconds the run is charged: the load's own, plus the CPU time of the work it left behind (see
   * `quietMs`). On the target's one core that time is taken from requests, so rates divide by this.
   */
  seconds: number;
  /** CPU time of the work left behind after the load (ms; included in `serverCpuMs` and `seconds`). */
  deferredCpuMs: number;
  responses: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** workerd CPU time per response, µs (null when the process could not be identified). */
  serverCpuUsPerRequest: number | null;
  /** CPU the load generator itself used, as a share of one core. */
  clientCpuShare: number;
  /** Latencies of the 2xx answers, ms, sorted. */
  samples: Float64Array;
  serverCpuMs: number | null;
  clientCpuMs: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export async function measure(spec: LoadSpec): Promise<LoadResult> {
  // autocannon's own histogram rounds to whole milliseconds; the response event carries the exact time.
  let samples = new Float64Array(1 << 16);
  let count = 0;
  const cpuBefore = cpuTimeMs(spec.pid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const instance = autocannon({
    url: spec.origin,
    connections: spec.connections,
    duration: spec.seconds,
    pipelining: 1,
    timeout: 30,
    requests: spec.requests,
  });
  instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status < 200 || status >= 300) return;
    if (count === samples.length) {
      const grown = new Float64Array(samples.length * 2);
      grown.set(samples);
      samples = grown;
    }
    samples[count++] = ms;
  });
  const result = await instance;
  const elapsedS = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  const loadCpuAfter = cpuTimeMs(spec.pid);
  const deferredCpuMs = spec.quietMs ? await cpuUntilQuiet(spec.pid, spec.quietMs) : 0;
  const cpuAfter = loadCpuAfter === null ? null : loadCpuAfter + deferredCpuMs;
  const seconds = result.duration + deferredCpuMs / 1000;
  const sorted = samples.slice(0, count).sort();
  const responses = result["2xx"] + result.non2xx;
  return {
    connections: spec.connections,
    seconds,
    deferredCpuMs,
    responses,
    ok: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    perSecond: result["2xx"] / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    serverCpuUsPerRequest:
      cpuBefore !== null && cpuAfter !== null && responses > 0 ? ((cpuAfter - cpuBefore) * 1000) / responses : null,
    clientCpuShare: (client.user + client.system) / 1e6 / elapsedS,
    samples: sorted,
    serverCpuMs: cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null,
    clientCpuMs: (client.user + client.system) / 1000,
  };
}

const QUIET_SAMPLE_MS = 100;
/** A process using at most this share of a core over the quiet window counts as idle (CPU time comes in 10 ms ticks). */
const IDLE_SHARE = 0.02;
const QUIET_TIMEOUT_MS = 30_000;

/**
 * Waits until `pid` has been idle for `quietMs`; returns the CPU time (ms) it used from the call until the
 * idle window began. Without a process to watch it only waits.
 */
async function cpuUntilQuiet(pid: number | null, quietMs: number): Promise<number> {
  const started = performance.now();
  const first = cpuTimeMs(pid);
  if (first === null) {
    await sleep(quietMs);
    return 0;
  }
  const samples = [{ at: started, cpu: first }];
  for (;;) {
    await sleep(QUIET_SAMPLE_MS);
    const at = performance.now();
    const cpu = cpuTimeMs(pid) ?? first;
    samples.push({ at, cpu });
    // The latest sample at least `quietMs` old: the CPU used since then tells whether the window was idle.
    const windowStart = samples.findLast((s) => s.at <= at - quietMs);
    if (windowStart && cpu - windowStart.cpu <= quietMs * IDLE_SHARE) return windowStart.cpu - first;
    if (at - started > QUIET_TIMEOUT_MS) {
      // Charged in full, so a run whose process keeps working afterwards reads slower, never faster.
      process.stderr.write(
        `[bench] workerd ${pid} still busy ${QUIET_TIMEOUT_MS / 1000} s after a run; its ${cpu - first} ms of CPU are charged to the run\n`,
      );
      return cpu - first;
    }
  }
}

/** Several runs of the same cell (interleaved with other targets) taken together. */
export function combine(results: LoadResult[]): LoadResult {
  const first = results[0];
  if (!first) throw new Error("nothing to combine");
  const sum = (f: (r: LoadResult) => number) => results.reduce((total, r) => total + f(r), 0);
  const samples = new Float64Array(sum((r) => r.samples.length));
  let offset = 0;
  for (const r of results) {
    samples.set(r.samples, offset);
    offset += r.samples.length;
  }
  samples.sort();
  const seconds = sum((r) => r.seconds);
  const responses = sum((r) => r.responses);
  const ok = sum((r) => r.ok);
  const serverCpuMs = results.every((r) => r.serverCpuMs !== null) ? sum((r) => r.serverCpuMs ?? 0) : null;
  const deferredCpuMs = sum((r) => r.deferredCpuMs);
  const clientCpuMs = sum((r) => r.clientCpuMs);
  return {
    connections: first.connections,
    seconds,
    deferredCpuMs,
    responses,
    ok,
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    perSecond: ok / seconds,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    serverCpuUsPerRequest: serverCpuMs !== null && responses > 0 ? (serverCpuMs * 1000) / responses : null,
    clientCpuShare: clientCpuMs / 1000 / seconds,
    samples,
    serverCpuMs,
    clientCpuMs,
  };
}

// ---------------------------------------------------------------- debits with client-side bookkeeping

export interface BenchInstance {
  id: string;
  apiKey: string;
}

interface KeyRecord {
  instance: number;
  cost: number;
  endUser: string;
  sends: number;
  /** 200 answers without `Idempotent-Replayed`: each one is a charge the client saw. */
  charges: number;
  replays: number;
  /** Non-200 statuses, and 200s whose chargedMicros differs from the cost sent. */
  problems: string[];
}

/** Deterministic, so a run can be repeated with the same costs and keys. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RECENT = 512;

/**
 * Generates usage debits (`operation: response`, an end user, an explicit cost of 1–10,000 micro-USD)
 * over one or more instances, round robin, re-sending `duplicateShare` of them with an idempotency key
 * already sent (often while the first is still in flight), and records what every answer said.
 */
export class DebitBook {
  readonly keys = new Map<string, KeyRecord>();
  readonly #recent: string[] = [];
  readonly #random: () => number;
  #sequence = 0;
  duplicatesSent = 0;

  readonly #route: (instance: BenchInstance) => { path: string; headers: Record<string, string> };

  /** `route` defaults to the usage API with the instance's key. */
  constructor(
    readonly name: string,
    readonly instances: BenchInstance[],
    opts: {
      duplicateShare?: number;
      seed?: number;
      route?: (instance: BenchInstance) => { path: string; headers: Record<string, string> };
    } = {},
  ) {
    this.duplicateShare = opts.duplicateShare ?? 0.1;
    this.#random = mulberry32(opts.seed ?? 7);
    this.#route =
      opts.route ??
      ((instance) => ({
        path: `/v1/instances/${instance.id}/usage`,
        headers: { "content-type": "application/json", authorization: `Bearer ${instance.apiKey}` },
      }));
  }

  readonly duplicateShare: number;

  #next(): { key: string; record: KeyRecord } {
    if (this.#recent.length > 0 && this.#random() < this.duplicateShare) {
      const key = this.#recent[Math.floor(this.#random() * this.#recent.length)] as string;
      const record = this.keys.get(key) as KeyRecord;
      this.duplicatesSent += 1;
      return { key, record };
    }
    const n = this.#sequence++;
    const key = `${this.name}-${n}`;
    const record: KeyRecord = {
      instance: n % this.instances.length,
      cost: 1 + Math.floor(this.#random() * 10_000),
      endUser: `user-${Math.floor(this.#random() * 1_000)}`,
      sends: 0,
      charges: 0,
      replays: 0,
      problems: [],
    };
    this.keys.set(key, record);
    if (this.#recent.length < RECENT) this.#recent.push(key);
    else this.#recent[n % RECENT] = key;
    return { key, record };
  }

  #body(key: string, record: KeyRecord): string {
    return JSON.stringify({
      idempotencyKey: key,
      operation: "response",
      costMicros: record.cost,
      endUserId: record.endUser,
    });
  }

  #target(record: KeyRecord): { path: string; headers: Record<string, string> } {
    return this.#route(this.instances[record.instance] as BenchInstance);
  }

  /** Fresh debits the client has seen charged so far (answers without `Idempotent-Replayed`). */
  chargesSeen(): number {
    let charges = 0;
    for (const record of this.keys.values()) charges += record.charges;
    return charges;
  }

  /** The autocannon request: a new debit (or a duplicate) each time. */
  request(): RequestSpec {
    return {
      method: "POST",
      setupRequest: (request: RequestSpec, context: Context) => {
        const { key, record } = this.#next();
        record.sends += 1;
        context.key = key;
        return { ...request, ...this.#target(record), body: this.#body(key, record) };
      },
      onResponse: (status, body, context, headers) => {
        // Raw header names keep the sender's case.
        const replayed = Object.entries(headers).some(
          ([name, value]) => name.toLowerCase() === "idempotent-replayed" && value === "true",
        );
        this.#record(context.key as string, status, body, replayed);
      },
    };
  }

  #record(key: string, status: number, body: string, replayed: boolean): void {
    const record = this.keys.get(key);
    if (!record) return;
    if (status !== 200) {
      record.problems.push(`status ${status}: ${body.slice(0, 120)}`);
      return;
    }
    const charged = (JSON.parse(body) as { chargedMicros: number }).chargedMicros;
    if (charged !== record.cost) record.problems.push(`charged ${charged} for a cost of ${record.cost}`);
    if (replayed) record.replays += 1;
    else record.charges += 1;
  }

  /**
   * Keys whose every send went unanswered (in flight when the run stopped) are sent again, as a client
   * would retry; afterwards every key has an answer, so the expected balance is exact.
   */
  async settleUnanswered(origin: string): Promise<number> {
    const open = [...this.keys.entries()].filter(([, r]) => r.charges + r.replays === 0 && r.problems.length === 0);
    for (const [key, record] of open) {
      const target = this.#target(record);
      const response = await fetch(`${origin}${target.path}`, {
        method: "POST",
        headers: target.headers,
        body: this.#body(key, record),
      });
      record.sends += 1;
      this.#record(key, response.status, await response.text(), response.headers.get("idempotent-replayed") === "true");
    }
    return open.length;
  }

  /** What each instance must have been charged: every distinct key's cost, once. */
  expectedCharges(): { perInstance: number[]; keysPerInstance: number[] } {
    const perInstance = this.instances.map(() => 0);
    const keysPerInstance = this.instances.map(() => 0);
    for (const record of this.keys.values()) {
      perInstance[record.instance] = (perInstance[record.instance] ?? 0) + record.cost;
      keysPerInstance[record.instance] = (keysPerInstance[record.instance] ?? 0) + 1;
    }
    return { perInstance, keysPerInstance };
  }

  /** Client-side violations: a key charged twice, a wrong amount, an error answer. */
  violations(): string[] {
    const found: string[] = [];
    for (const [key, record] of this.keys) {
      if (record.charges > 1) found.push(`${key}: charged ${record.charges} times (seen by the client)`);
      for (const problem of record.problems) found.push(`${key}: ${problem}`);
      if (found.length >= 20) break;
    }
    return found;
  }

  summary(): { keys: number; sends: number; duplicatesSent: number; replays: number } {
    let sends = 0;
    let replays = 0;
    for (const record of this.keys.values()) {
      sends += record.sends;
      replays += record.replays;
    }
    return { keys: this.keys.size, sends, duplicatesSent: this.duplicatesSent, replays };
  }
}
