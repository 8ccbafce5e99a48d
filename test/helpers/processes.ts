/**
 * Real processes: the built `latchkey` command, as a server and as the CLI.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../packages/server/bin/latchkey.js", import.meta.url));

export interface RunningServer {
  proc: ChildProcess;
  port: number;
  origin: string;
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `latchkey serve` on a free port and resolves once it listens. */
export function startServerProcess(env: Record<string, string>, cwd?: string): Promise<RunningServer> {
  return startListeningProcess([BIN, "serve"], { LOG_LEVEL: "info", ...env }, cwd);
}

/**
 * Starts a Node script on a free port (`PORT=0`) and resolves once it prints the port it
 * listens on as `{"port":N}`, as `latchkey serve` and the bench's servers do.
 */
export async function startListeningProcess(
  args: string[],
  env: Record<string, string>,
  cwd?: string,
): Promise<RunningServer> {
  const proc = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? "", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  proc.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  proc.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 15_000);
    const check = () => {
      const match = /"port":(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    proc.stdout?.on("data", check);
    proc.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`server exited:\n${output}`));
    });
  });
  return {
    proc,
    port,
    origin: `http://localhost:${port}`,
    output: () => output,
    stop: async () => {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      return exited;
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `latchkey <args>` to completion, with `input` on standard input. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  input: string | Uint8Array = "",
): Promise<CliResult> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    proc.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    proc.once("close", (code) => resolve({ code, stdout, stderr }));
    proc.stdin.end(input);
  });
}

/** Polls `check` until it returns true or `withinMs` passes; resolves with the time it took. */
export async function within(withinMs: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > withinMs) throw new Error(`not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
