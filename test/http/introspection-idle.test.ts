/**
 * A service's question is not the user's use: introspecting a user's access token reads
 * whether the session is live and never records use, so a service that introspects on
 * every call does not keep an idle session alive (docs/services.md, "Introspection").
 */
import { afterAll, describe, expect, it } from "vitest";
import { type Harness, ORIGIN, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";

const harnesses: Harness[] = [];
afterAll(async () => {
  for (const h of harnesses) await h.close();
});

describe("introspection", () => {
  it("does not refresh the session's idle clock; the user's own request does", async () => {
    const h = await startHarness({ SESSION_IDLE_TIMEOUT: "600" });
    harnesses.push(h);
    const { service, clientSecret } = await h.server.auth.services.create("idle-check");
    const basic = `Basic ${Buffer.from(`${service.id}:${clientSecret}`).toString("base64")}`;
    const name = uniqueName("idle");
    expect((await h.client().register(name)).statusCode).toBe(201);
    const issued = await h.app.inject({
      method: "POST",
      url: "/auth/token",
      headers: { origin: ORIGIN },
      payload: { username: name, password: PASSWORD },
    });
    const { access_token } = issued.json() as { access_token: string };
    const sessionId = JSON.parse(Buffer.from(access_token.split(".")[1] as string, "base64url").toString()).sid;
    const lastSeen = async () => (await h.server.auth.stores.sessions.findWithUser(sessionId))?.session.lastSeenAt;
    const before = await lastSeen();
    expect(before).toBeTypeOf("number");

    // Past the interval at which use is recorded (a minute at most): a service asks.
    h.clock.advance(120_000);
    const answer = await h.app.inject({
      method: "POST",
      url: "/auth/introspect",
      headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
      payload: `token=${access_token}`,
    });
    expect(answer.json()).toMatchObject({ active: true, sid: sessionId });
    expect(await lastSeen()).toBe(before);

    // The user's own request records use: the check above could have seen a change.
    const me = await h.app.inject({
      method: "GET",
      url: "/auth/me",
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(me.statusCode).toBe(200);
    expect(await lastSeen()).toBeGreaterThan(before as number);
  });
});
