/**
 * The bench's floors (bench/servers/floor.mjs, floor-postgres.mjs) stand for the least a
 * cookie-session server can do on each store, and performance.md reads targets against
 * them. That holds only if they answer what latchkey answers: the same bodies for the same
 * session, and a refusal for a session latchkey refuses. Each floor here reads what a real
 * latchkey server wrote.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "../helpers/http-client.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { type RunningServer, startListeningProcess, startServerProcess } from "../helpers/processes.js";
import { describeWith } from "../helpers/services.js";

const SERVERS = fileURLToPath(new URL("../../bench/servers/", import.meta.url));
const PASSWORD = "correct horse battery staple";

/** Where to reach a server started on 127.0.0.1. */
const base = (server: RunningServer) => `http://127.0.0.1:${server.port}`;

interface Captured {
  cookie: string;
  me: Record<string, unknown>;
  csrfToken: unknown;
  /** What latchkey's `GET /auth/me` answer says of itself: its caching and security headers. */
  meHeaders: Record<string, string | null>;
  todos: unknown;
}

/** The headers the contract (`no-store`) and the checklist (item 43) put on a JSON answer. */
const IO_HEADERS = ["cache-control", "x-content-type-options", "x-frame-options", "referrer-policy"];
const ioHeadersOf = (response: Response) => Object.fromEntries(IO_HEADERS.map((h) => [h, response.headers.get(h)]));

/** Registers, signs in and adds three to-dos on a `session` server; what it answers then. */
async function captureSession(server: RunningServer): Promise<Captured> {
  const url = base(server);
  const client = new HttpClient(server.origin);
  const username = `floor${Math.random().toString(36).slice(2, 8)}`;
  expect((await client.request(url, "POST", "/auth/register", { username, password: PASSWORD })).status).toBe(201);
  expect((await client.login(url, username, PASSWORD)).status).toBe(200);
  for (const title of ["milk", "bread", 'a "quoted" title']) {
    expect((await client.request(url, "POST", "/api/todos", { title })).status).toBe(201);
  }
  const meResponse = await client.request(url, "GET", "/auth/me");
  const { csrfToken, ...me } = (await meResponse.json()) as Record<string, unknown>;
  const todos = await (await client.request(url, "GET", "/api/todos")).json();
  const cookie = `__Host-sid=${client.cookies.get("__Host-sid")}`;
  return { cookie, me, csrfToken, meHeaders: ioHeadersOf(meResponse), todos };
}

async function get(origin: string, path: string, cookie: string) {
  const response = await fetch(`${origin}${path}`, { headers: { cookie } });
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
  let floor: RunningServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-floor-"));
    const file = join(dir, "floor.db");
    const server = await startServerProcess({ DATABASE_URL: `sqlite:${file}`, AUTH_STRATEGY: "session" });
    try {
      captured = await captureSession(server);
    } finally {
      await server.stop();
    }
    floor = await startListeningProcess([join(SERVERS, "floor.mjs")], { DATABASE_FILE: file });
  });

  afterAll(async () => {
    await floor?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("GET /auth/me: the same user and session", async () => {
    expect(await get(base(floor), "/auth/me", captured.cookie)).toEqual({ status: 200, body: captured.me });
  });

  it("GET /api/todos: the same to-dos in the same order", async () => {
    expect(await get(base(floor), "/api/todos", captured.cookie)).toEqual({ status: 200, body: captured.todos });
  });

  it("refuses a cookie whose secret does not match", async () => {
    expect((await get(base(floor), "/auth/me", forged(captured.cookie))).status).toBe(401);
    expect((await get(base(floor), "/api/todos", forged(captured.cookie))).status).toBe(401);
  });

  // Issue 33: the floor with latchkey's I/O is the bound of a cookie session's `/auth/me`:
  // the same answer with latchkey's own CSRF token, and the same headers.
  it("LATCHKEY_IO=1: the same answer with latchkey's csrfToken, no-store and the security headers", async () => {
    const server = await startListeningProcess([join(SERVERS, "floor.mjs")], {
      DATABASE_FILE: join(dir, "floor.db"),
      LATCHKEY_IO: "1",
    });
    try {
      const response = await fetch(`${base(server)}/auth/me`, { headers: { cookie: captured.cookie } });
      expect(response.status).toBe(200);
      expect(captured.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(await response.json()).toEqual({ ...captured.me, csrfToken: captured.csrfToken });
      expect(captured.meHeaders["cache-control"]).toBe("no-store");
      expect(ioHeadersOf(response)).toEqual(captured.meHeaders);
      expect((await get(base(server), "/auth/me", forged(captured.cookie))).status).toBe(401);
    } finally {
      await server.stop();
    }
  });

  // Issue 33: each framework's floor, and node:http's bound through toNodeHandler, stand for
  // the least that framework can do for the same `GET /auth/me`.
  it.each(["express-floor.mjs", "hono-floor.mjs", "node-floor.mjs", "node-bridge-floor.mjs"])(
    "%s: the same user and session, and a refusal for a forged secret",
    async (script) => {
      const server = await startListeningProcess([join(SERVERS, script)], { DATABASE_FILE: join(dir, "floor.db") });
      try {
        expect(await get(base(server), "/auth/me", captured.cookie)).toEqual({ status: 200, body: captured.me });
        expect((await get(base(server), "/auth/me", forged(captured.cookie))).status).toBe(401);
      } finally {
        await server.stop();
      }
    },
  );
});

describeWith("PostgreSQL", postgresAvailable)(
  "bench floors: the PostgreSQL floor answers what latchkey answers",
  () => {
    let schema: Awaited<ReturnType<typeof freshSchema>>;
    let captured: Captured;
    let floor: RunningServer;

    beforeAll(async () => {
      schema = await freshSchema();
      const server = await startServerProcess({ DATABASE_URL: schema.url, AUTH_STRATEGY: "session" });
      try {
        captured = await captureSession(server);
      } finally {
        await server.stop();
      }
      floor = await startListeningProcess([join(SERVERS, "floor-postgres.mjs")], { DATABASE_URL: schema.url });
    });

    afterAll(async () => {
      await floor?.stop();
      await schema?.drop();
    });

    it("GET /auth/me: the same user and session", async () => {
      expect(await get(base(floor), "/auth/me", captured.cookie)).toEqual({ status: 200, body: captured.me });
    });

    it("refuses a cookie whose secret does not match", async () => {
      expect((await get(base(floor), "/auth/me", forged(captured.cookie))).status).toBe(401);
    });
  },
);
