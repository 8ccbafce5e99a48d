/**
 * Security checklist lines 38-41: refresh-token rotation, reuse detection, races, limits.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type Harness, startHarness, uniqueName } from "../helpers/harness.js";

interface Tokens {
  access_token: string;
  refresh_token: string;
}

describe("security checklist 38-41 (refresh tokens)", () => {
  let h: Harness;
  let c: Client;
  beforeAll(async () => {
    h = await startHarness({
      SESSION_IDLE_TIMEOUT: "1800",
      SESSION_ABSOLUTE_TIMEOUT: "7200",
      REFRESH_REUSE_LEEWAY: "10",
    });
    c = h.client();
  });
  afterAll(() => h.close());

  const login = async (): Promise<[Tokens, string]> => {
    const name = uniqueName();
    await c.register(name);
    return [(await c.token(name)).json() as Tokens, name];
  };
  const refresh = async (token: string) => c.refresh(token);
  const works = async (access: string) => (await c.bearer("GET", "/api/todos", access)).statusCode === 200;

  it("security 38: each refresh returns a new refresh token and the old one is dead", async () => {
    const [first] = await login();
    const second = await refresh(first.refresh_token);
    expect(second.statusCode).toBe(200);
    const body = second.json();
    expect(body).toEqual({
      access_token: expect.any(String),
      token_type: "Bearer",
      expires_in: 600,
      refresh_token: expect.any(String),
    });
    expect(body.refresh_token).not.toBe(first.refresh_token);
    expect(second.headers["cache-control"]).toBe("no-store");
    expect(await works(body.access_token)).toBe(true);
    h.clock.advance(11_000);
    const replay = await refresh(first.refresh_token);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().error.code).toBe("invalid_grant");
  });

  it("security 39: reuse after the leeway ends the session: the new refresh token and the access tokens die", async () => {
    const [first, name] = await login();
    const rotated = (await refresh(first.refresh_token)).json() as Tokens;
    expect(await works(rotated.access_token)).toBe(true);
    h.clock.advance(11_000);
    const theft = await refresh(first.refresh_token);
    expect(theft.statusCode).toBe(401);
    expect(theft.json().error.code).toBe("invalid_grant");
    expect(await works(rotated.access_token)).toBe(false);
    expect(await works(first.access_token)).toBe(false);
    expect((await refresh(rotated.refresh_token)).statusCode).toBe(401);
    const fresh = (await c.token(name)).json() as Tokens;
    const events = (await c.bearer("GET", "/auth/events", fresh.access_token)).json().events;
    expect(events.map((e: { type: string }) => e.type)).toContain("refresh_reuse_detected");
  });

  it("security 39: a duplicate inside the leeway is refused but never ends the session", async () => {
    const [first] = await login();
    const rotated = (await refresh(first.refresh_token)).json() as Tokens;
    h.clock.advance(5_000);
    const duplicate = await refresh(first.refresh_token);
    expect(duplicate.statusCode).toBe(401);
    expect(duplicate.json().error.code).toBe("invalid_grant");
    expect(await works(rotated.access_token)).toBe(true);
    const next = await refresh(rotated.refresh_token);
    expect(next.statusCode).toBe(200);
  });

  it("security 40: of parallel refreshes with one token, at most one rotates", async () => {
    const [first] = await login();
    const responses = await Promise.all(Array.from({ length: 10 }, () => refresh(first.refresh_token)));
    const ok = responses.filter((r) => r.statusCode === 200);
    expect(ok).toHaveLength(1);
    for (const r of responses.filter((r) => r.statusCode !== 200)) expect(r.json().error.code).toBe("invalid_grant");
    // The losers were inside the leeway: the session and the winner's tokens live on.
    const winner = ok[0]?.json() as Tokens;
    expect(await works(winner.access_token)).toBe(true);
    expect((await refresh(winner.refresh_token)).statusCode).toBe(200);
  });

  it("security 41: a refresh token unused past the idle timeout is dead", async () => {
    const [first] = await login();
    h.clock.advance(1801_000);
    const late = await refresh(first.refresh_token);
    expect(late.statusCode).toBe(401);
    expect(late.json().error.code).toBe("invalid_grant");
  });

  it("security 41: a chain of refreshes never outlives the absolute timeout", async () => {
    let [tokens] = await login();
    let elapsed = 0;
    while (elapsed < 7200_000 - 600_000) {
      h.clock.advance(600_000);
      elapsed += 600_000;
      const next = await refresh(tokens.refresh_token);
      expect(next.statusCode, `after ${elapsed / 1000} s`).toBe(200);
      tokens = next.json();
      // No access token outlives the session either.
      const { exp } = JSON.parse(Buffer.from(tokens.access_token.split(".")[1] as string, "base64url").toString());
      expect(exp * 1000).toBeLessThanOrEqual(h.clock.now() - elapsed + 7200_000 + 1000);
    }
    h.clock.advance(600_000);
    const after = await refresh(tokens.refresh_token);
    expect(after.statusCode).toBe(401);
  });

  it("refuses bodies that are not a refresh token", async () => {
    for (const body of [{ refresh_token: 5 }, { refresh_token: "" }, { token: "x" }, ["x"], "text"]) {
      const response = await c.request({ method: "POST", url: "/auth/refresh", body, cookies: false });
      expect([400, 401]).toContain(response.statusCode);
    }
    const none = await c.request({ method: "POST", url: "/auth/refresh", cookies: false });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe("invalid_grant");
  });
});
