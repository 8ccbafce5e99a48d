/**
 * Audit item 10: no cap on a user's live sessions, and `GET /auth/sessions` unpaginated
 * (10,000 sessions: 3 MB and up to 1.4 s of synchronous serialisation per call).
 */
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startHarness, uniqueName } from "../helpers/harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("sessions per user", () => {
  it("a login past SESSION_MAX_PER_USER ends the least recently used session, and logs it", async () => {
    h = await startHarness({ SESSION_MAX_PER_USER: "3" });
    const name = uniqueName();
    const first = h.client();
    await first.signUpAndLogIn(name);
    const clients = [first];
    for (let i = 0; i < 2; i++) {
      h.clock.advance(120_000);
      const c = h.client();
      expect((await c.login(name)).statusCode).toBe(200);
      clients.push(c);
    }
    h.clock.advance(120_000);
    expect((await first.get("/auth/me")).statusCode).toBe(200); // the first is now the most recently used
    const fourth = h.client();
    h.clock.advance(1000);
    expect((await fourth.login(name)).statusCode).toBe(200);
    const sessions = (await fourth.get("/auth/sessions")).json().sessions;
    expect(sessions).toHaveLength(3);
    expect((await first.get("/auth/me")).statusCode).toBe(200);
    expect((await clients[1]?.get("/auth/me"))?.statusCode).toBe(401); // least recently used: ended
    const events = (await fourth.get("/auth/events")).json().events;
    expect(events.filter((e: { type: string }) => e.type === "session_revoked")).toHaveLength(1);
  });

  it("GET /auth/sessions pages with limit and nextCursor, every session exactly once, newest first", async () => {
    h = await startHarness({ SESSION_MAX_PER_USER: "1000" });
    const name = uniqueName();
    const me = h.client();
    await me.signUpAndLogIn(name);
    for (let i = 0; i < 24; i++) {
      h.clock.advance(1000);
      await h.client({ ip: `192.0.2.${i + 1}` }).token(name);
    }
    const seen: string[] = [];
    const created: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const answer = await me.get(`/auth/sessions?limit=10${cursor ? `&cursor=${cursor}` : ""}`);
      expect(answer.statusCode).toBe(200);
      const body = answer.json();
      expect(body.sessions.length).toBeLessThanOrEqual(10);
      for (const s of body.sessions) {
        seen.push(s.id);
        created.push(Date.parse(s.createdAt));
      }
      cursor = body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(25);
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    const all = (await me.get("/auth/sessions")).json();
    expect(all.sessions).toHaveLength(25);
    expect(all.nextCursor).toBeUndefined();
    for (const bad of ["limit=0", "limit=101", "limit=abc", "cursor=%%%", "cursor=bm9wZQ"]) {
      const answer = await me.get(`/auth/sessions?${bad}`);
      expect(answer.statusCode, bad).toBe(400);
      expect(answer.json().error.code, bad).toBe("invalid_request");
    }
  });
});
