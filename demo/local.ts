/**
 * Running the product locally for the demo and `npm run dev`: free ports, D1 migrations and `wrangler dev`, each
 * child in a process group of its own that is always stopped again (success, failure, Ctrl-C or SIGTERM).
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { createWriteStream, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..");
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");

/** A port nothing listens on right now (the OS picks it, so parallel runs and `npm run dev` never collide). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Grace period between SIGTERM and SIGKILL for a child process group. */
const GRACE_MS = 5_000;

/** Whether any process of the group led by `pgid` is still there (workerd may outlive wrangler). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is already gone.
  }
}

/** SIGTERM to the whole group, SIGKILL to what is left after the grace period. */
export async function stopGroup(pgid: number, graceMs = GRACE_MS): Promise<void> {
  signalGroup(pgid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  signalGroup(pgid, "SIGKILL");
}

/**
 * The one way out of a run: things to undo, newest first, run once even if several exit paths (normal end,
 * failure, a signal) race to it. Child processes are started through `spawn` in their own process group, so
 * stopping one stops everything it started (wrangler and its workerd), and `killNow` can still SIGKILL every
 * group synchronously from `process.on("exit")`. A child spawned after cleanup began is killed at once.
 */
export class Cleanup {
  readonly #steps: (() => Promise<void> | void)[] = [];
  readonly #groups = new Set<number>();
  #ran: Promise<void> | null = null;

  add(step: () => Promise<void> | void): void {
    this.#steps.push(step);
  }

  /** `child_process.spawn` in a new process group (`detached`), stopped by `run` and `killNow`. */
  spawn(command: string, args: string[], options: SpawnOptions): ChildProcess {
    const child = spawn(command, args, { ...options, detached: true });
    const pgid = child.pid;
    if (pgid === undefined) return child; // Failed to start; the child's "error" event says why.
    this.#groups.add(pgid);
    if (this.#ran) {
      signalGroup(pgid, "SIGKILL");
    } else {
      this.add(async () => {
        await stopGroup(pgid);
        this.#groups.delete(pgid);
      });
    }
    return child;
  }

  /** Stops a child group now (SIGTERM, then SIGKILL after the grace period), before the end of the run. */
  async stop(child: ChildProcess): Promise<void> {
    if (child.pid === undefined || !this.#groups.has(child.pid)) return;
    await stopGroup(child.pid);
    this.#groups.delete(child.pid);
  }

  get started(): boolean {
    return this.#ran !== null;
  }

  run(): Promise<void> {
    this.#ran ??= (async () => {
      for (const step of this.#steps.reverse()) {
        try {
          await step();
        } catch {
          // Cleanup must go on with the remaining steps.
        }
      }
    })();
    return this.#ran;
  }

  /** Synchronous SIGKILL of every child group not yet stopped: for `process.on("exit")` and a second Ctrl-C. */
  killNow(): void {
    for (const pgid of this.#groups) signalGroup(pgid, "SIGKILL");
    this.#groups.clear();
  }
}

export interface CommandResult {
  code: number | null;
  output: string;
}

/** Runs wrangler to completion in its own process group (stopped by `cleanup`), its output appended to `logPath`. */
export function runWrangler(
  args: string[],
  env: NodeJS.ProcessEnv,
  logPath: string,
  cleanup: Cleanup,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logPath, { flags: "a" });
    log.write(`\n$ wrangler ${args.join(" ")}\n`);
    const child = cleanup.spawn(WRANGLER, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      log.write(chunk);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    child.on("error", reject);
    child.on("close", (code) => {
      log.end();
      resolve({ code, output });
    });
  });
}

export interface LocalWorker {
  origin: string;
  logPath: string;
  stop(): Promise<void>;
}

export interface WorkerOptions {
  port: number;
  inspectorPort: number;
  persistTo: string;
  envFile: string;
  vars: Record<string, string>;
  env: NodeJS.ProcessEnv;
  logPath: string;
  readyTimeoutMs: number;
}

/** Starts `wrangler dev` and resolves once the Worker answers HTTP; rejects if it exits or never gets ready. */
export async function startWorker(options: WorkerOptions, cleanup: Cleanup): Promise<LocalWorker> {
  const origin = `http://127.0.0.1:${options.port}`;
  const args = [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--inspector-port",
    String(options.inspectorPort),
    "--persist-to",
    options.persistTo,
    "--env-file",
    options.envFile,
    "--test-scheduled",
    "--show-interactive-dev-session=false",
    ...Object.entries(options.vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ];
  const log = createWriteStream(options.logPath, { flags: "a" });
  log.write(`\n$ wrangler dev … (port ${options.port})\n`);
  // Added before the child, so it runs after the child is stopped (steps run newest first).
  cleanup.add(() => {
    log.end();
  });
  // Its own process group, so stopping it also stops the workerd processes it started.
  const child = cleanup.spawn(WRANGLER, args, { cwd: ROOT, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let exited: string | null = null;
  child.on("error", (error) => {
    exited = `wrangler dev did not start (${error.message})`;
  });
  child.on("exit", (code, signal) => {
    exited = `wrangler dev exited (${signal ?? `code ${code}`})`;
  });
  const stop = () => cleanup.stop(child);

  const deadline = Date.now() + options.readyTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`${exited} before it was ready; see ${options.logPath}`);
    if (Date.now() > deadline) {
      throw new Error(`wrangler dev was not ready after ${options.readyTimeoutMs / 1000} s; see ${options.logPath}`);
    }
    try {
      const response = await fetch(`${origin}/openapi.json`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { origin, logPath: options.logPath, stop };
}

/** Secrets for one local run, fresh each time (never `.dev.vars`); `tag` names the run in the tokens. */
export function localSecrets(tag: string) {
  return {
    ADMIN_TOKEN: `${tag}-admin-${randomUUID()}`,
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    STRIPE_SECRET_KEY: `sk_test_${tag}`,
    STRIPE_WEBHOOK_SECRET: `whsec_${tag}_${randomBytes(16).toString("hex")}`,
    AI_API_KEY: `${tag}-ai-key`,
  };
}

/** A fresh local Worker's ground: its secrets file, its environment and a D1 with the migrations applied. */
export interface LocalGround {
  envFile: string;
  persistTo: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Writes `secrets` to an env file in `dir` (mode 600), builds wrangler's environment (no colour, no metrics,
 * logs in `dir`) and applies the D1 migrations to a fresh local state in `dir/state`. Throws with the end of
 * wrangler's output when the migrations fail. Used by `npm run demo` and the dashboard's browser test.
 */
export async function prepareLocalWorker(
  dir: string,
  secrets: Readonly<Record<string, string>>,
  logPath: string,
  cleanup: Cleanup,
): Promise<LocalGround> {
  const envFile = path.join(dir, "local.env");
  const lines = Object.entries(secrets).map(([k, v]) => `${k}=${v}`);
  writeFileSync(envFile, `${lines.join("\n")}\n`, { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...secrets,
    CI: "1",
    NO_COLOR: "1",
    FORCE_COLOR: "0",
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_LOG_PATH: dir,
  };
  const persistTo = path.join(dir, "state");
  const migrated = await runWrangler(
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo],
    env,
    logPath,
    cleanup,
  );
  if (migrated.code !== 0) throw new Error(`D1 migrations failed:\n${migrated.output.slice(-2000)}`);
  return { envFile, persistTo, env };
}

/** The last lines of a log file, for a failure report. */
export function tail(file: string, lines: number): string {
  if (!existsSync(file)) return "";
  return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
}
