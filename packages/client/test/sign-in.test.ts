/**
 * Signing in and out in both modes, the session as the client reports it, and latchkey's
 * refusals as `LatchkeyError`s (issue 29).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LatchkeyError } from "../src/index.js";
import { FakeLatchkey, PASSWORD } from "./fake-latchkey.js";
import { tab, within } from "./helpers.js";

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-03-01T12:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("cookie mode", () => {
  it("signs in with the cookies of the strategy, keeps the CSRF token, and reports the session", async () => {
    const server = new FakeLatchkey({ strategy: "jwt", accessTtl: 300, prefix: "/api" });
    const client = tab(server);
    const info = await within(client.signIn("alice", PASSWORD, { remember: true }));
    const [login] = server.sent("POST", "/auth/login");
    expect(login?.url).toBe("https://auth.example/api/auth/login");
    expect(login?.credentials).toBe("include");
    expect(JSON.parse(login?.body ?? "")).toEqual({ username: "alice", password: PASSWORD, remember: true });
    expect(info).toMatchObject({ user: { username: "alice", roles: ["member"] }, strategy: "jwt" });
    // On the client's clock, from the relative expires_in: when the fake server's token dies.
    expect(info.accessExpiresAt).toBe([...server.access.values()][0]?.exp);
    expect(await client.session()).toBe(info);
  });

  it("under the session strategy there is no expiry and nothing to refresh", async () => {
    const server = new FakeLatchkey({ strategy: "session" });
    const client = tab(server);
    const info = await within(client.signIn("alice", PASSWORD));
    expect(info.accessExpiresAt).toBeNull();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(server.sent("POST", "/auth/refresh")).toHaveLength(0);
  });

  it("session() loads once from /auth/me, and concurrent callers share the request", async () => {
    const server = new FakeLatchkey({ strategy: "hybrid" });
    await within(tab(server).signIn("alice", PASSWORD));
    const reloaded = tab(server);
    const [a, b] = await within(Promise.all([reloaded.session(), reloaded.session()]));
    expect(a).toBe(b);
    // /auth/me says 59 s remain (whole seconds, rounded down): the client never overshoots.
    const exp = [...server.access.values()][0]?.exp ?? 0;
    expect(a).toMatchObject({ strategy: "hybrid" });
    expect(a?.accessExpiresAt).toBeLessThanOrEqual(exp);
    expect(a?.accessExpiresAt).toBeGreaterThan(exp - 1_000);
    expect(await reloaded.session()).toBe(a);
    expect(server.sent("GET", "/auth/me")).toHaveLength(1);
  });

  it("session() is null when latchkey answers /auth/me with 401", async () => {
    const server = new FakeLatchkey();
    expect(await within(tab(server).session())).toBeNull();
  });

  it("signs out with the CSRF header, and is signed out whatever latchkey answers", async () => {
    const server = new FakeLatchkey();
    const client = tab(server);
    await within(client.signIn("alice", PASSWORD));
    const changes: string[] = [];
    client.onChange(({ reason, session }) => changes.push(`${reason}:${session}`));
    await within(client.signOut());
    const [logout] = server.sent("POST", "/auth/logout");
    expect(logout?.headers.get("x-csrf-token")).toBe([...server.sessions.values()][0]?.csrf);
    expect([...server.sessions.values()][0]?.ended).toBe(true);
    expect(changes).toEqual(["signed_out:null"]);
    expect(await client.session()).toBeNull();
  });
});

describe("memory mode", () => {
  it("asks for the token in the body, and sends it as a bearer token, not as a cookie", async () => {
    const server = new FakeLatchkey({ accessTtl: 120 });
    const client = tab(server, { mode: "memory" });
    const info = await within(client.signIn("alice", PASSWORD));
    expect(JSON.parse(server.sent("POST", "/auth/login")[0]?.body ?? "")).toMatchObject({ mode: "memory" });
    expect(info).toMatchObject({ strategy: "memory", accessExpiresAt: [...server.access.values()][0]?.exp });
    const answer = await within(client.fetch(`${server.origin}/api/echo`));
    expect(answer.status).toBe(200);
    const [echo] = server.sent("GET", "/api/echo");
    expect(echo?.headers.get("authorization")).toMatch(/^Bearer at-/);
    expect(echo?.credentials).toBe("same-origin");
  });

  it("a reloaded page gets its token back with a refresh (X-Requested-With), then /auth/me", async () => {
    const server = new FakeLatchkey();
    await within(tab(server, { mode: "memory" }).signIn("alice", PASSWORD));
    const reloaded = tab(server, { mode: "memory" });
    const info = await within(reloaded.session());
    expect(info).toMatchObject({ user: { username: "alice" }, strategy: "memory" });
    const [refresh] = server.sent("POST", "/auth/refresh");
    expect(refresh?.headers.get("x-requested-with")).toBe("latchkey");
    expect(refresh?.headers.has("x-csrf-token")).toBe(false);
    expect(refresh?.credentials).toBe("include");
    expect(server.sent("GET", "/auth/me")[0]?.headers.get("authorization")).toMatch(/^Bearer at-/);
  });

  it("a reloaded page without a refresh cookie is signed out at once: null, one request", async () => {
    const server = new FakeLatchkey();
    const reloaded = tab(server, { mode: "memory", locks: { request: (_name, callback) => callback() } });
    expect(await within(reloaded.session(), 100)).toBeNull();
    expect(server.sent("POST", "/auth/refresh")).toHaveLength(1);
  });

  it("signs out with X-Requested-With and the bearer token", async () => {
    const server = new FakeLatchkey();
    const client = tab(server, { mode: "memory" });
    await within(client.signIn("alice", PASSWORD));
    await within(client.signOut());
    const [logout] = server.sent("POST", "/auth/logout");
    expect(logout?.headers.get("x-requested-with")).toBe("latchkey");
    expect(logout?.headers.get("authorization")).toMatch(/^Bearer at-/);
    expect([...server.sessions.values()][0]?.ended).toBe(true);
    expect(await client.session()).toBeNull();
  });

  it("signOutEverywhere refreshes first when the token has expired, then sends the bearer token", async () => {
    const server = new FakeLatchkey({ accessTtl: 60 });
    const client = tab(server, { mode: "memory", refreshMargin: 0 });
    await within(client.signIn("alice", PASSWORD));
    client.close(); // no scheduled refresh: the token dies
    vi.setSystemTime(Date.now() + 61_000);
    const reasons: string[] = [];
    client.onChange(({ reason }) => reasons.push(reason));
    await within(client.signOutEverywhere());
    expect(server.sent("POST", "/auth/refresh")).toHaveLength(1);
    expect(server.sent("POST", "/auth/logout-all")[0]?.headers.get("authorization")).toMatch(/^Bearer at-/);
    expect(reasons).toEqual(["refreshed", "signed_out_everywhere"]);
  });
});

describe("refusals", () => {
  it("a wrong password rejects with LatchkeyError invalid_credentials and leaves the client signed out", async () => {
    const server = new FakeLatchkey();
    const client = tab(server);
    const error = await within(client.signIn("alice", "wrong")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LatchkeyError);
    expect(error).toMatchObject({ status: 401, code: "invalid_credentials", retryAfter: null });
    expect(server.sent("GET", "/auth/me")).toHaveLength(0);
  });

  it("a 429 carries Retry-After as retryAfter, in seconds", async () => {
    const server = new FakeLatchkey();
    const error = await within(tab(server).signIn("flood", PASSWORD)).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "LatchkeyError", status: 429, code: "rate_limited", retryAfter: 7 });
  });

  it("Retry-After as an HTTP date counts from the client's clock", async () => {
    const at = new Date(Date.now() + 90_000).toUTCString();
    const fetch = async () =>
      Response.json(
        { error: { code: "rate_limited", message: "slow down" } },
        { status: 429, headers: { "retry-after": at } },
      );
    const client = tab(new FakeLatchkey(), { fetch });
    const error = await client.signIn("alice", PASSWORD).catch((e: unknown) => e);
    expect(error).toMatchObject({ retryAfter: 90, message: "slow down" });
  });

  it("an answer that is not latchkey's JSON still gives a LatchkeyError with its status", async () => {
    const client = tab(new FakeLatchkey(), {
      fetch: async () => new Response("<h1>Bad gateway</h1>", { status: 502 }),
    });
    const error = await client.signIn("alice", PASSWORD).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502, code: "http_error" });
  });

  it("a network failure is fetch's own error, not a LatchkeyError", async () => {
    const failure = new TypeError("Failed to fetch");
    const client = tab(new FakeLatchkey(), { fetch: () => Promise.reject(failure) });
    await expect(client.signIn("alice", PASSWORD)).rejects.toBe(failure);
    await expect(client.signOut()).rejects.toBe(failure);
  });
});
