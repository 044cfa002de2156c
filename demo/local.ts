/**
 * Running the product locally for the demo: free ports, a throw-away state directory, D1 migrations and
 * `wrangler dev` as a child process group that is always stopped again (success, failure or Ctrl-C).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
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

/** Things to undo at the end, newest first; run once even if several exit paths race to it. */
export class Cleanup {
  readonly #steps: (() => Promise<void> | void)[] = [];
  readonly #lastResort: (() => void)[] = [];
  #ran: Promise<void> | null = null;

  add(step: () => Promise<void> | void): void {
    this.#steps.push(step);
  }

  /** Synchronous kill for `process.on("exit")`, when async cleanup can no longer run. */
  addLastResort(step: () => void): void {
    this.#lastResort.push(step);
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

  lastResort(): void {
    for (const step of this.#lastResort) {
      try {
        step();
      } catch {
        // Already gone.
      }
    }
  }
}

export interface CommandResult {
  code: number | null;
  output: string;
}

/** Runs wrangler to completion, its output appended to `logPath`. */
export function runWrangler(args: string[], env: NodeJS.ProcessEnv, logPath: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logPath, { flags: "a" });
    log.write(`\n$ wrangler ${args.join(" ")}\n`);
    const child = spawn(WRANGLER, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      log.write(chunk);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("close", (code) => {
      log.end();
      resolve({ code, output });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signals the whole process group of a child started with `detached: true` (wrangler and its workerd). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
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
  // Its own process group, so stopping it also stops the workerd processes it started.
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let exited: string | null = null;
  child.on("exit", (code, signal) => {
    exited = `wrangler dev exited (${signal ?? `code ${code}`})`;
  });
  const pid = child.pid;
  cleanup.addLastResort(() => {
    if (pid !== undefined) process.kill(-pid, "SIGKILL");
  });
  const stop = async () => {
    if (pid === undefined || exited) return;
    killGroup(child, "SIGTERM");
    const deadline = Date.now() + 5_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    killGroup(child, "SIGKILL");
    log.end();
  };
  cleanup.add(stop);

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

/** The last lines of a log file, for a failure report. */
export function tail(file: string, lines: number): string {
  if (!existsSync(file)) return "";
  return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
}
