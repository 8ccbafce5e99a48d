/**
 * The bench's floors (bench/servers/floor.mjs, floor-postgres.mjs) stand for the least a
 * cookie-session server can do on each store, and performance.md reads targets against
 * them. That holds only if they answer what latchkey answers: the same bodies for the same
 * session, and a refusal for a session latchkey refuses. Each floor here reads what a real
 * latchkey server wrote.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "../helpers/http-client.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { type RunningServer, startServerProcess } from "../helpers/processes.js";
import { describeWith } from "../helpers/services.js";

const SERVERS = fileURLToPath(new URL("../../bench/servers/", import.meta.url));
const PASSWORD = "correct horse battery staple";

/** A bench server script on a free port; resolves with its base URL once it listens. */
async function startBenchServer(
  script: string,
  env: Record<string, string>,
): Promise<{ base: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [join(SERVERS, script)], {
    env: { PATH: process.env.PATH ?? "", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  proc.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout?.on("data", (chunk) => {
      output += chunk;
      const match = /"port":(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    proc.once("exit", () => reject(new Error(`${script} exited:\n${output}`)));
  });
  return { base: `http://127.0.0.1:${port}`, proc };
}

interface Captured {
  cookie: string;
  me: Record<string, unknown>;
  todos: unknown;
}

/** Registers, signs in and adds three to-dos on a `session` server; what it answers then. */
async function captureSession(server: RunningServer): Promise<Captured> {
  const base = `http://127.0.0.1:${server.port}`;
  const client = new HttpClient(server.origin);
  const username = `floor${Math.random().toString(36).slice(2, 8)}`;
  expect((await client.request(base, "POST", "/auth/register", { username, password: PASSWORD })).status).toBe(201);
  expect((await client.login(base, username, PASSWORD)).status).toBe(200);
  for (const title of ["milk", "bread", 'a "quoted" title']) {
    expect((await client.request(base, "POST", "/api/todos", { title })).status).toBe(201);
  }
  const { csrfToken: _csrf, ...me } = (await (await client.request(base, "GET", "/auth/me")).json()) as Record<
    string,
    unknown
  >;
  const todos = await (await client.request(base, "GET", "/api/todos")).json();
  const cookie = `__Host-sid=${client.cookies.get("__Host-sid")}`;
  return { cookie, me, todos };
}

async function get(base: string, path: string, cookie: string) {
  const response = await fetch(`${base}${path}`, { headers: { cookie } });
  return { status: response.status, body: await response.json() };
}

/** A cookie with the same session id and another secret: a floor must refuse it too. */
function forged(cookie: string): string {
  const [id] = cookie.slice("__Host-sid=".length).split(".");
  return `__Host-sid=${id}.${"A".repeat(43)}`;
}

describe("bench floors: the SQLite floor answers what latchkey answers", () => {
  let dir: string;
  let captured: Captured;
  let floor: { base: string; proc: ChildProcess };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-floor-"));
    const file = join(dir, "floor.db");
    const server = await startServerProcess({ DATABASE_URL: `sqlite:${file}`, AUTH_STRATEGY: "session" });
    try {
      captured = await captureSession(server);
    } finally {
      await server.stop();
    }
    floor = await startBenchServer("floor.mjs", { DATABASE_FILE: file });
  });

  afterAll(() => {
    floor?.proc.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("GET /auth/me: the same user and session", async () => {
    expect(await get(floor.base, "/auth/me", captured.cookie)).toEqual({ status: 200, body: captured.me });
  });

  it("GET /api/todos: the same to-dos in the same order", async () => {
    expect(await get(floor.base, "/api/todos", captured.cookie)).toEqual({ status: 200, body: captured.todos });
  });

  it("refuses a cookie whose secret does not match", async () => {
    expect((await get(floor.base, "/auth/me", forged(captured.cookie))).status).toBe(401);
    expect((await get(floor.base, "/api/todos", forged(captured.cookie))).status).toBe(401);
  });
});

describeWith("PostgreSQL", postgresAvailable)(
  "bench floors: the PostgreSQL floor answers what latchkey answers",
  () => {
    let schema: Awaited<ReturnType<typeof freshSchema>>;
    let captured: Captured;
    let floor: { base: string; proc: ChildProcess };

    beforeAll(async () => {
      schema = await freshSchema();
      const server = await startServerProcess({ DATABASE_URL: schema.url, AUTH_STRATEGY: "session" });
      try {
        captured = await captureSession(server);
      } finally {
        await server.stop();
      }
      floor = await startBenchServer("floor-postgres.mjs", { DATABASE_URL: schema.url });
    });

    afterAll(async () => {
      floor?.proc.kill();
      await schema?.drop();
    });

    it("GET /auth/me: the same user and session", async () => {
      expect(await get(floor.base, "/auth/me", captured.cookie)).toEqual({ status: 200, body: captured.me });
    });

    it("refuses a cookie whose secret does not match", async () => {
      expect((await get(floor.base, "/auth/me", forged(captured.cookie))).status).toBe(401);
    });
  },
);
