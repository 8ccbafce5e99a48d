/**
 * `client.reauthenticate` (issue 32): the password again after `reauthentication_required`,
 * with the credentials of each mode, and the renewed token (or access cookie) the answer
 * brings taken up by this tab and told to the others.
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
  it.each(["session", "jwt", "hybrid"] as const)(
    "under %s sends the password with the CSRF header and resolves the recent sign-in",
    async (strategy) => {
      const server = new FakeLatchkey({ strategy, accessTtl: 300 });
      const client = tab(server);
      const before = await within(client.signIn("alice", PASSWORD));
      await vi.advanceTimersByTimeAsync(60_000);
      const recent = await within(client.reauthenticate(PASSWORD));
      const [sent] = server.sent("POST", "/auth/reauthenticate");
      expect(JSON.parse(sent?.body ?? "")).toEqual({ password: PASSWORD });
      expect(sent?.credentials).toBe("include");
      expect(sent?.headers.get("x-csrf-token")).toBe([...server.sessions.values()][0]?.csrf);
      expect(sent?.headers.has("authorization")).toBe(false);
      expect(recent).toEqual({ authTime: "2026-03-01T12:01:01.005Z", amr: ["pwd"], recentUntil: expect.any(Number) });
      expect(recent.recentUntil).toBeGreaterThanOrEqual(Date.now() + 599_000);
      const after = await client.session();
      if (strategy === "session") expect(after?.accessExpiresAt).toBeNull();
      // The new access cookie's lifetime counts from now: its refresh moves later.
      else expect(after?.accessExpiresAt).toBeGreaterThan((before.accessExpiresAt ?? 0) + 50_000);
    },
  );

  it("a wrong password rejects with invalid_credentials and the tab stays signed in", async () => {
    const server = new FakeLatchkey({ strategy: "jwt" });
    const client = tab(server);
    const changes: string[] = [];
    client.onChange(({ reason }) => changes.push(reason));
    await within(client.signIn("alice", PASSWORD));
    const refused = await within(client.reauthenticate("wrong").catch((error: unknown) => error));
    expect(refused).toBeInstanceOf(LatchkeyError);
    expect(refused).toMatchObject({ status: 401, code: "invalid_credentials" });
    expect(await client.session()).not.toBeNull();
    expect(changes).toEqual(["signed_in"]);
  });
});

describe("memory mode", () => {
  it("sends the bearer token and keeps the new one the answer brings", async () => {
    const server = new FakeLatchkey({ accessTtl: 300 });
    const client = tab(server, { mode: "memory" });
    await within(client.signIn("alice", PASSWORD));
    const changes: string[] = [];
    client.onChange(({ reason }) => changes.push(reason));
    await within(client.reauthenticate(PASSWORD));
    const [sent] = server.sent("POST", "/auth/reauthenticate");
    const first = sent?.headers.get("authorization");
    expect(first).toMatch(/^Bearer at-/);
    expect(changes).toEqual(["refreshed"]);
    await within(client.fetch(`${server.origin}/api/echo`));
    const [echo] = server.sent("GET", "/api/echo");
    // The token of the answer, not the sign-in's.
    expect(echo?.headers.get("authorization")).toMatch(/^Bearer at-/);
    expect(echo?.headers.get("authorization")).not.toBe(first);
  });

  it("an expired token is refreshed first", async () => {
    const server = new FakeLatchkey({ accessTtl: 300 });
    const client = tab(server, { mode: "memory", keepAlive: false });
    await within(client.signIn("alice", PASSWORD));
    await vi.advanceTimersByTimeAsync(301_000);
    const recent = await within(client.reauthenticate(PASSWORD));
    expect(recent.amr).toEqual(["pwd"]);
    expect(server.sent("POST", "/auth/refresh")).toHaveLength(1);
  });
});
