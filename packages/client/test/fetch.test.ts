/**
 * `client.fetch` (issue 29): the credentials go to the allowed origins only, the CSRF header
 * on unsafe cookie requests only, and an expired access token costs one refresh and one
 * retry of the same request; a 401 that ends the session signs the client out.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeLatchkey, PASSWORD } from "./fake-latchkey.js";
import { tab, within } from "./helpers.js";

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-03-01T12:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const ECHO = "https://auth.example/api/echo";

describe("cookie mode", () => {
  it("sends X-CSRF-Token on unsafe methods only, and cookies with every request", async () => {
    const server = new FakeLatchkey({ strategy: "session" });
    const client = tab(server);
    await within(client.signIn("alice", PASSWORD));
    for (const method of ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]) {
      await within(client.fetch(ECHO, { method }));
    }
    const csrf = [...server.sessions.values()][0]?.csrf;
    const sent = server.log.filter((entry) => entry.path === "/api/echo");
    expect(sent.map((entry) => [entry.method, entry.headers.get("x-csrf-token")])).toEqual([
      ["GET", null],
      ["HEAD", null],
      ["OPTIONS", null],
      ["POST", csrf],
      ["PUT", csrf],
      ["PATCH", csrf],
      ["DELETE", csrf],
    ]);
    expect(sent.every((entry) => entry.credentials === "include")).toBe(true);
  });

  it("an unsafe request before the session is known loads it first, for the CSRF token", async () => {
    const server = new FakeLatchkey({ strategy: "session" });
    await within(tab(server).signIn("alice", PASSWORD));
    const reloaded = tab(server);
    const answer = await within(reloaded.fetch(ECHO, { method: "POST", body: "x" }));
    expect(answer.status).toBe(200);
    expect(server.log.map((entry) => `${entry.method} ${entry.path}`).slice(1)).toEqual([
      "GET /auth/me",
      "POST /api/echo",
    ]);
  });

  it("under jwt, a 401 unauthenticated costs one refresh and one retry with the same body", async () => {
    const server = new FakeLatchkey({ strategy: "jwt", accessTtl: 300 });
    const client = tab(server);
    await within(client.signIn("alice", PASSWORD));
    server.expireAccess();
    const answer = await within(client.fetch(ECHO, { method: "PUT", body: JSON.stringify({ n: 1 }) }));
    expect(await answer.json()).toMatchObject({ method: "PUT", body: '{"n":1}' });
    expect(server.sent("POST", "/auth/refresh")).toHaveLength(1);
    expect(server.sent("POST", "/auth/refresh")[0]?.headers.get("x-csrf-token")).toBe(
      [...server.sessions.values()][0]?.csrf,
    );
    expect(server.sent("PUT", "/api/echo").map((entry) => entry.body)).toEqual(['{"n":1}', '{"n":1}']);
  });

  it("under session and hybrid, a 401 unauthenticated is the session's end: a forced sign-out with that reason", async () => {
    for (const strategy of ["session", "hybrid"] as const) {
      const server = new FakeLatchkey({ strategy });
      const client = tab(server);
      await within(client.signIn("alice", PASSWORD));
      const changes: unknown[] = [];
      client.onChange((change) => changes.push(change));
      server.endSessions();
      const answer = await within(client.fetch(ECHO));
      expect(answer.status).toBe(401);
      // The caller still reads the body: the client read a clone.
      expect(await answer.json()).toMatchObject({ error: { code: "unauthenticated" } });
      expect(changes).toEqual([
        { session: null, reason: "unauthenticated", fromOtherTab: false, message: "refused: unauthenticated" },
      ]);
      expect(server.sent("POST", "/auth/refresh")).toHaveLength(0);
      expect(await client.session()).toBeNull();
    }
  });

  it("a relative URL is the page's origin", async () => {
    vi.stubGlobal("location", { origin: "https://auth.example", href: "https://auth.example/app/" });
    const server = new FakeLatchkey({ strategy: "session" });
    const client = tab(server, { baseUrl: "" });
    await within(client.signIn("alice", PASSWORD));
    await within(client.fetch("../api/echo", { method: "POST" }));
    expect(server.sent("POST", "/api/echo")[0]?.headers.get("x-csrf-token")).toBeTruthy();
  });
});

describe("memory mode", () => {
  it("a 401 invalid_token costs one refresh and one retry of the same request, with the new token", async () => {
    const server = new FakeLatchkey();
    const client = tab(server, { mode: "memory" });
    await within(client.signIn("alice", PASSWORD));
    server.expireAccess();
    const request = new Request(ECHO, { method: "POST", body: "hello", headers: { "x-app": "1" } });
    const answer = await within(client.fetch(request));
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ method: "POST", body: "hello" });
    expect(server.sent("POST", "/auth/refresh")).toHaveLength(1);
    const [first, second] = server.sent("POST", "/api/echo");
    expect(second?.body).toBe("hello");
    expect(second?.headers.get("x-app")).toBe("1");
    expect(second?.headers.get("authorization")).not.toBe(first?.headers.get("authorization"));
  });

  it("a second 401 after the retry is a forced sign-out, and the caller gets that answer", async () => {
    const server = new FakeLatchkey();
    const client = tab(server, { mode: "memory" });
    await within(client.signIn("alice", PASSWORD));
    const reasons: string[] = [];
    client.onChange(({ reason }) => reasons.push(reason));
    server.expireAccess();
    // The refresh succeeds, but every token it issues is refused (as after a key mix-up).
    const issue = server.access.set.bind(server.access);
    server.access.set = (token, value) => issue(token, { ...value, exp: 0 });
    const answer = await within(client.fetch(ECHO));
    expect(answer.status).toBe(401);
    expect(server.sent("GET", "/api/echo")).toHaveLength(2);
    expect(reasons).toEqual(["refreshed", "invalid_token"]);
    expect(await client.session()).toBeNull();
  });

  it("the bearer token goes to the page's, baseUrl's and apiOrigins' origins, and never to another", async () => {
    vi.stubGlobal("location", { origin: "https://app.example", href: "https://app.example/" });
    const server = new FakeLatchkey({ pageOrigin: "https://app.example" });
    const client = tab(server, { mode: "memory", apiOrigins: ["https://api.example"] });
    await within(client.signIn("alice", PASSWORD));
    const urls = [
      "/page-api",
      `${ECHO}?x`,
      "https://api.example/items",
      "https://tracker.example/pixel",
      new URL("https://api.example.evil.example/steal"),
      new Request("http://api.example/plain-http"),
    ];
    for (const url of urls) await within(client.fetch(url));
    const bearer = server.log.slice(1).map((entry) => [entry.url, entry.headers.has("authorization")]);
    expect(bearer).toEqual([
      ["https://app.example/page-api", true],
      [`${ECHO}?x`, true],
      ["https://api.example/items", true],
      ["https://tracker.example/pixel", false],
      ["https://api.example.evil.example/steal", false],
      ["http://api.example/plain-http", false],
    ]);
  });

  it("a request to another origin goes out exactly as given", async () => {
    const server = new FakeLatchkey();
    const calls: unknown[][] = [];
    const client = tab(server, {
      mode: "memory",
      fetch: (...args) => {
        calls.push(args);
        return server.fetch(...args);
      },
    });
    await within(client.signIn("alice", PASSWORD));
    const init = { method: "POST", body: "b", credentials: "omit" } as const;
    await within(client.fetch("https://elsewhere.example/x", init));
    expect(calls.at(-1)).toEqual(["https://elsewhere.example/x", init]);
  });

  it("a request made with no token yet gets one first (a reloaded page)", async () => {
    const server = new FakeLatchkey();
    await within(tab(server, { mode: "memory" }).signIn("alice", PASSWORD));
    const reloaded = tab(server, { mode: "memory" });
    const answer = await within(reloaded.fetch(ECHO));
    expect(answer.status).toBe(200);
    expect(server.log.map((entry) => `${entry.method} ${entry.path}`).slice(1)).toEqual([
      "POST /auth/refresh",
      "GET /auth/me",
      "GET /api/echo",
    ]);
  });
});
