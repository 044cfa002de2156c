import type { Completion } from "../ai/model";
import { sameDigest } from "../crypto";
import type { AccountRow } from "../ledger/ledger";
import { log } from "../log";
import { type Job, type Route, routeUpdate, updateIdOf } from "../telegram/updates";

/**
 * The Telegram inbox of one CreditAccount (`telegram_updates`): each `update_id` is recorded once (its
 * primary key), pending rows are the jobs still to run, and a job's answer is stored with it so a retry
 * sends what is left instead of asking the model (and charging) again. Nothing else touches the table.
 */

/** Jobs of the owner's chat (commands, the balance asked in words) never wait behind clients' answers. */
const OWNER_FIRST = "CASE WHEN job ->> '$.kind' LIKE 'owner%' THEN 0 ELSE 1 END";

export interface PendingJob {
  updateId: number;
  job: Job;
  attempts: number;
  owner: boolean;
  /** The model's answer, when the webhook's Worker asked the model for this job (`deliver`). */
  completion: Completion | null;
}

/** A job the object will run: its update id and the routed job. */
export interface NewJob {
  updateId: number;
  job: Job;
}

/** Telegram redelivers for at most a day; handled update ids are kept a week. */
const UPDATE_RETENTION_MS = 7 * 86_400_000;
/** If the in-memory drain of the inbox dies with the object, the alarm picks the job up after this. */
export const INBOX_SAFETY_DELAY_MS = 30_000;
/**
 * A job leased to the webhook's Worker (it asks the model) is its own this long: past the Worker's model timeout
 * (OUTSIDE_MODEL_TIMEOUT_MS) and the delivery. Then the object takes it back and asks the model itself.
 */
const MODEL_LEASE_MS = 40_000;
/** A job that is not pending, or whose lease is still the Worker's, is not the object's to run. */
const RUNNABLE = "status = 'pending' AND (model_lease IS NULL OR model_lease_until <= ?)";

export class Inbox {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * A webhook delivery: verified against the stored secret's hash, parsed, routed and recorded once per
   * `update_id`. `queued` when there is a new job to run; the caller answers Telegram at once either way.
   */
  receive(
    account: AccountRow,
    secretHash: string,
    body: string,
    now: number,
  ): { status: 200 | 400 | 401; queued: NewJob | null } {
    if (!sameDigest(secretHash, account.webhook_secret_hash)) return { status: 401, queued: null };
    let update: unknown;
    try {
      update = JSON.parse(body);
    } catch {
      return { status: 400, queued: null };
    }
    const updateId = updateIdOf(update);
    if (updateId === null) {
      log("warn", "telegram_update_unusable", { instanceId: account.instance_id });
      return { status: 200, queued: null };
    }
    const route = routeUpdate(update, account.owner_telegram_id, account.bot_username);
    if (!this.record(updateId, route, now)) {
      log("info", "telegram_update_duplicate", { instanceId: account.instance_id, updateId });
      return { status: 200, queued: null };
    }
    if (route.kind === "ignore") {
      log("info", "telegram_update_ignored", { instanceId: account.instance_id, updateId, why: route.why });
      return { status: 200, queued: null };
    }
    return { status: 200, queued: { updateId, job: route } };
  }

  /** Records an update once; false when this `update_id` was seen already. */
  record(updateId: number, route: Route, now: number): boolean {
    const ignored = route.kind === "ignore";
    return (
      this.sql
        .exec(
          `INSERT INTO telegram_updates (update_id, received_at, job, status) VALUES (?, ?, ?, ?)
           ON CONFLICT DO NOTHING RETURNING update_id`,
          updateId,
          now,
          ignored ? null : JSON.stringify(route),
          ignored ? "done" : "pending",
        )
        .toArray().length > 0
    );
  }

  /** Jobs for the object to run, not in `skip`: the owner's first, then in arrival order. */
  pending(limit: number, skip: ReadonlySet<number>, now = Date.now()): PendingJob[] {
    return this.sql
      .exec<{ update_id: number; job: string; attempts: number; owner: number; model_completion: string | null }>(
        `SELECT update_id, job, attempts, ${OWNER_FIRST} = 0 AS owner, model_completion FROM telegram_updates
         WHERE ${RUNNABLE} ORDER BY ${OWNER_FIRST}, received_at LIMIT ?`,
        now,
        limit + skip.size,
      )
      .toArray()
      .filter((r) => !skip.has(r.update_id))
      .slice(0, limit)
      .map((r) => ({
        updateId: r.update_id,
        job: JSON.parse(r.job) as Job,
        attempts: r.attempts,
        owner: r.owner === 1,
        completion: r.model_completion ? (JSON.parse(r.model_completion) as Completion) : null,
      }));
  }

  /**
   * When the alarm should come back for the inbox: `safetyAt` while a job is the object's to run (a drain that
   * died with the object), else when the first lease runs out (the Worker is gone: the object takes the job back).
   */
  wakeAt(now: number, safetyAt: number): number | null {
    return this.sql
      .exec<{ at: number | null }>(
        `SELECT MIN(CASE WHEN model_lease IS NULL OR model_lease_until <= ? THEN ? ELSE model_lease_until END) AS at
         FROM telegram_updates WHERE status = 'pending'`,
        now,
        safetyAt,
      )
      .one().at;
  }

  /**
   * The object runs the job now. A lease the Worker still held has run out: it ends here, so the Worker's late
   * answer finds no lease to deliver under (`deliver`) and the job is never answered twice.
   */
  attempted(updateId: number): void {
    this.sql.exec(
      "UPDATE telegram_updates SET attempts = attempts + 1, model_lease = NULL, model_lease_until = NULL WHERE update_id = ?",
      updateId,
    );
  }

  /**
   * Leases a pending job to the webhook's Worker (it asks the model). Not an attempt: the object's own runs keep
   * all their retries. Returns the lease and when it runs out.
   */
  lease(updateId: number, now: number): { lease: string; until: number } {
    const lease = crypto.randomUUID();
    const until = now + MODEL_LEASE_MS;
    this.sql.exec(
      `UPDATE telegram_updates SET model_lease = ?, model_lease_until = ? WHERE update_id = ? AND status = 'pending'`,
      lease,
      until,
      updateId,
    );
    return { lease, until };
  }

  /** Leases the Worker holds now (each is a client's question at the model, its hold taken). */
  leased(now: number): number {
    return this.sql
      .exec<{ n: number }>(
        "SELECT COUNT(*) AS n FROM telegram_updates WHERE status = 'pending' AND model_lease_until > ?",
        now,
      )
      .one().n;
  }

  /**
   * The Worker's delivery under its lease: the model's answer (null: the Worker gave the job back, e.g. its
   * time ran out) and the lease ends. Refused (false) when the lease is not the job's any more: delivered
   * already, taken back by the object, or the job is done. A guarded transition: one answer per job.
   */
  deliver(updateId: number, lease: string, completion: Completion | null): boolean {
    return (
      this.sql
        .exec(
          `UPDATE telegram_updates SET model_lease = NULL, model_lease_until = NULL, model_completion = ?
           WHERE update_id = ? AND status = 'pending' AND model_lease = ? RETURNING update_id`,
          completion ? JSON.stringify(completion) : null,
          updateId,
          lease,
        )
        .toArray().length > 0
    );
  }

  /** The job is over; a model answer the Worker delivered is not kept (the answer itself is, in the job). */
  done(updateId: number): void {
    this.sql.exec("UPDATE telegram_updates SET status = 'done', model_completion = NULL WHERE update_id = ?", updateId);
  }

  /** The answer, stored in the transaction that settles its charge. */
  storeAnswer(updateId: number, answer: string): void {
    this.sql.exec(
      "UPDATE telegram_updates SET job = json_set(job, '$.answer', ?) WHERE update_id = ?",
      answer,
      updateId,
    );
  }

  storedAnswer(updateId: number): { text: string; sentParts: number } | null {
    const row = this.sql
      .exec<{ answer: string | null; sent_parts: number }>(
        "SELECT job ->> '$.answer' AS answer, sent_parts FROM telegram_updates WHERE update_id = ?",
        updateId,
      )
      .toArray()[0];
    return row?.answer ? { text: row.answer, sentParts: row.sent_parts } : null;
  }

  sent(updateId: number, parts: number): void {
    this.sql.exec("UPDATE telegram_updates SET sent_parts = ? WHERE update_id = ?", parts, updateId);
  }

  /**
   * Handled update ids older than `UPDATE_RETENTION_MS` are forgotten: Telegram redelivers for at most a day,
   * so they are kept longer than that.
   */
  forgetDone(now: number): void {
    this.sql.exec("DELETE FROM telegram_updates WHERE status = 'done' AND received_at < ?", now - UPDATE_RETENTION_MS);
  }
}

/**
 * Runs the inbox as a rolling pool: a job that ends frees its slot for the next at once (no batches),
 * clients' answers take at most `clientSlots` at a time and the owner's jobs have slots of their own, so
 * an owner's `/balance` never waits behind answers stuck on a slow model. `wake()` makes a running
 * drain look for new jobs at once.
 */
export class InboxPool {
  #running = new Map<number, { owner: boolean; done: Promise<void> }>();
  #wake: (() => void) | null = null;

  constructor(
    private readonly inbox: Inbox,
    private readonly slots: { client: number; owner: number },
  ) {}

  wake(): void {
    this.#wake?.();
  }

  async drain(run: (job: PendingJob) => Promise<void>): Promise<void> {
    // A job runs once per drain: one that failed waits for its backoff (the alarm starts the next drain).
    const started = new Set<number>();
    for (;;) {
      const busy = (owner: boolean) => [...this.#running.values()].filter((r) => r.owner === owner).length;
      let freeOwner = this.slots.owner - busy(true);
      let freeClient = this.slots.client - busy(false);
      const candidates =
        freeOwner + freeClient > 0 ? this.inbox.pending(this.slots.owner + this.slots.client, started) : [];
      for (const job of candidates) {
        if (job.owner ? freeOwner <= 0 : freeClient <= 0) continue;
        started.add(job.updateId);
        if (job.owner) freeOwner--;
        else freeClient--;
        const done = run(job).finally(() => this.#running.delete(job.updateId));
        this.#running.set(job.updateId, { owner: job.owner, done });
      }
      if (this.#running.size === 0) return;
      const woken = new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      await Promise.race([woken, ...[...this.#running.values()].map((r) => r.done)]);
      this.#wake = null;
    }
  }
}
